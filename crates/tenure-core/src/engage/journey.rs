//! Journey stages: ordered, each with an entry rule and a target duration.
//! An account is in the furthest stage whose entry rule holds today, so it
//! moves forward when a later stage's rule starts to hold and back when it
//! stops, unless the stage it is in has a `stay` rule that still holds.

use crate::rules::{Facts, Rule};

/// One stage of the journey.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: String,
    pub entry: Rule,
    /// Once in the stage, the account stays (rather than go back to an
    /// earlier stage) while this holds; without it, while `entry` holds.
    /// A looser rule than `entry` keeps a fact wavering around the entry
    /// threshold from moving the account back and forth.
    pub stay: Option<Rule>,
    /// How long an account should take to move on; longer is friction.
    /// `None` for stages with no end (advocacy, churned).
    pub target_days: Option<u32>,
    /// A stage accounts fall into rather than progress to (churned): the
    /// funnel counts moves into it as losses, not conversions.
    pub lost: bool,
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
    /// this account is recorded and passed over. An account in stage
    /// `current` that would go back (to an earlier stage or none) stays
    /// while that stage's `stay` rule holds.
    pub fn stage_of(&self, facts: &Facts, current: Option<usize>) -> StageOf {
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
        if let Some(c) = current
            && out.stage.is_none_or(|s| s < c)
            && let Some(stay) = self.0.get(c).and_then(|s| s.stay.as_ref())
        {
            match stay.matches(facts) {
                Ok(true) => out.stage = Some(c),
                Ok(false) => {}
                Err(e) => out.errors.push((c, e)),
            }
        }
        out
    }

    /// The index of the stage called `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|s| s.name == name)
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
            stay: None,
            target_days: target,
            lost: false,
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
        assert_eq!(
            j.stage_of(&facts(Some(10), None, true), None).stage,
            Some(0)
        );
        assert_eq!(
            j.stage_of(&facts(Some(100), None, true), None).stage,
            Some(1)
        );
        assert_eq!(
            j.stage_of(&facts(Some(300), Some(30), true), None).stage,
            Some(2)
        );
        // Renewed: the renewal date moved a year on, back to adoption.
        assert_eq!(
            j.stage_of(&facts(Some(400), Some(360), true), None).stage,
            Some(1)
        );
        assert_eq!(
            j.stage_of(&facts(Some(400), None, false), None).stage,
            Some(3)
        );
        assert_eq!(j.stage_of(&facts(None, None, false), None).stage, None);
    }

    #[test]
    fn a_stay_rule_keeps_an_account_from_going_back() {
        let mut j = journey();
        // Adoption: entered at 60 days, kept while paying.
        j.0[1].stay = Some(Rule::compile("paying", &|f| field_names().any(|n| n == f)).unwrap());
        // 50 days (entry no longer holds): stays in adoption while paying.
        let f = facts(Some(50), None, true);
        assert_eq!(j.stage_of(&f, Some(1)).stage, Some(1));
        // Without being in adoption, the entry rule decides.
        assert_eq!(j.stage_of(&f, Some(0)).stage, Some(0));
        assert_eq!(j.stage_of(&f, None).stage, Some(0));
        // Moving forward is not held back.
        assert_eq!(
            j.stage_of(&facts(Some(300), Some(30), true), Some(1)).stage,
            Some(2)
        );
        // Renewal has no stay rule: back to adoption once renewed.
        assert_eq!(
            j.stage_of(&facts(Some(400), Some(360), true), Some(2))
                .stage,
            Some(1)
        );
        // Stopped paying: the stay rule fails, churned is further anyway.
        assert_eq!(
            j.stage_of(&facts(Some(400), None, false), Some(1)).stage,
            Some(3)
        );
    }
}
