//! Journey stages: ordered, each with an entry rule and a target duration.
//! An account is in the furthest stage whose entry rule holds today, so it
//! moves forward when a later stage's rule starts to hold and back when it
//! stops.

use jiff::civil::Date;

use crate::model::day_number;
use crate::rules::{Facts, Rule};

/// One stage of the journey.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: String,
    pub entry: Rule,
    /// How long an account should take to move on; longer is friction.
    /// `None` for stages with no end (advocacy, churned).
    pub target_days: Option<u32>,
}

/// The stages in journey order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Journey(pub Vec<Stage>);

/// An account's stage, and the entry rules that could not be decided on it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StageOf {
    /// Index of the furthest stage whose entry rule holds; `None` when none
    /// does.
    pub stage: Option<usize>,
    /// `(stage index, error)` for each rule tried that failed.
    pub errors: Vec<(usize, String)>,
}

impl Journey {
    /// The furthest stage whose entry rule holds for `facts`; stages are
    /// tried from the last back to the first, and a rule that fails on
    /// this account is recorded and passed over.
    pub fn stage_of(&self, facts: &Facts) -> StageOf {
        let mut out = StageOf::default();
        for (i, s) in self.0.iter().enumerate().rev() {
            match s.entry.matches(facts) {
                Ok(true) => {
                    out.stage = Some(i);
                    break;
                }
                Ok(false) => {}
                Err(e) => out.errors.push((i, e)),
            }
        }
        out
    }

    /// The index of the stage called `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|s| s.name == name)
    }
}

/// A run of days an account spent in one stage: from `entered` to `left`
/// (the first day in the next stage; `None` while it is still there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageRun {
    pub stage: usize,
    pub entered: Date,
    pub left: Option<Date>,
}

impl StageRun {
    /// Days in the stage up to `today` (or until it was left).
    pub fn days(&self, today: Date) -> i32 {
        let end = self.left.unwrap_or(today);
        (day_number(end) - day_number(self.entered)).max(0)
    }
}

/// Folds one day's stage into an account's runs (oldest first): the same
/// stage as the open run extends it; another stage closes it on `day` and
/// opens a new run; no stage closes it. Days must come in order.
pub fn record_day(runs: &mut Vec<StageRun>, day: Date, stage: Option<usize>) {
    if let Some(last) = runs.last_mut()
        && last.left.is_none()
    {
        if Some(last.stage) == stage {
            return;
        }
        last.left = Some(day);
    }
    if let Some(s) = stage {
        runs.push(StageRun {
            stage: s,
            entered: day,
            left: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::field_names;

    fn journey() -> Journey {
        let stage = |name: &str, src: &str, target| Stage {
            name: name.into(),
            entry: Rule::compile(src, &|f| field_names().any(|n| n == f)).unwrap(),
            target_days: target,
        };
        Journey(vec![
            stage("onboarding", "paying", Some(60)),
            stage(
                "adoption",
                "days_since_first_mrr != null && days_since_first_mrr >= 60",
                Some(120),
            ),
            stage(
                "renewal",
                "days_to_renewal != null && days_to_renewal <= 90",
                Some(90),
            ),
            stage("churned", "churned", None),
        ])
    }

    fn facts(days: Option<i64>, renewal: Option<i64>, paying: bool) -> Facts {
        Facts {
            paying,
            churned: !paying && days.is_some(),
            days_since_first_mrr: days,
            days_to_renewal: renewal,
            ..Facts::default()
        }
    }

    #[test]
    fn the_furthest_stage_that_holds_wins_and_accounts_can_go_back() {
        let j = journey();
        assert_eq!(j.stage_of(&facts(Some(10), None, true)).stage, Some(0));
        assert_eq!(j.stage_of(&facts(Some(100), None, true)).stage, Some(1));
        assert_eq!(j.stage_of(&facts(Some(300), Some(30), true)).stage, Some(2));
        // Renewed: the renewal date moved a year on, back to adoption.
        assert_eq!(
            j.stage_of(&facts(Some(400), Some(360), true)).stage,
            Some(1)
        );
        assert_eq!(j.stage_of(&facts(Some(400), None, false)).stage, Some(3));
        assert_eq!(j.stage_of(&facts(None, None, false)).stage, None);
    }

    #[test]
    fn runs_record_each_change_of_stage() {
        let d = |s: &str| s.parse::<Date>().unwrap();
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
        let got: Vec<(usize, String, Option<String>)> = runs
            .iter()
            .map(|r| {
                (
                    r.stage,
                    r.entered.to_string(),
                    r.left.map(|d| d.to_string()),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (0, "2025-01-01".into(), Some("2025-03-02".into())),
                (1, "2025-03-02".into(), Some("2025-06-01".into())),
                (2, "2025-06-01".into(), Some("2025-07-01".into())),
                (1, "2025-07-01".into(), Some("2025-08-01".into())),
            ]
        );
        assert_eq!(runs[0].days(d("2025-12-31")), 60);
        record_day(&mut runs, d("2025-08-02"), Some(1));
        assert_eq!(runs.last().unwrap().days(d("2025-08-12")), 10);
    }
}
