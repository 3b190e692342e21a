//! Column and time-column names against the source declarations.

use super::*;

impl Checker<'_> {
    pub(super) fn time_column(&mut self, scope: &Scope, name: &str, span: Span) -> Option<String> {
        let ident = ast::Ident { name: name.to_string(), span };
        let ty = self.column(scope, &ident)?;
        if scope.source.file_column.as_deref() == Some(name) {
            // The file-name column is text and cannot be declared otherwise (its name is
            // taken); dates in file names are read by a `from_file_name` column.
            self.errors.push(
                Diagnostic::error("YS0207", format!("time column `{name}` is the source's file-name column, which holds text"))
                    .at(span, "the file name, not a date")
                    .help(format!(
                        "use a date or timestamp column of source `{}` as the time; for a date in the file names, declare a date column with `from_file_name` (docs/configuration.md, \"Values from file names\")",
                        scope.source_id
                    )),
            );
            return None;
        }
        if !matches!(ty, Type::Date | Type::Timestamp) {
            self.errors.push(
                Diagnostic::error("YS0207", format!("time column `{name}` is {}, not a date or timestamp", article(ty)))
                    .at(span, format!("declared as {} in yardstick.yaml", ty.name()))
                    .help(format!(
                        "declare it as `{name}: {{ type: timestamp, format: \"...\" }}` or `type: date` in source `{}`",
                        scope.source_id
                    )),
            );
            return None;
        }
        Some(name.to_string())
    }

    pub(super) fn column(&mut self, scope: &Scope, col: &ast::Ident) -> Option<Type> {
        match scope.column(&col.name) {
            Some(t) => Some(t),
            None if scope.entity.is_some() => {
                self.errors.push(
                    Diagnostic::error(
                        "YS0201",
                        format!("unknown column `{}`: under `per` the measure reads each entity's values", col.name),
                    )
                    .at(col.span, "not a key, group, time or `per` definition")
                    .help(format!(
                        "{}; to use a column of `{}`, add a definition such as `({} = max({}))` to `per`",
                        suggest("value", &col.name, scope.names()),
                        scope.source_id,
                        col.name,
                        col.name
                    )),
                );
                None
            }
            None => {
                self.errors.push(
                    Diagnostic::error("YS0201", format!("unknown column `{}` in source `{}`", col.name, scope.source_id))
                        .at(col.span, "not a declared column")
                        .help(suggest("column", &col.name, scope.names())),
                );
                None
            }
        }
    }
}
