//! `results.csv`: every value of every KPI, one row per KPI, period and group (long
//! format), for spreadsheets and other tools. RFC 4180: a header line, CRLF line ends,
//! fields with a comma, a double quote, CR or LF quoted (quotes doubled). Same results,
//! same bytes: KPIs in report order, rows in results.json's order.
//!
//! Columns: `kpi` (id), `period` (first day, `YYYY-MM-DD`; empty for a KPI without a grain),
//! `groups` (the `by` values as a JSON object in `by` order, `{"district":"North"}`; empty
//! without `by`), `value` and `target` (numbers as in results.json: a percent is a
//! fraction; empty when there is none), `unit`, `status` (`on_track`, `near_target`,
//! `off_track`, `no_data`, `no_target`), `provisional` (`true` / `false`).

use crate::results::Results;

const HEADER: [&str; 8] = ["kpi", "period", "groups", "value", "unit", "target", "status", "provisional"];

/// The text of results.csv.
pub fn results_csv(results: &Results) -> String {
    let mut out = String::new();
    line(&mut out, HEADER.iter().map(|h| h.to_string()));
    for k in &results.kpis {
        for r in &k.rows {
            let groups =
                if r.groups.is_empty() { String::new() } else { serde_json::Value::Object(r.groups.iter().cloned().collect()).to_string() };
            line(
                &mut out,
                [
                    k.id.clone(),
                    r.period.clone().unwrap_or_default(),
                    groups,
                    number(r.value),
                    k.unit.clone(),
                    number(r.target),
                    r.status.name().to_string(),
                    r.provisional.to_string(),
                ]
                .into_iter(),
            );
        }
    }
    out
}

/// A number as results.json writes it (`0.915662650602`, `1204.0` -> `1204`).
fn number(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() && v == v.trunc() && v.abs() < 1e15 => format!("{}", v as i64),
        Some(v) => serde_json::Number::from_f64(v).map(|n| n.to_string()).unwrap_or_default(),
        None => String::new(),
    }
}

fn line(out: &mut String, fields: impl Iterator<Item = String>) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&f);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::{line, number};

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        let mut out = String::new();
        line(&mut out, ["a".to_string(), "b,c".into(), "say \"hi\"".into(), "two\nlines".into(), String::new()].into_iter());
        assert_eq!(out, "a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n");
    }

    #[test]
    fn numbers_are_written_as_in_results_json() {
        assert_eq!(number(Some(1204.0)), "1204");
        assert_eq!(number(Some(0.915662650602)), "0.915662650602");
        assert_eq!(number(Some(-3.5)), "-3.5");
        assert_eq!(number(None), "");
    }
}
