//! One renderer per output format of `check` and `build` (`--format`):
//!
//! - [`human`]: for people. On a terminal, miette's drawing (boxes, colours, wrapped help);
//!   elsewhere (a pipe, a CI log, `--color never`) plain lines that are never wrapped and
//!   draw nothing: `path:line:col: error[YS0201]: message`, the line with `^^^` under the
//!   place, `help:`.
//! - [`json`]: one JSON document, the shape documented in docs/cli.md.
//! - [`github`]: GitHub Actions workflow commands (`::error file=..,line=..::message`),
//!   which GitHub shows as annotations on the lines of a pull request.
//!
//! Renderers take the [`SourceMap`] with file names as they should be printed: relative to
//! the current directory for people, to the repository's top for GitHub (see
//! `console::Paths`).

pub mod github;
pub mod human;
pub mod json;

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// For people (the default).
    #[default]
    Human,
    /// One JSON document on stdout (docs/cli.md "JSON output").
    Json,
    /// GitHub Actions annotations (`::error file=...`) on stdout.
    Github,
}

/// Where a diagnostic points: 1-based lines and columns (in characters); the end is
/// exclusive (the column after the last character).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

impl Place {
    pub fn of(span: crate::span::Span, sources: &crate::span::SourceMap) -> Option<Place> {
        let file = sources.try_get(span.file)?;
        let (line, column) = sources.line_col(span);
        let (end_line, end_column) = sources.end_line_col(span);
        Some(Place { file: file.name.clone(), line, column, end_line, end_column })
    }
}
