//! `per`: two-level aggregation. The rows a KPI keeps are grouped into entities (one per
//! key and `by` group), each with its `per` definitions; the measure then reads entities.

use super::*;

impl Checker<'_> {
    /// The checked `per` clause and the columns its entities have (for the measure).
    pub(super) fn per(
        &mut self,
        scope: &Scope,
        clause: &ast::KpiClause,
        by: &[String],
        by_computed: &[(String, TypedExpr)],
        time: Option<&str>,
    ) -> Option<(Per, IndexMap<String, (Type, Unit)>)> {
        let KpiClauseKind::Per { keys, defs } = &clause.kind else { return None };
        let errors_before = self.errors.len();
        let mut columns: IndexMap<String, (Type, Unit)> = IndexMap::new();
        let mut taken: HashMap<String, Span> = HashMap::new();
        let mut name_once = |cx: &mut Self, name: &ast::Ident, what: &str| -> bool {
            if let Some(first) = taken.get(&name.name) {
                cx.errors.push(
                    Diagnostic::error("YS0202", format!("`{}` is named twice in `per`", name.name))
                        .at(name.span, format!("again here, as {what}"))
                        .also(*first, "first here")
                        .help("give each key and definition its own name"),
                );
                return false;
            }
            taken.insert(name.name.clone(), name.span);
            true
        };
        let mut key_names = vec![];
        for key in keys {
            let Some(ty) = self.column(scope, key) else { continue };
            if by.contains(&key.name) {
                self.errors.push(
                    Diagnostic::error("YS0202", format!("`{}` is both a `per` key and a `by` group", key.name))
                        .at(key.span, "a key of each entity")
                        .help("an entity is one key within one group already: list the column in one of the two"),
                );
                continue;
            }
            if name_once(self, key, "a key") {
                key_names.push(key.name.clone());
                columns.insert(key.name.clone(), (ty, Unit::None));
            }
        }
        for name in by {
            let ty = match by_computed.iter().find(|(n, _)| n == name) {
                Some((_, e)) => e.ty,
                None => scope.column(name).unwrap_or(Type::Null),
            };
            columns.insert(name.clone(), (ty, Unit::None));
        }
        if let Some(t) = time {
            columns.insert(t.to_string(), (scope.column(t).unwrap_or(Type::Timestamp), Unit::None));
        }
        let mut checked = vec![];
        for (name, e) in defs {
            if by.contains(&name.name) || time == Some(name.name.as_str()) {
                self.errors.push(
                    Diagnostic::error("YS0202", format!("`{}` is already a value of each entity (a group or the time)", name.name))
                        .at(name.span, "taken")
                        .help(format!("name the definition differently, e.g. `{}_value = ...`", name.name)),
                );
                continue;
            }
            if !name_once(self, name, "a definition") {
                continue;
            }
            let Some((measure, unit)) = self.measure(scope, e, None) else { continue };
            columns.insert(name.name.clone(), (Type::Float, unit));
            checked.push((name.name.clone(), measure));
        }
        if self.errors.len() > errors_before {
            return None;
        }
        Some((Per { keys: key_names, defs: checked }, columns))
    }
}
