//! Engage over a period, from the runs recorded day by day: the journey
//! funnel (where accounts went when they left each stage, and how long
//! they stayed), cadence compliance, and churn by segment.

use jiff::civil::Date;

use super::EngageConfig;
use super::cadence::{Compliance, compliance};
use super::journey::Journey;
use super::runs::Run;
use crate::model::day_number;

/// One stage of the funnel over a period.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FunnelStage {
    /// Accounts that entered the stage during the period.
    pub entered: u32,
    /// Runs of the stage that ended during the period, by where the
    /// account went: a later stage, an earlier one, a lost stage
    /// (churned), or no stage at all.
    pub advanced: u32,
    pub went_back: u32,
    pub lost: u32,
    pub exited: u32,
    /// Median days spent in the stage by the runs that ended in the period.
    pub median_days: Option<f64>,
}

impl FunnelStage {
    /// Runs of the stage that ended during the period.
    pub fn ended(&self) -> u32 {
        self.advanced + self.went_back + self.lost + self.exited
    }

    /// The share of the runs that ended in the period that moved on to a
    /// later stage; `None` when none ended.
    pub fn conversion(&self) -> Option<f64> {
        let n = self.ended();
        (n > 0).then(|| f64::from(self.advanced) / f64::from(n))
    }
}

/// The median of `values` (the mean of the two middle ones for an even
/// count); `None` when empty.
pub fn median(values: &mut [i32]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        f64::from(values[n / 2])
    } else {
        (f64::from(values[n / 2 - 1]) + f64::from(values[n / 2])) / 2.0
    })
}

/// The funnel from `from` to `to` (both included) over every account's
/// stage runs (oldest first, as recorded). A run ends on the day the
/// account moved (its `left` day); it moved to the stage whose run starts
/// that day, if any.
pub fn funnel<'a>(
    journey: &Journey,
    accounts: impl IntoIterator<Item = &'a [Run<usize>]>,
    from: Date,
    to: Date,
) -> Vec<FunnelStage> {
    let n = journey.0.len();
    let mut out = vec![FunnelStage::default(); n];
    let mut days: Vec<Vec<i32>> = vec![Vec::new(); n];
    for runs in accounts {
        for (k, run) in runs.iter().enumerate() {
            let i = run.value;
            if i >= n {
                continue;
            }
            if (from..=to).contains(&run.entered) {
                out[i].entered += 1;
            }
            let Some(left) = run.left.filter(|l| (from..=to).contains(l)) else {
                continue;
            };
            let next = runs
                .get(k + 1)
                .filter(|r| r.entered == left && r.value < n)
                .map(|r| r.value);
            let f = &mut out[i];
            match next {
                Some(j) if journey.0[j].lost => f.lost += 1,
                Some(j) if j > i => f.advanced += 1,
                Some(_) => f.went_back += 1,
                None => f.exited += 1,
            }
            days[i].push(day_number(left) - day_number(run.entered));
        }
    }
    for (f, d) in out.iter_mut().zip(&mut days) {
        f.median_days = median(d);
    }
    out
}

/// How one account kept one required engagement while it was in one
/// segment and stage, over a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    /// Index into the configured cadence policies.
    pub policy: usize,
    /// The segment the account was in meanwhile.
    pub segment: usize,
    pub compliance: Compliance,
}

/// Every stretch from `from` to `to` in which a cadence policy applied to
/// an account, with its compliance. A policy applies while the account is
/// in a segment of its tier and, when it names a stage, in that stage:
/// from the day it entered both, the same rule as
/// [`super::cadence::Policy::since`] on a single day. `done(kind)` gives
/// the account's engagements of a kind, sorted by day.
pub fn kept<'a>(
    config: &EngageConfig,
    stages: &[Run<usize>],
    segments: &[Run<usize>],
    done: impl Fn(&str) -> &'a [Date],
    from: Date,
    to: Date,
) -> Vec<Kept> {
    let mut out = Vec::new();
    for s in segments {
        let Some(seg) = config.segments.0.get(s.value) else {
            continue;
        };
        for (p, policy) in config.cadence.iter().enumerate() {
            if policy.tier != seg.tier {
                continue;
            }
            // The stretches of the segment run the policy covers: all of it,
            // or its overlap with each run of the policy's stage.
            let stretches: Vec<(Date, Option<Date>)> = match policy.stage {
                None => vec![(s.entered, s.left)],
                Some(stage) => stages
                    .iter()
                    .filter(|g| g.value == stage)
                    .map(|g| {
                        let end = match (s.left, g.left) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                        (s.entered.max(g.entered), end)
                    })
                    .collect(),
            };
            for (start, end) in stretches {
                if end.is_some_and(|e| e <= start || e <= from) || start > to {
                    continue;
                }
                let c = compliance(policy.every_days, start, end, done(&policy.kind), from, to);
                if c.days > 0 {
                    out.push(Kept {
                        policy: p,
                        segment: s.value,
                        compliance: c,
                    });
                }
            }
        }
    }
    out
}

/// Churn of the accounts a segment held on a day: how many it held, and
/// how many of those churned since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Churn {
    pub accounts: u32,
    pub churned: u32,
}

impl Churn {
    /// Churned ÷ accounts; `None` when the segment held none.
    pub fn rate(&self) -> Option<f64> {
        (self.accounts > 0).then(|| f64::from(self.churned) / f64::from(self.accounts))
    }
}

/// Per segment (`segments` of them), the accounts it held on `then` and
/// how many of them have churned since: each account's segment runs and
/// whether it has churned by the end of the period.
pub fn segment_churn<'a>(
    segments: usize,
    accounts: impl IntoIterator<Item = (&'a [Run<usize>], bool)>,
    then: Date,
) -> Vec<Churn> {
    let mut out = vec![Churn::default(); segments];
    for (runs, churned) in accounts {
        if let Some(r) = runs.iter().find(|r| r.covers(then))
            && let Some(c) = out.get_mut(r.value)
        {
            c.accounts += 1;
            c.churned += u32::from(churned);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engage::cadence::Policy;
    use crate::engage::{Segment, Segments, Stage, Tier};
    use crate::rules::{Rule, field_names};

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn run(value: usize, entered: &str, left: Option<&str>) -> Run<usize> {
        Run {
            value,
            entered: d(entered),
            left: left.map(d),
        }
    }

    fn rule() -> Rule {
        Rule::compile("paying", &|f| field_names().any(|n| n == f)).unwrap()
    }

    fn config() -> EngageConfig {
        let stage = |name: &str, lost| Stage {
            name: name.into(),
            entry: rule(),
            stay: None,
            target_days: Some(30),
            lost,
        };
        let tier = |name: &str| Tier {
            name: name.into(),
            about: None,
        };
        let seg = |name: &str, tier| Segment {
            name: name.into(),
            rule: rule(),
            tier,
            persona: None,
        };
        EngageConfig {
            settle_days: 0,
            tiers: vec![tier("high"), tier("tech")],
            segments: Segments(vec![seg("big", 0), seg("small", 1)]),
            journey: Journey(vec![
                stage("onboarding", false),
                stage("adoption", false),
                stage("renewal", false),
                stage("churned", true),
            ]),
            cadence: vec![
                Policy {
                    tier: 0,
                    stage: Some(1),
                    kind: "qbr".into(),
                    every_days: 10,
                },
                Policy {
                    tier: 0,
                    stage: None,
                    kind: "call".into(),
                    every_days: 5,
                },
            ],
        }
    }

    #[test]
    fn the_funnel_counts_where_accounts_went_and_how_long_they_stayed() {
        let c = config();
        let a = [
            run(0, "2025-01-01", Some("2025-01-21")),
            run(1, "2025-01-21", Some("2025-03-01")),
            run(2, "2025-03-01", Some("2025-03-11")),
            // Renewed: back to adoption.
            run(1, "2025-03-11", None),
        ];
        let b = [
            run(0, "2025-01-10", Some("2025-02-19")),
            run(3, "2025-02-19", None),
        ];
        let e = [
            run(0, "2025-02-01", Some("2025-02-11")),
            // No stage for a day: exited.
            run(0, "2025-02-12", None),
        ];
        let f = funnel(
            &c.journey,
            [&a[..], &b[..], &e[..]],
            d("2025-01-15"),
            d("2025-03-31"),
        );
        // Onboarding: entered by e twice (a and b entered before the
        // period); ended by a (advanced, 20 days), b (lost, 40 days), e
        // (exited, 10 days).
        assert_eq!(
            (f[0].entered, f[0].advanced, f[0].lost, f[0].exited),
            (2, 1, 1, 1)
        );
        assert_eq!(f[0].median_days, Some(20.0));
        assert_eq!(f[0].conversion(), Some(1.0 / 3.0));
        // Adoption: entered twice by a, left once (advanced, 39 days).
        assert_eq!((f[1].entered, f[1].advanced, f[1].ended()), (2, 1, 1));
        assert_eq!(f[1].median_days, Some(39.0));
        // Renewal: a went back after 10 days.
        assert_eq!((f[2].went_back, f[2].median_days), (1, Some(10.0)));
        assert_eq!((f[3].entered, f[3].ended()), (1, 0));
        assert_eq!(f[3].conversion(), None);
        assert_eq!(median(&mut [5, 1, 4, 2]), Some(3.0));
    }

    #[test]
    fn compliance_counts_each_stretch_a_policy_applied() {
        let c = config();
        // Big (high tier) the whole time; onboarding then adoption from
        // 2025-01-11. Calls every 5 days apply throughout (moving stage
        // does not restart them), QBRs every 10 days from adoption.
        let stages = [
            run(0, "2025-01-01", Some("2025-01-11")),
            run(1, "2025-01-11", None),
        ];
        let segments = [run(0, "2025-01-01", None)];
        let calls = [d("2025-01-03"), d("2025-01-20")];
        let qbrs = [d("2025-01-15")];
        let got = kept(
            &c,
            &stages,
            &segments,
            |k| if k == "qbr" { &qbrs[..] } else { &calls[..] },
            d("2025-01-01"),
            d("2025-01-31"),
        );
        let of = |p: usize| {
            let k = got.iter().find(|k| k.policy == p).unwrap();
            (k.segment, k.compliance.on_time_days, k.compliance.days)
        };
        // Calls (every stage) from Jan 1, one stretch whatever the stage:
        // due Jan 6, so on time Jan 1–2; after the call on the 3rd, Jan
        // 3–8; after the call on the 20th, Jan 20–25.
        assert_eq!(of(1), (0, 14, 31));
        // QBR in adoption: due Jan 21 from entry, done Jan 15, due Jan 25:
        // on time Jan 11–25.
        assert_eq!(of(0), (0, 15, 21));
        assert_eq!(got.len(), 2);
        // The small segment's tier has no policies.
        let small = [run(1, "2025-01-01", None)];
        assert!(
            kept(
                &c,
                &stages,
                &small,
                |_| &[],
                d("2025-01-01"),
                d("2025-01-31")
            )
            .is_empty()
        );
    }

    #[test]
    fn churn_by_segment_follows_the_accounts_a_segment_held_then() {
        let big_then = [run(0, "2024-01-01", Some("2025-02-01"))];
        let small_then = [
            run(1, "2024-01-01", Some("2025-01-01")),
            run(0, "2025-01-01", None),
        ];
        let later = [run(1, "2025-03-01", None)];
        let got = segment_churn(
            2,
            [
                (&big_then[..], true),
                (&small_then[..], false),
                (&later[..], false),
            ],
            d("2024-12-01"),
        );
        assert_eq!(
            got,
            [
                Churn {
                    accounts: 1,
                    churned: 1
                },
                Churn {
                    accounts: 1,
                    churned: 0
                }
            ]
        );
        assert_eq!(got[0].rate(), Some(1.0));
    }
}
