//! `yardstick.yaml`: the project, its calendar and its data sources.
//!
//! This is the only module that knows YAML exists (serde_yaml is deprecated upstream; swapping
//! it for serde_yaml_ng or serde-saphyr touches this file only). Unknown keys are errors with
//! line numbers; everything that can be validated without reading data is validated here.

use std::fmt;

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::limits::MAX_YAML_NESTING;
use crate::span::{FileId, SourceFile, Span};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Project name, shown as the report's heading.
    pub name: String,
    /// Optional longer title for the report.
    #[serde(default)]
    pub title: Option<String>,
    /// Output directory, relative to the project dir.
    #[serde(default = "default_output")]
    pub output: String,
    /// Which period a KPI's headline (and the scorecard) shows: the latest complete one
    /// (default) or the latest, even if provisional.
    #[serde(default)]
    pub headline_period: HeadlinePeriod,
    /// Directories outside the project that sources, `holidays_file` and `output` may name
    /// (absolute, or relative to the project). Anything else outside is refused.
    #[serde(default)]
    pub allow_paths: Vec<String>,
    /// The cache of parsed CSV files (docs/configuration.md).
    #[serde(default)]
    pub cache: CacheConfig,
    #[serde(default)]
    pub calendar: Calendar,
    #[serde(default, deserialize_with = "unique_keys")]
    pub sources: IndexMap<String, SourceSpec>,
    /// The project's defaults for XmR charts (docs/spc.md); a KPI's `spc` clause overrides.
    #[serde(default)]
    pub spc: SpcDefaults,
    /// Small-cell suppression and rounding for public builds (docs/privacy.md).
    #[serde(default)]
    pub privacy: PrivacyDefaults,
    /// A CSV of interventions (`date,description[,applies_to][,rebase]`, docs/spc.md).
    #[serde(default)]
    pub events_file: Option<String>,
    /// A CSV of benchmark values (`kpi,name,value[,period][,group][,peer]`, docs/spc.md).
    #[serde(default)]
    pub benchmarks_file: Option<String>,
    /// `events_file` and `benchmarks_file` as loaded by `project::load_annotations`.
    #[serde(skip)]
    pub events_text: Option<(FileId, String)>,
    #[serde(skip)]
    pub benchmarks_text: Option<(FileId, String)>,
    /// The YAML file's id, for diagnostics. Set by [`load_config`].
    #[serde(skip)]
    pub file: FileId,
}

/// `cache:` in yardstick.yaml: where parsed CSV files are kept between builds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Relative to the project directory; outside it only under `allow_paths`.
    #[serde(default = "default_cache_dir")]
    pub dir: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig { dir: default_cache_dir(), enabled: true }
    }
}

fn default_cache_dir() -> String {
    ".yardstick/cache".to_string()
}

/// `spc:` in yardstick.yaml.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SpcDefaults {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "yes")]
    pub screening: bool,
    /// Limits from the first N points (N >= 12).
    #[serde(default)]
    pub baseline: Option<u32>,
    #[serde(default)]
    pub two_of_three: TwoOfThree,
}

fn yes() -> bool {
    true
}

impl Default for SpcDefaults {
    fn default() -> Self {
        SpcDefaults { enabled: true, screening: true, baseline: None, two_of_three: TwoOfThree::BetweenLimits }
    }
}

/// `privacy:` in yardstick.yaml: the project's small-cell rules for public builds; a KPI's
/// `suppress` clause overrides them (docs/privacy.md).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PrivacyDefaults {
    /// A cell counting fewer rows than this (but more than none) is suppressed; 0 turns
    /// suppression off.
    #[serde(default = "ten")]
    pub min_count: u64,
    /// Published counts are rounded to the nearest multiple of this (none when unset).
    #[serde(default)]
    pub rounding: Option<u64>,
}

fn ten() -> u64 {
    10
}

impl Default for PrivacyDefaults {
    fn default() -> Self {
        PrivacyDefaults { min_count: 10, rounding: None }
    }
}

/// Which points count towards "2 of 3 points beyond the 2-sigma line".
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TwoOfThree {
    /// Only points between the 2-sigma line and the process limit (NHSRplotthedots 0.2.2).
    #[default]
    BetweenLimits,
    /// Every point beyond the 2-sigma line, beyond the limit too (the MDC tools since 2023).
    BeyondTwoSigma,
}

impl TwoOfThree {
    pub const ALL: [(&'static str, TwoOfThree); 2] =
        [("between_limits", TwoOfThree::BetweenLimits), ("beyond_two_sigma", TwoOfThree::BeyondTwoSigma)];
}

/// Starts the message of a duplicate key error (found again by [`load_config`] to point at both).
const DUPLICATE: &str = "duplicate key ";

/// A map whose keys must differ: YAML (and serde_yaml) would silently keep the last of two
/// `name:` entries, hiding a source or column the user thinks is declared.
fn unique_keys<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<IndexMap<String, T>, D::Error> {
    struct UniqueKeys<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for UniqueKeys<T> {
        type Value = IndexMap<String, T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = IndexMap::new();
            while let Some(key) = map.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(de::Error::custom(format!("{DUPLICATE}`{key}`")));
                }
                let value = map.next_value()?;
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    d.deserialize_map(UniqueKeys(std::marker::PhantomData))
}

fn default_output() -> String {
    "out".to_string()
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    #[serde(default)]
    pub week_start: WeekStart,
    /// `MM-DD`, the first day of the fiscal year, e.g. `07-01`.
    #[serde(default)]
    pub fiscal_year_start: Option<String>,
    /// How the report names a fiscal year: a pattern with `{start}` / `{end}` (the years it
    /// starts and ends in) and `{start2}` / `{end2}` (their last two digits), e.g.
    /// `"{start}-{end2}"` for `2024-25`. Default: [`DEFAULT_FISCAL_YEAR_LABEL`].
    #[serde(default)]
    pub fiscal_year_label: Option<String>,
    #[serde(default)]
    pub holidays: Vec<String>,
    /// A text or CSV file (relative to the project) whose lines start with a holiday date,
    /// `YYYY-MM-DD`; a header line and anything after the first comma are ignored. Read by
    /// `project`, merged into `holidays`.
    #[serde(default)]
    pub holidays_file: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadlinePeriod {
    /// The latest period that is not provisional.
    #[default]
    Complete,
    /// The latest period with a value, provisional or not.
    Latest,
}

/// When a period's data is complete (source key `complete_after`): the data lag after a
/// period's last day before its value is final. Periods are judged against the source's
/// data end (its latest time value) or `--as-of`, whichever is earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompleteAfter {
    /// Complete once the data reaches `months` and `days` past the period's last day
    /// (`0 days`, the default: once the data reaches the period's last day).
    Lag { months: u32, days: u32 },
    /// `none`: rows are per-period totals, a period is complete as soon as it has data.
    Never,
}

impl Default for CompleteAfter {
    fn default() -> Self {
        CompleteAfter::Lag { months: 0, days: 0 }
    }
}

impl CompleteAfter {
    /// `30 days`, `2 weeks`, `1 month`, `0 days` or `none`.
    pub fn parse(text: &str) -> Result<CompleteAfter, String> {
        let t = text.trim().to_lowercase();
        if t == "none" {
            return Ok(CompleteAfter::Never);
        }
        let bad = || format!("`{text}` is not a data lag: write e.g. `30 days`, `2 weeks`, `1 month`, `0 days`, or `none`");
        let (n, unit) = t.split_once(char::is_whitespace).ok_or_else(bad)?;
        let n: u32 = n.parse().map_err(|_| bad())?;
        if n > 3660 {
            return Err(format!("`{text}` is more than ten years"));
        }
        match unit.trim() {
            "day" | "days" => Ok(CompleteAfter::Lag { months: 0, days: n }),
            "week" | "weeks" => Ok(CompleteAfter::Lag { months: 0, days: n * 7 }),
            "month" | "months" => Ok(CompleteAfter::Lag { months: n, days: 0 }),
            _ => Err(bad()),
        }
    }

    pub fn text(self) -> String {
        match self {
            CompleteAfter::Never => "none".into(),
            CompleteAfter::Lag { months: 0, days } => format!("{days} day{}", if days == 1 { "" } else { "s" }),
            CompleteAfter::Lag { months, .. } => format!("{months} month{}", if months == 1 { "" } else { "s" }),
        }
    }
}

fn complete_after<'de, D: Deserializer<'de>>(d: D) -> Result<CompleteAfter, D::Error> {
    let text = String::deserialize(d)?;
    CompleteAfter::parse(&text).map_err(de::Error::custom)
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WeekStart {
    #[default]
    Monday,
    Sunday,
    Saturday,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Parquet,
    /// A PostgreSQL table (`postgres:` + `table:`), never written as a `format:`.
    #[serde(skip)]
    Postgres,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnInvalid {
    /// Stop with an error naming the file, line, column and the bad text.
    #[default]
    Error,
    /// Keep the row, the bad value becomes null (counted in the results' source summary).
    Null,
    /// Drop the whole row (counted in the results' source summary).
    Skip,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    #[serde(rename = "utf-8", alias = "utf8", alias = "UTF-8")]
    Utf8,
    #[serde(rename = "windows-1252", alias = "cp1252", alias = "latin1", alias = "windows1252")]
    Windows1252,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// A file path or glob, relative to the project dir (empty for a PostgreSQL table).
    #[serde(default)]
    pub path: String,
    /// A PostgreSQL connection string (libpq key=value or `postgresql://` URL), `${NAME}`
    /// replaced by the environment variable NAME when the source is read (passwords stay
    /// out of the file). With `table`, instead of `path`.
    #[serde(default)]
    pub postgres: Option<String>,
    /// The PostgreSQL table (or view) read: `name` or `schema.name`, as PostgreSQL stores it.
    #[serde(default)]
    pub table: Option<String>,
    /// csv or parquet; by default taken from the path's extension.
    #[serde(default)]
    pub format: Option<Format>,
    #[serde(default)]
    pub encoding: Encoding,
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// Texts read as null (the empty field is always null).
    #[serde(default)]
    pub null_values: Vec<String>,
    #[serde(default)]
    pub on_invalid: OnInvalid,
    /// The default time column of KPIs over this source.
    #[serde(default)]
    pub time: Option<String>,
    /// Name of an extra string column holding each row's file name (for globs).
    #[serde(default)]
    pub file_column: Option<String>,
    /// Human description, shown in the report's lineage section.
    #[serde(default)]
    pub description: Option<String>,
    /// The data lag before a period is complete; later periods are provisional.
    #[serde(default, deserialize_with = "complete_after")]
    pub complete_after: CompleteAfter,
    /// Years a date or timestamp value may have, `[first, last]` (default 1900-2100):
    /// a value outside is invalid (a `%Y` that read `24` as the year 24, a typo'd 2300).
    #[serde(default = "default_valid_years")]
    pub valid_years: [i32; 2],
    /// CSV: the line of each file that holds the header (1 = the first line); the lines
    /// above it are skipped, whatever they hold. Blank lines at the header's place are
    /// skipped too.
    #[serde(default = "default_header_row")]
    pub header_row: usize,
    /// CSV: what to do with lines after the last readable row of a file that cannot be read
    /// as rows (notes, totals with missing fields): `error` (default) or `skip` (counted).
    #[serde(default)]
    pub trailing_notes: TrailingNotes,
    /// Remove spaces around the values of every string column (a column's `trim` overrides).
    #[serde(default)]
    pub trim: bool,
    #[serde(deserialize_with = "unique_keys")]
    pub columns: IndexMap<String, ColumnSpec>,
    /// Where `path:` is in yardstick.yaml (set by [`load_config`]), for file errors.
    #[serde(skip)]
    pub path_span: Span,
    /// The month the calendar's fiscal year starts in (set by [`load_config`]), for
    /// fiscal-year labels in date columns.
    #[serde(skip, default = "january")]
    pub fiscal_start_month: u32,
}

fn default_header_row() -> usize {
    1
}

fn january() -> u32 {
    1
}

/// Lines at the end of a CSV file that are not rows (source key `trailing_notes`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum TrailingNotes {
    /// A line that cannot be read is an error, wherever it is.
    #[default]
    Error,
    /// Lines after the last readable row that cannot be read are skipped and counted
    /// (`trailing_notes` in the source's stats); a readable row after them makes them errors.
    Skip,
}

fn default_valid_years() -> [i32; 2] {
    [1900, 2100]
}

fn default_delimiter() -> char {
    ','
}

impl SourceSpec {
    pub fn format(&self) -> Format {
        if self.postgres.is_some() {
            return Format::Postgres;
        }
        self.format.unwrap_or(if self.path.to_lowercase().ends_with(".parquet") { Format::Parquet } else { Format::Csv })
    }

    /// Where the rows come from, for people (lineage, `list`, `explain`, results.json's
    /// `path`): the path pattern, or the PostgreSQL table; never the connection string,
    /// which may hold a password.
    pub fn location(&self) -> String {
        match (&self.postgres, &self.table) {
            (Some(_), Some(table)) => format!("postgres table {table}"),
            (Some(_), None) => "postgres table".to_string(),
            _ => self.path.clone(),
        }
    }

    /// Whether the values of a string column are trimmed (the column's `trim`, else the source's).
    pub fn trims(&self, column: &ColumnSpec) -> bool {
        column.ty == ColumnType::String && column.trim.unwrap_or(self.trim)
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    String,
    Integer,
    Float,
    Boolean,
    Date,
    Timestamp,
}

impl ColumnType {
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Integer => "integer",
            ColumnType::Float => "float",
            ColumnType::Boolean => "boolean",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
        }
    }
}

/// A declared column: `name: string` or `name: { type: timestamp, format: "%d/%m/%Y" }`.
#[derive(Debug, Clone)]
pub struct ColumnSpec {
    pub ty: ColumnType,
    /// chrono formats tried in order (dates and timestamps); empty means ISO 8601.
    pub formats: Vec<String>,
    /// Other header names this column goes by in some files.
    pub aliases: Vec<String>,
    /// Thousands separator in numbers, e.g. `,` for `16,670`.
    pub thousands: Option<char>,
    /// Overrides the source's `on_invalid` for this column.
    pub on_invalid: Option<OnInvalid>,
    /// Header name in the file when it differs from the column name.
    pub header: Option<String>,
    /// The column's position in the file (1 = first), when its header name is repeated or
    /// empty; overrides `header` and `aliases`.
    pub position: Option<usize>,
    /// Files without the column give it null values (counted in the source's stats)
    /// instead of an error.
    pub optional: bool,
    /// Remove spaces around the value (string columns); `None`: the source's `trim`.
    pub trim: Option<bool>,
    /// The value is read from each file's name with this pattern (`{}` marks the value,
    /// `*` any text), not from a column of the file.
    pub from_file_name: Option<String>,
    /// Personal data (names, addresses, identifiers): usable in filters and counts, never
    /// shown as a value or a group (docs/privacy.md).
    pub pii: bool,
    /// Breakdowns by this column are left out of public builds.
    pub internal: bool,
    /// Where the column is declared in yardstick.yaml (set by [`load_config`]).
    pub span: Span,
}

/// Format keywords yardstick reads itself (beside chrono formats): Excel serial day numbers,
/// fiscal-year labels (`FY2020`, `2019/20`) and quarter labels (`Q3 2021`, `2021Q3`).
pub const FORMAT_KEYWORDS: &[&str] = &["excel", "fiscal_year", "quarter"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnSpecFull {
    #[serde(rename = "type")]
    ty: ColumnType,
    #[serde(default)]
    format: Option<OneOrMany>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    thousands: Option<char>,
    /// `on_invalid: null` unquoted is YAML's null: it means the `null` policy, not "unset".
    #[serde(default, deserialize_with = "yaml_null_is_null_policy")]
    on_invalid: Option<OnInvalid>,
    #[serde(default)]
    header: Option<String>,
    #[serde(default)]
    position: Option<usize>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    trim: Option<bool>,
    #[serde(default)]
    from_file_name: Option<String>,
    #[serde(default)]
    pii: bool,
    #[serde(default)]
    internal: bool,
}

fn yaml_null_is_null_policy<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<OnInvalid>, D::Error> {
    Ok(Some(Option::<OnInvalid>::deserialize(d)?.unwrap_or(OnInvalid::Null)))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for ColumnSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ColumnVisitor;
        impl<'de> Visitor<'de> for ColumnVisitor {
            type Value = ColumnSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a column type (string, integer, float, boolean, date, timestamp) or a map with `type:`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ColumnSpec, E> {
                let ty = ColumnType::deserialize(de::value::StrDeserializer::<E>::new(v))?;
                Ok(ColumnSpec {
                    ty,
                    formats: vec![],
                    aliases: vec![],
                    thousands: None,
                    on_invalid: None,
                    header: None,
                    position: None,
                    optional: false,
                    trim: None,
                    from_file_name: None,
                    pii: false,
                    internal: false,
                    span: Span::default(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ColumnSpec, A::Error> {
                let full = ColumnSpecFull::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let formats = match full.format {
                    None => vec![],
                    Some(OneOrMany::One(f)) => vec![f],
                    Some(OneOrMany::Many(v)) => v,
                };
                for f in &formats {
                    if let Err(why) = validate_time_format(f) {
                        return Err(de::Error::custom(format!("invalid format {f:?}: {why}")));
                    }
                }
                if full.position == Some(0) {
                    return Err(de::Error::custom("`position` counts from 1 (the first column of the file)"));
                }
                if !formats.is_empty() && !matches!(full.ty, ColumnType::Date | ColumnType::Timestamp) {
                    return Err(de::Error::custom("`format` applies to date and timestamp columns only"));
                }
                if full.trim.is_some() && full.ty != ColumnType::String {
                    return Err(de::Error::custom("`trim` applies to string columns only (other types ignore spaces around values)"));
                }
                if let Some(pattern) = &full.from_file_name {
                    if let Err(why) = crate::ingest::FileNamePattern::parse(pattern) {
                        return Err(de::Error::custom(format!("invalid `from_file_name` {pattern:?}: {why}")));
                    }
                    if full.header.is_some() || !full.aliases.is_empty() || full.position.is_some() || full.optional {
                        return Err(de::Error::custom(
                            "a column read `from_file_name` is not in the file: it takes no `header`, `aliases`, `position` or `optional`",
                        ));
                    }
                }
                Ok(ColumnSpec {
                    ty: full.ty,
                    formats,
                    aliases: full.aliases,
                    thousands: full.thousands,
                    on_invalid: full.on_invalid,
                    header: full.header,
                    position: full.position,
                    optional: full.optional,
                    trim: full.trim,
                    from_file_name: full.from_file_name,
                    pii: full.pii,
                    internal: full.internal,
                    span: Span::default(),
                })
            }
        }
        deserializer.deserialize_any(ColumnVisitor)
    }
}

/// Whether yardstick reads a format itself, not DataFusion (Parquet text columns): the
/// keywords, and chrono formats without a day (`%Y-%m`, `%b-%Y`), read as the first day.
pub fn needs_own_parser(f: &str) -> bool {
    use chrono::format::{Item, Numeric, StrftimeItems};
    let day = [Numeric::Day, Numeric::Ordinal, Numeric::IsoWeek, Numeric::WeekFromMon, Numeric::WeekFromSun, Numeric::Timestamp];
    FORMAT_KEYWORDS.contains(&f) || !StrftimeItems::new(f).any(|i| matches!(&i, Item::Numeric(n, _) if day.contains(n)))
}

/// A chrono strftime format must parse, and must not be empty; the keywords of
/// [`FORMAT_KEYWORDS`] are formats too. A format that reads a year without a month and
/// speaks of fiscal years (`FY%Y`) would read FY2020 as 1 January 2020: refused, with the
/// keyword that reads it.
fn validate_time_format(f: &str) -> Result<(), String> {
    use chrono::format::{Fixed, Item, Numeric, StrftimeItems};
    if FORMAT_KEYWORDS.contains(&f) {
        return Ok(());
    }
    if f.trim().is_empty() {
        return Err("the format is empty".into());
    }
    if StrftimeItems::new(f).any(|i| matches!(i, Item::Error)) {
        return Err("not a valid chrono format (see https://docs.rs/chrono/latest/chrono/format/strftime)".into());
    }
    let has = |want: &[Numeric]| StrftimeItems::new(f).any(|i| matches!(&i, Item::Numeric(n, _) if want.contains(n)));
    let month_name = StrftimeItems::new(f).any(|i| matches!(i, Item::Fixed(Fixed::ShortMonthName | Fixed::LongMonthName)));
    let year_only = has(&[Numeric::Year, Numeric::YearMod100]) && !has(&[Numeric::Month, Numeric::Ordinal]) && !month_name;
    if year_only && f.to_lowercase().contains("fy") {
        return Err(format!(
            "{f:?} would read a fiscal-year label as a calendar year (FY2020 as 2020-01-01): write `format: fiscal_year`, which reads FY2020, FY20, 2019/20 and 2019-20 as the first day of that fiscal year (calendar.fiscal_year_start)"
        ));
    }
    Ok(())
}

/// Parse `yardstick.yaml` text. `file` is its id in the source map, for error spans.
pub fn load_config(file: FileId, text: &str) -> Result<Config, Diagnostics> {
    check_yaml_nesting(file, text).map_err(Diagnostics::one)?;
    let mut config: Config = serde_yaml::from_str(text).map_err(|e| Diagnostics::one(yaml_error(file, text, &e)))?;
    config.file = file;
    let keys = YamlKeys::new(text);
    let yaml_key_span = |file: FileId, _: &str, path: &[&str]| keys.span(file, path);
    let fiscal_start_month = config.calendar.fiscal_start_month();
    for (id, source) in config.sources.iter_mut() {
        source.fiscal_start_month = fiscal_start_month;
        // A table source's errors point at the source's name, never at `postgres:`, whose
        // line may hold a password.
        source.path_span = match source.postgres {
            Some(_) => yaml_key_span(file, text, &["sources", id]),
            None => yaml_key_span(file, text, &["sources", id, "path"]),
        };
        for (name, column) in source.columns.iter_mut() {
            column.span = yaml_key_span(file, text, &["sources", id, "columns", name]);
        }
    }
    let mut errors = vec![];
    for (id, source) in &config.sources {
        if source.valid_years[0] < 1678 || source.valid_years[1] > 2261 {
            // Timestamps are computed in nanoseconds from 1970 in places: ±292 years.
            errors.push(
                Diagnostic::error("YS0002", format!("source `{id}`: `valid_years` must lie within 1678-2261"))
                    .at(yaml_key_span(file, text, &["sources", id, "valid_years"]), "out of range")
                    .help("yardstick computes with times from 1678 to 2261: write e.g. `valid_years: [1800, 2200]`"),
            );
        } else if source.valid_years[0] > source.valid_years[1] {
            errors.push(
                Diagnostic::error("YS0002", format!("source `{id}`: `valid_years` runs backwards"))
                    .at(yaml_key_span(file, text, &["sources", id, "valid_years"]), "first year after the last")
                    .help("write `valid_years: [1900, 2100]`: the first and the last year a date may have"),
            );
        }
        source_location_errors(file, id, source, &yaml_key_span, &mut errors);
        if !is_identifier(id) {
            errors.push(
                Diagnostic::error("YS0002", format!("source name `{id}` is not an identifier"))
                    .at(yaml_key_span(file, text, &["sources", id]), "source name")
                    .help("use letters, digits and `_`, starting with a letter or `_`, e.g. `calls_911`"),
            );
        }
        if let Some(fc) = &source.file_column {
            if source.columns.contains_key(fc) {
                errors.push(
                    Diagnostic::error("YS0002", format!("source `{id}`: `file_column: {fc}` is also a declared column"))
                        .at(yaml_key_span(file, text, &["sources", id, "file_column"]), "same name as a column")
                        .help("name the file-name column something the files do not have, e.g. `file_column: source_file`"),
                );
            }
        }
        if source.header_row == 0 {
            errors.push(
                Diagnostic::error("YS0002", format!("source `{id}`: `header_row` counts from 1 (the first line of the file)"))
                    .at(yaml_key_span(file, text, &["sources", id, "header_row"]), "0 is not a line")
                    .help("write the line number of the header as a text editor shows it, e.g. `header_row: 3` for a header below a title and a blank line"),
            );
        }
        if !source.delimiter.is_ascii() {
            errors.push(
                Diagnostic::error("YS0002", format!("source `{id}`: the delimiter `{}` is not a single ASCII character", source.delimiter))
                    .at(yaml_key_span(file, text, &["sources", id, "delimiter"]), "here")
                    .help("CSV delimiters are one ASCII character such as `,`, `;`, `|` or a tab (\"\\t\")"),
            );
        }
        if let Some(time) = &source.time {
            if let Some(col) = source.columns.get(time).filter(|c| !matches!(c.ty, ColumnType::Date | ColumnType::Timestamp)) {
                errors.push(
                    Diagnostic::error("YS0207", format!("source `{id}`: time column `{time}` is not a date or timestamp"))
                        .at(yaml_key_span(file, text, &["sources", id, "time"]), format!("`{time}` is declared as {}", col.ty.name()))
                        .help(format!(
                            "declare `{time}` as `{{ type: timestamp, format: \"...\" }}` or `date`, or point `time:` at a date column"
                        )),
                );
            }
            if !source.columns.contains_key(time) {
                errors.push(
                    Diagnostic::error("YS0201", format!("source `{id}` has no column `{time}` for `time`"))
                        .at(yaml_key_span(file, text, &["sources", id, "time"]), "not a declared column")
                        .help(crate::diagnostics::suggest("column", time, source.columns.keys().map(String::as_str))),
                );
            }
        }
    }
    if config.spc.baseline.is_some_and(|n| n < 12) {
        errors.push(
            Diagnostic::error("YS0002", "`spc.baseline` must be at least 12 points")
                .at(yaml_key_span(file, text, &["spc", "baseline"]), "fewer than 12")
                .help("limits fixed on fewer than 12 points are not reliable (docs/spc.md): write `baseline: 12` or more, or remove it"),
        );
    }
    if config.privacy.rounding == Some(0) {
        errors.push(
            Diagnostic::error("YS0002", "`privacy.rounding` must be 1 or more")
                .at(yaml_key_span(file, text, &["privacy", "rounding"]), "0")
                .help("write the base counts are rounded to, e.g. `rounding: 5`, or remove it to publish counts as they are"),
        );
    }
    if let Some(start) = &config.calendar.fiscal_year_start {
        if parse_month_day(start).is_none() {
            errors.push(
                Diagnostic::error("YS0002", format!("fiscal_year_start `{start}` is not a MM-DD date on the first of a month"))
                    .at(yaml_key_span(file, text, &["calendar", "fiscal_year_start"]), "here")
                    .help("write e.g. `fiscal_year_start: \"07-01\"` for a July-June fiscal year"),
            );
        }
    }
    if let Some(label) = &config.calendar.fiscal_year_label {
        if let Err(why) = check_fiscal_year_label(label) {
            errors.push(
                Diagnostic::error("YS0002", format!("fiscal_year_label `{label}` {why}"))
                    .at(yaml_key_span(file, text, &["calendar", "fiscal_year_label"]), "here")
                    .help("write a pattern with {start}, {end}, {start2} or {end2}, e.g. `fiscal_year_label: \"FY {start}/{end2}\"` (FY 2024/25) or `\"{start}-{end2}\"` (2024-25)"),
            );
        }
    }
    for h in &config.calendar.holidays {
        if chrono::NaiveDate::parse_from_str(h, "%Y-%m-%d").is_err() {
            errors.push(
                Diagnostic::error("YS0002", format!("holiday `{h}` is not a YYYY-MM-DD date"))
                    .at(holiday_span(file, text, yaml_key_span(file, text, &["calendar", "holidays"]), h), "not a date")
                    .help("write holidays as YYYY-MM-DD dates, e.g. [2025-01-01, 2025-12-25]"),
            );
        }
    }
    if errors.is_empty() { Ok(config) } else { Err(Diagnostics(errors)) }
}

impl Calendar {
    /// The month (1-12) the fiscal year starts in; January when not set.
    pub fn fiscal_start_month(&self) -> u32 {
        self.fiscal_year_start.as_deref().and_then(parse_month_day).unwrap_or(1)
    }
}

impl WeekStart {
    /// The week's first day as a weekday number from Monday (Monday 0, Saturday 5, Sunday 6).
    pub fn days_from_monday(self) -> u32 {
        match self {
            WeekStart::Monday => 0,
            WeekStart::Sunday => 6,
            WeekStart::Saturday => 5,
        }
    }
}

/// How a fiscal year is named when `fiscal_year_label` is not set: `FY 2024/25` for a year
/// from July 2024 to June 2025; a fiscal year that starts in January is `FY 2025`.
pub const DEFAULT_FISCAL_YEAR_LABEL: &str = "FY {start}/{end2}";
const FISCAL_YEAR_PLACEHOLDERS: [&str; 4] = ["{start}", "{end}", "{start2}", "{end2}"];

/// A `fiscal_year_label` names at least one year and no other `{...}`; it is at most 40
/// characters of one line.
fn check_fiscal_year_label(label: &str) -> Result<(), String> {
    if label.chars().count() > 40 || label.chars().any(char::is_control) {
        return Err("is not a short one-line label".into());
    }
    let mut rest = label;
    let mut years = 0;
    while let Some(open) = rest.find('{') {
        let tail = &rest[open..];
        match FISCAL_YEAR_PLACEHOLDERS.iter().find(|p| tail.starts_with(**p)) {
            Some(p) => {
                years += 1;
                rest = &tail[p.len()..];
            }
            None => return Err(format!("has an unknown placeholder at `{}`", tail.chars().take(10).collect::<String>())),
        }
    }
    if years == 0 { Err("names no year".into()) } else { Ok(()) }
}

/// `07-01` -> month 7. Fiscal years start on the first of a month.
pub fn parse_month_day(s: &str) -> Option<u32> {
    let (m, d) = s.split_once('-')?;
    let m: u32 = m.parse().ok()?;
    let d: u32 = d.parse().ok()?;
    ((1..=12).contains(&m) && d == 1).then_some(m)
}

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A serde_yaml error as a diagnostic at its place (found from its line and column, which
/// count chars: never a byte offset that could fall inside a char).
/// The bad holiday itself: its first occurrence after the `holidays:` key (the key when the
/// text is not found, e.g. written with quotes that YAML removed).
fn holiday_span(file: FileId, text: &str, key: Span, holiday: &str) -> Span {
    let from = (key.end as usize).min(text.len());
    match text.get(from..).and_then(|rest| rest.find(holiday)) {
        Some(at) if !holiday.is_empty() => Span::new(file, from + at..from + at + holiday.len()),
        _ => key,
    }
}

fn yaml_error(file: FileId, text: &str, e: &serde_yaml::Error) -> Diagnostic {
    let message = strip_location(&e.to_string());
    let mut d = Diagnostic::error("YS0002", format!("invalid yardstick.yaml: {message}"));
    let src = SourceFile::new("", text);
    let start = e.location().map(|loc| {
        let line = src.line_range(loc.line().saturating_sub(1));
        let rest = &text[line.start..line.end];
        line.start + rest.char_indices().nth(loc.column().saturating_sub(1)).map_or(rest.len(), |(i, _)| i)
    });
    if let Some(at) = message.find(DUPLICATE) {
        // `sources.s.columns: duplicate key `a``: serde_yaml reports it at the start of the map.
        let key = message[at + DUPLICATE.len()..].trim_matches('`');
        let path = message[..at].trim_end_matches([' ', ':']);
        let within = if path.is_empty() { String::new() } else { format!("{path}: ") };
        let help = "YAML would silently keep only the last one: remove or rename one of them";
        if let [first, second] = duplicate_key_lines(&src, key, start.unwrap_or(0)).as_slice() {
            let (l1, l2) = (src.line_of(first.start) + 1, src.line_of(second.start) + 1);
            return Diagnostic::error(
                "YS0002",
                format!("invalid yardstick.yaml: {within}`{key}` is declared twice, on lines {l1} and {l2}"),
            )
            .at(Span::new(file, second.clone()), "declared again here")
            .also(Span::new(file, first.clone()), "first declared here")
            .help(help);
        }
        d = Diagnostic::error("YS0002", format!("invalid yardstick.yaml: {within}`{key}` is declared twice"));
        if let Some(start) = start {
            d = d.at(Span::new(file, start..start + text[start..].chars().next().map_or(0, char::len_utf8)), "in this map");
        }
        return d.help(help);
    }
    // A tab in the indentation: YAML forbids it, serde_yaml says "cannot start any token".
    if let Some(line) = (0..src.line_count()).find(|l| {
        let t = &src.text[src.line_range(*l)];
        t.trim_start_matches(' ').starts_with('\t')
    }) {
        let range = src.line_range(line);
        let tab = range.start + src.text[range.clone()].find('\t').unwrap_or(0);
        return Diagnostic::error("YS0002", format!("invalid yardstick.yaml: line {} is indented with a tab", line + 1))
            .at(Span::new(file, tab..tab + 1), "a tab")
            .help("YAML indentation must use spaces, not tabs: replace the tab with spaces (most editors can show and convert tabs)");
    }
    let mut help = "see docs/configuration.md for every key yardstick.yaml accepts".to_string();
    // `unknown field `colums`, expected one of `path`, ...`: say which one was meant.
    if let Some(rest) = message.strip_prefix("unknown field `").or_else(|| message.split_once(": unknown field `").map(|(_, r)| r)) {
        let (unknown, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let allowed: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        if let Some(near) = crate::diagnostics::did_you_mean(unknown, allowed.iter().copied()) {
            help = format!("did you mean `{near}`? (docs/configuration.md lists every key)");
        }
    }
    if let Some(start) = start {
        let rest = &text[start..src.line_range(src.line_of(start)).end.max(start)];
        let end = start + rest.find(':').filter(|n| *n > 0).unwrap_or(rest.len());
        let end = if end == start { start + rest.chars().next().map_or(0, char::len_utf8) } else { end };
        d = d.at(Span::new(file, start..end), "here");
    }
    d.help(help)
}

/// The first two block-style `key:` lines of the map that starts at `map_start` (where
/// serde_yaml reports the duplicate): the same indentation, no line indented less between.
fn duplicate_key_lines(src: &SourceFile, key: &str, map_start: usize) -> Vec<std::ops::Range<usize>> {
    let mut keys: Vec<(usize, std::ops::Range<usize>)> = vec![];
    for line in src.line_of(map_start)..src.line_count() {
        let range = src.line_range(line);
        let text = &src.text[range.clone()];
        let trimmed = text.trim_start_matches(' ');
        let indent = text.len() - trimmed.len();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        // Leaving a map ends its candidates.
        keys.retain(|(i, _)| *i <= indent);
        let len = key_len(trimmed, key);
        if len > 0 {
            let span = range.start + indent..range.start + indent + len;
            match keys.iter().find(|(i, _)| *i == indent) {
                Some((_, first)) => return vec![first.clone(), span],
                None => keys.push((indent, span)),
            }
        }
    }
    vec![]
}

/// Length of `key` (quoted or not) at the start of `line` when it is followed by `:`, else 0.
fn key_len(line: &str, key: &str) -> usize {
    let candidates = [
        (line.strip_prefix(key), key.len()),
        (line.strip_prefix('"').and_then(|t| t.strip_prefix(key)).and_then(|t| t.strip_prefix('"')), key.len() + 2),
        (line.strip_prefix('\'').and_then(|t| t.strip_prefix(key)).and_then(|t| t.strip_prefix('\'')), key.len() + 2),
    ];
    candidates.into_iter().find_map(|(rest, len)| rest.filter(|r| r.trim_start_matches(' ').starts_with(':')).map(|_| len)).unwrap_or(0)
}

/// `[` and `{` nesting in the YAML text, before serde_yaml reads it (its scanner slows down
/// with every open level). Quoted scalars and comments are skipped; a quote only opens a
/// scalar where a value can start.
fn check_yaml_nesting(file: FileId, text: &str) -> Result<(), Diagnostic> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    // The last byte that was not a space: a quote after one of these (or at a line start) opens a quoted scalar.
    let mut prev = b'\n';
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\'' | b'"' if matches!(prev, b'\n' | b':' | b'-' | b'[' | b'{' | b',' | b'?') => {
                let mut j = i + 1;
                while j < bytes.len() {
                    if b == b'"' && bytes[j] == b'\\' {
                        j += 2;
                        continue;
                    }
                    if bytes[j] == b {
                        // `''` inside a single-quoted scalar is a quote.
                        if b == b'\'' && bytes.get(j + 1) == Some(&b'\'') {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    j += 1;
                }
                i = j + 1;
                prev = b;
                continue;
            }
            b'#' if matches!(prev, b'\n') || i == 0 || matches!(bytes[i - 1], b' ' | b'\t') => {
                i = bytes[i..].iter().position(|c| *c == b'\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_YAML_NESTING {
                    return Err(Diagnostic::error(
                        "YS0002",
                        format!("invalid yardstick.yaml: nested more than {MAX_YAML_NESTING} levels deep"),
                    )
                    .at(Span::new(file, i..i + 1), format!("level {}", MAX_YAML_NESTING + 1))
                    .help(format!(
                        "`[...]` and `{{...}}` can be nested up to {MAX_YAML_NESTING} levels; yardstick.yaml needs three or four"
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if b == b'\n' || (b != b' ' && b != b'\t') {
            prev = b;
        }
        i += 1;
    }
    Ok(())
}

/// serde_yaml appends "at line L column C"; the span already says where.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Span of `key:` reached by following `path` through block-style YAML by indentation (the
/// deepest key of `path` found). Falls back to the start of the file: a slightly vague span
/// beats no span. For many lookups in one text, build a [`YamlKeys`] once.
/// A source reads files (`path`) or a PostgreSQL table (`postgres` + `table`): exactly one
/// of the two, and the keys that only mean something for files are refused on a table.
fn source_location_errors(
    file: FileId,
    id: &str,
    source: &SourceSpec,
    span: &dyn Fn(FileId, &str, &[&str]) -> Span,
    errors: &mut Vec<Diagnostic>,
) {
    // Never the `postgres:` line: its excerpt would print a password written there.
    let at = |key: &str| span(file, "", &["sources", id, key]);
    match (&source.postgres, source.path.is_empty()) {
        (None, true) => errors.push(
            Diagnostic::error("YS0002", format!("source `{id}` has no `path`"))
                .at(span(file, "", &["sources", id]), "this source")
                .help("give `path:` (a file or glob, e.g. `data/calls_*.csv`), or `postgres:` and `table:` for a PostgreSQL table (docs/configuration.md)"),
        ),
        (Some(_), false) => errors.push(
            Diagnostic::error("YS0002", format!("source `{id}` has both `path` and `postgres`"))
                .at(at("path"), "and a PostgreSQL table")
                .help("a source reads files (`path`) or one PostgreSQL table (`postgres` + `table`): split it into two sources"),
        ),
        (Some(_), true) => {
            match source.table.as_deref() {
                None => errors.push(
                    Diagnostic::error("YS0002", format!("source `{id}`: `postgres` needs `table`"))
                        .at(span(file, "", &["sources", id]), "which table?")
                        .help("name the table (or view) to read: `table: calls_911` or `table: public.calls_911`"),
                ),
                Some(t) if table_parts(t).is_none() => errors.push(
                    Diagnostic::error("YS0002", format!("source `{id}`: `{t}` is not a table name"))
                        .at(at("table"), "not `name` or `schema.name`")
                        .help("write the table as PostgreSQL stores it, `name` or `schema.name` (letters, digits, `_` and `$`; lowercase unless it was created with quotes)"),
                ),
                Some(_) => {}
            }
            let file_keys = [
                ("format", source.format.is_some()),
                ("encoding", source.encoding != Encoding::default()),
                ("delimiter", source.delimiter != default_delimiter()),
                ("null_values", !source.null_values.is_empty()),
                ("header_row", source.header_row != default_header_row()),
                ("trailing_notes", source.trailing_notes != TrailingNotes::default()),
                ("file_column", source.file_column.is_some()),
            ];
            for (key, given) in file_keys {
                if given {
                    errors.push(
                        Diagnostic::error("YS0002", format!("source `{id}`: `{key}` is about files; this source is a PostgreSQL table"))
                            .at(at(key), "not for a table")
                            .help(format!("remove `{key}`: PostgreSQL gives typed values (docs/configuration.md, \"PostgreSQL tables\")")),
                    );
                }
            }
            let from_name: Vec<&String> = source.columns.iter().filter(|(_, c)| c.from_file_name.is_some()).map(|(n, _)| n).collect();
            if let Some(name) = from_name.first() {
                errors.push(
                    Diagnostic::error("YS0002", format!("source `{id}`: column `{name}` is read from file names, and this source is a table"))
                        .at(span(file, "", &["sources", id, "columns", name]), "`from_file_name`")
                        .help("a PostgreSQL table has no file names: read the value from a column of the table"),
                );
            }
        }
        (None, false) => {
            if source.table.is_some() {
                errors.push(
                    Diagnostic::error("YS0002", format!("source `{id}`: `table` without `postgres`"))
                        .at(at("table"), "which database?")
                        .help("give the connection as `postgres: \"${CITY_DB_URL}\"` (an environment variable keeps the password out of the file), or remove `table`"),
                );
            }
        }
    }
}

/// A table name's parts, `name` or `schema.name`, each an unquoted PostgreSQL identifier
/// as stored (yardstick quotes them, so the case is kept).
pub fn table_parts(table: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = table.split('.').collect();
    let ok = |p: &&str| {
        let mut chars = p.chars();
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
            && p.len() <= 63
    };
    (parts.len() <= 2 && parts.iter().all(ok)).then_some(parts)
}

pub fn yaml_key_span(file: FileId, text: &str, path: &[&str]) -> Span {
    YamlKeys::new(text).span(file, path)
}

/// The block-style keys of a YAML text by path (up to [`YamlKeys::DEPTH`] keys deep), read in
/// one pass: pointing at a thousand keys costs one scan, not a thousand.
pub struct YamlKeys {
    keys: std::collections::HashMap<Vec<String>, std::ops::Range<usize>>,
}

impl YamlKeys {
    /// Paths deeper than this are not kept (yardstick.yaml's deepest is `sources.<id>.columns.<name>`).
    pub const DEPTH: usize = 4;

    pub fn new(text: &str) -> Self {
        let mut keys = std::collections::HashMap::new();
        // (indent, key) of the keys enclosing the current line.
        let mut stack: Vec<(usize, String)> = vec![];
        let mut offset = 0usize;
        for line in text.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            if trimmed.trim_end().is_empty() || trimmed.starts_with('#') {
                continue;
            }
            while stack.last().is_some_and(|(i, _)| *i >= indent) {
                stack.pop();
            }
            let Some((key, len)) = line_key(trimmed) else { continue };
            stack.push((indent, key));
            if stack.len() <= Self::DEPTH {
                let path: Vec<String> = stack.iter().map(|(_, k)| k.clone()).collect();
                keys.entry(path).or_insert(start + indent..start + indent + len);
            }
        }
        YamlKeys { keys }
    }

    /// The span of the deepest key of `path` that is in the text, else the file's start.
    pub fn span(&self, file: FileId, path: &[&str]) -> Span {
        (1..=path.len().min(Self::DEPTH))
            .rev()
            .find_map(|n| self.keys.get(&path[..n].iter().map(|k| k.to_string()).collect::<Vec<_>>()))
            .map(|r| Span::new(file, r.clone()))
            .unwrap_or(Span::new(file, 0..0))
    }
}

/// The key a block-mapping line starts with (`key:` or `"key":`), and its length in the text.
fn line_key(trimmed: &str) -> Option<(String, usize)> {
    for q in ['"', '\''] {
        if let Some(rest) = trimmed.strip_prefix(q) {
            let end = rest.find(q)?;
            return rest[end + 1..].trim_start().starts_with(':').then(|| (rest[..end].to_string(), end + 2));
        }
    }
    let colon = trimmed.char_indices().find(|&(i, c)| c == ':' && trimmed[i + 1..].chars().next().is_none_or(char::is_whitespace))?.0;
    let key = trimmed[..colon].trim_end();
    (!key.is_empty()).then(|| (key.to_string(), key.len()))
}
