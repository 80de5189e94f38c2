//! How well scores predicted churn: statistics over `(score, churned)`
//! pairs for one as-of date (or several pooled).
//!
//! The caller picks the accounts (typically those active on the as-of date,
//! with a score) and labels each `churned` when it churned within the horizon
//! after the as-of date. Scores must have been computed without look-ahead
//! (see [`super::signals`]); the labels look ahead by design.

use jiff::civil::Date;

use super::scorecard::{Band, Bands};
use crate::model::day_number;

/// Accounts and churn in one band.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BandOutcome {
    pub accounts: usize,
    pub churned: usize,
    /// churned ÷ accounts; `None` for an empty band.
    pub churn_rate: Option<f64>,
}

/// Backtest statistics. Every ratio is `None` when its denominator is zero.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestStats {
    pub accounts: usize,
    pub churned: usize,
    pub churn_rate: Option<f64>,
    /// Probability that a randomly chosen churned account scored *lower* than
    /// a randomly chosen retained one, ties counting one half (Mann–Whitney
    /// U ÷ (churned × retained)). 1 = the score separates them perfectly,
    /// 0.5 = no better than chance, below 0.5 = worse than chance. `None`
    /// unless there are both churned and retained accounts.
    pub auc: Option<f64>,
    pub red: BandOutcome,
    pub yellow: BandOutcome,
    pub green: BandOutcome,
    /// Share of the churned accounts that were green on the as-of date.
    pub churned_while_green: Option<f64>,
    /// Churn rate among the lowest-scoring 10% of accounts. Accounts tied
    /// at the cut-off score count fractionally, so the result does not depend
    /// on input order.
    pub worst_decile_churn_rate: Option<f64>,
    /// `worst_decile_churn_rate` ÷ `churn_rate`: how many times more likely
    /// the worst-scored tenth is to churn than an average account.
    pub worst_decile_lift: Option<f64>,
}

impl BacktestStats {
    pub fn band(&self, band: Band) -> &BandOutcome {
        match band {
            Band::Red => &self.red,
            Band::Yellow => &self.yellow,
            Band::Green => &self.green,
        }
    }
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

/// Statistics over `(score, churned)` pairs; scores are 0–100, bands decide
/// the per-band figures. NaN scores are left out.
pub fn backtest_stats(outcomes: &[(f64, bool)], bands: &Bands) -> BacktestStats {
    let mut sorted: Vec<(f64, bool)> = outcomes
        .iter()
        .copied()
        .filter(|(s, _)| !s.is_nan())
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = sorted.len();
    let churned = sorted.iter().filter(|(_, c)| *c).count();
    let churn_rate = ratio(churned as f64, n as f64);

    let mut by_band = [BandOutcome::default(); 3];
    for &(score, c) in &sorted {
        let b = &mut by_band[bands.band(score) as usize];
        b.accounts += 1;
        b.churned += usize::from(c);
    }
    for b in &mut by_band {
        b.churn_rate = ratio(b.churned as f64, b.accounts as f64);
    }
    let [red, yellow, green] = by_band;

    BacktestStats {
        accounts: n,
        churned,
        churn_rate,
        auc: auc_sorted(&sorted),
        red,
        yellow,
        green,
        churned_while_green: ratio(green.churned as f64, churned as f64),
        worst_decile_churn_rate: worst_decile_rate(&sorted),
        worst_decile_lift: worst_decile_rate(&sorted)
            .zip(churn_rate)
            .and_then(|(d, all)| ratio(d, all)),
    }
}

/// Whether an account churned within `horizon_days` after `as_of`: some day
/// in `as_of + 1 ..= as_of + horizon_days` on which none of its paying
/// subscriptions runs (MRR went to 0), even if it came back later.
/// `paying` holds each subscription with MRR above zero as `(start_date,
/// end_date)`, end exclusive, `None` = still running; any order.
pub fn churned_within(paying: &[(Date, Option<Date>)], as_of: Date, horizon_days: u32) -> bool {
    let mut spans: Vec<(i32, i32)> = paying
        .iter()
        .map(|(s, e)| (day_number(*s), e.map_or(i32::MAX, day_number)))
        .collect();
    spans.sort_unstable();
    let last = day_number(as_of) + horizon_days as i32;
    // The first day not yet known to be covered.
    let mut day = day_number(as_of) + 1;
    loop {
        if day > last {
            return false;
        }
        let reach = spans
            .iter()
            .take_while(|(s, _)| *s <= day)
            .filter(|(_, e)| *e > day)
            .map(|(_, e)| *e)
            .max();
        match reach {
            Some(end) => day = end,
            None => return true,
        }
    }
}

/// The AUC as defined on [`BacktestStats::auc`].
pub fn auc(outcomes: &[(f64, bool)]) -> Option<f64> {
    let mut sorted: Vec<(f64, bool)> = outcomes
        .iter()
        .copied()
        .filter(|(s, _)| !s.is_nan())
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    auc_sorted(&sorted)
}

/// Over outcomes sorted by score: for each group of equal scores, every
/// churned account in it beats (scores lower than) every retained account
/// above the group, and ties with those in the group for one half.
pub(super) fn auc_sorted(sorted: &[(f64, bool)]) -> Option<f64> {
    let churned_total = sorted.iter().filter(|(_, c)| *c).count() as f64;
    let retained_total = sorted.len() as f64 - churned_total;
    if churned_total == 0.0 || retained_total == 0.0 {
        return None;
    }
    let mut wins = 0.0;
    let mut retained_below = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j].0 == sorted[i].0 {
            j += 1;
        }
        let c = sorted[i..j].iter().filter(|(_, c)| *c).count() as f64;
        let r = (j - i) as f64 - c;
        let retained_above = retained_total - retained_below - r;
        wins += c * retained_above + 0.5 * c * r;
        retained_below += r;
        i = j;
    }
    Some(wins / (churned_total * retained_total))
}

/// Churn rate among the lowest-scoring tenth (n ÷ 10 accounts, fractional),
/// with the accounts tied at the cut-off counted pro rata.
fn worst_decile_rate(sorted: &[(f64, bool)]) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let size = sorted.len() as f64 / 10.0;
    let mut taken = 0.0;
    let mut churned = 0.0;
    let mut i = 0;
    while i < sorted.len() && taken < size {
        let mut j = i;
        while j < sorted.len() && sorted[j].0 == sorted[i].0 {
            j += 1;
        }
        let group = (j - i) as f64;
        let c = sorted[i..j].iter().filter(|(_, c)| *c).count() as f64;
        let share = ((size - taken) / group).min(1.0);
        taken += group * share;
        churned += c * share;
        i = j;
    }
    Some(churned / size)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over all pairs, for comparison.
    fn auc_pairs(outcomes: &[(f64, bool)]) -> Option<f64> {
        let churned: Vec<f64> = outcomes.iter().filter(|o| o.1).map(|o| o.0).collect();
        let retained: Vec<f64> = outcomes.iter().filter(|o| !o.1).map(|o| o.0).collect();
        if churned.is_empty() || retained.is_empty() {
            return None;
        }
        let mut wins = 0.0;
        for c in &churned {
            for r in &retained {
                wins += if c < r {
                    1.0
                } else if c == r {
                    0.5
                } else {
                    0.0
                };
            }
        }
        Some(wins / (churned.len() * retained.len()) as f64)
    }

    #[test]
    fn auc_fixture_with_ties() {
        // Churned 10, 20, 50; retained 30, 50, 80, 90.
        // 10 and 20 are below all four retained: 4 + 4.
        // 50 is below 80 and 90 (2), ties with 50 (0.5), above 30: 2.5.
        // AUC = 10.5 / 12 = 0.875.
        let outcomes = [
            (50.0, false),
            (10.0, true),
            (90.0, false),
            (20.0, true),
            (30.0, false),
            (50.0, true),
            (80.0, false),
        ];
        assert_eq!(auc(&outcomes), Some(0.875));
        assert_eq!(auc_pairs(&outcomes), Some(0.875));
    }

    #[test]
    fn churn_is_a_day_without_paying_subscription_within_the_horizon() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let as_of = d("2025-03-31");
        // Renewed back to back: no gap.
        let renewed = [
            (d("2025-01-01"), Some(d("2025-04-10"))),
            (d("2025-04-10"), None),
        ];
        assert!(!churned_within(&renewed, as_of, 90));
        // A one-day gap on 2025-04-10, inside the horizon.
        let gap = [
            (d("2025-01-01"), Some(d("2025-04-10"))),
            (d("2025-04-11"), None),
        ];
        assert!(churned_within(&gap, as_of, 90));
        // Ends after the horizon: not churned within it.
        let late = [(d("2025-01-01"), Some(d("2025-06-30")))];
        assert!(!churned_within(&late, as_of, 90));
        assert!(churned_within(&late, as_of, 91));
        assert!(churned_within(&[], as_of, 1));
    }

    #[test]
    fn auc_extremes() {
        let perfect = [(10.0, true), (20.0, true), (60.0, false), (90.0, false)];
        assert_eq!(auc(&perfect), Some(1.0));
        let inverted = [(10.0, false), (20.0, false), (60.0, true), (90.0, true)];
        assert_eq!(auc(&inverted), Some(0.0));
        let all_tied = [(50.0, false), (50.0, true), (50.0, true)];
        assert_eq!(auc(&all_tied), Some(0.5));
        assert_eq!(auc(&[(50.0, false)]), None);
    }

    #[test]
    fn stats_per_band_green_churn_and_lift() {
        // 20 accounts: scores 5, 10, ..., 100. Churned: 5, 10, 35, 75.
        let outcomes: Vec<(f64, bool)> = (1..=20)
            .map(|i| {
                let s = f64::from(i * 5);
                (s, [5.0, 10.0, 35.0, 75.0].contains(&s))
            })
            .collect();
        let st = backtest_stats(&outcomes, &Bands::default());
        assert_eq!(st.accounts, 20);
        assert_eq!(st.churned, 4);
        assert_eq!(st.churn_rate, Some(0.2));
        // Red: 5..35 (7 accounts, 3 churned); yellow: 40..65 (6, 0); green: 70..100 (7, 1).
        assert_eq!((st.red.accounts, st.red.churned), (7, 3));
        assert_eq!((st.yellow.accounts, st.yellow.churned), (6, 0));
        assert_eq!((st.green.accounts, st.green.churned), (7, 1));
        assert_eq!(st.churned_while_green, Some(0.25));
        // Worst decile: the two lowest (5 and 10), both churned: 100% vs 20%.
        assert_eq!(st.worst_decile_churn_rate, Some(1.0));
        assert_eq!(st.worst_decile_lift, Some(5.0));
        assert_eq!(st.auc, auc_pairs(&outcomes));
    }

    #[test]
    fn worst_decile_counts_ties_at_the_cut_pro_rata() {
        // Ten accounts: the decile is one account, but the two lowest tie at
        // 0, one churned: half a churned account in a decile of one.
        let mut outcomes = vec![(0.0, true), (0.0, false)];
        outcomes.extend((0..8).map(|i| (50.0 + f64::from(i), false)));
        let st = backtest_stats(&outcomes, &Bands::default());
        assert_eq!(st.worst_decile_churn_rate, Some(0.5));
        assert_eq!(st.worst_decile_lift, Some(5.0));
    }

    proptest::proptest! {
        #[test]
        fn auc_matches_pairwise_definition(
            v in proptest::collection::vec((0u8..20, proptest::bool::ANY), 0..60)
        ) {
            let outcomes: Vec<(f64, bool)> = v.iter().map(|&(s, c)| (f64::from(s) * 5.0, c)).collect();
            let (a, b) = (auc(&outcomes), auc_pairs(&outcomes));
            match (a, b) {
                (Some(a), Some(b)) => proptest::prop_assert!((a - b).abs() < 1e-12),
                (a, b) => proptest::prop_assert_eq!(a, b),
            }
        }
    }
}
