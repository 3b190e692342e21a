//! One field's text -> a typed value, by its declared column spec.

use chrono::{NaiveDate, NaiveDateTime};

use super::Value;
use crate::config::{ColumnSpec, ColumnType};

const ISO_TIMESTAMPS: &[&str] = &["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"];

/// Parse one non-null field by its declared column spec. `None` means invalid.
pub fn parse_value<'a>(raw: &'a str, cs: &ColumnSpec) -> Option<Value<'a>> {
    let t = raw.trim();
    match cs.ty {
        ColumnType::String => Some(Value::String(raw)),
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
                cs.formats.iter().find_map(|f| parse_date(t, f))
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
                cs.formats.iter().find_map(|f| parse_timestamp(t, f))
            }?;
            Some(Value::Timestamp(ts.and_utc().timestamp_micros()))
        }
    }
}

fn parse_date(t: &str, format: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(t, format).ok().or_else(|| NaiveDateTime::parse_from_str(t, format).ok().map(|d| d.date()))
}

fn parse_timestamp(t: &str, format: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(t, format)
        .ok()
        // A `%z` offset is read and ignored, the time kept as written; `+01` as `+0100`.
        .or_else(|| hour_only_offset(t, format).and_then(|padded| NaiveDateTime::parse_from_str(&padded, format).ok()))
        .or_else(|| chrono::DateTime::parse_from_str(t, format).ok().map(|d| d.naive_utc()))
        .or_else(|| NaiveDate::parse_from_str(t, format).ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
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
