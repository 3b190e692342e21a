//! Privacy (docs/privacy.md): what a build's audience may see, and small-cell protection.
//!
//! Two steps, at two places in the pipeline:
//! - [`audience::public_model`], after `check` and before `plan` (public builds): internal
//!   KPIs, objectives and breakdowns leave the model, so no later stage (queries, SQL,
//!   results.json, the report, `diff`) ever holds them.
//! - [`suppress::suppress`], after `series` and before `spc` (public builds): cells counting
//!   too few rows are suppressed, with the cells that would give them away, and counts are
//!   rounded; SPC, results.json and the report then read only what may be published. The
//!   rows each cell counts come from [`counts::count_kpis`], one hidden count per KPI,
//!   planned and run with the KPI's own query.

pub mod audience;
pub mod complement;
pub mod counts;
pub mod suppress;

/// Who a build is for: `public` (the command line's default: internal things left out,
/// small cells suppressed) or `internal` (everything, as computed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Public,
    /// The library's default (`Options::default()`), which tests and `sql`, `list` and
    /// `explain` use; `build` and `diff` on the command line are public unless told.
    #[default]
    Internal,
}

impl Audience {
    pub fn name(self) -> &'static str {
        match self {
            Audience::Public => "public",
            Audience::Internal => "internal",
        }
    }
}
