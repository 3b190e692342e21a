//! What the signals mean for a KPI: each point's type by the improvement direction, the
//! variation verdict (the latest point's type) and the assurance verdict (where the target
//! lies against the process limits), with the Making Data Count icon names.

use serde::Serialize;

use super::rules::{Rule, Side};
use crate::model::Direction;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PointType {
    CommonCause,
    SpecialCauseImprovement,
    SpecialCauseConcern,
    /// A signal on a KPI without a direction: high or low, neither good nor bad.
    SpecialCauseNeutralHigh,
    SpecialCauseNeutralLow,
}

impl PointType {
    pub fn name(self) -> &'static str {
        match self {
            PointType::CommonCause => "common_cause",
            PointType::SpecialCauseImprovement => "special_cause_improvement",
            PointType::SpecialCauseConcern => "special_cause_concern",
            PointType::SpecialCauseNeutralHigh => "special_cause_neutral_high",
            PointType::SpecialCauseNeutralLow => "special_cause_neutral_low",
        }
    }
    pub fn is_special(self) -> bool {
        self != PointType::CommonCause
    }
}

/// A point's type: its signal's side against the direction (NHSRplotthedots `ptd_point_type`).
pub fn point_type(signal: Option<(Rule, Side)>, direction: Option<Direction>) -> PointType {
    let Some((_, side)) = signal else { return PointType::CommonCause };
    match (direction, side) {
        (None, Side::High) => PointType::SpecialCauseNeutralHigh,
        (None, Side::Low) => PointType::SpecialCauseNeutralLow,
        (Some(Direction::Increasing), Side::High) | (Some(Direction::Decreasing), Side::Low) => PointType::SpecialCauseImprovement,
        _ => PointType::SpecialCauseConcern,
    }
}

/// The variation icon of a point type: `common_cause`, `improvement_high`/`_low`,
/// `concern_high`/`_low`, `neutral_high`/`_low` (the MDC icon set: an improvement on a KPI
/// where higher is better is `improvement_high`).
pub fn variation_icon(t: PointType, direction: Option<Direction>) -> &'static str {
    let up = direction == Some(Direction::Increasing);
    match t {
        PointType::CommonCause => "common_cause",
        PointType::SpecialCauseNeutralHigh => "neutral_high",
        PointType::SpecialCauseNeutralLow => "neutral_low",
        PointType::SpecialCauseImprovement if up => "improvement_high",
        PointType::SpecialCauseImprovement => "improvement_low",
        PointType::SpecialCauseConcern if up => "concern_low",
        PointType::SpecialCauseConcern => "concern_high",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assurance {
    /// The target lies beyond the process limits on the bad side: the process as it is
    /// passes it every time.
    ConsistentPass,
    /// Beyond the limits on the good side: it will fail every time unless the process changes.
    ConsistentFail,
    /// Between the limits: it will be hit and missed by chance.
    Inconsistent,
}

impl Assurance {
    pub fn icon(self) -> &'static str {
        match self {
            Assurance::ConsistentPass => "pass",
            Assurance::ConsistentFail => "fail",
            Assurance::Inconsistent => "inconsistent",
        }
    }
}

/// The assurance verdict for a single-threshold target against process limits (strict
/// comparisons, NHSRplotthedots `ptd_calculate_assurance_type`).
pub fn assurance(target: f64, (lpl, upl): (f64, f64), direction: Direction) -> Assurance {
    let up = direction == Direction::Increasing;
    if target > upl {
        if up { Assurance::ConsistentFail } else { Assurance::ConsistentPass }
    } else if target < lpl {
        if up { Assurance::ConsistentPass } else { Assurance::ConsistentFail }
    } else {
        Assurance::Inconsistent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assurance_as_nhsrplotthedots_tests() {
        // tests/testthat/test-ptd_calculate_assurance_type.R: target 4 against limits
        // (1, 3), (5, 7), (1, 5).
        let up = Direction::Increasing;
        let down = Direction::Decreasing;
        assert_eq!(assurance(4.0, (1.0, 3.0), up), Assurance::ConsistentFail);
        assert_eq!(assurance(4.0, (5.0, 7.0), up), Assurance::ConsistentPass);
        assert_eq!(assurance(4.0, (1.0, 5.0), up), Assurance::Inconsistent);
        assert_eq!(assurance(4.0, (1.0, 3.0), down), Assurance::ConsistentPass);
        assert_eq!(assurance(4.0, (5.0, 7.0), down), Assurance::ConsistentFail);
        assert_eq!(assurance(4.0, (1.0, 5.0), down), Assurance::Inconsistent);
        // Strict: a target on the limit is hit and missed.
        assert_eq!(assurance(5.0, (1.0, 5.0), up), Assurance::Inconsistent);
    }

    #[test]
    fn point_types_and_icons() {
        // test-ptd_calculate_point_type.R, ptd_point_type: above/increasing with
        // direction 1 is improvement, with -1 concern, with 0 neutral high.
        let high = Some((Rule::Shift, Side::High));
        let low = Some((Rule::Trend, Side::Low));
        assert_eq!(point_type(high, Some(Direction::Increasing)), PointType::SpecialCauseImprovement);
        assert_eq!(point_type(high, Some(Direction::Decreasing)), PointType::SpecialCauseConcern);
        assert_eq!(point_type(high, None), PointType::SpecialCauseNeutralHigh);
        assert_eq!(point_type(low, None), PointType::SpecialCauseNeutralLow);
        assert_eq!(point_type(None, None), PointType::CommonCause);
        // geom_ptd_icon.R: concern on an increasing KPI is concern_low.
        assert_eq!(variation_icon(PointType::SpecialCauseConcern, Some(Direction::Increasing)), "concern_low");
        assert_eq!(variation_icon(PointType::SpecialCauseConcern, Some(Direction::Decreasing)), "concern_high");
        assert_eq!(variation_icon(PointType::SpecialCauseImprovement, Some(Direction::Decreasing)), "improvement_low");
        assert_eq!(variation_icon(PointType::SpecialCauseImprovement, Some(Direction::Increasing)), "improvement_high");
    }
}
