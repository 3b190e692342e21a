//! `init`, `list` and `explain`: what they print and their exit codes.

use crate::common::*;

#[test]
fn init_writes_a_project_that_builds_at_once() {
    let parent = tempfile::tempdir().expect("tempdir");
    let dir = parent.path().join("metrics-project");
    let d = dir.display().to_string();
    let (code, stdout, stderr) = yardstick(&["init", &d]);
    assert_eq!(code, 0, "{stderr}");
    for f in ["yardstick.yaml", "metrics/service.kpi", "data/tickets.csv", ".gitignore", ".github/workflows/yardstick.yml"] {
        assert!(dir.join(f).is_file(), "{f} written");
        assert!(stdout.contains(f), "{stdout}");
    }
    assert_eq!(std::fs::read_to_string(dir.join(".gitignore")).expect("read"), "out/\n.yardstick/\n");
    let workflow = std::fs::read_to_string(dir.join(".github/workflows/yardstick.yml")).expect("read");
    // It is examples/ci/github-actions.yml (docs/workflow.md), pointed at the project's root.
    let example = std::fs::read_to_string(repo().join("examples/ci/github-actions.yml")).expect("example");
    let differing: Vec<(&str, &str)> = example.lines().zip(workflow.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(example.lines().count(), workflow.lines().count());
    assert_eq!(differing.len(), 3, "{differing:?}");
    assert!(differing.iter().any(|(a, b)| a.contains("PROJECT: examples/city") && *b == "  PROJECT: ."), "{differing:?}");
    for step in ["yardstick check", "yardstick fmt --check", "yardstick build", "yardstick diff", "actions/deploy-pages"] {
        assert!(workflow.contains(step), "the workflow runs {step}");
    }

    let (code, _, stderr) = yardstick(&["build", &d]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "no warnings: {stderr}");
    let (code, _, stderr) = yardstick(&["fmt", "--check", &d]);
    assert_eq!(code, 0, "the starter files are formatted: {stderr}");
    // The workflow's own steps pass on the starter project, from its root.
    for args in [
        vec!["check", ".", "--format", "github"],
        vec!["build", ".", "--out", "public", "--format", "github", "--fail-on", "off_track,warnings"],
    ] {
        let out = std::process::Command::new(yardstick_bin()).args(&args).current_dir(&dir).output().expect("runs");
        assert!(out.status.success(), "{args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    assert!(dir.join("public/index.html").is_file());

    // Values counted by hand from src/templates/init/tickets.csv: 8 tickets a month; closed
    // within 2 days among the closed ones: Jan 6 of 7 (T004 took 3 days, T008 is open),
    // Feb 7 of 8 (T012 took 5 days), Mar 5 of 6 (T019 took 2 days 20 hours; T023, T024 open).
    let results = results_json(&dir.join("out"));
    let values = |id: &str| -> Vec<f64> {
        kpi(&results, id)["rows"].as_array().expect("rows").iter().map(|r| r["value"].as_f64().expect("value")).collect()
    };
    assert_eq!(values("tickets_opened"), [8.0, 8.0, 8.0]);
    let shares = values("closed_within_2_days");
    for (got, want) in shares.iter().zip([6.0 / 7.0, 7.0 / 8.0, 5.0 / 6.0]) {
        assert!(close(*got, want), "{shares:?}");
    }
}

#[test]
fn init_refuses_a_directory_that_is_not_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("notes.txt"), "mine").expect("write");
    let (code, stdout, stderr) = yardstick(&["init", &dir.path().display().to_string()]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(stderr.contains("YS0005") && stderr.contains("not empty"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1, "nothing written");

    let (code, _, stderr) = yardstick(&["init", &dir.path().join("notes.txt").display().to_string()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not a directory"), "{stderr}");
}

#[test]
fn list_shows_goals_objectives_kpis_and_sources() {
    let city = repo().join("examples/city").display().to_string();
    let (code, stdout, stderr) = yardstick(&["list", &city]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("goal safe_city \"A safe city\" (owner: Chief of Public Safety)\n"), "{stdout}");
    assert!(stdout.contains("    kpi on_scene_minutes \"Average minutes from call to arrival, priority 1\"\n"), "{stdout}");
    assert!(stdout.contains("target <= 15 min · per quarter · from calls_911 · owner Fire Chief"), "{stdout}");
    assert!(stdout.contains("derived from permitting_cost, permits_issued_per_month"), "{stdout}");

    let (code, stdout, stderr) = yardstick(&["list", &city, "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    // examples/city: 2 goals, 23 KPIs, 4 sources (the same counts `check` prints).
    assert_eq!(json["project"], "City of Example");
    assert_eq!(json["goals"].as_array().expect("goals").len(), 2);
    assert_eq!(json["kpis"].as_array().expect("kpis").len(), 23);
    assert_eq!(json["sources"].as_array().expect("sources").len(), 4);
    let k = kpi(&json, "answered_10s_rolling");
    assert_eq!(k["goal"], "safe_city");
    assert_eq!(k["objective"], "fast_answer");
    assert_eq!(k["owner"], "911 Center Manager");
    assert_eq!(k["source"], "calls_911");
    assert_eq!(k["grain"], "month");
    assert_eq!(k["targets"], serde_json::json!([">= 90% tolerance 2pp"]));
    assert_eq!(k["defined_at"], "metrics/safety.kpi:23");
    let derived = kpi(&json, "cost_per_permit");
    assert_eq!(derived["source"], serde_json::Value::Null);
    assert_eq!(derived["inputs"], serde_json::json!(["permitting_cost", "permits_issued_per_month"]));
    assert_eq!(json["goals"][0]["objectives"][1]["kpis"], serde_json::json!(["on_scene_minutes"]));
    let calls = json["sources"].as_array().expect("sources").iter().find(|s| s["id"] == "calls_911").expect("calls_911");
    assert_eq!(calls["path"], "data/calls_911.csv");
    // 6 KPIs, and 4 of the privacy example (safety.kpi: call_patterns, staffing).
    assert_eq!(calls["kpis"].as_array().expect("kpis").len(), 10);

    let (code, _, stderr) = yardstick(&["list", "/nonexistent/project"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("YS0001"), "{stderr}");
}

#[test]
fn explain_a_kpi_in_words_with_lineage_and_sql() {
    let city = repo().join("examples/city").display().to_string();
    let (code, stdout, stderr) = yardstick(&["explain", &city, "on_scene_minutes"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("kpi on_scene_minutes \"Average minutes from call to arrival, priority 1\"\n"), "{stdout}");
    let words = stdout.split("In words\n").nth(1).and_then(|s| s.split("\n\n").next()).expect("in words");
    let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        words,
        "The average of minutes_between(received_at, on_scene_at) over calls_911 rows with priority 1 and on_scene_at set, per quarter. Target: <= 15 min."
    );
    for line in [
        "  source     calls_911: data/calls_911.csv",
        "  files      data/calls_911.csv\n",
        "  columns    received_at (timestamp), on_scene_at (timestamp), priority (integer)\n",
        "  filters    priority = 1 and on_scene_at is not null\n",
        "  time       received_at, per quarter\n",
        "  calendar   weeks start on monday, fiscal year from 07-01\n",
        "  target     <= 15 min\n",
        "  owners     Fire Chief (KPI), Chief of Public Safety (objective)\n",
        "SQL\n  SELECT\n",
    ] {
        assert!(stdout.contains(line), "{line:?} in:\n{stdout}");
    }

    let (code, stdout, _) = yardstick(&["explain", &city, "answered_10s_rolling"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("answered_at is at most 10 seconds after received_at"), "{stdout}");
    assert!(stdout.contains("  window     rolling 3 months\n"), "{stdout}");

    let (code, stdout, _) = yardstick(&["explain", &city, "cost_per_permit"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("none: derived from the values of permitting_cost, permits_issued_per_month"), "{stdout}");

    let (code, _, stderr) = yardstick(&["explain", &city, "on_scene_minute"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("YS0006") && stderr.contains("did you mean `on_scene_minutes`?"), "{stderr}");
}

#[test]
fn explain_an_error_code_prints_its_docs() {
    let (code, stdout, stderr) = yardstick(&["explain", "YS0201"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("## YS0201: unknown column\n"), "{stdout}");
    assert!(!stdout.contains("## YS0202"), "only that section:\n{stdout}");
    let (code, stdout, _) = yardstick(&["explain", "ys0902"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("## YS0902:"), "{stdout}");
    let (code, _, stderr) = yardstick(&["explain", "YS0299"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("YS0006") && stderr.contains("no error code YS0299"), "{stderr}");
    // Every code has its section.
    for (code, _) in yardstick::diagnostics::CODES {
        assert!(yardstick::explain::error_doc(code).is_some(), "docs/errors.md has no `## {code}:` section");
    }
}

#[test]
fn the_new_commands_exit_2_on_usage_errors() {
    for args in [&["explain"][..], &["explain", "a", "b", "c"], &["fmt", "--bogus"], &["list", "--format", "yaml"], &["init", "a", "b"]] {
        let (code, stdout, stderr) = yardstick(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}");
    }
}
