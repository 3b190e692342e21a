//! Periods written for people, by grain: `Jun 2025`, `Q2 2025`, `2025`, `FY 2024/25`,
//! `Q3 FY 2024/25`, `week of 2 Jun 2025`, `2 Jun 2025`. results.json keeps the ISO first day;
//! only the report names periods. Fiscal years are named by `calendar.fiscal_year_label`.

use chrono::{Datelike, NaiveDate};

use crate::results::PeriodCalendar;

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// How `period` (its first day, `YYYY-MM-DD`) is named for `grain`; `all time` for a KPI
/// without a grain. Text that is not a date is returned as it is.
pub fn label(period: Option<&str>, grain: Option<&str>, cal: &PeriodCalendar) -> String {
    let Some(period) = period else { return "all time".to_string() };
    let Ok(d) = NaiveDate::parse_from_str(period, "%Y-%m-%d") else { return period.to_string() };
    match grain {
        Some("week") => format!("week of {}", day(d)),
        Some("month") => month(d),
        Some("quarter") => format!("Q{} {}", d.month0() / 3 + 1, d.year()),
        Some("year") => d.year().to_string(),
        Some("fiscal_year") => fiscal_year(d, cal),
        Some("fiscal_quarter") => {
            let start = fiscal_year_start(d, cal.fiscal_start_month);
            let months = (d.year() - start.year()) * 12 + d.month() as i32 - start.month() as i32;
            format!("Q{} {}", months / 3 + 1, fiscal_year(start, cal))
        }
        _ => day(d),
    }
}

/// The shorter name used along a chart's time axis: a week is named by its first day.
pub fn axis_label(period: &str, grain: Option<&str>, cal: &PeriodCalendar) -> String {
    let l = label(Some(period), grain, cal);
    l.strip_prefix("week of ").map(str::to_string).unwrap_or(l)
}

/// `2 Jun 2025`.
fn day(d: NaiveDate) -> String {
    format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

/// `Jun 2025`.
fn month(d: NaiveDate) -> String {
    format!("{} {}", MONTHS[d.month0() as usize], d.year())
}

/// The first day of the fiscal year `d` is in.
fn fiscal_year_start(d: NaiveDate, start_month: u32) -> NaiveDate {
    let year = if d.month() >= start_month { d.year() } else { d.year() - 1 };
    NaiveDate::from_ymd_opt(year, start_month, 1).unwrap_or(d)
}

/// The fiscal year starting on `start` (or containing it), by the project's pattern. A
/// fiscal year that starts in January ends in the same year: the default pattern then
/// names it `FY 2025`, not `FY 2025/25`.
fn fiscal_year(d: NaiveDate, cal: &PeriodCalendar) -> String {
    let start = fiscal_year_start(d, cal.fiscal_start_month).year();
    let end = if cal.fiscal_start_month == 1 { start } else { start + 1 };
    if start == end && cal.fiscal_year_label == crate::config::DEFAULT_FISCAL_YEAR_LABEL {
        return format!("FY {start}");
    }
    let two = |y: i32| format!("{:02}", y.rem_euclid(100));
    cal.fiscal_year_label
        .replace("{start2}", &two(start))
        .replace("{end2}", &two(end))
        .replace("{start}", &start.to_string())
        .replace("{end}", &end.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(month: u32, pattern: &str) -> PeriodCalendar {
        PeriodCalendar { fiscal_start_month: month, fiscal_year_label: pattern.to_string() }
    }

    #[test]
    fn calendar_grains() {
        let c = PeriodCalendar::default();
        // 2025-06-01 is a Sunday; a week starting Monday 2 June 2025.
        assert_eq!(label(Some("2025-06-02"), Some("week"), &c), "week of 2 Jun 2025");
        assert_eq!(axis_label("2025-06-02", Some("week"), &c), "2 Jun 2025");
        assert_eq!(label(Some("2025-06-02"), Some("day"), &c), "2 Jun 2025");
        assert_eq!(label(Some("2025-06-01"), Some("month"), &c), "Jun 2025");
        assert_eq!(label(Some("2025-04-01"), Some("quarter"), &c), "Q2 2025");
        assert_eq!(label(Some("2025-10-01"), Some("quarter"), &c), "Q4 2025");
        assert_eq!(label(Some("2025-01-01"), Some("year"), &c), "2025");
        assert_eq!(label(None, None, &c), "all time");
        assert_eq!(label(Some("not a date"), Some("month"), &c), "not a date");
    }

    #[test]
    fn fiscal_grains() {
        let july = cal(7, crate::config::DEFAULT_FISCAL_YEAR_LABEL);
        // July 2024 - June 2025.
        assert_eq!(label(Some("2024-07-01"), Some("fiscal_year"), &july), "FY 2024/25");
        // Its third quarter is January - March 2025.
        assert_eq!(label(Some("2025-01-01"), Some("fiscal_quarter"), &july), "Q3 FY 2024/25");
        assert_eq!(label(Some("2024-07-01"), Some("fiscal_quarter"), &july), "Q1 FY 2024/25");
        assert_eq!(label(Some("2025-04-01"), Some("fiscal_quarter"), &july), "Q4 FY 2024/25");
        // The 1999/2000 fiscal year keeps two digits.
        assert_eq!(label(Some("1999-07-01"), Some("fiscal_year"), &july), "FY 1999/00");
        let dashed = cal(4, "{start}-{end2}");
        assert_eq!(label(Some("2024-04-01"), Some("fiscal_year"), &dashed), "2024-25");
        let by_end = cal(4, "FY{end}");
        assert_eq!(label(Some("2024-04-01"), Some("fiscal_year"), &by_end), "FY2025");
        // A fiscal year from January is the calendar year.
        let january = PeriodCalendar::default();
        assert_eq!(label(Some("2025-01-01"), Some("fiscal_year"), &january), "FY 2025");
        assert_eq!(label(Some("2025-07-01"), Some("fiscal_quarter"), &january), "Q3 FY 2025");
    }
}
