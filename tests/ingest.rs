//! Reading messy CSV: formats, encodings, null texts, bad values. Expected values by hand.

use crate::common::*;

const YAML: &str = r#"
name: Ingest
sources:
  t:
    path: data/*.csv
    encoding: ENCODING
    null_values: ["NA", "-"]
    on_invalid: POLICY
    file_column: file
    columns:
      name: { type: string, aliases: ["Full Name"] }
      when: { type: timestamp, format: ["%d/%m/%Y %H:%M", "%Y-%m-%d"] }
      amount: { type: float, thousands: "," }
      ok: boolean
"#;

fn kpis() -> Vec<(&'static str, &'static str)> {
    vec![(
        "k.kpi",
        r#"goal g "G" {
  kpi rows "Rows" { from t measure count() }
  kpi total "Total" { from t measure sum(amount) }
  kpi oks "Share ok" { from t measure share(ok) }
  kpi per_file "Rows per file" { from t measure count() by file }
  kpi by_month "Rows per month" { from t measure count() time when grain month }
}"#,
    )]
}

fn value(results: &yardstick::results::Results, id: &str) -> Option<f64> {
    results.kpis.iter().find(|k| k.id == id).and_then(|k| k.rows.first()).and_then(|r| r.value)
}

fn setup(encoding: &str, policy: &str, files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = project(&YAML.replace("ENCODING", encoding).replace("POLICY", policy), &kpis());
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    for (name, bytes) in files {
        std::fs::write(dir.path().join("data").join(name), bytes).expect("write");
    }
    dir
}

#[test]
fn formats_aliases_nulls_thousands_booleans_and_bom() {
    // a.csv: BOM, day-first timestamps, "1,234.50" with a thousands separator, NA as null.
    // b.csv: the name column is called "Full Name"; ISO dates; yes/no booleans; CRLF.
    let a = "\u{FEFF}name,when,amount,ok\nAnn,05/03/2024 14:30,\"1,234.50\",true\nBob,NA,10,false\n";
    let b = "Full Name,when,amount,ok\r\nCy,2024-04-01,-,yes\r\nDee,2024-03-31,5.5,N\r\n";
    let dir = setup("utf-8", "error", &[("a.csv", a.as_bytes()), ("b.csv", b.as_bytes())]);
    let (_, results) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    assert_eq!(value(&results, "rows"), Some(4.0));
    assert_eq!(value(&results, "total"), Some(1234.5 + 10.0 + 5.5));
    assert_eq!(value(&results, "oks"), Some(0.5)); // true, false, yes, N
    let per_file = &results.kpis.iter().find(|k| k.id == "per_file").expect("kpi").rows;
    assert_eq!(per_file.len(), 2);
    assert_eq!(per_file[0].groups[0].1, serde_json::json!("data/a.csv"));
    assert_eq!(per_file[0].value, Some(2.0));
    // Months: 2024-03 has Ann (5 March, day-first) and Dee; 2024-04 has Cy; Bob's time is null.
    let months: Vec<_> = results
        .kpis
        .iter()
        .find(|k| k.id == "by_month")
        .expect("kpi")
        .rows
        .iter()
        .map(|r| (r.period.clone().expect("period"), r.value))
        .collect();
    assert_eq!(months, vec![("2024-03-01".to_string(), Some(2.0)), ("2024-04-01".to_string(), Some(1.0))]);
}

#[test]
fn windows_1252_is_decoded() {
    // 0xE9 is 'é' in windows-1252 and invalid alone in UTF-8.
    let bytes = b"name,when,amount,ok\nRen\xE9,2024-01-02,1,true\n";
    let dir = setup("windows-1252", "error", &[("a.csv", bytes)]);
    let (_, results) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    assert_eq!(value(&results, "rows"), Some(1.0));

    let dir = setup("utf-8", "error", &[("a.csv", bytes)]);
    let err = yardstick::evaluate(dir.path()).err().expect("invalid utf-8 fails").render(false);
    assert!(err.contains("data/a.csv:2: not valid UTF-8"), "{err}");
    assert!(err.contains("encoding: windows-1252"), "{err}");
}

#[test]
fn bad_values_error_skip_or_null() {
    let csv = "name,when,amount,ok\nA,2024-01-02,1,true\nB,2024-01-03,oops,true\nC,2024-01-04,3,maybe\n";
    let dir = setup("utf-8", "error", &[("a.csv", csv.as_bytes())]);
    let err = yardstick::evaluate(dir.path()).err().expect("bad values fail").render(false);
    assert!(err.contains("data/a.csv:3: column `amount`"), "{err}");
    assert!(err.contains("\"oops\" as float"), "{err}");
    assert!(err.contains("data/a.csv:4: column `ok`"), "{err}");
    assert!(err.contains("2 value(s) cannot be read in data/a.csv"), "{err}");
    // Values under `on_invalid: null` on their column are not part of the error's count.
    let tolerant =
        YAML.replace("ENCODING", "utf-8").replace("POLICY", "error").replace("ok: boolean", "ok: { type: boolean, on_invalid: null }");
    let dir = project(&tolerant, &kpis());
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(dir.path().join("data/a.csv"), csv).expect("write");
    let err = yardstick::evaluate(dir.path()).err().expect("bad amount fails").render(false);
    assert!(err.contains("1 value(s) cannot be read in data/a.csv"), "{err}");
    assert!(!err.contains("column `ok`"), "{err}");

    let dir = setup("utf-8", "skip", &[("a.csv", csv.as_bytes())]);
    let (_, results) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    assert_eq!(value(&results, "rows"), Some(1.0));
    assert_eq!(results.sources["t"].stats.rows_skipped, 2);
    // ... and every KPI of the source reports the rows it did not see, and why.
    let rows_kpi = results.kpis.iter().find(|k| k.id == "rows").expect("kpi");
    assert_eq!(rows_kpi.rows_skipped, 2);
    assert_eq!((rows_kpi.invalid_values["amount"], rows_kpi.invalid_values["ok"]), (1, 1));

    let dir = setup("utf-8", "null", &[("a.csv", csv.as_bytes())]);
    let (_, results) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    assert_eq!(value(&results, "rows"), Some(3.0));
    assert_eq!(value(&results, "total"), Some(4.0));
    assert_eq!(results.sources["t"].stats.invalid_values["amount"], 1);
    assert_eq!(results.sources["t"].stats.invalid_values["ok"], 1);
}

#[test]
fn missing_header_and_missing_files_are_clear() {
    let csv = "nam,when,amount,ok\nA,2024-01-02,1,true\n";
    let dir = setup("utf-8", "error", &[("a.csv", csv.as_bytes())]);
    let err = yardstick::evaluate(dir.path()).err().expect("fails").render(false);
    assert!(err.contains("declares column `name`"), "{err}");
    assert!(err.contains("the header has `nam`"), "{err}");

    let dir = setup("utf-8", "error", &[]);
    let err = yardstick::evaluate(dir.path()).err().expect("fails").render(false);
    assert!(err.contains("no file matches `data/*.csv`"), "{err}");
}

#[test]
fn holidays_from_a_file_count_as_non_working_days() {
    // Applied Mon 2024-12-23, issued Fri 2024-12-27: Tue, Wed, Thu, Fri = 4 business days;
    // with 2024-12-25 (Wed) and 2024-12-26 (Thu) as holidays from the file: 2 (by hand).
    let yaml = |extra: &str| {
        format!(
            "name: Holidays\ncalendar:\n  {extra}\nsources:\n  p:\n    path: p.csv\n    columns:\n      applied: date\n      issued: date\n"
        )
    };
    let kpi = [("k.kpi", "goal g \"G\" { kpi bd \"Business days\" { from p measure sum(business_days_between(applied, issued)) } }")];
    let write_data = |dir: &std::path::Path, holidays: &str| {
        std::fs::write(dir.join("p.csv"), "applied,issued\n2024-12-23,2024-12-27\n").expect("write");
        std::fs::write(dir.join("holidays.csv"), holidays).expect("write");
    };

    let plain = project(&yaml("week_start: monday"), &kpi);
    write_data(plain.path(), "");
    let (_, r) = yardstick::evaluate(plain.path()).map_err(|f| f.render(false)).expect("builds");
    assert_eq!(value(&r, "bd"), Some(4.0));

    let with_file = project(&yaml("holidays_file: holidays.csv"), &kpi);
    write_data(with_file.path(), "date,name\n2024-12-25,Christmas Day\n\n2024-12-26,Boxing Day\n");
    let (_, r) = yardstick::evaluate(with_file.path()).map_err(|f| f.render(false)).expect("builds");
    assert_eq!(value(&r, "bd"), Some(2.0));

    // A bad line is an error pointing at that line of the holidays file.
    write_data(with_file.path(), "date,name\n2024-12-25,Christmas Day\n26/12/2024,Boxing Day\n");
    let err = yardstick::compile(with_file.path()).map(|_| ()).expect_err("bad date").render(false);
    assert!(err.contains("YS0002") && err.contains("holidays.csv:3"), "{err}");

    // A missing file is an error pointing at the key in yardstick.yaml.
    std::fs::remove_file(with_file.path().join("holidays.csv")).expect("rm");
    let err = yardstick::compile(with_file.path()).map(|_| ()).expect_err("missing").render(false);
    assert!(err.contains("YS0001") && err.contains("yardstick.yaml:3"), "{err}");
}

#[test]
fn header_names_match_across_case_and_runs_of_separators() {
    // SF fire calls export "Neighborhood  District" (two spaces); an analyst writes one.
    let yaml = "name: H\nsources:\n  s:\n    path: s.csv\n    columns:\n      hood: { type: string, header: \"Neighborhood District\" }\n      call_type: string\n";
    let dir = project(
        yaml,
        &[(
            "k.kpi",
            "goal g \"G\" { kpi n \"N\" { from s measure count(distinct hood) } kpi c \"C\" { from s measure count(call_type) } }",
        )],
    );
    std::fs::write(dir.path().join("s.csv"), "Neighborhood  District,CALL - TYPE\nMission,Fire\nBayview,\nMission,EMS\n").expect("write");
    let (_, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    // By hand: 2 distinct neighbourhoods; 2 non-empty call types.
    assert_eq!(value(&r, "n"), Some(2.0));
    assert_eq!(value(&r, "c"), Some(2.0));
}

#[test]
fn parquet_columns_are_found_by_header_and_cast() {
    // Write a small Parquet file with DataFusion itself (the reader under test is yardstick's
    // mapping of names and types), values by hand.
    let dir = project(
        "name: P\nsources:\n  p:\n    path: p.parquet\n    columns:\n      amount: { type: float, header: \"Amount Paid\" }\n      vendor: { type: string, aliases: [\"Vendor Name\"] }\n",
        &[(
            "k.kpi",
            "goal g \"G\" { kpi total \"Total\" { from p measure sum(amount) } kpi vendors \"Vendors\" { from p measure count(distinct vendor) } }",
        )],
    );
    let path = dir.path().join("p.parquet");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let ctx = datafusion::prelude::SessionContext::new();
        let sql = format!(
            "COPY (SELECT * FROM (VALUES (10, 'Acme'), (25, 'Bolt'), (NULL, 'Acme')) AS t(\"amount  paid\", \"VENDOR NAME\")) TO '{}' STORED AS PARQUET",
            path.display()
        );
        ctx.sql(&sql).await.expect("plan copy").collect().await.expect("write parquet");
    });
    let (_, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    assert_eq!(value(&r, "total"), Some(35.0));
    assert_eq!(value(&r, "vendors"), Some(2.0));
}

/// Files are read in 1 MiB pieces: a character cut by a piece's end is still one
/// character, and a bad byte after the first piece is found at its line and offset.
#[test]
fn utf8_is_checked_across_read_pieces() {
    const PIECE: usize = 1 << 20;
    let yaml = "name: U\nsources:\n  t:\n    path: data/t.csv\n    columns:\n      id: integer\n      note: string\n";
    let kpis = [("k.kpi", r#"goal g "G" { kpi n "Rows" { from t measure count() } }"#)];
    // `é` (2 bytes) starts at the last byte of the first piece.
    let head = "id,note\n1,";
    let mut good = head.to_string();
    good.push_str(&"a".repeat(PIECE - 1 - head.len()));
    good.push_str("\u{e9}\n2,b\n");
    assert_eq!(good.as_bytes()[PIECE - 1], 0xC3);
    let dir = project(yaml, &kpis);
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(dir.path().join("data/t.csv"), &good).expect("write");
    let (_, results) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    assert_eq!(value(&results, "n"), Some(2.0));
    // A 0xFF on line 4, after the first piece: its offset is the file's length before it.
    let mut bad = good.clone().into_bytes();
    let at = bad.len() + 2;
    bad.extend_from_slice(b"3,\xFF\n");
    std::fs::write(dir.path().join("data/t.csv"), &bad).expect("write");
    let err = yardstick::evaluate(dir.path()).err().expect("fails").render(false);
    assert!(err.contains(&format!("data/t.csv:4: not valid UTF-8 (byte 0xFF at offset {at})")), "{err}");
}
