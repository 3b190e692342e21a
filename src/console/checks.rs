//! Data checks' outcomes on the command line (`yardstick test`, `yardstick build`): plain
//! lines for people (`file:line: fail: ...`, the example rows under it, a summary) and
//! GitHub annotations (`::error` for a failed check, `::warning` for a warned one).

use crate::diagnostics::escape_text;
use crate::results::{CheckResult, CheckStatus};

/// People's lines: every check (`all`) or only those that did not pass, then the summary.
pub fn human(checks: &[CheckResult], all: bool) -> String {
    let mut out = String::new();
    for c in checks.iter().filter(|c| all || c.status != CheckStatus::Pass) {
        out.push_str(&escape_text(&format!("{}: {}: {} `{}`: {}\n", c.defined_at, c.status.name(), subject(c), c.check, c.detail)));
        for e in &c.examples {
            out.push_str(&escape_text(&format!("  {}\n", example(e))));
        }
    }
    if !checks.is_empty() {
        out.push_str(&summary(checks));
        out.push('\n');
    }
    out
}

/// What a check is about: `check calls_911` (a source's), `check calls_911 for KPI
/// answered_10s` (a KPI's, on the rows that KPI reads).
pub fn subject(c: &CheckResult) -> String {
    match &c.kpi {
        Some(k) => format!("check {} for KPI {k}", c.source),
        None => format!("check {}", c.source),
    }
}

/// `data checks: 12 passed, 3 warned, 2 failed, 1 skipped` (the parts that are not 0 aside
/// from `passed`).
pub fn summary(checks: &[CheckResult]) -> String {
    let n = |s: CheckStatus| checks.iter().filter(|c| c.status == s).count();
    let mut parts = vec![format!("{} passed", n(CheckStatus::Pass))];
    for (s, word) in [(CheckStatus::Warn, "warned"), (CheckStatus::Fail, "failed"), (CheckStatus::Skipped, "skipped")] {
        if n(s) > 0 {
            parts.push(format!("{} {word}", n(s)));
        }
    }
    format!("data checks: {}", parts.join(", "))
}

/// `data/calls.csv:14: district = null`.
pub fn example(e: &crate::results::CheckExample) -> String {
    let place = match (e.line, e.row) {
        (Some(l), _) => format!("{}:{l}", e.file),
        (None, Some(r)) => format!("{} row {r}", e.file),
        _ => e.file.clone(),
    };
    let values: Vec<String> = e.values.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    format!("{place}: {}", values.join(", "))
}

/// One annotation per check that failed or warned, on the rule's line.
pub fn github(checks: &[CheckResult]) -> String {
    let mut out = String::new();
    for c in checks {
        let kind = match c.status {
            CheckStatus::Fail => "error",
            CheckStatus::Warn => "warning",
            CheckStatus::Pass | CheckStatus::Skipped => continue,
        };
        let mut props = vec![];
        if let Some((file, line)) = c.defined_at.rsplit_once(':') {
            props.push(("file", file.to_string()));
            props.push(("line", line.to_string()));
        }
        props.push(("title", format!("data check {}", c.status.name())));
        let mut message = format!("{} `{}`: {}", subject(c), c.check, c.detail);
        for e in &c.examples {
            message.push('\n');
            message.push_str(&example(e));
        }
        out.push_str(&crate::diagnostics::render::github::annotation(kind, &props, &message));
        out.push('\n');
    }
    out
}
