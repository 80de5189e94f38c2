//! The rules a manual override must follow, written once for every path
//! that sets one (`tenure health override`, the JSON API and the account
//! page's form).

use jiff::civil::Date;

use crate::model::add_days;

/// The longest reason kept with an override, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// The furthest an override's last day may lie after the day it is set.
pub const MAX_OVERRIDE_DAYS: i32 = 366;

/// A field of an override request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverrideField {
    Score,
    Reason,
    Until,
}

impl OverrideField {
    /// The field's name as the CLI flag, the JSON key and the form field
    /// spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideField::Score => "score",
            OverrideField::Reason => "reason",
            OverrideField::Until => "until",
        }
    }
}

/// One problem with an override request.
#[derive(Debug, Clone, PartialEq)]
pub struct OverrideProblem {
    pub field: OverrideField,
    /// A sentence saying what to change.
    pub message: &'static str,
}

/// A manual score that passed [`check_override`]: the score in 0–100, a
/// reason of 1 to [`MAX_REASON_CHARS`] characters (trimmed), and a last
/// day from `today` to `today` + [`MAX_OVERRIDE_DAYS`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedOverride {
    pub score: f64,
    pub reason: String,
    pub until: Date,
}

/// Checks a manual score set on `today`: every problem is reported, each
/// with its field.
pub fn check_override(
    score: f64,
    reason: &str,
    until: Date,
    today: Date,
) -> Result<CheckedOverride, Vec<OverrideProblem>> {
    let mut problems = Vec::new();
    let mut fail = |field, message| problems.push(OverrideProblem { field, message });
    if !(score.is_finite() && (0.0..=100.0).contains(&score)) {
        fail(OverrideField::Score, "The score must be between 0 and 100.");
    }
    let reason = reason.trim();
    if reason.is_empty() {
        fail(
            OverrideField::Reason,
            "Say why the computed score is wrong.",
        );
    } else if reason.chars().count() > MAX_REASON_CHARS {
        fail(
            OverrideField::Reason,
            "Keep the reason under 1,000 characters.",
        );
    } else if reason.contains('\0') {
        fail(
            OverrideField::Reason,
            "The reason contains a character that cannot be stored.",
        );
    }
    if until < today {
        fail(OverrideField::Until, "The expiry cannot be in the past.");
    } else if until > add_days(today, MAX_OVERRIDE_DAYS) {
        fail(OverrideField::Until, "An override lasts at most a year.");
    }
    if problems.is_empty() {
        Ok(CheckedOverride {
            score,
            reason: reason.to_string(),
            until,
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// The fields with a problem, in order.
    fn check(score: f64, reason: &str, until: &str) -> Result<CheckedOverride, Vec<&'static str>> {
        check_override(score, reason, d(until), d("2025-06-01"))
            .map_err(|ps| ps.iter().map(|p| p.field.as_str()).collect())
    }

    #[test]
    fn a_good_override_passes_with_its_reason_trimmed() {
        let o = check(35.0, "  champion left  ", "2025-07-01").unwrap();
        assert_eq!(o.reason, "champion left");
        assert_eq!(o.until, d("2025-07-01"));
        // The edges are allowed: 0 and 100, today and a year and a day on.
        assert!(check(0.0, "x", "2025-06-01").is_ok());
        assert!(check(100.0, "x", "2026-06-02").is_ok());
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        assert_eq!(
            check(101.0, " ", "2025-05-31"),
            Err(vec!["score", "reason", "until"])
        );
        assert_eq!(check(f64::NAN, "x", "2025-06-01"), Err(vec!["score"]));
        assert_eq!(check(-0.5, "x", "2025-06-01"), Err(vec!["score"]));
        assert_eq!(check(50.0, "x", "2026-06-03"), Err(vec!["until"]));
        assert_eq!(
            check(50.0, &"x".repeat(1001), "2025-06-01"),
            Err(vec!["reason"])
        );
        assert!(check(50.0, &"é".repeat(1000), "2025-06-01").is_ok());
        assert_eq!(check(50.0, "a\0b", "2025-06-01"), Err(vec!["reason"]));
    }
}
