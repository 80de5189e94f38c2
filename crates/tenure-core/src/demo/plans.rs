//! How the demo's simulated CSMs work the success plans the templates
//! give: which milestones they finish, on time or late, which they miss,
//! the value they record, and the tasks they write by hand. Seeded by
//! `(seed, account, milestone)`, so a demo is the same every time; healthier
//! accounts get more done, so plan execution and health agree.

use jiff::civil::Date;

use super::rng::Rng;
use crate::model::{add_days, date_from_day, day_number};

/// Stream tag for plans.
const STREAM_PLANS: u64 = 0x91A5;

/// How a milestone went by the day the demo ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MilestoneOutcome {
    /// Not done yet (overdue when past its due day).
    Open,
    Done(Date),
    /// Given up by the CSM.
    Missed,
}

/// A stable hash of text (FNV-1a), to key a stream by an id.
fn key(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The chance a milestone gets done, by the account's health band.
fn done_chance(band: Option<&str>) -> f64 {
    match band {
        Some("green") => 0.85,
        Some("yellow") => 0.65,
        Some("red") => 0.4,
        _ => 0.6,
    }
}

fn day_between(rng: &mut Rng, from: Date, to: Date) -> Date {
    let (a, b) = (day_number(from), day_number(to));
    if b <= a {
        return from;
    }
    date_from_day(rng.int(a, b))
}

/// How the milestone `id` (of a plan started on `start`, due on `due`) went
/// by `today`, for an account in health band `band`.
pub fn milestone_outcome(
    seed: u64,
    id: &str,
    start: Date,
    due: Date,
    today: Date,
    band: Option<&str>,
) -> MilestoneOutcome {
    let mut rng = Rng::new(seed, STREAM_PLANS, key(id));
    let p = done_chance(band);
    if due > today {
        // Some get done ahead of time.
        return if rng.chance(0.2 * p) {
            MilestoneOutcome::Done(day_between(&mut rng, start, today))
        } else {
            MilestoneOutcome::Open
        };
    }
    if rng.chance(p) {
        let done = if rng.chance(0.7) {
            day_between(&mut rng, add_days(due, -7).max(start), due)
        } else {
            add_days(due, rng.int(1, 14))
        };
        if done > today {
            MilestoneOutcome::Open
        } else {
            MilestoneOutcome::Done(done)
        }
    } else if rng.chance(0.4) {
        MilestoneOutcome::Missed
    } else {
        MilestoneOutcome::Open
    }
}

/// Value a CSM recorded on a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoValue {
    pub title: &'static str,
    pub evidence: &'static str,
    pub delivered_on: Date,
    pub confirmed: bool,
}

const VALUES: [(&str, &str); 6] = [
    (
        "Month-end reporting automated",
        "Finance closes in 2 days instead of 6 (customer's estimate)",
    ),
    ("Second team onboarded", "Support team live with 12 users"),
    (
        "Executive dashboard adopted",
        "Weekly review now run from the dashboard",
    ),
    (
        "Manual data entry retired",
        "Spreadsheet import replaced by the integration",
    ),
    (
        "Onboarding time for new hires halved",
        "From 10 days to 5, per the customer's HR lead",
    ),
    (
        "Renewal business case agreed",
        "ROI summary signed off by the sponsor",
    ),
];

/// The value recorded on a plan of account `id` from `start` to `until`
/// (the plan's end, or today): healthier accounts with older plans have
/// more, each delivered between three weeks after the start and `until`.
pub fn proven_value(
    seed: u64,
    id: &str,
    start: Date,
    until: Date,
    band: Option<&str>,
) -> Vec<DemoValue> {
    let mut rng = Rng::new(seed, STREAM_PLANS ^ 0xFF, key(id));
    let age = day_number(until) - day_number(start);
    if age < 30 {
        return Vec::new();
    }
    let n = match band {
        Some("green") => rng.int(1, 2),
        Some("yellow") => rng.int(0, 1),
        _ => i32::from(rng.chance(0.2)),
    };
    (0..n)
        .map(|_| {
            let (title, evidence) = VALUES[rng.index(VALUES.len())];
            DemoValue {
                title,
                evidence,
                delivered_on: day_between(&mut rng, add_days(start, 21), until),
                confirmed: rng.chance(0.6),
            }
        })
        .collect()
}

/// A task a CSM wrote by hand: for accounts in the red band, a call about
/// the falling score, due within a few days either side of `today`.
pub fn follow_up(
    seed: u64,
    id: &str,
    today: Date,
    band: Option<&str>,
) -> Option<(&'static str, Date)> {
    let mut rng = Rng::new(seed, STREAM_PLANS ^ 0xF0, key(id));
    (band == Some("red") && rng.chance(0.25)).then(|| {
        (
            "Call the sponsor about the falling health score",
            add_days(today, rng.int(-6, 5)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn outcomes_are_seeded_and_follow_health() {
        let (start, today) = (d("2025-01-01"), d("2025-06-30"));
        let run = |band| {
            (0..2000)
                .map(|i| {
                    milestone_outcome(7, &format!("m{i}"), start, d("2025-03-01"), today, band)
                })
                .collect::<Vec<_>>()
        };
        let green = run(Some("green"));
        assert_eq!(
            green,
            run(Some("green")),
            "the same seed gives the same outcomes"
        );
        let done = |v: &[MilestoneOutcome]| {
            v.iter()
                .filter(|o| matches!(o, MilestoneOutcome::Done(_)))
                .count()
        };
        let red = run(Some("red"));
        assert!(
            done(&green) > done(&red) + 500,
            "{} vs {}",
            done(&green),
            done(&red)
        );
        for o in &green {
            if let MilestoneOutcome::Done(day) = o {
                assert!(*day >= start && *day <= today);
            }
        }
        // Not yet due: mostly open, a few done early, never in the future.
        let ahead: Vec<_> = (0..500)
            .map(|i| {
                milestone_outcome(
                    7,
                    &format!("a{i}"),
                    start,
                    d("2025-08-01"),
                    today,
                    Some("green"),
                )
            })
            .collect();
        assert!(ahead.iter().all(|o| !matches!(o, MilestoneOutcome::Missed)));
        assert!(done(&ahead) > 20 && done(&ahead) < 200, "{}", done(&ahead));
        assert!(
            proven_value(7, "x", today, today, Some("green")).is_empty(),
            "a new plan"
        );
        for v in proven_value(7, "y", start, today, Some("green")) {
            assert!(v.delivered_on > start && v.delivered_on <= today);
        }
    }
}
