//! The renewal forecast (docs/FORECAST.md): the ARR of running
//! subscriptions due to renew in the next 30, 90 and 180 days, and how much
//! of it is expected to renew given each account's probability of churn
//! from the churn model, with a 90 % interval.
//!
//! An account renewing in a window is one Bernoulli trial: it renews all of
//! its ARR due in the window with probability p = P(renew), or none of it.
//! Expected ARR renewed = Σ ARR × p; the trials are taken as independent,
//! so the variance is Σ ARR² p (1 − p). The interval is read from the
//! simulated distribution of the sum (a fixed seed) when a window holds at
//! most [`SIMULATE_UP_TO`] accounts, and from the normal approximation
//! above that.
//!
//! P(renew) is 1 − the model's probability of churn when the account's
//! first renewal in the window falls within the model's horizon after the
//! prediction day. Otherwise (a renewal beyond the horizon, or an account
//! without a prediction) it is the fallback: the renewal rate of the last
//! [`BASE_RATE_DAYS`] days (the `renewal_rate` metric of the same
//! accounts), or, without any renewal in that time, the mean P(renew) of
//! the accounts the model predicted. Such accounts are counted apart.

use std::collections::BTreeMap;

use jiff::civil::Date;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::health::Band;
use crate::metrics::Dataset;
use crate::model::{add_days, date_from_day, day_number};

/// The windows, in days after today.
pub const WINDOWS: [u32; 3] = [30, 90, 180];

/// The interval's level.
pub const LEVEL: f64 = 0.90;

/// Φ⁻¹(0.95): the normal interval is the mean ± `Z` standard deviations.
pub const Z: f64 = 1.644_853_626_951_472_2;

/// Windows with at most this many renewing accounts get a simulated
/// interval; larger ones the normal approximation.
pub const SIMULATE_UP_TO: usize = 400;

/// Draws of the simulation.
pub const DRAWS: usize = 10_000;

/// The simulation's seed: the same inputs give the same interval.
pub const SEED: u64 = 19;

/// Days of past renewals behind the fallback rate.
pub const BASE_RATE_DAYS: i32 = 365;

/// Renewals listed as the biggest at risk.
pub const TOP: usize = 10;

/// One account's prediction: its probability of churn within the model's
/// horizon after the prediction day, and the model's band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Predicted {
    pub churn: f64,
    pub band: Band,
}

/// The predictions the forecast reads: the day they were made on and the
/// model's horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelRun {
    pub day: Date,
    pub horizon_days: u32,
    pub version: i64,
}

impl ModelRun {
    /// The last day the model's horizon covers.
    pub fn horizon_end(&self) -> Date {
        add_days(self.day, self.horizon_days as i32)
    }
}

/// What the forecast reads beside the dataset.
pub struct Inputs<'a> {
    pub today: Date,
    /// `None` when no prediction is stored: then only the ARR renewing is
    /// given.
    pub model: Option<ModelRun>,
    /// Each account's prediction, by its index in the dataset (missing or
    /// `None`: not predicted).
    pub predictions: &'a [Option<Predicted>],
    /// Whether the caller sees the account, by its index in the dataset.
    pub visible: &'a dyn Fn(usize) -> bool,
}

/// Where an account's P(renew) comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Basis {
    /// 1 − the model's probability; the model's band.
    Model(Band),
    /// Predicted, but the renewal falls after the model's horizon: the
    /// fallback rate.
    BeyondHorizon,
    /// No prediction for the account (it started paying after the
    /// prediction day, or no model): the fallback rate.
    NotPredicted,
}

impl Basis {
    /// The groups in the order they are shown.
    pub const ALL: [Basis; 5] = [
        Basis::Model(Band::Red),
        Basis::Model(Band::Yellow),
        Basis::Model(Band::Green),
        Basis::BeyondHorizon,
        Basis::NotPredicted,
    ];

    /// `red`, `yellow`, `green`, `beyond_horizon` or `not_predicted`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Basis::Model(b) => b.as_str(),
            Basis::BeyondHorizon => "beyond_horizon",
            Basis::NotPredicted => "not_predicted",
        }
    }

    /// The group's name in words.
    pub fn label(&self) -> &'static str {
        match self {
            Basis::Model(Band::Red) => "Red",
            Basis::Model(Band::Yellow) => "Yellow",
            Basis::Model(Band::Green) => "Green",
            Basis::BeyondHorizon => "Beyond the model's horizon",
            Basis::NotPredicted => "Not predicted",
        }
    }
}

/// Where the fallback rate comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FallbackSource {
    /// The renewal rate of the last [`BASE_RATE_DAYS`] days, over this many
    /// subscriptions due.
    RenewalRate { due: u64 },
    /// The mean P(renew) of this many predicted accounts.
    ModelMean { accounts: u64 },
}

/// The P(renew) of accounts the model does not cover.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fallback {
    pub rate: f64,
    pub source: FallbackSource,
}

/// An account's running subscriptions due to renew in a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Due {
    /// Index in the dataset.
    pub account: usize,
    /// The earliest renewal date among them.
    pub first_renewal: Date,
    /// 12 × their MRR today, reporting minor units.
    pub arr: i64,
}

/// A renewing account with its P(renew).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Renewing {
    pub due: Due,
    /// `None` without a model, or when no fallback rate exists.
    pub renew: Option<f64>,
    pub basis: Basis,
}

impl Renewing {
    /// ARR × P(churn), the ARR expected lost.
    pub fn arr_at_risk(&self) -> Option<f64> {
        self.renew.map(|p| self.due.arr as f64 * (1.0 - p))
    }
}

/// How the interval was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Quantiles of [`DRAWS`] simulated outcomes.
    Simulation,
    /// Mean ± [`Z`] standard deviations, clipped to 0 and the ARR renewing.
    Normal,
}

impl Method {
    /// `simulation` or `normal`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Simulation => "simulation",
            Method::Normal => "normal",
        }
    }
}

/// Expected ARR renewed with its interval, in reporting minor units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expected {
    /// Σ ARR × P(renew), rounded.
    pub renewed: i64,
    /// The ARR renewing minus `renewed`.
    pub at_risk: i64,
    /// √(Σ ARR² p (1 − p)).
    pub std_dev: f64,
    pub low: i64,
    pub high: i64,
    pub method: Method,
}

/// One group of a window's accounts.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub basis: Basis,
    pub accounts: usize,
    pub arr: i64,
    /// Σ ARR × P(renew), rounded; `None` when a P(renew) is unknown.
    pub renewed: Option<i64>,
}

/// One window: renewals dated from tomorrow to `days` days after today.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub days: u32,
    pub accounts: usize,
    /// The ARR renewing, reporting minor units.
    pub arr: i64,
    /// `None` without a model (or without a fallback rate when one is
    /// needed).
    pub expected: Option<Expected>,
    /// The non-empty groups, in [`Basis::ALL`] order; empty without a model.
    pub groups: Vec<Group>,
}

/// The whole forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub today: Date,
    pub model: Option<ModelRun>,
    pub fallback: Option<Fallback>,
    pub windows: Vec<Window>,
    /// The renewals of the longest window the model covers (its own
    /// probability, not the fallback) with the most ARR expected lost (ARR
    /// × P(churn)), at most [`TOP`], biggest first.
    pub at_risk: Vec<Renewing>,
}

/// Each visible account's running subscriptions (running today, ARR above
/// 0) whose renewal date is after `today` and at most `days` days after it.
pub fn renewals_due(
    ds: &Dataset,
    today: Date,
    days: u32,
    visible: &dyn Fn(usize) -> bool,
) -> Vec<Due> {
    let t = day_number(today);
    let last = t + days as i32;
    let first = ds.renewals.partition_point(|r| r.day <= t);
    let mut by_account: BTreeMap<u32, (i32, i64)> = BTreeMap::new();
    for r in ds.renewals[first..].iter().take_while(|r| r.day <= last) {
        if r.arr <= 0 || !(r.start <= t && t < r.end) || !visible(r.account as usize) {
            continue;
        }
        let e = by_account.entry(r.account).or_insert((r.day, 0));
        e.0 = e.0.min(r.day);
        e.1 += r.arr;
    }
    by_account
        .into_iter()
        .map(|(a, (day, arr))| Due {
            account: a as usize,
            first_renewal: date_from_day(day),
            arr,
        })
        .collect()
}

/// The renewal rate of the visible accounts over the [`BASE_RATE_DAYS`]
/// days ending today (the `renewal_rate` metric: subscriptions due whose
/// account pays on the renewal day ÷ subscriptions due), with the count
/// due; `None` when none was due.
pub fn base_renewal_rate(
    ds: &Dataset,
    today: Date,
    visible: &dyn Fn(usize) -> bool,
) -> Option<(f64, u64)> {
    let t = day_number(today);
    let first = ds.renewals.partition_point(|r| r.day <= t - BASE_RATE_DAYS);
    let (mut renewed, mut due) = (0u64, 0u64);
    for r in ds.renewals[first..].iter().take_while(|r| r.day <= t) {
        if !visible(r.account as usize) {
            continue;
        }
        due += 1;
        if ds.book.mrr_on(r.account as usize, r.day) > 0 {
            renewed += 1;
        }
    }
    (due > 0).then(|| (renewed as f64 / due as f64, due))
}

fn fallback(ds: &Dataset, input: &Inputs<'_>) -> Option<Fallback> {
    if let Some((rate, due)) = base_renewal_rate(ds, input.today, input.visible) {
        return Some(Fallback {
            rate,
            source: FallbackSource::RenewalRate { due },
        });
    }
    let (mut sum, mut n) = (0.0, 0u64);
    for (i, p) in input.predictions.iter().enumerate() {
        if let Some(p) = p
            && (input.visible)(i)
        {
            sum += 1.0 - p.churn;
            n += 1;
        }
    }
    (n > 0).then(|| Fallback {
        rate: sum / n as f64,
        source: FallbackSource::ModelMean { accounts: n },
    })
}

/// The account's P(renew) and where it comes from.
pub fn classify(
    due: Due,
    model: Option<ModelRun>,
    prediction: Option<Predicted>,
    fallback: Option<Fallback>,
) -> Renewing {
    let Some(model) = model else {
        return Renewing {
            due,
            renew: None,
            basis: Basis::NotPredicted,
        };
    };
    let (renew, basis) = match prediction {
        Some(p) if due.first_renewal <= model.horizon_end() => {
            (Some(1.0 - p.churn), Basis::Model(p.band))
        }
        Some(_) => (fallback.map(|f| f.rate), Basis::BeyondHorizon),
        None => (fallback.map(|f| f.rate), Basis::NotPredicted),
    };
    Renewing { due, renew, basis }
}

/// Expected ARR renewed and its [`LEVEL`] interval for independent
/// renewals `(ARR, P(renew))`: simulated up to [`SIMULATE_UP_TO`] of them,
/// the normal approximation above.
pub fn expected(items: &[(i64, f64)]) -> Expected {
    let total: i64 = items.iter().map(|&(arr, _)| arr).sum();
    let mean: f64 = items.iter().map(|&(arr, p)| arr as f64 * p).sum();
    let var: f64 = items
        .iter()
        .map(|&(arr, p)| (arr as f64).powi(2) * p * (1.0 - p))
        .sum();
    let std_dev = var.max(0.0).sqrt();
    let renewed = mean.round() as i64;
    let (low, high, method) = if items.len() <= SIMULATE_UP_TO {
        let (low, high) = simulate(items);
        (low, high, Method::Simulation)
    } else {
        let low = (mean - Z * std_dev).max(0.0).round() as i64;
        let high = (mean + Z * std_dev).min(total as f64).round() as i64;
        (low, high, Method::Normal)
    };
    Expected {
        renewed,
        at_risk: total - renewed,
        std_dev,
        low,
        high,
        method,
    }
}

/// The 5th and 95th percentiles of [`DRAWS`] draws of Σ ARR × renewed,
/// from [`SEED`].
fn simulate(items: &[(i64, f64)]) -> (i64, i64) {
    if items.is_empty() {
        return (0, 0);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut sums: Vec<i64> = (0..DRAWS)
        .map(|_| {
            items
                .iter()
                .filter(|&&(_, p)| rng.random::<f64>() < p)
                .map(|&(arr, _)| arr)
                .sum()
        })
        .collect();
    sums.sort_unstable();
    // The 500th and the 9,500th of 10,000 outcomes.
    let tail = DRAWS / 20;
    (sums[tail - 1], sums[DRAWS - tail - 1])
}

/// One window from its renewing accounts.
pub fn window(days: u32, items: &[Renewing], with_model: bool) -> Window {
    let arr = items.iter().map(|r| r.due.arr).sum();
    let mut groups = Vec::new();
    let mut expected_out = None;
    if with_model {
        for basis in Basis::ALL {
            let of: Vec<&Renewing> = items.iter().filter(|r| r.basis == basis).collect();
            if of.is_empty() {
                continue;
            }
            let renewed = of
                .iter()
                .map(|r| r.renew.map(|p| r.due.arr as f64 * p))
                .sum::<Option<f64>>()
                .map(|x| x.round() as i64);
            groups.push(Group {
                basis,
                accounts: of.len(),
                arr: of.iter().map(|r| r.due.arr).sum(),
                renewed,
            });
        }
        let pairs: Option<Vec<(i64, f64)>> = items
            .iter()
            .map(|r| r.renew.map(|p| (r.due.arr, p)))
            .collect();
        expected_out = pairs.map(|p| expected(&p));
    }
    Window {
        days,
        accounts: items.len(),
        arr,
        expected: expected_out,
        groups,
    }
}

/// The forecast of the visible accounts for each of [`WINDOWS`].
pub fn forecast(ds: &Dataset, input: &Inputs<'_>) -> Forecast {
    let fallback = input.model.and_then(|_| fallback(ds, input));
    let mut windows = Vec::new();
    let mut longest = Vec::new();
    for days in WINDOWS {
        let items: Vec<Renewing> = renewals_due(ds, input.today, days, input.visible)
            .into_iter()
            .map(|due| {
                let p = input.predictions.get(due.account).copied().flatten();
                classify(due, input.model, p, fallback)
            })
            .collect();
        windows.push(window(days, &items, input.model.is_some()));
        longest = items;
    }
    let mut at_risk: Vec<Renewing> = longest
        .into_iter()
        .filter(|r| matches!(r.basis, Basis::Model(_)) && r.arr_at_risk().is_some_and(|x| x > 0.0))
        .collect();
    at_risk.sort_by(|a, b| {
        b.arr_at_risk()
            .unwrap_or(0.0)
            .total_cmp(&a.arr_at_risk().unwrap_or(0.0))
            .then(a.due.account.cmp(&b.due.account))
    });
    at_risk.truncate(TOP);
    Forecast {
        today: input.today,
        model: input.model,
        fallback,
        windows,
        at_risk,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{AccountInput, MetricsInput, Rates, SubscriptionInput};
    use crate::model::{Currency, Money};

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn expected_is_the_arr_weighted_sum_with_its_variance_and_quantiles() {
        // Both renew 0.8 × 0.5 = 0.4: 4,000; only the first 0.4: 1,000;
        // only the second 0.1: 3,000; neither 0.1: 0. The 5th percentile
        // is 0, the 95th 4,000.
        let e = expected(&[(1000, 0.8), (3000, 0.5)]);
        assert_eq!((e.renewed, e.at_risk), (2300, 1700));
        // 1000² × 0.16 + 3000² × 0.25 = 2,410,000.
        assert!(close(e.std_dev, 2_410_000f64.sqrt()), "{}", e.std_dev);
        assert_eq!((e.low, e.high, e.method), (0, 4000, Method::Simulation));
    }

    #[test]
    fn a_single_renewal_is_all_or_nothing() {
        // P(nothing) = 10 % > 5 %: the interval reaches 0.
        let e = expected(&[(100, 0.9)]);
        assert_eq!((e.renewed, e.low, e.high), (90, 0, 100));
        // P(nothing) = 3 % < 5 %: the whole ARR at both ends.
        let e = expected(&[(100, 0.97)]);
        assert_eq!((e.renewed, e.low, e.high), (97, 100, 100));
        let e = expected(&[(100, 0.5), (300, 0.5)]);
        assert_eq!((e.renewed, e.low, e.high), (200, 0, 400));
        let e = expected(&[]);
        assert_eq!((e.renewed, e.at_risk, e.low, e.high), (0, 0, 0, 0));
    }

    #[test]
    fn many_renewals_use_the_normal_approximation() {
        // 500 × 1,000 at 0.9: mean 450,000, sd √(500 × 1000² × 0.09) =
        // 6,708.20, ± 1.645 sd = ± 11,034.20.
        let items = vec![(1000, 0.9); 500];
        let e = expected(&items);
        assert_eq!(e.method, Method::Normal);
        assert_eq!((e.renewed, e.at_risk), (450_000, 50_000));
        assert!(close(e.std_dev, 45e6f64.sqrt()));
        assert_eq!((e.low, e.high), (438_966, 461_034));
        // Clipped to the ARR renewing.
        let e = expected(&vec![(1000, 0.999); 500]);
        assert_eq!(e.high, 500_000);
    }

    #[test]
    fn the_simulation_agrees_with_the_normal_interval_where_both_fit() {
        // 400 × 1,000 at 0.9: normal 360,000 ± 1.645 × 6,000 = 350,131 to
        // 369,869; the binomial's 5th and 95th percentiles are 350 and 370
        // renewals.
        let e = expected(&vec![(1000, 0.9); SIMULATE_UP_TO]);
        assert_eq!(e.method, Method::Simulation);
        assert_eq!(e.renewed, 360_000);
        assert!((349_000..=351_000).contains(&e.low), "{}", e.low);
        assert!((369_000..=371_000).contains(&e.high), "{}", e.high);
    }

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").unwrap())
    }

    /// Today 2026-01-01. Running: a0 ARR 1,200.00 renewing 01-15, a1 600.00
    /// on 03-01, a2 2,400.00 on 05-01, a3 120.00 on 01-20; a4's line ended
    /// before today though its renewal date is 01-10. In the last 365 days
    /// four renewals fell due: a0's, a1's and a2's earlier lines (renewed)
    /// and a5's (it stopped that day): a rate of 3 ÷ 4.
    fn dataset() -> Dataset {
        let accounts = ["a0", "a1", "a2", "a3", "a4", "a5"]
            .iter()
            .map(|id| AccountInput {
                id: id.to_string(),
                trial_start: None,
                trial_end: None,
            })
            .collect();
        let sub = |id: &str, account, mrr, start, end: Option<&str>, renewal| SubscriptionInput {
            id: id.into(),
            account,
            mrr: usd(mrr),
            start: d(start),
            end: end.map(d),
            renewal: Some(d(renewal)),
            seats: None,
        };
        let subscriptions = vec![
            sub(
                "s0-old",
                0,
                10_000,
                "2025-01-15",
                Some("2025-07-15"),
                "2025-07-15",
            ),
            sub("s0", 0, 10_000, "2025-07-15", None, "2026-01-15"),
            sub(
                "s1-old",
                1,
                5_000,
                "2025-01-01",
                Some("2025-03-01"),
                "2025-03-01",
            ),
            sub("s1", 1, 5_000, "2025-03-01", None, "2026-03-01"),
            sub(
                "s2-old",
                2,
                20_000,
                "2025-05-01",
                Some("2025-11-01"),
                "2025-11-01",
            ),
            sub("s2", 2, 20_000, "2025-11-01", None, "2026-05-01"),
            sub("s3", 3, 1_000, "2025-12-20", None, "2026-01-20"),
            sub(
                "s4",
                4,
                9_000,
                "2025-01-10",
                Some("2025-12-01"),
                "2026-01-10",
            ),
            sub(
                "s5",
                5,
                3_000,
                "2025-01-01",
                Some("2025-06-01"),
                "2025-06-01",
            ),
        ];
        let input = MetricsInput {
            accounts,
            subscriptions,
            ..MetricsInput::default()
        };
        Dataset::new(input, &Rates::new(Currency::parse("USD").unwrap())).unwrap()
    }

    fn predictions() -> Vec<Option<Predicted>> {
        let p = |churn, band| Some(Predicted { churn, band });
        vec![
            p(0.6, Band::Red),
            p(0.1, Band::Green),
            p(0.05, Band::Green),
            None,
            p(0.9, Band::Red),
            None,
        ]
    }

    const MODEL: ModelRun = ModelRun {
        day: jiff::civil::date(2025, 12, 31),
        horizon_days: 90,
        version: 1,
    };

    #[test]
    fn a_forecast_worked_by_hand() {
        let ds = dataset();
        let preds = predictions();
        let f = forecast(
            &ds,
            &Inputs {
                today: d("2026-01-01"),
                model: Some(MODEL),
                predictions: &preds,
                visible: &|_| true,
            },
        );
        assert_eq!(
            f.fallback,
            Some(Fallback {
                rate: 0.75,
                source: FallbackSource::RenewalRate { due: 4 }
            })
        );
        let w: Vec<(u32, usize, i64)> = f
            .windows
            .iter()
            .map(|w| (w.days, w.accounts, w.arr))
            .collect();
        // 30 days: a0 and a3; 90: and a1; 180: and a2 (a4 ended).
        assert_eq!(w, [(30, 2, 132_000), (90, 3, 192_000), (180, 4, 432_000)]);
        // 30 days: a0 120,000 × 0.4 (red) + a3 12,000 × 0.75 (not
        // predicted, the renewal rate) = 57,000. Both renew 0.3: 132,000;
        // only a0 0.1: 120,000; only a3 0.45: 12,000; neither 0.15: 0.
        let e30 = f.windows[0].expected.unwrap();
        assert_eq!((e30.renewed, e30.at_risk), (57_000, 75_000));
        assert_eq!((e30.low, e30.high), (0, 132_000));
        let groups = |w: &Window| -> Vec<(&str, usize, i64, Option<i64>)> {
            w.groups
                .iter()
                .map(|g| (g.basis.as_str(), g.accounts, g.arr, g.renewed))
                .collect()
        };
        assert_eq!(
            groups(&f.windows[0]),
            [
                ("red", 1, 120_000, Some(48_000)),
                ("not_predicted", 1, 12_000, Some(9_000))
            ]
        );
        // 90 days: + a1 60,000 × 0.9 (green) = 111,000.
        assert_eq!(f.windows[1].expected.unwrap().renewed, 111_000);
        // 180 days: + a2 240,000 renewing on 05-01, after the horizon's end
        // (03-31): the renewal rate 0.75, = 291,000.
        let e180 = f.windows[2].expected.unwrap();
        assert_eq!((e180.renewed, e180.at_risk), (291_000, 141_000));
        // 120,000² × 0.24 + 12,000² × 0.1875 + 60,000² × 0.09 + 240,000² ×
        // 0.1875.
        assert!(close(e180.std_dev, 14_607_000_000f64.sqrt()));
        assert_eq!(
            groups(&f.windows[2]),
            [
                ("red", 1, 120_000, Some(48_000)),
                ("green", 1, 60_000, Some(54_000)),
                ("beyond_horizon", 1, 240_000, Some(180_000)),
                ("not_predicted", 1, 12_000, Some(9_000))
            ]
        );
        // ARR × P(churn) where the model's own probability is used: a0
        // 72,000, a1 6,000 (a2 at 60,000 and a3 at 3,000 are taken at the
        // fallback rate, which says nothing of them in particular).
        let top: Vec<(usize, f64)> = f
            .at_risk
            .iter()
            .map(|r| (r.due.account, r.arr_at_risk().unwrap()))
            .collect();
        assert_eq!(top.len(), 2);
        for ((a, x), (ea, ex)) in top.iter().zip([(0, 72_000.0), (1, 6_000.0)]) {
            assert_eq!(*a, ea);
            assert!(close(*x, ex), "{a}: {x}");
        }
        assert_eq!(f.at_risk[0].due.first_renewal, d("2026-01-15"));
    }

    #[test]
    fn without_a_model_only_the_arr_renewing_is_given() {
        let ds = dataset();
        let f = forecast(
            &ds,
            &Inputs {
                today: d("2026-01-01"),
                model: None,
                predictions: &[],
                visible: &|_| true,
            },
        );
        assert_eq!(f.fallback, None);
        assert_eq!(f.windows[2].arr, 432_000);
        assert!(
            f.windows
                .iter()
                .all(|w| w.expected.is_none() && w.groups.is_empty())
        );
        assert!(f.at_risk.is_empty());
    }

    #[test]
    fn the_scope_limits_renewals_and_the_rate_and_the_model_mean_stands_in() {
        let ds = dataset();
        let preds = predictions();
        // a1 and a3 only: no renewal of theirs fell due in the last year
        // but a1's old line (renewed): rate 1 of 1.
        let visible = |i: usize| i == 1 || i == 3;
        let f = forecast(
            &ds,
            &Inputs {
                today: d("2026-01-01"),
                model: Some(MODEL),
                predictions: &preds,
                visible: &visible,
            },
        );
        assert_eq!(f.windows[2].accounts, 2);
        assert_eq!(f.windows[2].arr, 72_000);
        assert_eq!(
            f.fallback.unwrap().source,
            FallbackSource::RenewalRate { due: 1 }
        );
        // a3 alone: nothing of its fell due in the last year and it has no
        // prediction, so there is neither a renewal rate nor a model mean
        // to stand in: no expectation.
        let only3 = |i: usize| i == 3;
        let f = forecast(
            &ds,
            &Inputs {
                today: d("2026-01-01"),
                model: Some(MODEL),
                predictions: &preds,
                visible: &only3,
            },
        );
        assert_eq!(f.fallback, None);
        assert_eq!(f.windows[0].expected, None);
        assert_eq!(f.windows[0].groups[0].renewed, None);
        // a0 the day before its first renewal: nothing fell due before, so
        // the fallback is the model's mean P(renew) of the scope, 1 − 0.6
        // (reported; a0 itself has its own prediction).
        let only0 = |i: usize| i == 0;
        let f = forecast(
            &ds,
            &Inputs {
                today: d("2025-07-14"),
                model: Some(ModelRun {
                    day: d("2025-07-14"),
                    ..MODEL
                }),
                predictions: &preds,
                visible: &only0,
            },
        );
        let fb = f.fallback.unwrap();
        assert!(close(fb.rate, 0.4));
        assert_eq!(fb.source, FallbackSource::ModelMean { accounts: 1 });
        assert_eq!(f.windows[0].expected.unwrap().renewed, 48_000);
    }
}
