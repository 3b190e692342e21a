//! How values are judged: targets, schedules, baselines, direction, comparisons, units.

use super::*;

impl Checker<'_> {
    /// Targets, baseline, direction and comparisons: how a KPI's values are judged.
    pub(super) fn framing(
        &mut self,
        by_kind: &HashMap<&'static str, &ast::KpiClause>,
        target_clauses: &[(&ast::TargetAst, Span)],
        grain: Option<Grain>,
        unit: &Unit,
    ) -> Framing {
        let mut targets: Vec<Target> = target_clauses.iter().filter_map(|(t, span)| self.target(t, unit, *span)).collect();
        if target_clauses.len() > 1 {
            // A schedule: every step but an optional first one says when it starts.
            let undated: Vec<Span> = target_clauses.iter().filter(|(t, _)| t.from.is_none()).map(|(_, s)| *s).collect();
            if undated.len() > 1 {
                self.errors.push(
                    Diagnostic::error("YS0203", "`target` is given twice")
                        .at(undated[1], "second one")
                        .also(undated[0], "first one")
                        .help("for targets that change over time, add `from <date>` to each later step: `target >= 85% from 2026-01-01`"),
                );
            }
        }
        for (t, span) in target_clauses {
            if t.from.is_some() && grain.is_none() {
                self.errors.push(
                    Diagnostic::error("YS0222", "a target `from` a date needs a grain")
                        .at(*span, "periods of which grain?")
                        .help("add e.g. `grain month`"),
                );
            }
        }
        targets.sort_by_key(|t| t.from);

        let baseline = match by_kind.get("baseline").map(|c| (&c.kind, c.span)) {
            Some((KpiClauseKind::Baseline { period, value }, span)) => match grain {
                None => {
                    self.errors.push(
                        Diagnostic::error("YS0222", "a baseline needs a grain")
                            .at(span, "a baseline is a period")
                            .help("add e.g. `grain month`"),
                    );
                    None
                }
                Some(g) => {
                    let v = value.as_ref().and_then(|q| self.quantity_in(q, unit, "baseline"));
                    if value.is_some() && v.is_none() {
                        None
                    } else {
                        Some(Baseline {
                            period: g.period_of(period.date, &self.config.calendar),
                            value: v,
                            text: value.as_ref().map(quantity_text).unwrap_or_default(),
                        })
                    }
                }
            },
            _ => None,
        };

        let implied = targets.iter().find_map(Target::direction);
        let direction = match by_kind.get("direction").map(|c| &c.kind) {
            Some(KpiClauseKind::Direction(d)) => {
                let stated = match d.name.as_str() {
                    "increasing" | "up" | "higher_is_better" => Some(Direction::Increasing),
                    "decreasing" | "down" | "lower_is_better" => Some(Direction::Decreasing),
                    _ => {
                        self.errors.push(
                            Diagnostic::error("YS0222", format!("unknown direction `{}`", d.name))
                                .at(d.span, "not a direction")
                                .help("write `direction increasing` (higher is better) or `direction decreasing` (lower is better)"),
                        );
                        None
                    }
                };
                if let (Some(s), Some(i)) = (stated, implied) {
                    if s != i {
                        self.errors.push(
                            Diagnostic::error("YS0222", "the direction contradicts the target")
                                .at(d.span, format!("says {}", if s == Direction::Increasing { "higher is better" } else { "lower is better" }))
                                .help("the target's comparator already sets the direction (`>=` higher is better, `<=` lower is better): remove `direction`"),
                        );
                    }
                }
                stated.or(implied)
            }
            _ => implied,
        };

        let mut compare = vec![];
        if let Some(c) = by_kind.get("compare") {
            if let KpiClauseKind::Compare(names) = &c.kind {
                for n in names {
                    match Comparison::ALL.iter().find(|(name, _)| *name == n.name).map(|(_, c)| *c) {
                        None => self.errors.push(
                            Diagnostic::error("YS0223", format!("unknown comparison `{}`", n.name))
                                .at(n.span, "not a comparison")
                                .help(suggest("comparison", &n.name, Comparison::ALL.iter().map(|(n, _)| *n))),
                        ),
                        Some(_) if grain.is_none() => self.errors.push(
                            Diagnostic::error("YS0223", "comparisons need a grain")
                                .at(n.span, "compared with which period?")
                                .help("add e.g. `grain month`"),
                        ),
                        Some(Comparison::Baseline) if !by_kind.contains_key("baseline") => self.errors.push(
                            Diagnostic::error("YS0223", "`compare baseline` needs a `baseline` clause")
                                .at(n.span, "which baseline?")
                                .help("add e.g. `baseline 2024-01-01: 72%`, or `baseline 2024-01-01` to use that period's own value"),
                        ),
                        Some(cmp) if compare.contains(&cmp) => self.errors.push(
                            Diagnostic::error("YS0203", format!("`{}` is listed twice in `compare`", n.name))
                                .at(n.span, "again here")
                                .help("list each comparison once"),
                        ),
                        Some(cmp) => compare.push(cmp),
                    }
                }
            }
        }
        Framing { targets, baseline, direction, compare }
    }

    /// A `unit` clause against the unit the measure is in: the same unit, a conversion
    /// between durations (the factor to multiply values by), or a name for a quantity whose
    /// unit yardstick does not know. Relabelling a known unit as another would publish
    /// 6.4 seconds as 6.4 minutes: an error.
    pub(super) fn declared_unit(&mut self, measured: &Unit, declared: Unit, span: Span, written: &str) -> Option<(Unit, Option<f64>)> {
        match (measured, &declared) {
            (m, d) if m == d => Some((declared, None)),
            // `unit pp` on a plain number names it, as before percentage points were a unit.
            (Unit::None | Unit::Named(_) | Unit::Count, Unit::PercentagePoints) => Some((Unit::Named("pp".into()), None)),
            (Unit::Duration(from), Unit::Duration(to)) => Some((declared.clone(), Some(from.seconds() / to.seconds()))),
            // A plain number (a sum of a column, a ratio of like units) can be named.
            (Unit::None | Unit::Named(_), _) => Some((declared, None)),
            // A count can be named (`unit "calls"`), not turned into a time or a share.
            (Unit::Count, Unit::Named(_) | Unit::None) => Some((declared, None)),
            (m, d) => {
                let help = match m {
                    Unit::Duration(_) => {
                        format!(
                            "the measure is a duration in {}: write `unit seconds`, `minutes`, `hours` or `days` (values are converted), or remove `unit`",
                            m.label()
                        )
                    }
                    Unit::Percent => "a share is a fraction shown as a percentage: remove `unit`, or measure something else".to_string(),
                    Unit::PercentagePoints => "a change of a share is in percentage points: remove `unit`".to_string(),
                    Unit::BusinessDays => "business days cannot be converted to calendar time: remove `unit`".to_string(),
                    Unit::Count => "a count can be given a name (`unit \"calls\"`), not a time or percentage unit".to_string(),
                    _ => "remove `unit` or make it match the measure".to_string(),
                };
                self.errors.push(
                    Diagnostic::error("YS0220", format!("`unit {written}` does not fit a measure in {}", m.label()))
                        .at(span, format!("the measure is in {}, not {}", m.label(), d.label()))
                        .help(help),
                );
                None
            }
        }
    }

    /// A target the measure can never meet (`>= 120%` on a share, `< 0` on a count) is an
    /// error: it would publish "off track" forever with no hint why.
    pub(super) fn reachable_targets(&mut self, targets: &[Target], measure: &Measure, unit: &Unit) {
        let (low, high) = match measure {
            Measure::Share { .. } => (0.0, 1.0),
            Measure::Aggregate(Aggregate { func: AggFunc::Count | AggFunc::CountDistinct, .. }) => (0.0, f64::INFINITY),
            _ => return,
        };
        let range = if high.is_finite() {
            format!("between {} and {}", show(low, unit), show(high, unit))
        } else {
            format!("at least {}", show(low, unit))
        };
        fn show(v: f64, unit: &Unit) -> String {
            if *unit == Unit::Percent { format!("{}%", v * 100.0) } else { format!("{v}") }
        }
        for t in targets {
            let impossible = match t.rule {
                TargetRule::Compare { comparator, value } => match comparator {
                    ast::Comparator::Ge => value > high,
                    ast::Comparator::Gt => value >= high,
                    ast::Comparator::Le => value < low,
                    ast::Comparator::Lt => value <= low,
                },
                TargetRule::Between { low: lo, high: hi } => lo > high || hi < low,
            };
            if impossible {
                self.errors.push(
                    Diagnostic::error("YS0222", format!("target `{}` can never be met: this measure is always {range}", t.text))
                        .at(t.span, "unreachable")
                        .help(if *unit == Unit::Percent {
                            "a share is between 0% and 100%: did you mean e.g. `target >= 90%`?".to_string()
                        } else {
                            format!("this measure is always {range}: write a target it can meet")
                        }),
                );
            }
        }
    }

    pub(super) fn target(&mut self, t: &ast::TargetAst, unit: &Unit, span: Span) -> Option<Target> {
        let (rule, text) = match &t.kind {
            ast::TargetKind::Compare { comparator, value } => {
                let v = self.quantity_in(value, unit, "target")?;
                (TargetRule::Compare { comparator: *comparator, value: v }, format!("{} {}", comparator.symbol(), quantity_text(value)))
            }
            ast::TargetKind::Between { low, high } => {
                let (lo, hi) = (self.quantity_in(low, unit, "target"), self.quantity_in(high, unit, "target"));
                let (lo, hi) = (lo?, hi?);
                if hi < lo {
                    self.errors.push(
                        Diagnostic::error("YS0222", "the target band is upside down")
                            .at(high.span, format!("below {}", quantity_text(low)))
                            .help("write `between <low> and <high>`"),
                    );
                    return None;
                }
                (TargetRule::Between { low: lo, high: hi }, format!("between {} and {}", quantity_text(low), quantity_text(high)))
            }
        };
        let tolerance = match &t.tolerance {
            Some(q) => {
                let is_pp = q.unit.as_ref().is_some_and(|u| u.name == "pp");
                let v = if is_pp {
                    if !matches!(unit, Unit::Percent | Unit::PercentagePoints) {
                        self.errors.push(
                            Diagnostic::error("YS0220", format!("tolerance in percentage points on a KPI measured in {}", unit.label()))
                                .at(q.span, "pp only fits percentages and their changes")
                                .help("write the tolerance in the KPI's unit"),
                        );
                        return None;
                    }
                    q.number / 100.0
                } else {
                    self.quantity_in(q, unit, "tolerance")?
                };
                if v < 0.0 {
                    self.errors.push(
                        Diagnostic::error("YS0222", "a tolerance cannot be negative")
                            .at(q.span, "negative")
                            .help("write how far off still counts as near, e.g. `tolerance 2pp`"),
                    );
                    return None;
                }
                Some(v)
            }
            None => None,
        };
        let mut text = text;
        if let Some(q) = &t.tolerance {
            text.push_str(&format!(" tolerance {}", quantity_text(q)));
        }
        if let Some(d) = &t.deadline {
            text.push_str(&format!(" by {}", d.date));
        }
        Some(Target { rule, tolerance, deadline: t.deadline.map(|d| d.date), from: t.from.map(|d| d.date), text, span })
    }

    /// A written quantity (`90%`, `8 min`, `5`) in the KPI's unit.
    pub(super) fn quantity_in(&mut self, q: &ast::Quantity, unit: &Unit, what: &str) -> Option<f64> {
        let written = q.unit.as_ref().map(|u| Unit::from_word(&u.name));
        match (written, unit) {
            (None, Unit::Percent) => {
                self.errors.push(
                    Diagnostic::error("YS0220", format!("a percentage KPI needs a percentage {what}")).at(q.span, "no `%`").help(
                        if q.number > 0.0 && q.number <= 1.0 {
                            format!(
                                "write the {what} with `%`: `{}%`, or `{}%` if {} is a fraction",
                                q.text,
                                crate::results::round_value(q.number * 100.0),
                                q.text
                            )
                        } else {
                            format!("write the {what} with `%`: `{}%`", q.text)
                        },
                    ),
                );
                None
            }
            (None, Unit::PercentagePoints) => {
                self.errors.push(
                    Diagnostic::error("YS0220", format!("a change of a percentage needs a {what} in percentage points"))
                        .at(q.span, "no `pp`")
                        .help(format!("write the {what} with `pp`: `{}pp` (percentage points)", q.text)),
                );
                None
            }
            (None, _) => Some(q.number),
            (Some(Unit::Percent), Unit::Percent) | (Some(Unit::PercentagePoints), Unit::PercentagePoints) => Some(q.number / 100.0),
            // A KPI whose unit is named "pp" (a plain number so labelled).
            (Some(Unit::PercentagePoints), Unit::Named(n)) if n == "pp" => Some(q.number),
            (Some(Unit::Duration(from)), Unit::Duration(to)) => Some(q.number * from.seconds() / to.seconds()),
            (Some(Unit::Duration(DurationUnit::Days) | Unit::BusinessDays), Unit::BusinessDays) => Some(q.number),
            (Some(w), u) if &w == u => Some(q.number),
            (Some(w), u) => {
                let label = q.unit.as_ref().map(|u| u.span).unwrap_or(q.span);
                let help = match u {
                    Unit::Percent => format!("this KPI is a percentage: write the {what} with `%`"),
                    Unit::PercentagePoints => {
                        format!("this KPI is a change of a percentage, in percentage points: write the {what} with `pp` (`{}pp`)", q.text)
                    }
                    // `1 - ratio(breaches, attendances)` is a fraction a reader thinks of in
                    // percent: naming the unit keeps the target as written.
                    Unit::None if w == Unit::Percent => format!(
                        "this KPI is a number: write the {what} as a plain number (`{}`), or, if the value is a fraction of one, show it in percent with `unit %` and keep `{}%`",
                        q.number / 100.0,
                        q.text
                    ),
                    Unit::Count | Unit::None => format!("this KPI is a {}: write the {what} as a plain number", u.label()),
                    Unit::Duration(_) => format!("this KPI is a duration: write the {what} in s, min, h or days"),
                    Unit::BusinessDays => format!("this KPI counts business days: write the {what} in days"),
                    Unit::Named(n) => format!("this KPI is in {n}: write the {what} in {n} or as a plain number"),
                };
                self.errors.push(
                    Diagnostic::error("YS0220", format!("{what} in {} on a KPI measured in {}", w.label(), u.label()))
                        .at(label, format!("{} does not fit a {} KPI", w.label(), u.label()))
                        .help(help),
                );
                None
            }
        }
    }
}

pub(super) struct Framing {
    pub(super) targets: Vec<Target>,
    pub(super) baseline: Option<Baseline>,
    pub(super) direction: Option<Direction>,
    pub(super) compare: Vec<Comparison>,
}

/// A quantity as written: `90%`, `8 min`, `5`.
pub(super) fn quantity_text(q: &ast::Quantity) -> String {
    match &q.unit {
        Some(u) if u.name == "%" || u.name == "pp" => format!("{}{}", q.text, u.name),
        Some(u) if ["$", "£", "€"].contains(&u.name.as_str()) => format!("{}{}", u.name, q.text),
        Some(u) => format!("{} {}", q.text, u.name),
        None => q.text.clone(),
    }
}
