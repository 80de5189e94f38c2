//! Runs: the days an account spent in one journey stage or one segment,
//! folded from its day-by-day assignments.

use jiff::civil::Date;

use crate::model::day_number;

/// Days an account spent with one value (a stage, a segment): from
/// `entered` to the day before `left` (`None` while it still has it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run<T> {
    pub value: T,
    pub entered: Date,
    pub left: Option<Date>,
}

impl<T> Run<T> {
    /// Days with the value up to `today` (or until it was left).
    pub fn days(&self, today: Date) -> i32 {
        let end = self.left.map_or(today, |l| l.min(today));
        (day_number(end) - day_number(self.entered)).max(0)
    }

    /// Whether the account had the value on `day`.
    pub fn covers(&self, day: Date) -> bool {
        self.entered <= day && self.left.is_none_or(|l| day < l)
    }
}

/// Folds one day's value into an account's runs (oldest first): the same
/// value as the open run extends it; another value closes it on `day` and
/// opens a new run; no value closes it. Days must come in order.
pub fn record_day<T: PartialEq>(runs: &mut Vec<Run<T>>, day: Date, value: Option<T>) {
    if let Some(last) = runs.last_mut()
        && last.left.is_none()
    {
        if Some(&last.value) == value.as_ref() {
            return;
        }
        last.left = Some(day);
    }
    if let Some(value) = value {
        runs.push(Run {
            value,
            entered: day,
            left: None,
        });
    }
}

/// Whether an account in the open run `current` stays in it on `day`
/// rather than move to `next`: it entered fewer than `settle_days` days
/// before. Only moves from one value to another wait; `None` (no value)
/// never does.
pub fn held<T: PartialEq>(
    current: Option<&Run<T>>,
    next: Option<&T>,
    day: Date,
    settle_days: u32,
) -> bool {
    match (current, next) {
        (Some(run), Some(next)) if run.left.is_none() && run.value != *next => {
            day_number(day) - day_number(run.entered) < settle_days as i32
        }
        _ => false,
    }
}

/// The runs as they stood before `day` was recorded: runs entered on or
/// after it dropped, runs left on or after it open again. Recording from
/// `day` on after a rewind rebuilds the history from that day.
pub fn rewind<T>(runs: &mut Vec<Run<T>>, day: Date) {
    runs.retain(|r| r.entered < day);
    for r in runs.iter_mut() {
        if r.left.is_some_and(|l| l >= day) {
            r.left = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn shown(runs: &[Run<usize>]) -> Vec<(usize, String, Option<String>)> {
        runs.iter()
            .map(|r| {
                (
                    r.value,
                    r.entered.to_string(),
                    r.left.map(|d| d.to_string()),
                )
            })
            .collect()
    }

    #[test]
    fn runs_record_each_change_and_rewind_to_a_day() {
        let mut runs = Vec::new();
        for (day, stage) in [
            ("2025-01-01", Some(0)),
            ("2025-01-02", Some(0)),
            ("2025-03-02", Some(1)),
            ("2025-06-01", Some(2)),
            ("2025-07-01", Some(1)),
            ("2025-08-01", None),
        ] {
            record_day(&mut runs, d(day), stage);
        }
        assert_eq!(
            shown(&runs),
            [
                (0, "2025-01-01".into(), Some("2025-03-02".into())),
                (1, "2025-03-02".into(), Some("2025-06-01".into())),
                (2, "2025-06-01".into(), Some("2025-07-01".into())),
                (1, "2025-07-01".into(), Some("2025-08-01".into())),
            ]
        );
        assert_eq!(runs[0].days(d("2025-12-31")), 60);
        assert!(runs[1].covers(d("2025-05-31")) && !runs[1].covers(d("2025-06-01")));
        record_day(&mut runs, d("2025-08-02"), Some(1));
        assert_eq!(runs.last().unwrap().days(d("2025-08-12")), 10);

        // Rewinding to 2025-06-01 leaves stage 1 open since 2025-03-02;
        // recording the same days again gives the same runs.
        let before = runs.clone();
        rewind(&mut runs, d("2025-06-01"));
        assert_eq!(
            shown(&runs),
            [
                (0, "2025-01-01".into(), Some("2025-03-02".into())),
                (1, "2025-03-02".into(), None),
            ]
        );
        for (day, stage) in [
            ("2025-06-01", Some(2)),
            ("2025-07-01", Some(1)),
            ("2025-08-01", None),
            ("2025-08-02", Some(1)),
        ] {
            record_day(&mut runs, d(day), stage);
        }
        assert_eq!(runs, before);
    }

    #[test]
    fn a_move_waits_until_the_run_is_old_enough() {
        let run = Run {
            value: 1,
            entered: d("2025-03-01"),
            left: None,
        };
        assert!(held(Some(&run), Some(&2), d("2025-03-07"), 7));
        assert!(!held(Some(&run), Some(&2), d("2025-03-08"), 7));
        assert!(
            !held(Some(&run), Some(&1), d("2025-03-02"), 7),
            "staying is not a move"
        );
        assert!(
            !held(Some(&run), None, d("2025-03-02"), 7),
            "leaving every value is at once"
        );
        assert!(!held(None, Some(&2), d("2025-03-02"), 7));
        assert!(!held(Some(&run), Some(&2), d("2025-03-02"), 0));
    }
}
