//! The playbook backtest (docs/REACT.md): over past sampled days, which
//! accounts a playbook would have enrolled, and how many of them stopped
//! paying within the horizon (90 days): the precision of its trigger as an
//! early warning, against the churn of its whole paying audience.
//!
//! The caller evaluates the playbook's audience and trigger on each sampled
//! day from the data as it was then (no look-ahead) and hands over, per
//! day, every account of the audience with its ARR and whether the trigger
//! held, and each account's paying subscriptions. The outcome (churned or
//! not) looks ahead by design.
//!
//! The rules, written once here:
//!
//! - **Entry**: an account enters on a sampled day when it is in the
//!   audience, its trigger holds and [`may_enrol`] allows it given the
//!   backtest's own earlier entries (stored enrolments are not read). A
//!   simulated enrolment runs until its last action's day (an enrolment
//!   of a playbook whose actions are all on day 0 ends at once); the exit
//!   rule is not evaluated, since it can only end one earlier.
//! - **Churned**: the account stopped paying within the horizon after the
//!   day: some day in `day + 1 ..= day + horizon` on which none of its
//!   paying subscriptions runs (MRR fell to zero), even if it came back
//!   later; the same rule as the health backtest ([`churned_within`]).
//! - **Judged**: an entry of a paying account (ARR above zero on the day)
//!   whose horizon ended by the data's last day. Entries of accounts not
//!   paying (trials) and the latest entries are counted but not judged.
//! - **Precision**: churned ÷ judged entries. **Base rate**: the same
//!   churn over every paying account of the audience on each judged
//!   sampled day, entered or not (account-days). **Lift**: precision ÷
//!   base rate.
//! - **Caught**: of the churns of accounts seen paying in the audience on
//!   a judged sampled day (each account's first day without pay after
//!   such a day counted once), the share the playbook warned of: the
//!   account entered on a paying day at most the horizon before it.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;

use crate::health::churned_within;
use crate::model::{add_days, day_number};
use crate::plays::{Enrolment, Playbook, may_enrol};

/// Days after an entry within which a churn counts.
pub const HORIZON_DAYS: u32 = 90;

/// An account of the playbook's audience on a sampled day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    /// Index into the caller's accounts (and into `paying`).
    pub account: usize,
    /// ARR on the day, in the reporting currency; zero when not paying.
    pub arr: f64,
    /// The trigger held (`false` when it could not be decided).
    pub triggered: bool,
}

/// One sampled day: the accounts of the audience on it.
#[derive(Debug, Clone, PartialEq)]
pub struct SampledDay {
    pub day: Date,
    pub audience: Vec<Seen>,
}

/// One simulated entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    pub account: usize,
    pub day: Date,
    pub arr: f64,
    /// `None`: not judged (not paying on the day, or its horizon not over);
    /// else whether the account churned within the horizon.
    pub churned: Option<bool>,
}

/// The counts of one month of sampled days (or of the whole backtest).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Counts {
    /// Sampled days.
    pub days: usize,
    /// Account-days of the audience on which the trigger held.
    pub held: usize,
    pub entries: usize,
    /// Entries judged, and those that churned.
    pub judged: usize,
    pub churned: usize,
    /// Paying account-days of the audience on judged sampled days, and
    /// those that churned within the horizon.
    pub audience: usize,
    pub audience_churned: usize,
    /// ARR on the day of every entry, of the judged ones and of those that
    /// churned.
    pub arr_entered: f64,
    pub arr_judged: f64,
    pub arr_churned: f64,
}

impl Counts {
    /// Churned ÷ judged entries.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.churned, self.judged)
    }

    /// Churn within the horizon over the paying audience.
    pub fn base_rate(&self) -> Option<f64> {
        ratio(self.audience_churned, self.audience)
    }

    /// Precision ÷ base rate.
    pub fn lift(&self) -> Option<f64> {
        let (p, b) = (self.precision()?, self.base_rate()?);
        (b > 0.0).then(|| p / b)
    }
}

/// One month's counts, `month` its first day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Month {
    pub month: Date,
    pub counts: Counts,
}

/// What the backtest found.
#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    pub horizon_days: u32,
    /// The data's last day: an outcome needs its horizon to end by then.
    pub last_day: Date,
    pub totals: Counts,
    /// Churns of accounts seen paying in the audience on a judged day, and
    /// those an entry warned of.
    pub churns: usize,
    pub caught: usize,
    /// Every month with a sampled day, in order.
    pub months: Vec<Month>,
    /// Every entry, in day order.
    pub entries: Vec<Entry>,
}

impl Backtest {
    /// Caught ÷ churns.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.caught, self.churns)
    }
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// The first day in `as_of + 1 ..= as_of + horizon` on which none of the
/// paying spans (`(start, end)`, end exclusive, `None` running) runs.
pub fn churn_day(paying: &[(Date, Option<Date>)], as_of: Date, horizon: u32) -> Option<Date> {
    if !churned_within(paying, as_of, horizon) {
        return None;
    }
    // The first uncovered day lies within the horizon: find it by halving
    // (`churned_within` over a shorter horizon is monotone).
    let (mut lo, mut hi) = (1u32, horizon);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if churned_within(paying, as_of, mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(add_days(as_of, lo as i32))
}

/// Runs the backtest of `playbook` over `days` (ascending; a day out of
/// order is an error in the caller and is skipped). `paying[i]` holds
/// account `i`'s paying subscriptions; `last_day` is the data's last day.
pub fn backtest(
    playbook: &Playbook,
    days: &[SampledDay],
    paying: &[Vec<(Date, Option<Date>)>],
    last_day: Date,
    horizon: u32,
) -> Backtest {
    let spans = |a: usize| paying.get(a).map_or(&[][..], Vec::as_slice);
    let length = playbook.actions.iter().map(|a| a.day).max().unwrap_or(0) as i32;
    let judged_by = |day: Date| day_number(day) + horizon as i32 <= day_number(last_day);
    let mut past: BTreeMap<usize, Vec<Date>> = BTreeMap::new();
    let mut months: BTreeMap<Date, Counts> = BTreeMap::new();
    let mut entries = Vec::new();
    // Churns seen in the audience: (account, first day without pay).
    let mut churns: BTreeSet<(usize, Date)> = BTreeSet::new();
    let mut warned: BTreeSet<(usize, Date)> = BTreeSet::new();
    let mut previous: Option<Date> = None;
    for sampled in days {
        let day = sampled.day;
        if previous.is_some_and(|p| day <= p) {
            continue;
        }
        previous = Some(day);
        let judged = judged_by(day);
        let counts = months.entry(day.first_of_month()).or_default();
        counts.days += 1;
        for seen in &sampled.audience {
            let is_paying = seen.arr > 0.0;
            let churn = (is_paying && judged)
                .then(|| churn_day(spans(seen.account), day, horizon))
                .flatten();
            if is_paying && judged {
                counts.audience += 1;
                if let Some(c) = churn {
                    counts.audience_churned += 1;
                    churns.insert((seen.account, c));
                }
            }
            if !seen.triggered {
                continue;
            }
            counts.held += 1;
            let before: Vec<Enrolment> = past
                .get(&seen.account)
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .map(|&on| {
                    let ends = add_days(on, length);
                    Enrolment {
                        enrolled_on: on,
                        exited_on: (ends <= day).then_some(ends),
                    }
                })
                .collect();
            if !may_enrol(playbook, &before, day) {
                continue;
            }
            past.entry(seen.account).or_default().push(day);
            counts.entries += 1;
            counts.arr_entered += seen.arr;
            let outcome = (is_paying && judged).then_some(churn.is_some());
            if let Some(churned) = outcome {
                counts.judged += 1;
                counts.arr_judged += seen.arr;
                if churned {
                    counts.churned += 1;
                    counts.arr_churned += seen.arr;
                }
            }
            if let Some(c) = churn {
                warned.insert((seen.account, c));
            }
            entries.push(Entry {
                account: seen.account,
                day,
                arr: seen.arr,
                churned: outcome,
            });
        }
    }
    let mut totals = Counts::default();
    for c in months.values() {
        totals.days += c.days;
        totals.held += c.held;
        totals.entries += c.entries;
        totals.judged += c.judged;
        totals.churned += c.churned;
        totals.audience += c.audience;
        totals.audience_churned += c.audience_churned;
        totals.arr_entered += c.arr_entered;
        totals.arr_judged += c.arr_judged;
        totals.arr_churned += c.arr_churned;
    }
    Backtest {
        horizon_days: horizon,
        last_day,
        totals,
        churns: churns.len(),
        caught: churns.intersection(&warned).count(),
        months: months
            .into_iter()
            .map(|(month, counts)| Month { month, counts })
            .collect(),
        entries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plays::{Action, ActionKind, Template};
    use crate::rules::Rule;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn playbook(max: u32, cooldown: u32, last_action: u32) -> Playbook {
        let any = |_: &str| true;
        let note = |day| Action {
            day,
            only_if_matching: false,
            kind: ActionKind::Note {
                text: Template::parse("red").unwrap(),
            },
        };
        Playbook {
            name: "Red".into(),
            description: None,
            trigger: Rule::compile(r#"band == "red""#, &any).unwrap(),
            exit: None,
            segments: vec![],
            tiers: vec![],
            stages: vec![],
            max_enrolments: max,
            cooldown_days: cooldown,
            actions: vec![note(0), note(last_action)],
            version: "v1".into(),
        }
    }

    fn seen(account: usize, arr: f64, triggered: bool) -> Seen {
        Seen {
            account,
            arr,
            triggered,
        }
    }

    #[test]
    fn the_first_day_without_pay() {
        let spans = [
            (d("2025-01-01"), Some(d("2025-03-01"))),
            (d("2025-02-15"), Some(d("2025-04-10"))),
        ];
        assert_eq!(
            churn_day(&spans, d("2025-01-10"), 90),
            Some(d("2025-04-10"))
        );
        assert_eq!(churn_day(&spans, d("2025-01-01"), 30), None);
        assert_eq!(churn_day(&spans, d("2025-04-09"), 1), Some(d("2025-04-10")));
        assert_eq!(
            churn_day(&[(d("2025-01-01"), None)], d("2025-06-01"), 90),
            None
        );
        assert_eq!(churn_day(&[], d("2025-06-01"), 90), Some(d("2025-06-02")));
    }

    /// Four accounts sampled weekly over January 2025, the data ending on
    /// 2025-04-15: entries, cooldown, judged or not, precision, base rate,
    /// caught, worked by hand.
    #[test]
    fn entries_outcomes_and_rates_by_hand() {
        // Once per 90 days; the enrolment runs 7 days.
        let p = playbook(1, 90, 7);
        let paying = vec![
            // 0 stops paying on 2025-03-01: churns within 90 days of any
            // January day.
            vec![(d("2024-01-01"), Some(d("2025-03-01")))],
            // 1 pays throughout.
            vec![(d("2024-01-01"), None)],
            // 2 stops paying on 2025-04-20, 104 days after 2025-01-06
            // but 90 after 2025-01-20.
            vec![(d("2024-01-01"), Some(d("2025-04-20")))],
            // 3 is in trial: never pays.
            vec![],
        ];
        let days = [
            // 2025-01-06: 0 and 1 red, 2 green, 3 (trial) red.
            SampledDay {
                day: d("2025-01-06"),
                audience: vec![
                    seen(0, 1200.0, true),
                    seen(1, 2400.0, true),
                    seen(2, 600.0, false),
                    seen(3, 0.0, true),
                ],
            },
            // 2025-01-13: 0 still red (cooldown), 2 turns red.
            SampledDay {
                day: d("2025-01-13"),
                audience: vec![
                    seen(0, 1200.0, true),
                    seen(1, 2400.0, false),
                    seen(2, 600.0, true),
                ],
            },
            // 2025-01-20: its horizon ends 2025-04-20, after the data:
            // not judged.
            SampledDay {
                day: d("2025-01-20"),
                audience: vec![seen(1, 2400.0, true), seen(2, 600.0, true)],
            },
        ];
        let b = backtest(&p, &days, &paying, d("2025-04-15"), 90);
        let t = b.totals;
        assert_eq!(t.days, 3);
        assert_eq!(t.held, 7);
        // 0, 1 and 3 on the 6th; 2 on the 13th; none on the 20th (1 and
        // 2 entered within 90 days).
        assert_eq!(t.entries, 4);
        let got: Vec<(usize, Date, Option<bool>)> = b
            .entries
            .iter()
            .map(|e| (e.account, e.day, e.churned))
            .collect();
        assert_eq!(
            got,
            [
                (0, d("2025-01-06"), Some(true)),
                (1, d("2025-01-06"), Some(false)),
                (3, d("2025-01-06"), None),
                (2, d("2025-01-13"), Some(false)),
            ]
        );
        assert_eq!((t.judged, t.churned), (3, 1));
        assert_eq!(t.precision(), Some(1.0 / 3.0));
        // Paying account-days on the judged days 6th and 13th: 0, 1, 2
        // twice each; 0 churned within 90 days of both.
        assert_eq!((t.audience, t.audience_churned), (6, 2));
        assert_eq!(t.base_rate(), Some(2.0 / 6.0));
        assert_eq!(t.lift(), Some(1.0));
        assert_eq!(t.arr_entered, 1200.0 + 2400.0 + 600.0);
        assert_eq!(t.arr_judged, 1200.0 + 2400.0 + 600.0);
        assert_eq!(t.arr_churned, 1200.0);
        // One churn in the audience (0 on 2025-03-01), warned of.
        assert_eq!((b.churns, b.caught), (1, 1));
        assert_eq!(b.recall(), Some(1.0));
        assert_eq!(b.months.len(), 1);
        assert_eq!(b.months[0].month, d("2025-01-01"));
        assert_eq!(b.months[0].counts, t);
    }

    #[test]
    fn re_enrolment_follows_the_playbook() {
        let paying = vec![vec![(d("2024-01-01"), None)]];
        let weekly: Vec<SampledDay> = (0..8)
            .map(|w| SampledDay {
                day: add_days(d("2025-01-06"), 7 * w),
                audience: vec![seen(0, 1000.0, true)],
            })
            .collect();
        let last = d("2026-01-01");
        // Twice per 90 days, each enrolment 10 days long: enters on the
        // 6th, is enrolled on the 13th, enters again on the 20th, then the
        // limit holds until 90 days after the 6th.
        let b = backtest(&playbook(2, 90, 10), &weekly, &paying, last, 90);
        let on: Vec<Date> = b.entries.iter().map(|e| e.day).collect();
        assert_eq!(on, [d("2025-01-06"), d("2025-01-20")]);
        // Enrolments that end at once, at most 10 per 21 days: every
        // sampled day.
        let b = backtest(&playbook(10, 21, 0), &weekly, &paying, last, 90);
        assert_eq!(b.totals.entries, 8);
        // Once per 14 days, ending at once: every other week.
        let b = backtest(&playbook(1, 14, 0), &weekly, &paying, last, 90);
        assert_eq!(b.totals.entries, 4);
        assert_eq!(b.totals.held, 8);
        assert_eq!(b.totals.precision(), Some(0.0));
        assert_eq!(b.totals.lift(), None, "no churn: no base rate to beat");
    }

    #[test]
    fn a_churn_entered_too_early_or_not_at_all_is_missed() {
        let p = playbook(1, 365, 0);
        let paying = vec![
            // 0 enters on 2025-01-06 and stops paying on 2025-05-01,
            // 115 days later: not caught (and that entry did not churn).
            vec![(d("2024-01-01"), Some(d("2025-05-01")))],
            // 1 never triggers and stops paying on 2025-03-01.
            vec![(d("2024-01-01"), Some(d("2025-03-01")))],
        ];
        let days = [
            SampledDay {
                day: d("2025-01-06"),
                audience: vec![seen(0, 100.0, true), seen(1, 100.0, false)],
            },
            SampledDay {
                day: d("2025-02-10"),
                audience: vec![seen(0, 100.0, true), seen(1, 100.0, false)],
            },
        ];
        let b = backtest(&p, &days, &paying, d("2025-12-31"), 90);
        assert_eq!(b.totals.entries, 1);
        assert_eq!((b.totals.judged, b.totals.churned), (1, 0));
        // 1 churned within 90 days of both days, 0 of the second.
        assert_eq!((b.totals.audience, b.totals.audience_churned), (4, 3));
        assert_eq!((b.churns, b.caught), (2, 0));
        assert_eq!(b.recall(), Some(0.0));
        assert_eq!(b.months.len(), 2);
        assert_eq!(b.months[1].counts.entries, 0);
        assert_eq!(b.months[1].counts.audience_churned, 2);
    }
}
