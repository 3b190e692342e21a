//! The example's report in headless chromium (tests/browser/check.mjs): every page, no
//! console errors, no request outside the report, no SVG text outside its chart, no axe-core
//! violation, no sideways scroll at 390 px. Screenshots go to `<target>/browser/`.
//!
//! Needs node, /usr/bin/chromium and tests/browser/node_modules (scripts/test installs them).
//! Without node the test prints a line and returns, except in CI (`CI` set), where it fails.

use std::path::PathBuf;
use std::process::Command;

use crate::common::*;

/// The cargo target directory this test binary runs from (`<target>/debug/deps/main-…`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    exe.ancestors().nth(3).map(PathBuf::from).unwrap_or_else(|| repo().join("target"))
}

#[test]
fn every_page_of_the_example_passes_in_a_browser() {
    let node_found = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !node_found {
        assert!(std::env::var_os("CI").is_none(), "CI runs the browser test: install node (scripts/test does)");
        println!("skipping the browser test: node is not installed (scripts/test installs it)");
        return;
    }
    let browser = repo().join("tests/browser");
    assert!(
        browser.join("node_modules/playwright-core").is_dir() && browser.join("node_modules/axe-core").is_dir(),
        "tests/browser/node_modules is missing: run scripts/test (it runs `npm ci` there)"
    );
    assert!(std::path::Path::new("/usr/bin/chromium").exists(), "/usr/bin/chromium is missing: scripts/test installs Debian's chromium");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let o = Command::new(yardstick_bin()).arg("build").arg(repo().join("examples/city")).arg("--out").arg(&out).output().expect("build");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let shots = target_dir().join("browser");
    let run = Command::new("node").arg(browser.join("check.mjs")).arg(&out).arg(&shots).current_dir(&browser).output().expect("node");
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}");
    assert!(run.status.success(), "the browser check failed:\n{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    // Every page was looked at.
    let pages = crate::report_pages::html_files(&out).len();
    assert!(stdout.contains(&format!("{pages} passed, 0 failed")), "{stdout}");
    assert!(shots.join("index.png").is_file() && shots.join("kpi__answered_10s.png").is_file());
}
