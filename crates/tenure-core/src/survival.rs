//! Survival curves (`tenure survival`, docs/METRICS.md "Survival"): how
//! long accounts stay customers, as Kaplan–Meier curves with 95 %
//! confidence bands.
//!
//! An account's lifetime starts on its first day with MRR > 0 and ends on
//! the day of its last *churn* movement (MRR x → 0) when it is not active on
//! the as-of day: the churn of the metrics engine, read from the same MRR
//! change points ([`Dataset::lifetimes`]). An account that churned and came
//! back is still alive, as it is no lost logo. Accounts active on the as-of
//! day are censored there: all we know is that they lived at least that
//! long.
//!
//! The estimate is the Kaplan–Meier product-limit estimator over whole days
//! ([`Curve::new`]). At a day with both churns and censorings the churns
//! come first: accounts censored that day were still at risk of it. The
//! variance is Greenwood's, `S(t)² Σ dᵢ / (nᵢ (nᵢ − dᵢ))`; the 95 % band is
//! the log-log ("exponential Greenwood", Kalbfleisch–Prentice) interval
//! `S(t)^exp(±z σ)` with `σ = √(Σ dᵢ / (nᵢ (nᵢ − dᵢ))) / |ln S(t)|`, which
//! always stays inside 0..1 (R's `survfit(conf.type = "log-log")`). The
//! median lifetime is the first day the curve is at or below 0.5, its
//! interval the first days the lower and the upper band are (Brookmeyer and
//! Crowley's inversion of the band, as R's `survfit` reports it); each is
//! "not reached" (`None`) when that never happens.

use std::collections::BTreeMap;

use jiff::civil::Date;

use crate::metrics::Dataset;
use crate::model::{ValueError, date_from_day, day_number};

/// The normal quantile of a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The survival read off each curve for the table: `(months, days)`, a month
/// being 30.4375 days, rounded to whole days.
pub const MILESTONES: [(u32, u32); 4] = [(3, 91), (6, 183), (12, 365), (24, 730)];

/// How accounts are grouped into curves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupBy {
    /// One curve of every account.
    All,
    /// The account's current segment (the Engage pass's open segment run).
    Segment,
    /// The account's plan (the `plan` of its account record).
    Plan,
    /// The current segment's touch tier.
    Tier,
}

impl GroupBy {
    /// Parses `all`, `segment`, `plan` or `tier`.
    pub fn parse(s: &str) -> Result<GroupBy, ValueError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "all" => Ok(GroupBy::All),
            "segment" => Ok(GroupBy::Segment),
            "plan" => Ok(GroupBy::Plan),
            "tier" => Ok(GroupBy::Tier),
            _ => Err(ValueError(format!(
                "expected all, segment, plan or tier, got {s:?}"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::All => "all",
            GroupBy::Segment => "segment",
            GroupBy::Plan => "plan",
            GroupBy::Tier => "tier",
        }
    }

    /// The name of the group of accounts without a value.
    pub fn missing(self) -> &'static str {
        match self {
            GroupBy::All => "all accounts",
            GroupBy::Segment => "(no segment)",
            GroupBy::Plan => "(no plan)",
            GroupBy::Tier => "(no tier)",
        }
    }
}

/// One account's lifetime: whole days from its first day with MRR to its
/// churn (`churned`), or to the as-of day included (censored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub days: u32,
    pub churned: bool,
}

impl Lifetime {
    pub fn churned(days: u32) -> Lifetime {
        Lifetime {
            days,
            churned: true,
        }
    }

    pub fn censored(days: u32) -> Lifetime {
        Lifetime {
            days,
            churned: false,
        }
    }
}

/// An account's lifetime with the day it started (its first day with MRR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountLifetime {
    pub start: Date,
    pub lifetime: Lifetime,
}

impl AccountLifetime {
    /// Its last day as a customer: the day before its churn, or the as-of
    /// day when censored.
    pub fn last_day(&self) -> Date {
        crate::model::add_days(self.start, self.lifetime.days as i32 - 1)
    }
}

/// The curve at one day on which accounts churned or were censored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub day: u32,
    /// Accounts whose lifetime reached this day (churned or censored on it
    /// or later).
    pub at_risk: u64,
    pub churned: u64,
    pub censored: u64,
    /// The estimate of P(lifetime > day).
    pub survival: f64,
    /// Greenwood's standard error of `survival`; `None` once the curve is 0.
    pub std_err: Option<f64>,
    /// The 95 % log-log band.
    pub lower: f64,
    pub upper: f64,
}

/// The curve read at a day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub survival: f64,
    pub lower: f64,
    pub upper: f64,
    /// Accounts whose lifetime reached the day.
    pub at_risk: u64,
}

/// The median lifetime in days and its 95 % interval; `None` is "not
/// reached".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Median {
    pub days: Option<u32>,
    pub lower: Option<u32>,
    pub upper: Option<u32>,
}

/// A Kaplan–Meier curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub accounts: u64,
    pub churned: u64,
    /// One step per day with a churn or a censoring, in order.
    pub steps: Vec<Step>,
}

impl Curve {
    /// The Kaplan–Meier estimate from lifetimes in any order (see the
    /// module docs: churns before censorings on a day, Greenwood's
    /// variance, the log-log band).
    pub fn new(lifetimes: &[Lifetime]) -> Curve {
        let mut sorted = lifetimes.to_vec();
        sorted.sort_unstable_by_key(|l| l.days);
        let mut steps = Vec::new();
        let mut at_risk = sorted.len() as u64;
        let mut survival = 1.0f64;
        // Σ d / (n (n − d)); infinite once every account at risk churned.
        let mut greenwood = 0.0f64;
        let mut i = 0;
        while i < sorted.len() {
            let day = sorted[i].days;
            let (mut churned, mut censored) = (0u64, 0u64);
            while i < sorted.len() && sorted[i].days == day {
                if sorted[i].churned {
                    churned += 1;
                } else {
                    censored += 1;
                }
                i += 1;
            }
            if churned > 0 {
                survival *= 1.0 - churned as f64 / at_risk as f64;
                greenwood += if churned < at_risk {
                    churned as f64 / (at_risk as f64 * (at_risk - churned) as f64)
                } else {
                    f64::INFINITY
                };
            }
            let (lower, upper) = log_log_band(survival, greenwood);
            steps.push(Step {
                day,
                at_risk,
                churned,
                censored,
                survival,
                std_err: greenwood.is_finite().then(|| survival * greenwood.sqrt()),
                lower,
                upper,
            });
            at_risk -= churned + censored;
        }
        Curve {
            accounts: sorted.len() as u64,
            churned: steps.iter().map(|s| s.churned).sum(),
            steps,
        }
    }

    /// The curve at `day`: the survival past it, with its band and the
    /// accounts at risk on it. `None` beyond the longest lifetime observed,
    /// where the curve is not estimated (unless it already reached 0).
    pub fn at(&self, day: u32) -> Option<Point> {
        let last = self.steps.last()?;
        let i = self.steps.partition_point(|s| s.day <= day);
        if day > last.day && last.survival > 0.0 {
            return None;
        }
        let (survival, lower, upper) = match i {
            0 => (1.0, 1.0, 1.0),
            i => {
                let s = &self.steps[i - 1];
                (s.survival, s.lower, s.upper)
            }
        };
        // At risk on `day`: lifetimes of `day` days or more.
        let at_risk = self
            .steps
            .get(self.steps.partition_point(|s| s.day < day))
            .map_or(0, |s| s.at_risk);
        Some(Point {
            survival,
            lower,
            upper,
            at_risk,
        })
    }

    /// The median lifetime and its interval (see the module docs).
    pub fn median(&self) -> Median {
        let first = |f: &dyn Fn(&Step) -> f64| {
            self.steps
                .iter()
                .find(|s| s.churned > 0 && f(s) <= 0.5)
                .map(|s| s.day)
        };
        Median {
            days: first(&|s| s.survival),
            lower: first(&|s| s.lower),
            upper: first(&|s| s.upper),
        }
    }
}

/// The 95 % log-log band of `survival` with Greenwood sum `greenwood`.
fn log_log_band(survival: f64, greenwood: f64) -> (f64, f64) {
    if survival >= 1.0 || survival <= 0.0 || !greenwood.is_finite() {
        let s = survival.clamp(0.0, 1.0);
        return (s, s);
    }
    let sigma = greenwood.sqrt() / survival.ln().abs();
    (
        survival.powf((Z95 * sigma).exp()),
        survival.powf((-Z95 * sigma).exp()),
    )
}

/// One curve per group, by group name in order.
pub fn curves_by_group<'a>(
    lifetimes: impl IntoIterator<Item = (&'a str, Lifetime)>,
) -> Vec<(String, Curve)> {
    let mut groups: BTreeMap<&str, Vec<Lifetime>> = BTreeMap::new();
    for (name, l) in lifetimes {
        groups.entry(name).or_default().push(l);
    }
    groups
        .into_iter()
        .map(|(name, ls)| (name.to_string(), Curve::new(&ls)))
        .collect()
}

impl Dataset {
    /// Every account's lifetime on `as_of` (by account index): `None` for
    /// an account without MRR on or before `as_of`. A lifetime starts on
    /// the first day with MRR > 0; it ends on the day of the last churn
    /// movement on or before `as_of` when the account is not active on
    /// `as_of` (so a churn followed by a return is no end), and is
    /// censored after `as_of` otherwise.
    pub fn lifetimes(&self, as_of: Date) -> Vec<Option<AccountLifetime>> {
        let as_of = day_number(as_of);
        (0..self.accounts.len())
            .map(|a| {
                let (days, mrr) = self.book.points(a);
                let first = *days.first().filter(|&&d| d <= as_of)?;
                // The last change point on or before `as_of` holds the MRR
                // of that day; when it is 0 it is the churn that lasted.
                let i = days.partition_point(|&d| d <= as_of);
                let (last, value) = (days[i - 1], mrr[i - 1]);
                let lifetime = if value > 0 {
                    Lifetime::censored((as_of - first + 1) as u32)
                } else {
                    Lifetime::churned((last - first) as u32)
                };
                Some(AccountLifetime {
                    start: date_from_day(first),
                    lifetime,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{AccountInput, MetricsInput, Rates, SubscriptionInput};
    use crate::model::{Currency, Money};

    /// The 6-MP arm of the leukaemia remission trial of Freireich et al.
    /// (Blood 21, 1963, 699–716), weeks in remission of 21 patients, `+`
    /// censored: 6 6 6 6+ 7 9+ 10 10+ 11+ 13 16 17+ 19+ 20+ 22 23 25+ 32+
    /// 32+ 34+ 35+. The Kaplan–Meier estimates and Greenwood standard errors
    /// are the published ones (Kleinbaum and Klein, *Survival Analysis: A
    /// Self-Learning Text*, 3rd ed., chapter 2; Klein and Moeschberger,
    /// *Survival Analysis*, 2nd ed., table 4.1A), the log-log band that of
    /// R's `survfit(conf.type = "log-log")`, to the 3 or 4 decimals printed.
    fn six_mp() -> Vec<Lifetime> {
        let churned = [6, 6, 6, 7, 10, 13, 16, 22, 23];
        let censored = [6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35];
        churned
            .iter()
            .map(|&d| Lifetime::churned(d))
            .chain(censored.iter().map(|&d| Lifetime::censored(d)))
            .collect()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn kaplan_meier_matches_the_published_six_mp_table() {
        let curve = Curve::new(&six_mp());
        assert_eq!((curve.accounts, curve.churned), (21, 9));
        // (week, at risk, churned, S, Greenwood SE, log-log lower, upper)
        let table = [
            (6, 21, 3, 0.8571, 0.0764, 0.620, 0.952),
            (7, 17, 1, 0.8067, 0.0869, 0.563, 0.923),
            (10, 15, 1, 0.7529, 0.0963, 0.503, 0.889),
            (13, 12, 1, 0.6902, 0.1068, 0.432, 0.849),
            (16, 11, 1, 0.6275, 0.1141, 0.368, 0.805),
            (22, 7, 1, 0.5378, 0.1282, 0.268, 0.747),
            (23, 6, 1, 0.4482, 0.1346, 0.188, 0.680),
        ];
        let events: Vec<&Step> = curve.steps.iter().filter(|s| s.churned > 0).collect();
        assert_eq!(events.len(), table.len());
        for (s, &(day, n, d, surv, se, lo, hi)) in events.iter().zip(&table) {
            assert_eq!((s.day, s.at_risk, s.churned), (day, n, d), "{s:?}");
            assert!(close(s.survival, surv, 5e-5), "S({day}) = {}", s.survival);
            let got = s.std_err.unwrap();
            assert!(close(got, se, 5e-5), "SE({day}) = {got}");
            assert!(close(s.lower, lo, 5e-4), "lower({day}) = {}", s.lower);
            assert!(close(s.upper, hi, 5e-4), "upper({day}) = {}", s.upper);
        }
    }

    #[test]
    fn churns_come_before_censorings_on_the_same_day() {
        // Week 6: 3 relapses and 1 censored among 21; the censored patient
        // counts in the 21 at risk, then leaves with them: 17 at week 7.
        let curve = Curve::new(&six_mp());
        let week6 = curve.steps[0];
        assert_eq!((week6.day, week6.at_risk, week6.censored), (6, 21, 1));
        assert_eq!(curve.steps[1].at_risk, 17);
        // Only censorings: a step with the survival unchanged.
        let week9 = curve.steps.iter().find(|s| s.day == 9).unwrap();
        assert_eq!((week9.churned, week9.censored), (0, 1));
        assert_eq!(week9.survival, curve.steps[1].survival);
    }

    #[test]
    fn the_median_and_its_interval_invert_the_band() {
        // As R prints for the 6-MP arm with the log-log band: median 23,
        // 0.95 LCL 13, UCL not reached.
        let m = Curve::new(&six_mp()).median();
        assert_eq!(
            m,
            Median {
                days: Some(23),
                lower: Some(13),
                upper: None
            }
        );
        // A curve that never drops to 0.5.
        let few = Curve::new(&[
            Lifetime::churned(3),
            Lifetime::censored(10),
            Lifetime::censored(10),
        ]);
        assert_eq!(few.median().days, None);
    }

    #[test]
    fn reading_the_curve_between_and_beyond_steps() {
        let curve = Curve::new(&six_mp());
        let p = curve.at(12).unwrap();
        assert!(close(p.survival, 0.7529, 5e-5));
        assert_eq!(p.at_risk, 12);
        assert_eq!(curve.at(3).unwrap().survival, 1.0);
        assert_eq!(curve.at(3).unwrap().at_risk, 21);
        assert!(curve.at(35).is_some());
        assert_eq!(curve.at(36), None, "not estimated past the last lifetime");
        // Every account churned: 0 from then on, with a band of 0.
        let gone = Curve::new(&[Lifetime::churned(2), Lifetime::churned(4)]);
        let end = gone.at(100).unwrap();
        assert_eq!((end.survival, end.lower, end.upper), (0.0, 0.0, 0.0));
        assert_eq!(gone.steps[1].std_err, None);
        assert_eq!(Curve::new(&[]).at(1), None);
    }

    #[test]
    fn groups_are_named_and_ordered() {
        let l = Lifetime::censored(5);
        let g = curves_by_group([("b", l), ("a", l), ("b", Lifetime::churned(2))]);
        let names: Vec<(&str, u64)> = g.iter().map(|(n, c)| (n.as_str(), c.accounts)).collect();
        assert_eq!(names, [("a", 1), ("b", 2)]);
        assert_eq!(GroupBy::parse(" Tier ").unwrap(), GroupBy::Tier);
        assert!(GroupBy::parse("region").is_err());
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn lifetimes_end_at_the_churn_that_lasted_and_are_censored_otherwise() {
        let usd = |m| Money::new(m, Currency::parse("USD").unwrap());
        let sub = |id: &str, account, start, end: Option<&str>| SubscriptionInput {
            id: id.into(),
            account,
            mrr: usd(10_000),
            start: d(start),
            end: end.map(d),
            renewal: None,
            seats: None,
        };
        let accounts = ["active", "churned", "back", "later", "never", "gone-after"]
            .iter()
            .map(|id| AccountInput {
                id: id.to_string(),
                trial_start: None,
                trial_end: None,
            })
            .collect();
        let input = MetricsInput {
            accounts,
            subscriptions: vec![
                sub("s1", 0, "2025-01-01", None),
                sub("s2", 1, "2025-01-01", Some("2025-03-01")),
                sub("s3", 2, "2025-01-01", Some("2025-02-01")),
                sub("s4", 2, "2025-03-01", None),
                sub("s5", 3, "2025-07-01", None),
                sub("s6", 5, "2025-01-01", Some("2025-07-01")),
            ],
            ..MetricsInput::default()
        };
        let rates = Rates::new(Currency::parse("USD").unwrap());
        let ds = Dataset::new(input, &rates).unwrap();
        let all = ds.lifetimes(d("2025-05-31"));
        let l: Vec<Option<Lifetime>> = all.iter().map(|l| l.map(|l| l.lifetime)).collect();
        assert_eq!(
            l,
            [
                // Paying from 01-01 through 05-31: 151 days so far.
                Some(Lifetime::censored(151)),
                // Paid 01-01..02-28: 59 days.
                Some(Lifetime::churned(59)),
                // Churned in February, back in March: not lost.
                Some(Lifetime::censored(151)),
                // Starts after the as-of day; never paid.
                None,
                None,
                // Churns after the as-of day: still active on it.
                Some(Lifetime::censored(151)),
            ]
        );
        // Last days as a customer: the as-of day, or the day before the churn.
        assert_eq!(all[0].unwrap().last_day(), d("2025-05-31"));
        assert_eq!(all[1].unwrap().last_day(), d("2025-02-28"));
        assert_eq!(all[1].unwrap().start, d("2025-01-01"));
    }
}
