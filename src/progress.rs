//! Progress of a build, for people watching a terminal: which source is being read, how many
//! files and rows so far, then the queries. Stages report events here; nothing is shown
//! unless the command line installed a [`Sink`] (`yardstick build` on a terminal, or with
//! `--verbose`), so the library, tests and CI logs stay silent.
//!
//! Process-wide on purpose: threading a callback through every stage's signature for a line
//! on stderr would cost more than it shows.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where progress goes.
pub struct Sink {
    start: Instant,
    /// Rewrite one line in place (a terminal) instead of printing a line per event.
    live: bool,
    /// Show events from the start, not only once the build has taken [`QUIET_FOR`].
    verbose: bool,
    /// Something was drawn on the live line (to clear at the end).
    drawn: bool,
}

/// A build quicker than this shows no progress (unless `--verbose`).
pub const QUIET_FOR: Duration = Duration::from_secs(1);

static SINK: Mutex<Option<Sink>> = Mutex::new(None);

/// Show progress on stderr from now on: `live` rewrites one line (for a terminal);
/// otherwise each event is a line (`--verbose` in a log).
pub fn install(live: bool, verbose: bool) {
    if let Ok(mut sink) = SINK.lock() {
        *sink = Some(Sink { start: Instant::now(), live, verbose, drawn: false });
    }
}

/// Stop showing progress, clearing the live line.
pub fn finish() {
    if let Ok(mut sink) = SINK.lock() {
        if sink.take().is_some_and(|s| s.drawn && s.live) {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(b"\r\x1b[2K").and_then(|()| err.flush());
        }
    }
}

/// Report an event; `message` is only built when someone is watching.
pub fn report(message: impl FnOnce() -> String) {
    let Ok(mut guard) = SINK.lock() else { return };
    let Some(sink) = guard.as_mut() else { return };
    if !sink.verbose && sink.start.elapsed() < QUIET_FOR {
        return;
    }
    let text = crate::diagnostics::escape_text(&message()).replace('\n', " ");
    let mut err = std::io::stderr().lock();
    // A closed stderr is not an error: progress is only a courtesy.
    let _ = if sink.live {
        // Cut to a terminal line, so the line can be rewritten in place.
        let shown: String = text.chars().take(100).collect();
        err.write_all(format!("\r\x1b[2K{shown}").as_bytes())
    } else {
        err.write_all(format!("{text}\n").as_bytes())
    }
    .and_then(|()| err.flush());
    sink.drawn = true;
}
