//! Limits on the size of definitions. Every pass over an expression or the KPI graph is
//! bounded by these, so no input can exhaust the stack, and the time and memory a definition
//! can cost grow at most linearly with its size. Each limit is far above what a real project
//! needs; going over one is error YS0102 (or YS0002 for yardstick.yaml), pointing at the place.
//! docs/language.md ("Limits") lists them for users.

/// Parentheses, function calls, `in (...)` lists, `not` and `-` inside one another.
pub const MAX_NESTING: usize = 64;

/// Terms in one expression (`measure` or `where`): operators, values, names and calls.
pub const MAX_EXPR_NODES: usize = 2_000;

/// KPIs in one project.
pub const MAX_KPIS: usize = 50_000;

/// `[` / `{` flow collections inside one another in yardstick.yaml (and block nesting levels).
pub const MAX_YAML_NESTING: usize = 64;

/// Events and rebases on one KPI (its own, its objective's and goal's, the events file's):
/// each is drawn on every chart of the KPI and gets a before/after per group.
pub const MAX_EVENTS: usize = 100;
