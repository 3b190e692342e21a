//! What a KPI's chart is annotated with: `spc` options, events and rebases (on the KPI, its
//! objective, its goal, or the events file), benchmarks (the `benchmark` clause or the
//! benchmarks file). docs/spc.md.

use super::*;

/// An event or benchmark row of a file named in yardstick.yaml, read before the KPIs.
pub(super) struct FileEvent {
    /// A KPI, objective or goal id; `None` = every KPI.
    applies_to: Option<(String, Span)>,
    date: chrono::NaiveDate,
    text: String,
    rebase: bool,
}

pub(super) struct FileBenchmark {
    kpi: (String, Span),
    name: String,
    peer: bool,
    period: Option<chrono::NaiveDate>,
    group: Option<String>,
    value: ast::Quantity,
}

/// A CSV file's lowercased header and its records, each with its line's span.
type Records = (Vec<String>, Vec<(Vec<String>, Span)>);

/// A CSV text's header and records, each with its span (the whole line).
fn csv_records(file: FileId, text: &str) -> Result<Records, Box<Diagnostic>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = vec![];
    for rec in reader.records() {
        let rec = rec.map_err(|e| {
            let at = text.floor_char_boundary(e.position().map(|p| p.byte() as usize).unwrap_or(0).min(text.len()));
            Box::new(
                Diagnostic::error("YS0241", format!("cannot read this CSV file: {e}"))
                    .at(Span::new(file, at..text[at..].find('\n').map_or(text.len(), |n| at + n)), "here")
                    .help("the file is CSV with a header line; quote fields that hold commas"),
            )
        })?;
        let start = text.floor_char_boundary(rec.position().map(|p| p.byte() as usize).unwrap_or(0).min(text.len()));
        let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
        let fields: Vec<String> = rec.iter().map(|f| f.trim().trim_start_matches('\u{feff}').to_string()).collect();
        if fields.iter().all(String::is_empty) {
            continue;
        }
        rows.push((fields, Span::new(file, start..text[start..end].trim_end().len() + start)));
    }
    if rows.is_empty() {
        return Ok((vec![], vec![]));
    }
    let header = rows.remove(0).0.into_iter().map(|h| h.to_lowercase()).collect();
    Ok((header, rows))
}

fn yes_no(s: &str) -> Option<bool> {
    match s.to_lowercase().as_str() {
        "" | "no" | "false" | "0" | "n" => Some(false),
        "yes" | "true" | "1" | "y" => Some(true),
        _ => None,
    }
}

/// `85%`, `12.5`, `8 min`, `-3` as a quantity (spans: the whole line).
fn quantity(text: &str, span: Span) -> Option<ast::Quantity> {
    let t = text.trim();
    let (num, unit) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), Some("%".to_string())),
        None => match t.split_once(char::is_whitespace) {
            Some((n, u)) => (n, Some(u.trim().to_string())),
            None => (t, None),
        },
    };
    let number: f64 = num.parse().ok().filter(|n: &f64| n.is_finite())?;
    Some(ast::Quantity { number, text: num.to_string(), unit: unit.map(|name| ast::Ident { name, span }), span })
}

impl Checker<'_> {
    /// Read `events_file` and `benchmarks_file` (loaded by `project::load_annotations`).
    pub(super) fn read_annotation_files(&mut self) {
        if let Some((file, text)) = &self.config.events_text {
            match csv_records(*file, text) {
                Err(d) => self.errors.push(*d),
                Ok((header, rows)) => self.read_events(&header, rows, *file),
            }
        }
        if let Some((file, text)) = &self.config.benchmarks_text {
            match csv_records(*file, text) {
                Err(d) => self.errors.push(*d),
                Ok((header, rows)) => self.read_benchmarks(&header, rows, *file),
            }
        }
    }

    /// The columns a file's header must have (and may have); their positions.
    fn columns(&mut self, header: &[String], file: FileId, required: &[&str], optional: &[&str], what: &str) -> Option<Vec<Option<usize>>> {
        let span = Span::new(file, 0..self.config_text_len(file));
        for h in header {
            if !required.contains(&h.as_str()) && !optional.contains(&h.as_str()) {
                self.errors.push(
                    Diagnostic::error("YS0241", format!("the {what} has a column `{h}` yardstick does not know"))
                        .at(span, "header line")
                        .help(format!(
                            "its columns are {} (required) and {} (optional), in any order",
                            required.join(", "),
                            optional.join(", ")
                        )),
                );
                return None;
            }
        }
        let mut out = vec![];
        for c in required.iter().chain(optional) {
            let at = header.iter().position(|h| h == c);
            if at.is_none() && required.contains(c) {
                self.errors.push(Diagnostic::error("YS0241", format!("the {what} has no `{c}` column")).at(span, "header line").help(
                    format!("the first line names the columns: {} (required), {} (optional)", required.join(","), optional.join(",")),
                ));
                return None;
            }
            out.push(at);
        }
        Some(out)
    }

    fn config_text_len(&self, file: FileId) -> usize {
        [&self.config.events_text, &self.config.benchmarks_text]
            .into_iter()
            .flatten()
            .find(|(f, _)| *f == file)
            .map(|(_, t)| t.find('\n').unwrap_or(t.len()))
            .unwrap_or(0)
    }

    fn read_events(&mut self, header: &[String], rows: Vec<(Vec<String>, Span)>, file: FileId) {
        let Some(cols) = self.columns(header, file, &["date", "description"], &["applies_to", "rebase"], "events file") else { return };
        let get = |fields: &[String], i: usize| cols[i].and_then(|c| fields.get(c)).cloned().unwrap_or_default();
        for (fields, span) in rows {
            let date = get(&fields, 0);
            let Ok(d) = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d") else {
                self.errors.push(
                    Diagnostic::error("YS0241", format!("`{date}` in the events file is not a YYYY-MM-DD date"))
                        .at(span, "this line")
                        .help("write the day the change took effect, e.g. 2024-09-01"),
                );
                continue;
            };
            let rebase_text = get(&fields, 3);
            let Some(rebase) = yes_no(&rebase_text) else {
                self.errors.push(
                    Diagnostic::error("YS0241", format!("`{rebase_text}` in the `rebase` column is not yes or no"))
                        .at(span, "this line")
                        .help("write `yes` to restart the SPC limits at this event, `no` or nothing otherwise"),
                );
                continue;
            };
            let applies = get(&fields, 2);
            self.file_events.push(FileEvent {
                applies_to: (!applies.is_empty()).then_some((applies, span)),
                date: d,
                text: get(&fields, 1),
                rebase,
            });
        }
    }

    fn read_benchmarks(&mut self, header: &[String], rows: Vec<(Vec<String>, Span)>, file: FileId) {
        let Some(cols) = self.columns(header, file, &["kpi", "name", "value"], &["period", "group", "peer"], "benchmarks file") else {
            return;
        };
        let get = |fields: &[String], i: usize| cols[i].and_then(|c| fields.get(c)).cloned().unwrap_or_default();
        for (fields, span) in rows {
            let bad = |msg: String, help: &str| Diagnostic::error("YS0241", msg).at(span, "this line").help(help.to_string());
            let value_text = get(&fields, 2);
            let Some(value) = quantity(&value_text, span) else {
                self.errors.push(bad(
                    format!("`{value_text}` in the benchmarks file is not a number"),
                    "write the value in the KPI's unit: `85%` for a percentage, `12.5`, `8 min`",
                ));
                continue;
            };
            let period_text = get(&fields, 3);
            let period = if period_text.is_empty() {
                None
            } else {
                match chrono::NaiveDate::parse_from_str(&period_text, "%Y-%m-%d") {
                    Ok(d) => Some(d),
                    Err(_) => {
                        self.errors.push(bad(
                            format!("`{period_text}` in the `period` column is not a YYYY-MM-DD date"),
                            "write a day of the period (its first day, e.g. 2025-03-01 for March 2025), or nothing for every period",
                        ));
                        continue;
                    }
                }
            };
            let peer_text = get(&fields, 5);
            let Some(peer) = yes_no(&peer_text) else {
                self.errors.push(bad(
                    format!("`{peer_text}` in the `peer` column is not yes or no"),
                    "write `yes` for a peer organisation's value, `no` or nothing for a standard",
                ));
                continue;
            };
            let group = get(&fields, 4);
            self.file_benchmarks.push(FileBenchmark {
                kpi: (get(&fields, 0), span),
                name: get(&fields, 1),
                peer,
                period,
                group: (!group.is_empty()).then_some(group),
                value,
            });
        }
    }

    /// A KPI's own `spc`, `event`, `rebase` and `benchmark` clauses, with the events of its
    /// objective and goal.
    pub(super) fn annotations(&mut self, kpi: &ast::Kpi, k: &mut CheckedKpi) {
        let grain = k.grain;
        let calendar = &self.config.calendar;
        let period = |d: chrono::NaiveDate| grain.map_or(d, |g| g.period_of(d, calendar));
        let mut spc = SpcOptions {
            enabled: self.config.spc.enabled,
            screening: self.config.spc.screening,
            baseline: self.config.spc.baseline,
            two_of_three: self.config.spc.two_of_three,
        };
        let mut events = vec![];
        let mut benchmarks: Vec<Benchmark> = vec![];
        let mut names: HashMap<String, Span> = HashMap::new();
        let no_grain = |what: &str, span: Span| {
            Diagnostic::error("YS0240", format!("{what} needs a grain"))
                .at(span, "periods of which grain?")
                .help("events, rebases and SPC options are about periods: add e.g. `grain month`")
        };
        for c in &kpi.clauses {
            match &c.kind {
                KpiClauseKind::Spc(options) => self.spc_options(options, &mut spc, grain, c.span),
                KpiClauseKind::Event(e) if grain.is_none() => self.errors.push(no_grain("an event", e.span)),
                KpiClauseKind::Rebase(_) if grain.is_none() => self.errors.push(no_grain("a rebase", c.span)),
                KpiClauseKind::Event(e) => events.push(Event {
                    date: e.date.date,
                    period: period(e.date.date),
                    text: Some(e.text.value.clone()),
                    rebase: e.rebase,
                    origin: EventOrigin::Kpi,
                }),
                KpiClauseKind::Rebase(d) => {
                    events.push(Event { date: d.date, period: period(d.date), text: None, rebase: true, origin: EventOrigin::Kpi })
                }
                KpiClauseKind::Benchmark { peer: true, name, .. } if !k.by.is_empty() => self.errors.push(
                    Diagnostic::error("YS0240", format!("peer `{}` has one value for a KPI with `by`", name.value))
                        .at(c.span, "one value for every group")
                        .help("a KPI with `by` is ranked per group, against the peers' values for that group: give them in the benchmarks file (`benchmarks_file`), one line per group with the `group` column; or drop `peer` to draw it as a reference line"),
                ),
                KpiClauseKind::Benchmark { peer, name, value } => {
                    if let Some(first) = names.get(&name.value) {
                        self.errors.push(
                            Diagnostic::error("YS0240", format!("benchmark `{}` is given twice", name.value))
                                .at(name.span, "second one")
                                .also(*first, "first one")
                                .help("give each benchmark of a KPI its own name"),
                        );
                        continue;
                    }
                    names.insert(name.value.clone(), name.span);
                    if let Some(v) = self.quantity_in(value, &k.unit, "benchmark") {
                        benchmarks.push(Benchmark {
                            name: name.value.clone(),
                            peer: *peer,
                            values: vec![(None, None, v)],
                            from_definition: true,
                            group_lines: vec![],
                        });
                    }
                }
                _ => {}
            }
        }
        // Events of the objective and the goal (a KPI without a grain has no periods to mark).
        if grain.is_some() {
            for (scope, origin) in [
                (k.objective.clone(), k.objective.clone().map(EventOrigin::Objective)),
                (Some(k.goal.clone()), Some(EventOrigin::Goal(k.goal.clone()))),
            ] {
                let (Some(scope), Some(origin)) = (scope, origin) else { continue };
                // More than the limit is reported once per goal or objective (`check`).
                for e in self.scope_events.get(&scope).into_iter().flatten().take(crate::limits::MAX_EVENTS + 1) {
                    events.push(Event {
                        date: e.date.date,
                        period: period(e.date.date),
                        text: Some(e.text.value.clone()),
                        rebase: e.rebase,
                        origin: origin.clone(),
                    });
                }
            }
        }
        events.sort_by_key(|e| e.date);
        k.spc = spc;
        k.events = events;
        k.benchmarks = benchmarks;
    }

    fn spc_options(&mut self, options: &[ast::SpcOptionAst], spc: &mut SpcOptions, grain: Option<Grain>, span: Span) {
        use ast::SpcOptionAst as O;
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        for o in options {
            let (slot, at) = match o {
                O::On(s) | O::Off(s) => ("on/off", *s),
                O::Baseline { span, .. } => ("baseline", *span),
                O::Screening { span, .. } => ("screening", *span),
                O::TwoOfThree(id) => ("two_of_three", id.span),
            };
            if let Some(first) = seen.insert(slot, at) {
                self.errors.push(
                    Diagnostic::error("YS0240", format!("`spc` says `{}` twice", if slot == "on/off" { "on` or `off" } else { slot }))
                        .at(at, "again here")
                        .also(first, "first here")
                        .help("give each spc option once"),
                );
                continue;
            }
            match o {
                O::On(_) => spc.enabled = true,
                O::Off(_) => spc.enabled = false,
                O::Screening { on, .. } => spc.screening = *on,
                O::Baseline { n, span } => match n.parse::<u32>() {
                    Ok(n) if n >= 12 => spc.baseline = Some(n),
                    _ => self.errors.push(
                        Diagnostic::error("YS0240", format!("`spc baseline {n}`: the limits need at least 12 points"))
                            .at(*span, "fewer than 12, or not a whole number")
                            .help("fix the limits on 12 or more points (docs/spc.md), e.g. `spc baseline 12`"),
                    ),
                },
                O::TwoOfThree(id) => match TwoOfThree::ALL.iter().find(|(n, _)| *n == id.name) {
                    Some((_, t)) => spc.two_of_three = *t,
                    None => self.errors.push(
                        Diagnostic::error("YS0240", format!("unknown two_of_three rule `{}`", id.name))
                            .at(id.span, "not a rule")
                            .help(suggest("rule", &id.name, TwoOfThree::ALL.iter().map(|(n, _)| *n))),
                    ),
                },
            }
        }
        if grain.is_none() && spc.enabled && options.iter().any(|o| !matches!(o, O::Off(_))) {
            self.errors.push(
                Diagnostic::error("YS0240", "SPC options on a KPI without a grain")
                    .at(span, "an XmR chart needs periods")
                    .help("add e.g. `grain month`, or remove `spc`"),
            );
        }
    }

    /// The events and benchmarks files applied to every KPI they name (checked once all KPIs
    /// are known).
    pub(super) fn apply_annotation_files(&mut self, kpis: &mut [CheckedKpi], goals: &[GoalInfo]) {
        let calendar = self.config.calendar.clone();
        let file_events = std::mem::take(&mut self.file_events);
        for e in &file_events {
            if let Some((id, span)) = &e.applies_to {
                let known =
                    kpis.iter().any(|k| k.id == *id) || goals.iter().any(|g| g.id == *id || g.objectives.iter().any(|o| o.id == *id));
                if !known {
                    let mut names: Vec<&str> = kpis.iter().map(|k| k.id.as_str()).collect();
                    names.extend(goals.iter().map(|g| g.id.as_str()));
                    names.extend(goals.iter().flat_map(|g| g.objectives.iter().map(|o| o.id.as_str())));
                    self.errors.push(
                        Diagnostic::error("YS0241", format!("the events file names `{id}`, which is not a KPI, objective or goal"))
                            .at(*span, "this line")
                            .help(suggest("name", id, names.iter().copied())),
                    );
                    continue;
                }
            }
            for k in kpis.iter_mut().filter(|k| k.grain.is_some()) {
                let applies = match &e.applies_to {
                    None => true,
                    Some((id, _)) => k.id == *id || k.goal == *id || k.objective.as_deref() == Some(id),
                };
                if applies {
                    let period = k.grain.map_or(e.date, |g| g.period_of(e.date, &calendar));
                    k.events.push(Event { date: e.date, period, text: Some(e.text.clone()), rebase: e.rebase, origin: EventOrigin::File });
                }
            }
        }
        for k in kpis.iter_mut() {
            k.events.sort_by_key(|e| e.date);
            if k.events.len() > crate::limits::MAX_EVENTS {
                self.errors.push(
                    Diagnostic::error("YS0102", format!("KPI `{}` has {} events, more than {}", k.id, k.events.len(), crate::limits::MAX_EVENTS))
                        .at(k.id_span, "too many events")
                        .help("a KPI can have up to 100 events and rebases (docs/language.md, Limits): name fewer KPIs, objectives or goals in the events file's `applies_to`"),
                );
            }
        }
        let file_benchmarks = std::mem::take(&mut self.file_benchmarks);
        for b in &file_benchmarks {
            let (id, span) = &b.kpi;
            let Some(k) = kpis.iter_mut().find(|k| k.id == *id) else {
                let names: Vec<String> = kpis.iter().map(|k| k.id.clone()).collect();
                self.errors.push(
                    Diagnostic::error("YS0241", format!("the benchmarks file names `{id}`, which is not a KPI"))
                        .at(*span, "this line")
                        .help(suggest("KPI", id, names.iter().map(String::as_str))),
                );
                continue;
            };
            if b.peer && b.group.is_none() && !k.by.is_empty() {
                self.errors.push(
                    Diagnostic::error("YS0241", format!("the benchmarks file gives peer `{}` one value for `{id}`, which has `by`", b.name))
                        .at(*span, "this line")
                        .help("a KPI with `by` is ranked per group, against the peers' values for that group: write the group in the `group` column (one line per group), or write `no` in `peer` for a reference line on every group's chart"),
                );
                continue;
            }
            if b.group.is_some() && k.by.is_empty() {
                self.errors.push(
                    Diagnostic::error("YS0241", format!("the benchmarks file gives a group for `{id}`, which has no `by`"))
                        .at(*span, "this line")
                        .help("leave the `group` column empty for a KPI without groups"),
                );
                continue;
            }
            let period = match (b.period, k.grain) {
                (Some(p), Some(g)) => Some(g.period_of(p, &calendar)),
                (Some(_), None) => {
                    self.errors.push(
                        Diagnostic::error("YS0241", format!("the benchmarks file gives a period for `{id}`, which has no grain"))
                            .at(*span, "this line")
                            .help("leave the `period` column empty: the value applies to the KPI's one value"),
                    );
                    continue;
                }
                (None, _) => None,
            };
            let unit = k.unit.clone();
            let Some(v) = self.quantity_in(&b.value, &unit, "benchmark") else { continue };
            let group_line = b.group.clone().map(|g| (g, *span));
            match k.benchmarks.iter_mut().find(|x| x.name == b.name && !x.from_definition) {
                Some(x) => {
                    x.values.push((period, b.group.clone(), v));
                    x.group_lines.extend(group_line);
                }
                None => k.benchmarks.push(Benchmark {
                    name: b.name.clone(),
                    peer: b.peer,
                    values: vec![(period, b.group.clone(), v)],
                    from_definition: false,
                    group_lines: group_line.into_iter().collect(),
                }),
            }
        }
    }
}
