//! The git + CI + review workflow (issue 18): `--format human|json|github`, `build
//! --fail-on`, exit codes per command, paths relative to the current directory and to the
//! repository's top, plain output off a terminal, progress, git lineage in results.json,
//! `yardstick diff` on a scripted git history, and the example GitHub Actions workflow.
//!
//! Expected texts are written by hand from the definitions and data below (arithmetic in the
//! comments); git facts (commit hashes) come from git itself.

use std::path::Path;
use std::process::Command;

use crate::common::*;

/// Run yardstick in `cwd`: exit code, stdout, stderr.
fn run_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    run_env(cwd, args, &[])
}

fn run_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(yardstick_bin());
    cmd.args(args).current_dir(cwd).env("NO_COLOR", "1").env_remove("CI");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

// ------------------------------------------------------------------- the diff project

// Tiny data: small-cell suppression (docs/privacy.md) is off, so values are as counted.
const YAML_V1: &str = "name: Diff test
privacy:
  min_count: 0
sources:
  orders:
    path: data/orders.csv
    time: ordered_at
    columns:
      id: string
      ordered_at: date
      status: string
      amount: float
      region: string
  returns:
    path: data/returns.csv
    columns:
      id: string
";

/// Eight orders over January to March 2024; the data reaches 31 March, so March is complete.
const ORDERS: &str = "id,ordered_at,status,amount,region
1,2024-01-05,done,10,north
2,2024-01-20,cancelled,20,south
3,2024-02-03,done,30,north
4,2024-02-10,done,40,south
5,2024-02-25,cancelled,50,north
6,2024-03-01,done,60,south
7,2024-03-15,done,70,north
8,2024-03-31,cancelled,80,south
";

const KPI_V1: &str = r#"goal sales "Sales" {
  owner "Ana"

  kpi done_share "Share of orders done" {
    from orders
    measure share(status = 'done')
    grain month
    target >= 70%
  }

  kpi order_count "Orders per month" {
    from orders
    measure count()
    grain month
  }

  kpi revenue "Revenue" {
    from orders
    measure sum(amount)
    grain month
    unit "USD"
    owner "Ben"
  }

  kpi old_name "Orders in the north" {
    from orders
    measure count()
    where region = 'north'
    grain month
  }

  kpi to_remove "Largest order" {
    from orders
    measure max(amount)
  }

  kpi avg_amount "Average order" {
    from orders
    measure avg(amount)
    grain month
    unit "USD"
    target <= 50 USD tolerance 5 USD
  }

  kpi layout "Cancelled orders" { from orders measure count() where status = 'cancelled' grain month }

  kpi returns_count "Returns" {
    from returns
    measure count()
  }
}
"#;

/// Every kind of change: a lowered target, a new exclusion filter, grain + unit + owner, a
/// rename, a removal, a looser tolerance, a layout-only change, a moved source file, an
/// addition.
const KPI_V2: &str = r#"goal sales "Sales" {
  owner "Ana"

  kpi done_share "Share of orders done" {
    from orders
    measure share(status = 'done')
    grain month
    target >= 60%
  }

  kpi order_count "Orders per month" {
    from orders
    measure count()
    where status <> 'cancelled'
    grain month
  }

  kpi revenue "Revenue" {
    from orders
    measure sum(amount)
    grain quarter
    unit "EUR"
    owner "Cy"
  }

  kpi north_orders "Orders in the north" {
    from orders
    measure count()
    where region = 'north'
    grain month
  }

  kpi avg_amount "Average order" {
    from orders
    measure avg(amount)
    grain month
    unit "USD"
    target <= 50 USD tolerance 10 USD
  }

  kpi layout "Cancelled orders" {
    from orders
    measure count() // every order, cancelled ones only
    where status = 'cancelled'
    grain month
  }

  kpi returns_count "Returns" {
    from returns
    measure count()
  }

  kpi added_kpi "Orders done" {
    from orders
    measure count()
    where status = 'done'
    grain month
  }
}
"#;

/// A repository whose first commit has only a README, second the project in `proj/` (v1);
/// the working tree then holds v2, uncommitted.
fn scripted_history() -> (tempfile::TempDir, String, String) {
    let repo = tempfile::tempdir().expect("tempdir");
    let root = repo.path();
    git(root, &["init", "-q"]);
    write(&root.join("README.md"), "not yet a project\n");
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "readme"]);
    let first = git(root, &["rev-parse", "HEAD"]);
    let proj = root.join("proj");
    write(&proj.join("yardstick.yaml"), YAML_V1);
    write(&proj.join("data/orders.csv"), ORDERS);
    write(&proj.join("data/returns.csv"), "id\nr1\nr2\n");
    write(&proj.join("metrics/orders.kpi"), KPI_V1);
    write(&root.join(".gitignore"), "out/\n");
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "v1"]);
    let second = git(root, &["rev-parse", "HEAD"]);
    // v2 in the working tree: the returns file moved (the old one stays, as data often does).
    write(&proj.join("yardstick.yaml"), &YAML_V1.replace("data/returns.csv", "data/returns_2024.csv"));
    write(&proj.join("data/returns_2024.csv"), "id\nr1\nr2\n");
    write(&proj.join("metrics/orders.kpi"), KPI_V2);
    (repo, first, second)
}

/// The markdown with each `SQL:` section cut out (checked on its own), and those sections.
fn split_sql(markdown: &str) -> (String, Vec<String>) {
    let mut rest = markdown;
    let mut out = String::new();
    let mut sql = vec![];
    while let Some(i) = rest.find("SQL:\n\n```diff\n") {
        out.push_str(&rest[..i]);
        let body = &rest[i + "SQL:\n\n```diff\n".len()..];
        let end = body.find("```\n").expect("closed fence");
        sql.push(body[..end].to_string());
        out.push_str("SQL: (cut)\n");
        rest = &body[end + 4..];
    }
    out.push_str(rest);
    (out, sql)
}

#[test]
fn workflow_diff_markdown_with_values_names_every_kind_of_change() {
    let (repo, _, v1) = scripted_history();
    let root = repo.path();
    let status_before = git(root, &["status", "--porcelain"]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (code, md, err) =
        run_env(root, &["diff", "HEAD", "proj", "--values", "--format", "markdown"], &[("TMPDIR", tmp.path().to_str().expect("path"))]);
    assert_eq!(code, 0, "{err}");
    // Nothing in the working tree or the index changed; the temporary tree is gone.
    assert_eq!(git(root, &["status", "--porcelain"]), status_before);
    assert_eq!(std::fs::read_dir(tmp.path()).expect("tmp").count(), 0, "temporary tree removed");
    let short = &v1[..12];
    // Values, both sides on the same data (see ORDERS):
    // - done_share: done/all per month: Jan 1/2, Feb 2/3, Mar 2/3 = 66.7%. Target 70%: all off
    //   track; target 60%: Jan off, Feb and Mar on: 2 of 3 periods change status, the
    //   headline (March) goes off_track -> on_track with the same value.
    // - order_count: 2, 3, 3 per month; without cancelled orders 1, 2, 2: 3 of 3 change.
    // - revenue: monthly sums 30, 120, 210 USD; one quarter of 360 EUR: the three monthly
    //   rows and the quarterly row share only the key 2024-01-01 (30 vs 360): 3 of 3.
    // - north_orders: north orders per month 1 (id 1), 2 (3, 5), 1 (7): unchanged, 0 of 3.
    // - avg_amount: 15, 40, 70 USD per month; <= 50 with tolerance 5 or 10: March (70) is
    //   off track either way (70 > 55, 70 > 60): 0 of 3.
    // - layout: one cancelled order per month: 0 of 3.
    // - returns_count: 2 rows in either file: 0 of 1.
    // - added_kpi: done orders 1, 2, 2: 3 new periods. to_remove: max 80, one row gone.
    let expected = format!(
        "### yardstick diff: `HEAD` (`{short}`) → this change

**9 KPIs: 6 changed, 1 added, 1 removed, 1 renamed** in `proj`. Definition files changed: `metrics/orders.kpi`, `yardstick.yaml`.

| | KPI | What changed | Latest value | Status | Periods changed |
|---|---|---|---|---|---|
| ⚠️ changed | `done_share`<br>Share of orders done | target lowered `70%` → `60%` | 66.7% | off\\_track → on\\_track | 2 of 3 |
| ⚠️ changed | `order_count`<br>Orders per month | filter added: `status <> 'cancelled'` | 3 → 2 | no\\_target | 3 of 3 |
| changed | `revenue`<br>Revenue | grain `month` → `quarter`<br>unit changed: `USD` → `EUR`<br>owner changed: `\"Ben\"` → `\"Cy\"` | 210 USD → 360 EUR | no\\_target | 3 of 3 |
| renamed | `old_name` → `north_orders`<br>Orders in the north | – | 1 | no\\_target | 0 of 3 |
| ⚠️ changed | `avg_amount`<br>Average order | tolerance loosened `5 USD` → `10 USD` | 70 USD | off\\_track | 0 of 3 |
| changed | `layout`<br>Cancelled orders | layout or comments changed (same meaning) | 1 | no\\_target | 0 of 3 |
| changed | `returns_count`<br>Returns | source path changed: `data/returns.csv` → `data/returns_2024.csv` | 2 | no\\_target | 0 of 1 |
| added | `added_kpi`<br>Orders done | – | – → 2 | – → no\\_target | 3 of 3 |
| removed | `to_remove`<br>Largest order | – | 80 → – | no\\_target → – | 1 of 1 |

#### ⚠️ Needs attention (4)

- `done_share`: target lowered: easier to meet (target lowered `70%` → `60%`)
- `done_share`: status improved off\\_track → on\\_track only because the definition changed (same data)
- `order_count`: new exclusion filter (filter added: `status <> 'cancelled'`)
- `avg_amount`: tolerance loosened (tolerance loosened `5 USD` → `10 USD`)

<details>
<summary><code>done_share</code>: definition and SQL</summary>

Definition:

```diff
@@ -2,5 +2,5 @@
   from orders
   measure share(status = 'done')
   grain month
-  target >= 70%
+  target >= 60%
 }}
```

</details>

<details>
<summary><code>order_count</code>: definition and SQL</summary>

Definition:

```diff
@@ -1,5 +1,6 @@
 kpi order_count \"Orders per month\" {{
   from orders
   measure count()
+  where status <> 'cancelled'
   grain month
 }}
```

SQL: (cut)

</details>

<details>
<summary><code>revenue</code>: definition and SQL</summary>

Definition:

```diff
@@ -1,7 +1,7 @@
 kpi revenue \"Revenue\" {{
   from orders
   measure sum(amount)
-  grain month
-  unit \"USD\"
-  owner \"Ben\"
+  grain quarter
+  unit \"EUR\"
+  owner \"Cy\"
 }}
```

SQL: (cut)

</details>

<details>
<summary><code>old_name → north_orders</code>: definition and SQL</summary>

Definition:

```diff
@@ -1,4 +1,4 @@
-kpi old_name \"Orders in the north\" {{
+kpi north_orders \"Orders in the north\" {{
   from orders
   measure count()
   where region = 'north'
```

</details>

<details>
<summary><code>avg_amount</code>: definition and SQL</summary>

Definition:

```diff
@@ -3,5 +3,5 @@
   measure avg(amount)
   grain month
   unit \"USD\"
-  target <= 50 USD tolerance 5 USD
+  target <= 50 USD tolerance 10 USD
 }}
```

</details>

<details>
<summary><code>layout</code>: definition and SQL</summary>

Definition:

```diff
@@ -1 +1,6 @@
-kpi layout \"Cancelled orders\" {{ from orders measure count() where status = 'cancelled' grain month }}
+kpi layout \"Cancelled orders\" {{
+  from orders
+  measure count() // every order, cancelled ones only
+  where status = 'cancelled'
+  grain month
+}}
```

</details>

<details>
<summary><code>added_kpi</code>: definition and SQL</summary>

Definition:

```diff
@@ -0,0 +1,6 @@
+kpi added_kpi \"Orders done\" {{
+  from orders
+  measure count()
+  where status = 'done'
+  grain month
+}}
```

SQL: (cut)

</details>

<details>
<summary><code>to_remove</code>: definition and SQL</summary>

Definition:

```diff
@@ -1,4 +0,0 @@
-kpi to_remove \"Largest order\" {{
-  from orders
-  measure max(amount)
-}}
```

SQL: (cut)

</details>
"
    );
    let (shown, sql) = split_sql(&md);
    assert_eq!(shown, expected, "the whole comment:\n{md}");
    // The SQL diffs: the new filter, the quarter, a query added whole, one removed whole.
    assert_eq!(sql.len(), 4, "{sql:?}");
    let changed = |d: &str, mark: char| d.lines().filter(|l| l.starts_with(mark)).collect::<Vec<_>>().join("\n");
    assert!(changed(&sql[0], '+').contains("'cancelled'") && !changed(&sql[0], '-').contains("cancelled"), "{}", sql[0]);
    assert!(changed(&sql[1], '+').contains("'quarter'") && changed(&sql[1], '-').contains("'month'"), "{}", sql[1]);
    for (d, mark) in [(&sql[2], '+'), (&sql[3], '-')] {
        let body: Vec<&str> = d.lines().skip(1).collect();
        assert!(!body.is_empty() && body.iter().all(|l| l.starts_with(mark)), "{d}");
    }
    assert!(changed(&sql[2], '+').contains("'done'") && changed(&sql[3], '-').contains("max("), "{sql:?}");
}

#[test]
fn workflow_diff_text_without_values_and_other_revisions() {
    let (repo, first, v1) = scripted_history();
    let root = repo.path();
    let proj = root.join("proj");
    // From inside the project directory, DIR defaults to `.`.
    let (code, text, err) = run_in(&proj, &["diff", "HEAD"]);
    assert_eq!(code, 0, "{err}");
    let head = format!("yardstick diff HEAD ({}) -> working tree, project proj\n", &v1[..12]);
    assert!(text.starts_with(&head), "{text}");
    for line in [
        "definition files changed: metrics/orders.kpi, yardstick.yaml\n",
        "9 KPIs: 6 changed, 1 added, 1 removed, 1 renamed\n",
        "changed  done_share \"Share of orders done\"\n    target lowered 70% -> 60%\n",
        "changed  order_count \"Orders per month\"\n    filter added: status <> 'cancelled'\n",
        "changed  revenue \"Revenue\"\n    grain month -> quarter\n    unit changed: USD -> EUR\n    owner changed: \"Ben\" -> \"Cy\"\n",
        "renamed  old_name -> north_orders \"Orders in the north\"\n",
        "    tolerance loosened 5 USD -> 10 USD\n",
        "    source path changed: data/returns.csv -> data/returns_2024.csv\n",
        "added    added_kpi \"Orders done\"\n",
        "removed  to_remove \"Largest order\"\n",
        "needs attention (3):\n",
        "  ! order_count: new exclusion filter (filter added: status <> 'cancelled')\n",
        "--- old_name -> north_orders: definition\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(!text.contains("periods changed"), "no values without --values: {text}");

    // Against the first commit the project did not exist: everything is added.
    let (code, text, err) = run_in(root, &["diff", &first, "proj"]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("the project does not exist at that revision") && text.contains("8 KPIs: 8 added"), "{text}");

    // Committing v2 and comparing with the commit before gives the same comparison.
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "v2"]);
    let (_, again, _) = run_in(&proj, &["diff", "HEAD~1"]);
    assert!(again.contains("9 KPIs: 6 changed, 1 added, 1 removed, 1 renamed"), "{again}");
    let (_, same, _) = run_in(&proj, &["diff", "HEAD"]);
    assert!(same.ends_with("\nno KPI differs\n"), "{same}");
}

#[test]
fn workflow_diff_exit_codes() {
    let (repo, _, _) = scripted_history();
    let root = repo.path();
    // 2: no such revision; not a repository.
    let (code, _, err) = run_in(root, &["diff", "no-such-branch", "proj"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("YS0601") && err.contains("`no-such-branch` is not a commit"), "{err}");
    let (code, _, err) = run_in(root, &["diff", "--", "--output=/tmp/x", "proj"]);
    assert_eq!(code, 2, "a revision that looks like an option is a name: {err}");
    let outside = project("name: P\nsources: {}\n", &[("a.kpi", "")]);
    let (code, _, err) = run_in(outside.path(), &["diff", "HEAD"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("YS0600"), "{err}");
    // 1: the old side does not check (its files are named `REV:path`), or the new one.
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "v2"]);
    write(&root.join("proj/metrics/orders.kpi"), "goal g { kpi k { from nowhere measure count() } }\n");
    git(root, &["commit", "-q", "-am", "broken"]);
    write(&root.join("proj/metrics/orders.kpi"), KPI_V2);
    let (code, _, err) = run_in(root, &["diff", "HEAD", "proj"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the project at HEAD does not check") && err.contains("HEAD:proj/metrics/orders.kpi:1:"), "{err}");
    let (code, _, err) = run_in(root, &["diff", "HEAD~1", "proj"]);
    assert_eq!(code, 0, "{err}");
    write(&root.join("proj/metrics/orders.kpi"), "goal g { kpi k { from nowhere measure count() } }\n");
    let (code, _, err) = run_in(root, &["diff", "HEAD~1", "proj"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("proj/metrics/orders.kpi:1:") && !err.contains("HEAD~1:"), "{err}");
}

// ------------------------------------------------------------------- output formats

/// One error fixture, checked: (diagnostics rendered as plain text, JSON, GitHub).
fn formats_of(path: &Path) -> String {
    use yardstick::diagnostics::render;
    let text = std::fs::read_to_string(path).expect("fixture");
    let dir = error_fixture_project(path, &text);
    let f = yardstick::compile(dir.path()).map(|_| ()).expect_err("fixture fails");
    let json = serde_json::to_string_pretty(&render::json::render(&f.diagnostics.0, &f.sources)).expect("json");
    let human = render::human::plain(&f.diagnostics, &f.sources);
    let github = render::github::render(&f.diagnostics.0, &f.sources);
    format!("--- human (plain)\n{human}--- json\n{json}\n--- github\n{github}")
}

#[test]
fn workflow_formats_snapshots_on_the_error_fixtures() {
    for path in error_fixtures() {
        let name = path.file_stem().expect("stem").to_string_lossy().to_string();
        let rendered = formats_of(&path);
        // Plain output draws nothing and is never wrapped.
        assert!(!rendered.chars().any(|c| ('\u{2500}'..='\u{257f}').contains(&c) || c == '×' || c == '⚠'), "{name}: {rendered}");
        insta::assert_snapshot!(format!("formats_{name}"), rendered);
    }
}

#[test]
fn workflow_github_annotations_are_relative_to_the_repository_top() {
    let repo = tempfile::tempdir().expect("tempdir");
    let root = repo.path();
    git(root, &["init", "-q"]);
    let base = std::fs::read_to_string(fixture("errors/base.yaml")).expect("base.yaml");
    write(&root.join("a/proj/yardstick.yaml"), &base);
    write(
        &root.join("a/proj/metrics/x.kpi"),
        "goal g \"G\" {\n  kpi k \"K\" {\n    from tickets\n    measure count()\n    by distrct\n  }\n}\n",
    );
    // From the project directory, from the top and from in between, GitHub sees one path.
    for (cwd, dir) in [(root.join("a/proj"), "."), (root.to_path_buf(), "a/proj"), (root.join("a"), "proj")] {
        let (code, out, err) = run_in(&cwd, &["check", dir, "--format", "github"]);
        assert_eq!(code, 1, "{err}");
        assert_eq!(
            out,
            "::error file=a/proj/metrics/x.kpi,line=5,col=8,endLine=5,endColumn=15,title=YS0201::unknown column `distrct` in source `tickets`%0Ahelp: did you mean `district`?\n"
        );
        // People get paths relative to where they are.
        let (_, _, human) = run_in(&cwd, &["check", dir]);
        let here = if dir == "." { String::new() } else { format!("{dir}/") };
        assert!(human.starts_with(&format!("{here}metrics/x.kpi:5:8: error[YS0201]: unknown column")), "{human}");
    }
    // Outside git, GitHub paths fall back to the current directory's.
    let outside = tempfile::tempdir().expect("tempdir");
    write(&outside.path().join("p/yardstick.yaml"), &base);
    write(&outside.path().join("p/x.kpi"), "goal g { kpi k { from tickets measure count() by distrct } }\n");
    let (_, out, _) = run_in(outside.path(), &["check", "p", "--format", "github"]);
    assert!(out.starts_with("::error file=p/x.kpi,line=1,col="), "{out}");
}

#[test]
fn workflow_json_output_has_the_documented_shape() {
    let city = repo().join("examples/city");
    let (code, out, err) = run_in(&repo(), &["check", "examples/city", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(v["version"], 1);
    assert_eq!(v["command"], "check");
    assert_eq!(v["ok"], true);
    let c = yardstick::compile(&city).map_err(|f| f.render(false)).expect("checks");
    let (goals, kpis, sources) = (c.model.goals.len(), c.model.kpis.len(), c.model.sources.len());
    assert_eq!(v["summary"], serde_json::json!({"errors": 0, "warnings": 0, "goals": goals, "kpis": kpis, "sources": sources}));
    assert_eq!(v["diagnostics"], serde_json::json!([]));
    assert!(v.get("build").is_none());
    // An error: every documented field.
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&city, dir.path());
    let kpi = dir.path().join("metrics/safety.kpi");
    break_by_district(&kpi);
    let (code, out, _) = run_in(dir.path(), &["check", "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["summary"]["errors"], 1);
    let d = &v["diagnostics"][0];
    let keys: Vec<&str> = d.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["code", "severity", "message", "help", "kpi", "file", "line", "column", "end_line", "end_column", "label", "related"]
    );
    assert_eq!(
        (d["code"].as_str(), d["severity"].as_str(), d["file"].as_str()),
        (Some("YS0201"), Some("error"), Some("metrics/safety.kpi"))
    );
    // `distrct` is 7 characters from column 10: the end is exclusive, column 17.
    assert_eq!(
        (&d["line"], &d["column"], &d["end_line"], &d["end_column"]),
        (&serde_json::json!(55), &serde_json::json!(10), &serde_json::json!(55), &serde_json::json!(17))
    );
    // build: the same document with `build`.
    let out_dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = run_in(&repo(), &["build", "examples/city", "--out", out_dir.path().to_str().expect("p"), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!((v["command"].as_str(), v["ok"].as_bool()), (Some("build"), Some(true)));
    assert_eq!(v["build"]["findings"], serde_json::json!([]));
    // results.json, results.csv, index.html and the 31 pages: sources, the 22 KPIs of the
    // public build (the internal objective's one KPI is left out), 2 goals, 6 owners.
    assert_eq!(v["build"]["written"].as_array().map(Vec::len), Some(3 + 1 + 22 + 2 + 6));
    assert_eq!(
        v["build"]["values"],
        results_json(out_dir.path())["kpis"]
            .as_array()
            .expect("kpis")
            .iter()
            .map(|k| k["rows"].as_array().map(Vec::len).unwrap_or(0))
            .sum::<usize>()
    );
}

/// The README's mistake: the clause `by district` of safety.kpi (line 55) becomes `by distrct`.
fn break_by_district(kpi: &Path) {
    let text = std::fs::read_to_string(kpi).expect("kpi");
    let broken: String =
        text.lines().map(|l| if l.trim() == "by district" { l.replace("district", "distrct") } else { l.to_string() } + "\n").collect();
    std::fs::write(kpi, broken).expect("write");
}

// ------------------------------------------------------------------- exit codes, --fail-on

// Tiny data: small-cell suppression (docs/privacy.md) is off, so values are as counted.
const GATE_YAML: &str = "name: Gate
privacy:
  min_count: 0
sources:
  s:
    path: s.csv
    time: day
    columns:
      day: date
      ok: boolean
";

/// Two months: January 3 of 4 rows ok (75%), February 1 of 2 (50%).
const GATE_DATA: &str = "day,ok\n2024-01-02,true\n2024-01-09,true\n2024-01-16,false\n2024-01-31,true\n2024-02-01,true\n2024-02-29,false\n";

fn gate(kpis: &str) -> tempfile::TempDir {
    let dir = project(GATE_YAML, &[("k.kpi", kpis)]);
    std::fs::write(dir.path().join("s.csv"), GATE_DATA).expect("csv");
    dir
}

#[test]
fn workflow_fail_on_gates_a_build_after_writing_the_report() {
    // February: 50%. Target >= 60% with tolerance 5pp: off track (50 < 55); target >= 52%
    // with tolerance 5pp: near target (50 >= 47); target >= 40%: on track.
    let off = "goal g \"G\" { kpi k \"K\" { from s measure share(ok) grain month target >= 60% tolerance 5pp } }\n";
    let near = "goal g \"G\" { kpi k \"K\" { from s measure share(ok) grain month target >= 52% tolerance 5pp } }\n";
    let on = "goal g \"G\" { kpi k \"K\" { from s measure share(ok) grain month target >= 40% } }\n";
    for (kpis, fail_on, code, finding) in [
        (
            off,
            "off_track",
            1,
            Some("fail-on off_track: KPI `k` is off track at 50% in the period from 2024-02-01 (target >= 60% tolerance 5pp)"),
        ),
        (off, "near_target", 0, None),
        (near, "near_target", 1, Some("fail-on near_target: KPI `k` is near target at 50%")),
        (near, "off_track,warnings", 0, None),
        (on, "off_track,near_target,warnings,check_failures", 0, None),
        (off, "check_failures", 0, None),
    ] {
        let dir = gate(kpis);
        let (got, out, err) = run_in(dir.path(), &["build", "--fail-on", fail_on]);
        assert_eq!(got, code, "{fail_on}: {out}{err}");
        assert!(dir.path().join("out/results.json").is_file(), "the report is written even when the gate fails");
        match finding {
            Some(f) => {
                assert!(err.contains(&format!("k.kpi:1: {f}")), "{fail_on}: {err}");
                assert!(err.contains("(--fail-on: 1 finding; the report was written, the exit status is 1)"), "{err}");
            }
            None => assert!(!err.contains("fail-on"), "{fail_on}: {err}"),
        }
    }
    // Repeated flags add up; GitHub gets an annotation on the KPI's line; JSON lists it.
    let dir = gate(off);
    let (code, out, _) = run_in(dir.path(), &["build", "--fail-on", "near_target", "--fail-on", "off_track", "--format", "github"]);
    assert_eq!(code, 1);
    assert!(out.contains("::error file=k.kpi,line=1,title=fail-on off_track::KPI `k` is off track at 50%"), "{out}");
    let (code, out, _) = run_in(dir.path(), &["build", "--fail-on", "off_track", "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["build"]["findings"][0]["kind"], "off_track");
    assert_eq!(v["build"]["findings"][0]["kpi"], "k");
    assert_eq!(v["build"]["findings"][0]["line"], 1);
    // Warnings: a `where` that matches nothing (YS0901) fires `--fail-on warnings` only.
    let dir = gate("goal g \"G\" { kpi k \"K\" { from s measure count() where ok and not ok grain month } }\n");
    let (code, _, err) = run_in(dir.path(), &["build", "--fail-on", "warnings"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("YS0901") && err.contains("fail-on warnings: the build has 1 warning"), "{err}");
    assert_eq!(run_in(dir.path(), &["build"]).0, 0);
    // 2: a value that is not one of them.
    let (code, _, err) = run_in(dir.path(), &["build", "--fail-on", "offtrack"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("off_track"), "clap lists the values: {err}");
}

#[test]
fn workflow_exit_codes_per_command() {
    let city = repo().join("examples/city");
    let city = city.to_str().expect("path");
    let broken = gate("goal g { kpi k { from nowhere measure count() } }\n");
    let broken = broken.path().to_str().expect("path").to_string();
    let out = tempfile::tempdir().expect("tempdir");
    let out = out.path().join("o");
    let out = out.to_str().expect("path");
    for (args, code) in [
        (vec!["check", city], 0),
        (vec!["check", &broken], 1),
        (vec!["check", city, "--format", "xml"], 2),
        (vec!["build", city, "--out", out], 0),
        (vec!["build", &broken], 1),
        (vec!["build", city, "--as-of", "2024-13-01"], 2),
        (vec!["sql", city, "answered_10s"], 0),
        (vec!["sql", city, "no_such_kpi"], 1),
        (vec!["sql", city], 2),
        (vec!["no-such-command"], 2),
        (vec!["--version"], 0),
    ] {
        let (got, _, err) = run_in(&repo(), &args);
        assert_eq!(got, code, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn workflow_plain_output_off_a_terminal_and_with_color_never() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&repo().join("examples/city"), &dir.path().join("city"));
    let kpi = dir.path().join("city/metrics/safety.kpi");
    break_by_district(&kpi);
    for extra in [vec![], vec!["--color", "never"]] {
        let mut args = vec!["check", "city"];
        args.extend(extra.iter());
        let (code, _, err) = run_in(dir.path(), &args);
        assert_eq!(code, 1);
        // The path is relative to the current directory: clickable.
        assert_eq!(
            err,
            "city/metrics/safety.kpi:55:10: error[YS0201]: unknown column `distrct` in source `calls_911`\n55 |       by distrct\n   |          ^^^^^^^ not a declared column\n  help: did you mean `district`?\n\n1 error\n"
        );
    }
    // A long help line is never wrapped.
    let long = gate(&format!("goal g {{ kpi k {{ from s measure count() by {} }} }}\n", "x".repeat(150)));
    let (_, _, err) = run_in(long.path(), &["check"]);
    assert!(err.lines().any(|l| l.contains(&"x".repeat(150))), "{err}");
    assert!(!err.contains('│') && !err.contains('╭'), "{err}");
}

#[test]
fn workflow_closed_pipes_exit_quietly_for_the_new_outputs() {
    let (repo_dir, _, _) = scripted_history();
    let root = repo_dir.path();
    let bin = yardstick_bin();
    for (args, code) in [
        (vec!["diff", "HEAD", "proj", "--format", "markdown"], 0),
        (vec!["diff", "HEAD", "proj", "--values"], 0),
        (vec!["check", "proj", "--format", "json"], 0),
        (vec!["check", "proj", "--format", "github"], 0),
        (vec!["build", "proj", "--format", "json", "--verbose"], 0),
        (vec!["build", "proj"], 0),
        (vec!["build", "proj", "--fail-on", "near_target,off_track", "--format", "github"], 1),
    ] {
        for closed in ["stdout", "stderr"] {
            let (reader, writer) = std::io::pipe().expect("pipe");
            drop(reader);
            let mut cmd = Command::new(&bin);
            cmd.args(&args).current_dir(root);
            match closed {
                "stdout" => cmd.stdout(writer).stderr(std::process::Stdio::piped()),
                _ => cmd.stderr(writer).stdout(std::process::Stdio::piped()),
            };
            let out = cmd.output().expect("runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(code), "{args:?} with {closed} closed: {stderr}");
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        }
    }
}

#[test]
fn workflow_progress_only_when_asked_off_a_terminal() {
    let dir = gate("goal g \"G\" { kpi k \"K\" { from s measure count() grain month } }\n");
    let (code, _, err) = run_in(dir.path(), &["build"]);
    assert_eq!(code, 0);
    assert_eq!(err, "", "silent off a terminal");
    let (code, _, err) = run_env(dir.path(), &["build", "--verbose"], &[("CI", "true")]);
    assert_eq!(code, 0);
    // Six rows in one file (GATE_DATA).
    assert!(err.contains("reading source `s`: file 1 of 1 (s.csv), 0 rows so far\n"), "{err}");
    assert!(err.contains("read source `s`: 1 file, 6 rows\n"), "{err}");
    assert!(err.contains("running the queries of 1 KPIs\n"), "{err}");
}

/// On a real terminal (a pseudo-terminal from util-linux `script`): `--verbose` rewrites one
/// line in place and clears it at the end, so the summary stands alone; without it a quick
/// build shows nothing; with `CI` set nothing either.
#[test]
fn workflow_progress_on_a_terminal_rewrites_one_line() {
    if Command::new("script").arg("--version").output().is_err() {
        println!("skipping: util-linux `script` (a pseudo-terminal) is not installed");
        return;
    }
    let dir = gate("goal g \"G\" { kpi k \"K\" { from s measure count() grain month } }\n");
    let on_terminal = |args: &str, ci: bool| -> String {
        let bin = yardstick_bin().display().to_string();
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &format!("{bin} {args} --out out-pty"), "/dev/null"])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env_remove("CI");
        if ci {
            cmd.env("CI", "true");
        }
        let out = cmd.output().expect("runs script");
        assert!(out.status.success(), "{args}: {}", String::from_utf8_lossy(&out.stdout));
        // A pseudo-terminal writes stdout and stderr both to `script`'s stdout, with CR LF.
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
    };
    let live = on_terminal("build --verbose", false);
    let clear = "\r\x1b[2K";
    // Each event rewrites the line (the order of reading and querying is the run stage's).
    for event in
        ["reading source `s`: file 1 of 1 (s.csv), 0 rows so far", "read source `s`: 1 file, 6 rows", "running the queries of 1 KPIs"]
    {
        assert!(live.contains(&format!("{clear}{event}{clear}")), "{event:?} on the one line: {live:?}");
    }
    // Cleared before the summary, which starts its own line.
    let summary = live.find("built 1 KPI (").expect("summary");
    assert!(live[..summary].ends_with(clear) && !live[..summary].contains('\n'), "{live:?}");
    assert!(!live.contains("rows so far\n"), "no line per event on a terminal: {live:?}");
    // A build quicker than a second shows no progress; nor does one in CI.
    for (args, ci) in [("build", false), ("build", true)] {
        let quiet = on_terminal(args, ci);
        assert!(!quiet.contains("reading source") && !quiet.contains(clear), "{args} (CI {ci}): {quiet:?}");
        assert!(quiet.contains("built 1 KPI ("), "{quiet:?}");
    }
}

// ------------------------------------------------------------------- lineage

#[test]
fn workflow_results_record_the_commit_and_files_in_git_and_nothing_outside() {
    let (repo_dir, _, _) = scripted_history();
    let root = repo_dir.path();
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "v2"]);
    let head = git(root, &["rev-parse", "HEAD"]);
    let proj = root.join("proj");
    assert_eq!(run_in(root, &["build", "proj"]).0, 0);
    let first = std::fs::read_to_string(proj.join("out/results.json")).expect("results");
    let v: serde_json::Value = serde_json::from_str(&first).expect("json");
    assert_eq!(v["git"], serde_json::json!({"commit": head, "path": "proj", "dirty": false, "changed": []}));
    assert_eq!(kpi(&v, "done_share")["git"], serde_json::json!({"commit": head, "path": "proj/metrics/orders.kpi", "modified": false}));
    let html = std::fs::read_to_string(proj.join("out/index.html")).expect("html");
    assert!(html.contains(&format!("at commit <code>{}</code>", &head[..12])), "the report's lineage names the commit");
    // Same commit, same output (the written report is ignored by git, and is not a definition).
    assert_eq!(run_in(&proj, &["build"]).0, 0);
    assert_eq!(std::fs::read_to_string(proj.join("out/results.json")).expect("results"), first);
    // A changed definition makes the tree dirty and marks its KPIs.
    std::fs::write(proj.join("metrics/orders.kpi"), KPI_V2.replace("target >= 60%", "target >= 65%")).expect("write");
    assert_eq!(run_in(&proj, &["build"]).0, 0);
    let v = results_json(&proj.join("out"));
    assert_eq!(v["git"]["dirty"], true);
    assert_eq!(v["git"]["changed"], serde_json::json!(["metrics/orders.kpi"]));
    assert_eq!(kpi(&v, "done_share")["git"]["modified"], true);
    // A data file that changes does not make the definitions dirty.
    git(root, &["checkout", "--", "proj/metrics/orders.kpi"]);
    std::fs::write(proj.join("data/returns_2024.csv"), "id\nr1\n").expect("write");
    assert_eq!(run_in(&proj, &["build"]).0, 0);
    assert_eq!(results_json(&proj.join("out"))["git"]["dirty"], false);
    // Outside git: no `git` at all.
    let outside = gate("goal g \"G\" { kpi k \"K\" { from s measure count() } }\n");
    assert_eq!(run_in(outside.path(), &["build"]).0, 0);
    let v = results_json(&outside.path().join("out"));
    assert!(v.get("git").is_none() && kpi(&v, "k").get("git").is_none(), "{v}");
}

// ------------------------------------------------------------------- the CI example

#[test]
fn workflow_github_actions_example_is_valid_and_uses_real_commands() {
    let text = std::fs::read_to_string(repo().join("examples/ci/github-actions.yml")).expect("example workflow");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    let jobs = doc.get("jobs").and_then(|j| j.as_mapping()).expect("jobs");
    assert!(!jobs.is_empty());
    for needed in [
        "yardstick check",
        "--format github",
        "yardstick fmt --check",
        "yardstick build",
        "actions/upload-artifact",
        "actions/deploy-pages",
        "yardstick diff",
        "--format markdown",
        "fetch-depth: 0",
    ] {
        assert!(text.contains(needed), "the workflow uses `{needed}`");
    }
    // Every `yardstick <command>` it runs exists (`fmt` is checked once this build has it).
    let (_, help, _) = yardstick(&["--help"]);
    let commands: Vec<&str> = help.split("Commands:").nth(1).unwrap_or("").lines().filter_map(|l| l.split_whitespace().next()).collect();
    for word in text.split("yardstick ").skip(1).filter_map(|rest| rest.split_whitespace().next()) {
        if !word.chars().all(|c| c.is_ascii_lowercase()) || ["is", "diff:", "report"].contains(&word) {
            continue;
        }
        if word == "fmt" && !commands.contains(&"fmt") {
            println!("skipping `fmt`: not in this build yet");
            continue;
        }
        assert!(commands.contains(&word), "`yardstick {word}` is not a command: {commands:?}");
    }
}

// ------------------------------------------------------------------- changes in words

/// Two sources with the same columns, so a KPI can move from one to the other.
const WORDS_YAML: &str = "name: Words
sources:
  s:
    path: s.csv
    time: day
    columns:
      day: date
      day2: date
      ok: boolean
      amount: float
      team: string
  t:
    path: t.csv
    time: day
    columns:
      day: date
      day2: date
      ok: boolean
      amount: float
      team: string
";

/// What `diff` knows of KPI `k` of a project.
fn kpi_facts(yaml: &str, kpi: &str) -> yardstick::diff::semantic::Facts {
    let dir = project(yaml, &[("k.kpi", kpi)]);
    let compiled = yardstick::compile(dir.path()).unwrap_or_else(|f| panic!("{kpi}: {}", f.render(false)));
    yardstick::diff::semantic::facts(&compiled).into_iter().find(|f| f.id == "k").expect("k")
}

/// The changes `diff` reports between one KPI `k` written two ways (inside goal `g`).
fn words(old: &str, new: &str, yaml_new: Option<&str>) -> Vec<String> {
    let side = kpi_facts;
    let wrap = |body: &str| format!("goal g \"G\" {{ kpi k \"K\" {{ from s {body} }} }}\ngoal h \"H\" {{ }}\n");
    let (a, b) = (side(WORDS_YAML, &wrap(old)), side(yaml_new.unwrap_or(WORDS_YAML), &wrap(new)));
    yardstick::diff::semantic::changes(&a, &b)
        .iter()
        .map(|c| match &c.attention {
            Some(why) => format!("{} [{why}]", c.text("->")),
            None => c.text("->"),
        })
        .collect()
}

#[test]
fn workflow_each_kind_of_change_in_words() {
    let count = "measure count() grain month";
    for (old, new, expected) in [
        // `<=`: a higher maximum is easier to meet.
        ("measure sum(amount) target <= 10", "measure sum(amount) target <= 12", "target raised 10 -> 12 [target raised: easier to meet]"),
        ("measure sum(amount) target <= 12", "measure sum(amount) target <= 10", "target lowered 12 -> 10"),
        ("measure sum(amount) target >= 10", "measure sum(amount) target >= 12", "target raised 10 -> 12"),
        ("measure sum(amount) target >= 10", "measure sum(amount)", "target removed: >= 10 [target removed: the KPI can no longer miss]"),
        ("measure sum(amount)", "measure sum(amount) target >= 10", "target added: >= 10"),
        (
            "measure sum(amount) target between 5 and 8",
            "measure sum(amount) target between 4 and 9",
            "target band changed: between 5 and 8 -> between 4 and 9 [target band widened: easier to meet]",
        ),
        ("measure sum(amount) target >= 10 tolerance 5", "measure sum(amount) target >= 10 tolerance 2", "tolerance tightened 5 -> 2"),
        ("measure sum(amount) target >= 10 tolerance 2", "measure sum(amount) target >= 10", "tolerance removed: 2"),
        ("measure count()", "measure count(amount)", "measure changed: count() -> count(amount)"),
        (count, "measure count() grain month by team", "by added: team"),
        ("measure count() grain month by team", count, "by removed: team"),
        ("measure count() grain month time day", "measure count() grain month time day2", "time column changed: day -> day2"),
        ("measure count() since 2024-01-01", "measure count() since 2024-02-01", "scope changed: since 2024-01-01 -> since 2024-02-01"),
        (
            "measure sum(amount) grain month rolling 3 months",
            "measure sum(amount) grain month rolling 6 months",
            "window changed: rolling 3 months -> rolling 6 months",
        ),
        ("measure count() where ok", "measure count()", "filter removed: ok"),
        (
            "measure count() where ok",
            "measure count() where not ok",
            "filter changed: ok -> not ok [filter changed: check which rows are excluded now]",
        ),
        (
            "measure count() where ok",
            "measure count() where ok and amount > 0",
            "filter changed: ok -> ok and amount > 0 [filter narrowed: more rows excluded]",
        ),
        ("measure sum(amount)", "measure sum(amount) direction increasing", "direction added: increasing"),
        ("measure count()", "measure count() description \"All rows\"", "description changed"),
        ("measure count()", "measure count() owner \"Dee\"", "owner added: \"Dee\""),
        (
            "measure count() grain month complete_after 0 days",
            "measure count() grain month complete_after 30 days",
            "complete_after changed: 0 days -> 30 days",
        ),
    ] {
        assert_eq!(words(old, new, None), [expected], "{old} -> {new}");
    }
    // Another source; another goal; another title.
    let text = |from: &str, goal: &str, title: &str| {
        let other = if goal == "g" { "h" } else { "g" };
        format!("goal {goal} \"G\" {{ kpi k \"{title}\" {{ from {from} measure count() }} }}\ngoal {other} \"O\" {{ }}\n")
    };
    let facts = |kpi: &str, yaml: &str| kpi_facts(yaml, kpi);
    let texts = |a: &yardstick::diff::semantic::Facts, b: &yardstick::diff::semantic::Facts| {
        yardstick::diff::semantic::changes(a, b).iter().map(|c| c.text("->")).collect::<Vec<_>>()
    };
    let base = facts(&text("s", "g", "K"), WORDS_YAML);
    assert_eq!(texts(&base, &facts(&text("t", "g", "K"), WORDS_YAML)), ["source changed: s -> t"]);
    assert_eq!(texts(&base, &facts(&text("s", "h", "K"), WORDS_YAML)), ["moved: g -> h"]);
    assert_eq!(texts(&base, &facts(&text("s", "g", "K2"), WORDS_YAML)), ["title changed: \"K\" -> \"K2\""]);
    // yardstick.yaml: the source's file, and its declared columns.
    let moved = WORDS_YAML.replacen("path: s.csv", "path: data/s.csv", 1);
    assert_eq!(texts(&base, &facts(&text("s", "g", "K"), &moved)), ["source path changed: s.csv -> data/s.csv"]);
    let retyped = WORDS_YAML.replacen("amount: float", "amount: integer", 1);
    assert_eq!(
        texts(&base, &facts(&text("s", "g", "K"), &retyped)),
        ["source `s` declaration changed in yardstick.yaml (columns or settings)"]
    );
    let formatted = WORDS_YAML.replacen("day2: date", "day2: { type: date, format: \"%d/%m/%Y\" }", 1);
    assert_eq!(
        texts(&base, &facts(&text("s", "g", "K"), &formatted)),
        ["source `s` declaration changed in yardstick.yaml (columns or settings)"]
    );
    // Comments and layout change nothing.
    assert_eq!(words("measure count() where ok", "measure   count()\n // note\n where   ok", None), Vec::<String>::new());
    assert_eq!(
        words("measure count() where team = 'a  b'", "measure count() where team = 'a b'", None),
        ["filter changed: team = 'a  b' -> team = 'a b' [filter changed: check which rows are excluded now]"]
    );
}
