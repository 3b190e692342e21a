//! Time: grain, date scope (`since` / `between`), windows.

use super::*;

impl Checker<'_> {
    pub(super) fn grain(&mut self, by_kind: &HashMap<&'static str, &ast::KpiClause>) -> Option<Grain> {
        let Some(KpiClauseKind::Grain(g)) = by_kind.get("grain").map(|c| &c.kind) else {
            return None;
        };
        let grain = Grain::ALL.iter().find(|(n, _)| *n == g.name).map(|(_, g)| *g);
        if grain.is_none() {
            self.errors.push(Diagnostic::error("YS0205", format!("unknown grain `{}`", g.name)).at(g.span, "not a grain").help(suggest(
                "grain",
                &g.name,
                Grain::ALL.iter().map(|(n, _)| *n),
            )));
        }
        grain
    }

    /// `since` / `between`.
    pub(super) fn scope(&mut self, by_kind: &HashMap<&'static str, &ast::KpiClause>, has_time: bool) -> DateScope {
        let Some(c) = by_kind.get("scope") else { return DateScope::default() };
        let KpiClauseKind::Scope { start, end } = &c.kind else { return DateScope::default() };
        if !has_time {
            self.errors.push(
                Diagnostic::error("YS0224", format!("`{}` needs a time column", c.kind.keyword()))
                    .at(c.span, "dates of which column?")
                    .help("add `time <column>`, or set `time:` on the source in yardstick.yaml"),
            );
        }
        if let Some(end) = end {
            if end.date < start.date {
                self.errors.push(
                    Diagnostic::error("YS0224", "the scope ends before it starts")
                        .at(end.span, format!("before {}", start.date))
                        .also(start.span, "start")
                        .help("write `between <first day> and <last day>`, the earlier date first"),
                );
            }
        }
        DateScope { start: Some(start.date), end: end.map(|e| e.date) }
    }

    /// `rolling n unit`, `year_to_date`, `fiscal_year_to_date`.
    pub(super) fn window(
        &mut self,
        by_kind: &HashMap<&'static str, &ast::KpiClause>,
        grain: Option<Grain>,
        measure: &Measure,
    ) -> Option<Window> {
        let c = by_kind.get("window")?;
        let KpiClauseKind::Window(w) = &c.kind else { return None };
        let Some(grain) = grain else {
            self.errors.push(
                Diagnostic::error("YS0223", "a time window needs a grain")
                    .at(c.span, "windows of which periods?")
                    .help("add e.g. `grain month`"),
            );
            return None;
        };
        match w {
            ast::Window::Rolling { n, n_span, unit } => {
                let name = unit.name.strip_suffix('s').unwrap_or(&unit.name);
                let Some(unit_grain) = Grain::ALL.iter().find(|(g, _)| *g == name || *g == unit.name).map(|(_, g)| *g) else {
                    self.errors.push(
                        Diagnostic::error("YS0223", format!("unknown window unit `{}`", unit.name))
                            .at(unit.span, "not a grain")
                            .help(suggest("grain", name, Grain::ALL.iter().map(|(n, _)| *n))),
                    );
                    return None;
                };
                let Some(per) = grain.periods_in(unit_grain) else {
                    self.errors.push(
                        Diagnostic::error("YS0223", format!("a {} window does not split into {} periods", unit_grain.name(), grain.name()))
                            .at(unit.span, format!("not a whole number of {}s", grain.name()))
                            .help(format!("write the window in {}s, e.g. `rolling 3 {}`", grain.name(), grain.name())),
                    );
                    return None;
                };
                let periods = n.saturating_mul(per);
                if periods > 1000 {
                    self.errors.push(
                        Diagnostic::error("YS0223", format!("a window of {periods} periods is too long"))
                            .at(*n_span, "at most 1000 periods")
                            .help("use a coarser grain for long windows"),
                    );
                    return None;
                }
                Some(Window::Rolling { periods })
            }
            ast::Window::Cumulative => {
                if !measure.is_additive() {
                    self.errors.push(
                        Diagnostic::error("YS0223", "`cumulative` needs a measure that adds up over periods")
                            .at(c.span, "not a count or a sum")
                            .help("`cumulative` keeps a running total of counts and sums; for a cumulative ratio, make a derived KPI of two cumulative KPIs, e.g. `measure closed_to_date / opened_to_date`; for medians or shares use `year_to_date` or `rolling`"),
                    );
                    return None;
                }
                Some(Window::Cumulative)
            }
            ast::Window::YearToDate | ast::Window::FiscalYearToDate => {
                let fiscal = matches!(w, ast::Window::FiscalYearToDate);
                let fits = match grain {
                    // Weeks straddle year boundaries: a year-to-date of weeks is ambiguous.
                    Grain::Year | Grain::FiscalYear | Grain::Week => false,
                    Grain::Quarter if fiscal => (self.config.calendar.fiscal_start_month() - 1) % 3 == 0,
                    Grain::FiscalQuarter => fiscal,
                    _ => true,
                };
                if !fits {
                    self.errors.push(
                        Diagnostic::error("YS0223", format!("`{}` does not fit grain {}", c.kind.keyword(), grain.name()))
                            .at(
                                c.span,
                                if grain == Grain::Week {
                                    "weeks cross the start of the year"
                                } else {
                                    "periods cross the year boundary or are whole years"
                                },
                            )
                            .help(if fiscal { "use grain month or fiscal_quarter" } else { "use grain month or quarter" }),
                    );
                    return None;
                }
                Some(Window::YearToDate { fiscal })
            }
        }
    }
}
