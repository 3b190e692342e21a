//! `yardstick sql --dialect X [--all [--out DIR]]`: KPIs as SQL for a warehouse's own
//! scheduled jobs (docs/scale.md, "Warehouses"). `plan::export` writes the text; this
//! module picks the KPIs, writes the files and words what cannot be exported.

use std::path::Path;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::plan::dialect::{Dialect, Unsupported};
use crate::plan::export::{dialect_name, kpi_file};
use crate::{CommandOutput, Compiled, Options};

/// What to export: one KPI (printed), or every KPI (printed one after another, or written
/// as `<kpi>.sql` files into a directory).
pub enum Export<'a> {
    Kpi(&'a str),
    All { out: Option<&'a Path> },
}

pub fn run(dir: &Path, what: Export, dialect: Dialect, options: Options, color: bool) -> CommandOutput {
    let c = match crate::compile_with(dir, options) {
        Ok(c) => c,
        Err(f) => return CommandOutput::failed(&f, color),
    };
    let render = |errors: Vec<Diagnostic>| Diagnostics(errors).render(&c.sources, color);
    match what {
        Export::Kpi(id) => match kpi_file(&c.model, &c.plans, id, dialect) {
            Some(Ok(text)) => CommandOutput::ok(crate::diagnostics::escape_text(&text).into_owned()),
            Some(Err(u)) => CommandOutput { status: 1, stdout: String::new(), stderr: render(vec![unsupported(&c, id, &u)]) },
            None => {
                let help = crate::diagnostics::suggest("KPI", id, c.model.kpis.iter().map(|k| k.id.as_str()));
                let d = Diagnostic::error("YS0006", format!("no KPI `{id}` in {}", dir.display())).help(help);
                CommandOutput { status: 1, stdout: String::new(), stderr: render(vec![d]) }
            }
        },
        Export::All { out } => {
            let mut files = vec![];
            let mut errors = vec![];
            for kpi in &c.model.kpis {
                match kpi_file(&c.model, &c.plans, &kpi.id, dialect) {
                    Some(Ok(text)) => files.push((format!("{}.sql", kpi.id), text)),
                    Some(Err(u)) => errors.push(unsupported(&c, &kpi.id, &u)),
                    None => {}
                }
            }
            let mut stdout = String::new();
            match out {
                None => {
                    for (name, text) in &files {
                        stdout.push_str(&format!("-- file: {name}\n{}\n", crate::diagnostics::escape_text(text)));
                    }
                }
                Some(out) => {
                    for (name, text) in &files {
                        let path = out.join(name);
                        match write_atomically(out, name, text) {
                            Ok(()) => stdout.push_str(&format!("wrote {}\n", crate::diagnostics::escape_text(&path.display().to_string()))),
                            Err(e) => errors.push(
                                Diagnostic::error("YS0421", format!("cannot write {}: {e}", path.display()))
                                    .help("check that the --out directory can be created and written to"),
                            ),
                        }
                    }
                }
            }
            let status = u8::from(!errors.is_empty());
            let stderr = if errors.is_empty() { String::new() } else { render(errors) };
            CommandOutput { status, stdout, stderr }
        }
    }
}

fn unsupported(c: &Compiled, id: &str, u: &Unsupported) -> Diagnostic {
    let mut d = Diagnostic::error("YS0420", format!("KPI `{id}` cannot be exported as {} SQL: {u}", u.dialect.title())).help(format!(
        "yardstick computes it itself (`yardstick build`); no SQL that computes something else is written. Dialects: {}",
        Dialect::ALL.iter().map(|d| dialect_name(*d)).collect::<Vec<_>>().join(", ")
    ));
    if let Some(k) = c.model.kpi(id) {
        d = d.at(k.id_span, "this KPI");
    }
    d
}

/// `dir/name` replaced as a whole: a temporary file in `dir`, renamed over it (a reader
/// never sees half a file; a symbolic link there is replaced, never followed).
fn write_atomically(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.yardstick-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(name))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
