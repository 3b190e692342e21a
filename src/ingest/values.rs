//! One field's text -> a typed value, by its declared column spec.

use chrono::{NaiveDate, NaiveDateTime};

use super::Value;
use crate::config::{ColumnSpec, ColumnType, SourceSpec};

const ISO_TIMESTAMPS: &[&str] = &["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"];

/// Parse one non-null field by its declared column spec (and its source's `trim` and
/// fiscal year). `None` means invalid.
pub fn parse_value<'a>(raw: &'a str, cs: &ColumnSpec, spec: &SourceSpec) -> Option<Value<'a>> {
    let t = raw.trim();
    let fiscal = spec.fiscal_start_month;
    match cs.ty {
        ColumnType::String => Some(Value::String(if spec.trims(cs) { t } else { raw })),
        ColumnType::Integer => {
            let s = strip_thousands(t, cs.thousands);
            s.parse::<i64>().ok().map(Value::Integer)
        }
        ColumnType::Float => {
            let s = strip_thousands(t, cs.thousands);
            s.parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::Float)
        }
        ColumnType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" => Some(Value::Boolean(true)),
            "false" | "f" | "no" | "n" | "0" => Some(Value::Boolean(false)),
            _ => None,
        },
        ColumnType::Date => {
            let d = if cs.formats.is_empty() {
                NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()
            } else {
                cs.formats.iter().find_map(|f| parse_date(t, f, fiscal))
            }?;
            Some(Value::Date(crate::plan::days_since_epoch(d)))
        }
        ColumnType::Timestamp => {
            let ts = if cs.formats.is_empty() {
                ISO_TIMESTAMPS
                    .iter()
                    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
                    .or_else(|| chrono::DateTime::parse_from_rfc3339(t).ok().map(|d| d.naive_utc()))
                    .or_else(|| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
            } else {
                cs.formats.iter().find_map(|f| parse_timestamp(t, f, fiscal))
            }?;
            Some(Value::Timestamp(ts.and_utc().timestamp_micros()))
        }
    }
}

fn parse_date(t: &str, format: &str, fiscal_start: u32) -> Option<NaiveDate> {
    if let Some(read) = keyword(format) {
        return read(t, fiscal_start).map(|d| d.date());
    }
    NaiveDate::parse_from_str(t, format)
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(t, format).ok().map(|d| d.date()))
        .or_else(|| parse_partial(t, format).map(|d| d.date()))
}

fn parse_timestamp(t: &str, format: &str, fiscal_start: u32) -> Option<NaiveDateTime> {
    if let Some(read) = keyword(format) {
        return read(t, fiscal_start);
    }
    NaiveDateTime::parse_from_str(t, format)
        .ok()
        // A `%z` offset is read and ignored, the time kept as written; `+01` as `+0100`.
        .or_else(|| hour_only_offset(t, format).and_then(|padded| NaiveDateTime::parse_from_str(&padded, format).ok()))
        .or_else(|| chrono::DateTime::parse_from_str(t, format).ok().map(|d| d.naive_utc()))
        .or_else(|| NaiveDate::parse_from_str(t, format).ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
        .or_else(|| parse_partial(t, format))
}

/// A format keyword's reader (see [`crate::config::FORMAT_KEYWORDS`]).
fn keyword(format: &str) -> Option<fn(&str, u32) -> Option<NaiveDateTime>> {
    Some(match format {
        "excel" => |t, _| excel_serial(t),
        "fiscal_year" => |t, fiscal| fiscal_year_label(t, fiscal).and_then(midnight),
        "quarter" => |t, _| quarter_label(t).and_then(midnight),
        _ => return None,
    })
}

fn midnight(d: NaiveDate) -> Option<NaiveDateTime> {
    d.and_hms_opt(0, 0, 0)
}

/// A chrono format that names a month or a year but no day (`%Y-%m`, `%b-%Y`, `%Y`): the
/// first day of that month or year, at midnight unless the format has a time.
fn parse_partial(t: &str, format: &str) -> Option<NaiveDateTime> {
    use chrono::format::{Parsed, StrftimeItems, parse};
    let mut p = Parsed::new();
    parse(&mut p, t, StrftimeItems::new(format)).ok()?;
    let has_day = p.day().is_some() || p.ordinal().is_some() || p.isoweek().is_some();
    let has_week = p.week_from_mon().is_some() || p.week_from_sun().is_some();
    if has_day || has_week {
        return None;
    }
    if p.month().is_none() {
        p.set_month(1).ok()?;
    }
    p.set_day(1).ok()?;
    let date = p.to_naive_date().ok()?;
    let time = if p.hour_mod_12().is_some() { p.to_naive_time().ok()? } else { chrono::NaiveTime::MIN };
    Some(date.and_time(time))
}

/// Excel's day 0: serial day numbers count days from 30 December 1899 (a fraction is the
/// time of day).
const EXCEL_EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1899, 12, 30) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// An Excel serial day number (`43641`, `43641.5`): days since 1899-12-30, the fraction the
/// time of day, rounded to the millisecond. Serials before 61 (1 March 1900) are refused:
/// Excel counts a 29 February 1900 that never was, so they would be a day off.
pub fn excel_serial(t: &str) -> Option<NaiveDateTime> {
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || int.len() > 7 || !digits(int) || !digits(frac) || (t.contains('.') && frac.is_empty()) {
        return None;
    }
    let serial: f64 = t.parse().ok()?;
    if serial < 61.0 {
        return None;
    }
    let ms = (serial * 86_400_000.0).round() as i64;
    EXCEL_EPOCH.and_hms_opt(0, 0, 0)?.checked_add_signed(chrono::Duration::milliseconds(ms))
}

/// A fiscal-year label as the first day of that fiscal year (which starts in month
/// `fiscal_start`): `FY2020`, `FY 2020`, `FY20` name the fiscal year that ENDS in 2020;
/// `2019/20`, `2019-20`, `2019/2020`, `FY2019/20` the one from 2019 to 2020 (the same year
/// when it starts after January). With a January start a fiscal year is a calendar year,
/// and a label spanning two years is invalid.
pub fn fiscal_year_label(t: &str, fiscal_start: u32) -> Option<NaiveDate> {
    let u = t.trim().to_ascii_uppercase();
    let rest = u.strip_prefix("FY").map(|r| r.trim_start_matches([' ', '-', '_']));
    let body = rest.unwrap_or(&u);
    let start_year = match body.split_once(['/', '-']) {
        Some((first, second)) => {
            let first = four_digit_year(first)?;
            let next = match second.len() {
                2 => second.parse::<i32>().ok().filter(|s| *s == (first + 1) % 100),
                4 => second.parse::<i32>().ok().filter(|s| *s == first + 1),
                _ => None,
            };
            next.filter(|_| fiscal_start > 1)?;
            first
        }
        // A single year only with the `FY` prefix (a bare `2020` is not a fiscal label).
        None if rest.is_some() => {
            let end = match body.len() {
                2 if body.bytes().all(|b| b.is_ascii_digit()) => 2000 + body.parse::<i32>().ok()?,
                _ => four_digit_year(body)?,
            };
            if fiscal_start > 1 { end - 1 } else { end }
        }
        None => return None,
    };
    NaiveDate::from_ymd_opt(start_year, fiscal_start.clamp(1, 12), 1)
}

fn four_digit_year(s: &str) -> Option<i32> {
    (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// A calendar quarter label as its first day: `Q3 2021`, `Q3-2021`, `Q3/2021`, `2021Q3`,
/// `2021 Q3`, `2021-Q3` (any case) are 1 July 2021.
pub fn quarter_label(t: &str) -> Option<NaiveDate> {
    let u = t.trim().to_ascii_uppercase();
    let sep = |s: &str| s.trim_matches([' ', '-', '/', '_']).to_string();
    let (q, year) = if let Some(rest) = u.strip_prefix('Q') {
        let (q, y) = rest.split_at(rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len()));
        (q.to_string(), sep(y))
    } else {
        let (y, q) = u.split_once('Q')?;
        (q.to_string(), sep(y))
    };
    let q: u32 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
    NaiveDate::from_ymd_opt(four_digit_year(&year)?, 3 * q - 2, 1)
}

/// `%z` in chrono needs minutes (`+0000`, `+00:00`); PostgreSQL and others write `+00`.
/// The text with `00` minutes appended, when it ends in such an offset and the format in `%z`.
fn hour_only_offset(t: &str, format: &str) -> Option<String> {
    if !format.ends_with("%z") && !format.ends_with("%:z") && !format.ends_with("%#z") {
        return None;
    }
    let b = t.as_bytes();
    let n = b.len();
    (n >= 3 && matches!(b[n - 3], b'+' | b'-') && b[n - 2].is_ascii_digit() && b[n - 1].is_ascii_digit())
        .then(|| format!("{t}{}", if format.ends_with("%:z") { ":00" } else { "00" }))
}

fn strip_thousands(s: &str, sep: Option<char>) -> std::borrow::Cow<'_, str> {
    match sep {
        Some(c) if s.contains(c) => std::borrow::Cow::Owned(s.replace(c, "")),
        _ => std::borrow::Cow::Borrowed(s),
    }
}
