//! Trends from daily score snapshots: 7- and 30-day deltas, group averages.

use jiff::civil::Date;

use crate::model::day_number;

/// How much older than the exact day a reference snapshot may be, so that a
/// few days without a snapshot (a job that did not run) still give a delta.
pub const DELTA_TOLERANCE_DAYS: i32 = 3;

/// Change of a score against 7 and 30 days earlier (current − earlier);
/// `None` without a current score or a reference snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ScoreDeltas {
    pub d7: Option<f64>,
    pub d30: Option<f64>,
}

/// The score `days` days before `as_of`: the latest snapshot dated on or
/// before that day and at most [`DELTA_TOLERANCE_DAYS`] earlier. `history`
/// is `(snapshot date, score)` in any order; when a date appears twice the
/// later entry wins.
pub fn score_days_before(history: &[(Date, f64)], as_of: Date, days: i32) -> Option<f64> {
    let target = day_number(as_of) - days;
    let mut best: Option<(i32, f64)> = None;
    for &(date, score) in history {
        let d = day_number(date);
        if d <= target && d >= target - DELTA_TOLERANCE_DAYS && best.is_none_or(|(b, _)| d >= b) {
            best = Some((d, score));
        }
    }
    best.map(|(_, s)| s)
}

/// The 7- and 30-day deltas of `current` (the score on `as_of`).
pub fn score_deltas(history: &[(Date, f64)], as_of: Date, current: Option<f64>) -> ScoreDeltas {
    let delta = |days| Some(current? - score_days_before(history, as_of, days)?);
    ScoreDeltas {
        d7: delta(7),
        d30: delta(30),
    }
}

/// Which earlier snapshot a score's "what changed" compares with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// The snapshot of a week before the as-of date, or the latest up to
    /// [`DELTA_TOLERANCE_DAYS`] older.
    WeekBefore,
    /// No snapshot of about a week before: the latest snapshot before the
    /// as-of date.
    LatestEarlier,
}

/// The earlier snapshot to compare a score on `as_of` with: the latest
/// dated on or before a week before `as_of` and at most
/// [`DELTA_TOLERANCE_DAYS`] older ([`Since::WeekBefore`]), else the latest
/// dated before `as_of` ([`Since::LatestEarlier`]). `days` are the
/// snapshots' dates in any order; returns the position of the one chosen.
/// A snapshot of the as-of date itself or later is never chosen.
pub fn change_reference(days: &[Date], as_of: Date) -> Option<(usize, Since)> {
    let today = day_number(as_of);
    let target = today - 7;
    let latest = |ok: &dyn Fn(i32) -> bool| {
        days.iter()
            .enumerate()
            .filter(|(_, d)| ok(day_number(**d)))
            .max_by_key(|(i, d)| (**d, *i))
            .map(|(i, _)| i)
    };
    latest(&|d| d <= target && d >= target - DELTA_TOLERANCE_DAYS)
        .map(|i| (i, Since::WeekBefore))
        .or_else(|| latest(&|d| d < today).map(|i| (i, Since::LatestEarlier)))
}

/// The sentence that opens "what changed": the score `now` on `as_of`
/// against the `earlier` snapshot chosen by [`change_reference`] (its day,
/// which rule chose it and its score). Scores are compared as shown, whole
/// points: equal whole points read as unchanged, never as up or down.
pub fn change_sentence(now: f64, as_of: Date, earlier: Option<(Date, Since, f64)>) -> String {
    let Some((day, since, then)) = earlier else {
        return format!(
            "No earlier score to compare with: {as_of} is the first day with a stored score."
        );
    };
    let n = day_number(as_of) - day_number(day);
    let which = match since {
        Since::WeekBefore => "a week earlier".to_string(),
        Since::LatestEarlier => format!("{n} day{} earlier", if n == 1 { "" } else { "s" }),
    };
    let note = match since {
        Since::WeekBefore => ".",
        Since::LatestEarlier => "; no score is stored from a week before.",
    };
    let (a, b) = (then.round(), now.round());
    if a == b {
        format!("Score unchanged since {day}, {which} ({b:.0}){note}")
    } else {
        format!(
            "Score {} {:.0} since {day}, {which} ({a:.0} → {b:.0}){note}",
            if b > a { "up" } else { "down" },
            (b - a).abs()
        )
    }
}

/// The mean of the scores that exist, for a group's daily trend; `None` when
/// none does.
pub fn mean_score(scores: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let (sum, n) = scores
        .into_iter()
        .flatten()
        .fold((0.0, 0u64), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn deltas_compare_with_seven_and_thirty_days_earlier() {
        let history = [
            (d("2025-03-01"), 50.0),
            (d("2025-03-24"), 70.0),
            (d("2025-03-31"), 75.0),
        ];
        let got = score_deltas(&history, d("2025-03-31"), Some(80.0));
        assert_eq!(got.d7, Some(10.0));
        assert_eq!(got.d30, Some(30.0));
    }

    #[test]
    fn deltas_tolerate_a_few_missing_days_but_not_more() {
        let history = [(d("2025-03-21"), 60.0)];
        // 2025-03-31 − 7 = 03-24; 03-21 is 3 days earlier: still used.
        assert_eq!(
            score_deltas(&history, d("2025-03-31"), Some(65.0)).d7,
            Some(5.0)
        );
        // One day later, it is 4 days too old.
        assert_eq!(score_deltas(&history, d("2025-04-01"), Some(65.0)).d7, None);
        // A snapshot newer than the target day is never used.
        assert_eq!(score_deltas(&history, d("2025-03-25"), Some(65.0)).d7, None);
        assert_eq!(score_deltas(&history, d("2025-03-31"), None).d7, None);
    }

    #[test]
    fn group_mean_skips_accounts_without_score() {
        assert_eq!(mean_score([Some(40.0), None, Some(80.0)]), Some(60.0));
        assert_eq!(mean_score([None, None]), None);
    }
}
