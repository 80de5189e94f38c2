//! Engagement cadence: the engagements each touch tier should get in each
//! journey stage, checked against the engagements logged.
//!
//! A [`Policy`] says "accounts of tier T in stage S get an engagement of
//! kind K at least every N days". On a day, a policy that applies to an
//! account is **due** N days after the latest engagement of that kind on
//! or before the day, or, when there is none, N days after the account
//! came under the policy ([`Policy::since`]: it entered the tier's segment
//! and, for a policy naming a stage, that stage): nobody is overdue on
//! their first day. Past the due day, it is **overdue** by the days
//! since. **Compliance** over a period is the share of the days the
//! policy applied on which it was not overdue.

use jiff::civil::Date;

use crate::model::{date_from_day, day_number};

/// One required engagement.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Index into the configured tiers.
    pub tier: usize,
    /// Index into the journey's stages; `None` applies in every stage.
    pub stage: Option<usize>,
    /// The engagement kind that satisfies it (`qbr`, `call`, ...).
    pub kind: String,
    /// The longest gap allowed, in days.
    pub every_days: u32,
}

impl Policy {
    /// Whether the policy applies to an account of `tier` in `stage`.
    pub fn applies(&self, tier: Option<usize>, stage: Option<usize>) -> bool {
        tier == Some(self.tier) && self.stage.is_none_or(|s| stage == Some(s))
    }

    /// The day an account came under the policy, given the days it entered
    /// its stage and its segment: the later of the two for a policy naming
    /// a stage, the segment's for a policy of every stage (moving stage
    /// does not restart it). `None` when it lacks what the policy needs.
    pub fn since(&self, stage_since: Option<Date>, segment_since: Option<Date>) -> Option<Date> {
        match self.stage {
            Some(_) => Some(stage_since?.max(segment_since?)),
            None => segment_since,
        }
    }
}

/// Where one required engagement stands on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// The latest engagement of the kind on or before the day.
    pub last_done: Option<Date>,
    /// The day it is (or was) due.
    pub due: Date,
    /// Days past `due`; 0 when not overdue.
    pub overdue_days: i32,
}

/// Where a policy of `every_days` stands on `day` for an account that came
/// under it on `since`, given its engagements of the policy's kind
/// (`done`, any order).
pub fn standing(every_days: u32, since: Date, done: &[Date], day: Date) -> Standing {
    let last_done = done.iter().copied().filter(|d| *d <= day).max();
    let base = last_done.unwrap_or(since);
    let due = date_from_day(day_number(base) + every_days as i32);
    Standing {
        last_done,
        due,
        overdue_days: (day_number(day) - day_number(due)).max(0),
    }
}

/// Where each policy that applies to an account of `tier` in `stage`
/// stands on `day`, for an account that entered its stage on
/// `stage_since` and its segment on `segment_since` (see
/// [`Policy::since`]), given its engagements as `(kind, day)` (any order;
/// only days up to `day` count): `(policy index, standing)`.
pub fn standings(
    policies: &[Policy],
    (tier, stage): (Option<usize>, Option<usize>),
    (stage_since, segment_since): (Option<Date>, Option<Date>),
    done: &[(String, Date)],
    day: Date,
) -> Vec<(usize, Standing)> {
    policies
        .iter()
        .enumerate()
        .filter(|(_, p)| p.applies(tier, stage))
        .filter_map(|(i, p)| {
            let since = p.since(stage_since, segment_since)?;
            let days: Vec<Date> = done
                .iter()
                .filter(|(k, _)| *k == p.kind)
                .map(|(_, d)| *d)
                .collect();
            Some((i, standing(p.every_days, since, &days, day)))
        })
        .collect()
}

/// Days on time, out of the days a policy applied, over a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Compliance {
    pub on_time_days: u32,
    pub days: u32,
}

impl Compliance {
    /// On-time days ÷ days; `None` when the policy never applied.
    pub fn share(&self) -> Option<f64> {
        (self.days > 0).then(|| f64::from(self.on_time_days) / f64::from(self.days))
    }

    pub fn add(&mut self, other: Compliance) {
        self.on_time_days += other.on_time_days;
        self.days += other.days;
    }
}

/// Compliance with a policy of `every_days` from `from` to `to` (both
/// included) for an account that came under it on `since` and left it on
/// `until` (the first day no longer under it; `None` while it still is),
/// given its engagements of the policy's kind, sorted by day. One pass
/// over the engagements, not over the days.
pub fn compliance(
    every_days: u32,
    since: Date,
    until: Option<Date>,
    done: &[Date],
    from: Date,
    to: Date,
) -> Compliance {
    let start = day_number(since).max(day_number(from));
    let end = until.map_or(day_number(to), |u| (day_number(u) - 1).min(day_number(to)));
    if end < start {
        return Compliance::default();
    }
    let days: Vec<i32> = done.iter().map(|d| day_number(*d)).collect();
    debug_assert!(days.is_sorted(), "engagements must be sorted");
    let every = every_days as i32;
    // The latest engagement on or before the first day, else the day the
    // account came under the policy.
    let mut next = days.partition_point(|&e| e <= start);
    let mut base = if next > 0 {
        days[next - 1]
    } else {
        day_number(since)
    };
    let mut on_time = 0;
    let mut d = start;
    while d <= end {
        // Days d..=run_end share the same latest engagement.
        let run_end = days.get(next).map_or(end, |&e| (e - 1).min(end));
        let ok_end = run_end.min(base + every);
        if ok_end >= d {
            on_time += ok_end - d + 1;
        }
        d = run_end + 1;
        if let Some(&e) = days.get(next) {
            base = e;
            next += 1;
        }
    }
    Compliance {
        on_time_days: on_time as u32,
        days: (end - start + 1) as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn dates(list: &[&str]) -> Vec<Date> {
        list.iter().map(|s| d(s)).collect()
    }

    #[test]
    fn standings_cover_the_policies_that_apply_each_from_its_kind() {
        let policy = |tier, stage, kind: &str, every_days| Policy {
            tier,
            stage,
            kind: kind.into(),
            every_days,
        };
        let policies = [
            policy(0, Some(1), "qbr", 60),
            policy(0, None, "call", 10),
            policy(1, None, "email", 30),
        ];
        let done = vec![
            ("call".to_string(), d("2025-03-05")),
            ("qbr".to_string(), d("2025-04-20")),
            ("call".to_string(), d("2025-02-01")),
        ];
        let jan1 = Some(d("2025-01-01"));
        let got = standings(
            &policies,
            (Some(0), Some(1)),
            (jan1, jan1),
            &done,
            d("2025-03-20"),
        );
        // The QBR of 04-20 is after the day: due 60 days after 01-01.
        assert_eq!(
            got,
            [
                (
                    0,
                    Standing {
                        last_done: None,
                        due: d("2025-03-02"),
                        overdue_days: 18
                    }
                ),
                (
                    1,
                    Standing {
                        last_done: Some(d("2025-03-05")),
                        due: d("2025-03-15"),
                        overdue_days: 5
                    }
                ),
            ]
        );
        assert!(
            standings(
                &policies,
                (None, Some(1)),
                (jan1, jan1),
                &done,
                d("2025-03-20")
            )
            .is_empty()
        );
        // In the stage since 03-01, in the segment since 01-01, nothing
        // done: the stage's QBR counts from 03-01, the calls of every
        // stage from 01-01 (moving stage does not restart them).
        let got = standings(
            &policies,
            (Some(0), Some(1)),
            (Some(d("2025-03-01")), jan1),
            &[],
            d("2025-03-20"),
        );
        let due: Vec<(usize, Date, i32)> = got
            .iter()
            .map(|(i, s)| (*i, s.due, s.overdue_days))
            .collect();
        assert_eq!(due, [(0, d("2025-04-30"), 0), (1, d("2025-01-11"), 68)]);
    }

    #[test]
    fn due_after_the_last_engagement_or_after_coming_under_the_policy() {
        // Never engaged: due 14 days after entering, overdue after that.
        let s = standing(14, d("2025-03-01"), &[], d("2025-03-20"));
        assert_eq!(
            (s.due, s.overdue_days, s.last_done),
            (d("2025-03-15"), 5, None)
        );
        // Engaged on 03-10: due 03-24, on time on 03-20.
        let done = dates(&["2025-03-10", "2025-04-02"]);
        let s = standing(14, d("2025-03-01"), &done, d("2025-03-20"));
        assert_eq!(
            (s.due, s.overdue_days, s.last_done),
            (d("2025-03-24"), 0, Some(d("2025-03-10")))
        );
        // An engagement after the day does not count yet.
        let s = standing(14, d("2025-03-01"), &done, d("2025-03-31"));
        assert_eq!(s.overdue_days, 7);
    }

    #[test]
    fn compliance_counts_the_days_on_time() {
        // Policy every 10 days, account under it from 03-01; period March
        // (31 days). Engagements on 03-08 and 03-25.
        // On time: 03-01..03-11 (base 03-01, due 03-11) → but the 03-08
        // engagement moves the base: 03-08..03-18 on time, 03-19..03-24
        // overdue (6 days), 03-25..03-31 on time. Overdue days: 6.
        let done = dates(&["2025-03-08", "2025-03-25"]);
        let c = compliance(
            10,
            d("2025-03-01"),
            None,
            &done,
            d("2025-03-01"),
            d("2025-03-31"),
        );
        assert_eq!(
            c,
            Compliance {
                on_time_days: 25,
                days: 31
            }
        );
        // Left the policy on 03-20: only 03-01..03-19 count (1 overdue day).
        let c = compliance(
            10,
            d("2025-03-01"),
            Some(d("2025-03-20")),
            &done,
            d("2025-03-01"),
            d("2025-03-31"),
        );
        assert_eq!(
            c,
            Compliance {
                on_time_days: 18,
                days: 19
            }
        );
        // An engagement before the period still counts as the base.
        let c = compliance(
            10,
            d("2025-01-01"),
            None,
            &dates(&["2025-02-25"]),
            d("2025-03-01"),
            d("2025-03-10"),
        );
        assert_eq!(
            c,
            Compliance {
                on_time_days: 7,
                days: 10
            }
        );
        // Never under the policy in the period.
        let c = compliance(
            10,
            d("2025-04-01"),
            None,
            &[],
            d("2025-03-01"),
            d("2025-03-31"),
        );
        assert_eq!(c.share(), None);
    }

    #[test]
    fn compliance_equals_counting_day_by_day() {
        // The one-pass count against `standing` on every day.
        let cases: &[(u32, &str, &[&str])] = &[
            (
                7,
                "2025-01-03",
                &[
                    "2024-12-30",
                    "2025-01-05",
                    "2025-01-06",
                    "2025-01-20",
                    "2025-02-14",
                ],
            ),
            (30, "2025-01-15", &[]),
            (1, "2025-01-01", &["2025-01-01", "2025-01-03"]),
        ];
        for (every, since, done) in cases {
            let done = dates(done);
            let (from, to) = (d("2025-01-01"), d("2025-02-28"));
            let mut expect = Compliance::default();
            for n in day_number(from)..=day_number(to) {
                let day = date_from_day(n);
                if day < d(since) {
                    continue;
                }
                expect.days += 1;
                if standing(*every, d(since), &done, day).overdue_days == 0 {
                    expect.on_time_days += 1;
                }
            }
            assert_eq!(
                compliance(*every, d(since), None, &done, from, to),
                expect,
                "{every} {since}"
            );
        }
    }

    #[test]
    fn policies_apply_to_their_tier_and_stage() {
        let p = Policy {
            tier: 0,
            stage: Some(1),
            kind: "qbr".into(),
            every_days: 60,
        };
        assert!(p.applies(Some(0), Some(1)));
        assert!(!p.applies(Some(0), Some(2)));
        assert!(!p.applies(Some(1), Some(1)));
        let any_stage = Policy { stage: None, ..p };
        assert!(any_stage.applies(Some(0), None));
    }
}
