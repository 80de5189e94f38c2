//! A scorecard fitted to history (`tenure health fit`, docs/HEALTH.md,
//! "Fitting the scorecard"): the same measures, with the weights and the
//! cut-points of their normalisation that rank past churners lowest.
//!
//! The input is one row per account and as-of date: each measure's input
//! to its normalisation (the percentile for a measure relative to the
//! company, else the raw value; NaN without data) and whether the account
//! churned within the horizon. The score of a row is computed as
//! [`super::HealthModel`] computes it (the weighted mean of the points of
//! the measures with data), and the fit maximises the backtest's AUC over
//! the rows by coordinate search on a grid of readable values:
//!
//! - weights are whole percents summing to 100, each at least 1, so every
//!   measure of the card stays on it; a move shifts 10, 5, 2 or 1 points
//!   from one measure to another;
//! - a thresholds normalisation keeps its points and moves its cut values
//!   (every step but the first, whose value decides nothing) to rounded
//!   quantiles (5 %, 10 %, ..., 95 %) of the measure's inputs, in order;
//!   a linear one moves `min` and `max` the same way;
//! - a move is kept only when it raises the AUC by more than
//!   [`MIN_GAIN`], and the search stops after a pass with no such move.
//!
//! The search is deterministic (a fixed order of moves, no random start)
//! and the values it tries are already rounded, so what it reports is the
//! card it measured. The caller fits on earlier as-of dates and judges the
//! result on later ones.

use std::fmt::Write as _;

use super::backtest::auc_sorted;
use super::scorecard::{
    Among, Direction, HealthConfig, Measure, MeasureKind, Normalisation, Scorecard, Step,
};

/// The smallest rise of the training AUC that a move must bring to be
/// kept: smaller ones are noise of the training dates.
pub const MIN_GAIN: f64 = 1e-4;

/// At most this many scorecards are tried in one fit; the search stops
/// there even if moves still help (a few seconds on 30,000 rows).
pub const MAX_EVALUATIONS: usize = 4_000;

/// The weight steps, in whole percents, tried from the largest.
const WEIGHT_STEPS: [u32; 4] = [10, 5, 2, 1];

/// The rows to fit on, for one scorecard.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FitRows {
    /// The number of measures of the scorecard.
    pub measures: usize,
    /// Row after row, each measure's input to its normalisation in
    /// scorecard order; NaN when the account has no data for it.
    pub inputs: Vec<f64>,
    /// Whether the row's account churned within the horizon.
    pub churned: Vec<bool>,
}

impl FitRows {
    /// Empty rows for a scorecard of `measures` measures.
    pub fn new(measures: usize) -> FitRows {
        FitRows {
            measures,
            ..FitRows::default()
        }
    }

    /// Adds one row: `inputs` has one entry per measure (`None` without
    /// data).
    pub fn push(&mut self, inputs: impl IntoIterator<Item = Option<f64>>, churned: bool) {
        let before = self.inputs.len();
        self.inputs
            .extend(inputs.into_iter().map(|x| x.unwrap_or(f64::NAN)));
        debug_assert_eq!(self.inputs.len() - before, self.measures);
        self.churned.push(churned);
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.churned.len()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.churned.is_empty()
    }

    fn input(&self, row: usize, measure: usize) -> f64 {
        self.inputs[row * self.measures + measure]
    }
}

/// The fitted scorecard and what the search saw on the rows it fitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// The suggested scorecard: the same name, match and measures, with
    /// the fitted weights (whole percents) and cut-points.
    pub scorecard: Scorecard,
    /// The AUC of the configured scorecard on the rows.
    pub auc_before: Option<f64>,
    /// The AUC of the suggested scorecard on the rows.
    pub auc_after: Option<f64>,
    /// Scorecards tried.
    pub evaluations: usize,
}

/// Fits `card`'s weights and cut-points to `rows` (see the module
/// documentation). Rows where no measure has data are left out, as the
/// backtest leaves out accounts without a score.
pub fn fit_scorecard(card: &Scorecard, rows: &FitRows) -> Fitted {
    assert_eq!(rows.measures, card.measures.len(), "one input per measure");
    let mut search = Search::new(card, rows);
    let auc_before = search.auc_with(&card_weights(card));
    let mut best = search.auc();
    loop {
        let start = best;
        for step in WEIGHT_STEPS {
            best = search.weight_moves(step, best);
        }
        for k in 0..card.measures.len() {
            best = search.cut_moves(k, best);
        }
        if !gains(best, start) || search.exhausted() {
            break;
        }
    }
    let mut scorecard = card.clone();
    for (k, m) in scorecard.measures.iter_mut().enumerate() {
        m.weight = f64::from(search.weights[k]);
        m.normalisation = search.norms[k].clone();
    }
    Fitted {
        scorecard,
        auc_before,
        auc_after: best,
        evaluations: search.evaluations,
    }
}

fn gains(new: Option<f64>, old: Option<f64>) -> bool {
    match (new, old) {
        (Some(n), Some(o)) => n > o + MIN_GAIN,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The card's weights as whole percents summing to 100, each at least 1
/// (largest remainders get the rounding).
fn card_weights(card: &Scorecard) -> Vec<u32> {
    let raw: Vec<f64> = card.measures.iter().map(|m| m.weight.max(0.0)).collect();
    percents(&raw)
}

fn percents(raw: &[f64]) -> Vec<u32> {
    let n = raw.len();
    if n == 0 {
        return Vec::new();
    }
    let total: f64 = raw.iter().sum();
    let shares: Vec<f64> = if total > 0.0 {
        raw.iter().map(|w| w / total * 100.0).collect()
    } else {
        vec![100.0 / n as f64; n]
    };
    let mut out: Vec<u32> = shares.iter().map(|s| (s.floor() as u32).max(1)).collect();
    // Hand out what is left by largest remainder, or take back from the
    // largest weights what the floor of 1 added.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        (shares[b] - shares[b].floor())
            .total_cmp(&(shares[a] - shares[a].floor()))
            .then(a.cmp(&b))
    });
    let mut sum: u32 = out.iter().sum();
    let mut i = 0;
    while sum < 100 {
        out[order[i % n]] += 1;
        sum += 1;
        i += 1;
    }
    while sum > 100 {
        let Some(k) = (0..n)
            .filter(|&k| out[k] > 1)
            .max_by_key(|&k| (out[k], n - k))
        else {
            break;
        };
        out[k] -= 1;
        sum -= 1;
    }
    out
}

/// The state of the coordinate search.
struct Search<'a> {
    rows: &'a FitRows,
    weights: Vec<u32>,
    norms: Vec<Normalisation>,
    /// Each measure's points on every row (NaN without data), by measure.
    points: Vec<Vec<f64>>,
    /// Each measure's candidate cut values, ascending.
    grid: Vec<Vec<f64>>,
    buffer: Vec<(f64, bool)>,
    evaluations: usize,
}

impl<'a> Search<'a> {
    fn new(card: &Scorecard, rows: &'a FitRows) -> Search<'a> {
        let norms: Vec<Normalisation> = card
            .measures
            .iter()
            .map(|m| m.normalisation.clone())
            .collect();
        let points = (0..rows.measures)
            .map(|k| column_points(rows, k, &norms[k]))
            .collect();
        let grid = (0..rows.measures).map(|k| grid_of(rows, k)).collect();
        Search {
            rows,
            weights: card_weights(card),
            norms,
            points,
            grid,
            buffer: Vec::with_capacity(rows.len()),
            evaluations: 0,
        }
    }

    fn exhausted(&self) -> bool {
        self.evaluations >= MAX_EVALUATIONS
    }

    /// The AUC with the current weights and points.
    fn auc(&mut self) -> Option<f64> {
        let w = self.weights.clone();
        self.auc_with(&w)
    }

    fn auc_with(&mut self, weights: &[u32]) -> Option<f64> {
        self.evaluations += 1;
        self.buffer.clear();
        for r in 0..self.rows.len() {
            let mut num = 0.0;
            let mut den = 0.0;
            for (k, col) in self.points.iter().enumerate() {
                let p = col[r];
                if !p.is_nan() {
                    let w = f64::from(weights[k]);
                    num += w * p;
                    den += w;
                }
            }
            if den > 0.0 {
                self.buffer
                    .push(((num / den).clamp(0.0, 100.0), self.rows.churned[r]));
            }
        }
        self.buffer.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        auc_sorted(&self.buffer)
    }

    /// Tries moving `step` percents from each measure to each other one,
    /// keeping every move that gains, until none does.
    fn weight_moves(&mut self, step: u32, mut best: Option<f64>) -> Option<f64> {
        let n = self.weights.len();
        loop {
            let mut moved = false;
            for to in 0..n {
                for from in 0..n {
                    if to == from || self.weights[from] < step + 1 || self.exhausted() {
                        continue;
                    }
                    self.weights[from] -= step;
                    self.weights[to] += step;
                    let a = self.auc();
                    if gains(a, best) {
                        best = a;
                        moved = true;
                    } else {
                        self.weights[from] += step;
                        self.weights[to] -= step;
                    }
                }
            }
            if !moved || self.exhausted() {
                return best;
            }
        }
    }

    /// Tries every grid value for each cut of measure `k`'s normalisation,
    /// keeping the best that gains.
    fn cut_moves(&mut self, k: usize, mut best: Option<f64>) -> Option<f64> {
        let cuts = match &self.norms[k] {
            Normalisation::Thresholds(steps) => steps.len(),
            Normalisation::Linear { .. } => 2,
        };
        for cut in 0..cuts {
            let Some((low, high)) = self.cut_range(k, cut) else {
                continue;
            };
            let candidates: Vec<f64> = self.grid[k]
                .iter()
                .copied()
                .filter(|&v| v > low && v < high)
                .collect();
            for v in candidates {
                if self.exhausted() {
                    return best;
                }
                let previous = self.norms[k].clone();
                set_cut(&mut self.norms[k], cut, v);
                if self.norms[k] == previous {
                    continue;
                }
                let before = std::mem::replace(
                    &mut self.points[k],
                    column_points(self.rows, k, &self.norms[k]),
                );
                let a = self.auc();
                if gains(a, best) {
                    best = a;
                } else {
                    self.norms[k] = previous;
                    self.points[k] = before;
                }
            }
        }
        best
    }

    /// The open interval a cut may move in: between its neighbours. `None`
    /// for a cut that decides nothing (a thresholds normalisation's first
    /// step).
    fn cut_range(&self, k: usize, cut: usize) -> Option<(f64, f64)> {
        match &self.norms[k] {
            Normalisation::Thresholds(steps) => {
                if cut == 0 {
                    return None;
                }
                let low = steps[cut - 1].value;
                let high = steps.get(cut + 1).map_or(f64::INFINITY, |s| s.value);
                Some((low, high))
            }
            Normalisation::Linear { min, max, .. } => Some(if cut == 0 {
                (f64::NEG_INFINITY, *max)
            } else {
                (*min, f64::INFINITY)
            }),
        }
    }
}

fn set_cut(norm: &mut Normalisation, cut: usize, value: f64) {
    match norm {
        Normalisation::Thresholds(steps) => steps[cut].value = value,
        Normalisation::Linear { min, max, .. } => {
            if cut == 0 {
                *min = value;
            } else {
                *max = value;
            }
        }
    }
}

fn column_points(rows: &FitRows, k: usize, norm: &Normalisation) -> Vec<f64> {
    (0..rows.len())
        .map(|r| {
            let x = rows.input(r, k);
            if x.is_nan() { f64::NAN } else { norm.apply(x) }
        })
        .collect()
}

/// Rounded quantiles (5 %, 10 %, ..., 95 %) of measure `k`'s inputs,
/// ascending and distinct.
fn grid_of(rows: &FitRows, k: usize) -> Vec<f64> {
    let mut values: Vec<f64> = (0..rows.len())
        .map(|r| rows.input(r, k))
        .filter(|x| x.is_finite())
        .collect();
    if values.is_empty() {
        return Vec::new();
    }
    values.sort_unstable_by(f64::total_cmp);
    let whole = values.iter().all(|x| x.fract() == 0.0);
    let mut out: Vec<f64> = (1..20)
        .map(|i| {
            let q = values[(values.len() - 1) * i / 20];
            let r = round_readable(q);
            if whole { r.round() } else { r }
        })
        .collect();
    out.sort_unstable_by(f64::total_cmp);
    out.dedup();
    out
}

/// `x` to two significant digits (0.8734 → 0.87, 137 → 140, 4.46 →
/// 4.5), printed without binary noise.
pub fn round_readable(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 1 - x.abs().log10().floor() as i32;
    if digits <= 0 {
        let unit = 10f64.powi(-digits);
        (x / unit).round() * unit
    } else {
        let digits = digits.min(12) as usize;
        format!("{x:.digits$}").parse().unwrap_or(x)
    }
}

/// The `[health]` section of a `tenure.toml` for `config`: the bands, the
/// default scorecard's measures and every other scorecard with its match,
/// every parameter written out, so that the configuration loader reads
/// back the same [`HealthConfig`].
pub fn health_toml(config: &HealthConfig) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "[health.bands]\nyellow_from = {}\ngreen_from = {}",
        config.bands.yellow_from, config.bands.green_from
    );
    for m in &config.default.measures {
        s.push_str("\n[[health.measures]]\n");
        write_measure(&mut s, m);
    }
    for card in &config.scorecards {
        let _ = writeln!(s, "\n[[health.scorecards]]\nname = {}", quote(&card.name));
        if let Some(m) = &card.matches {
            let mut parts = Vec::new();
            for (key, values) in [
                ("plan", &m.plan),
                ("industry", &m.industry),
                ("region", &m.region),
            ] {
                if !values.is_empty() {
                    parts.push(format!("{key} = {}", list(values)));
                }
            }
            if !m.attributes.is_empty() {
                let attrs: Vec<String> = m
                    .attributes
                    .iter()
                    .map(|(k, v)| format!("{} = {}", quote(k), list(v)))
                    .collect();
                parts.push(format!("attributes = {{ {} }}", attrs.join(", ")));
            }
            let _ = writeln!(s, "match = {{ {} }}", parts.join(", "));
        }
        for m in &card.measures {
            s.push_str("\n[[health.scorecards.measures]]\n");
            write_measure(&mut s, m);
        }
    }
    s
}

fn quote(text: &str) -> String {
    // A JSON string is a TOML basic string: the same escapes.
    serde_json::to_string(text).unwrap_or_default()
}

fn list(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| quote(v)).collect();
    format!("[{}]", items.join(", "))
}

fn write_measure(s: &mut String, m: &Measure) {
    let _ = writeln!(s, "name = {}", quote(&m.name));
    let _ = writeln!(s, "kind = {}", quote(m.kind.name()));
    match &m.kind {
        MeasureKind::ActiveUserRatio {
            window_days,
            denominator,
        } => {
            let _ = writeln!(
                s,
                "window_days = {window_days}\ndenominator = {}",
                quote(denominator.as_str())
            );
        }
        MeasureKind::EventCount {
            window_days,
            events,
        }
        | MeasureKind::EventTrend {
            window_days,
            events,
        } => {
            let _ = writeln!(s, "window_days = {window_days}");
            if !events.is_empty() {
                let _ = writeln!(s, "events = {}", list(events));
            }
        }
        MeasureKind::SeatUtilisation { window_days }
        | MeasureKind::CsatAverage { window_days }
        | MeasureKind::PaymentFailures { window_days }
        | MeasureKind::LatestNps {
            window_days: Some(window_days),
        } => {
            let _ = writeln!(s, "window_days = {window_days}");
        }
        MeasureKind::FeatureAdoption {
            window_days,
            features,
        } => {
            let _ = writeln!(
                s,
                "window_days = {window_days}\nfeatures = {}",
                list(features)
            );
        }
        MeasureKind::OpenTickets {
            priority_weights: w,
        } => {
            let _ = writeln!(
                s,
                "priority_weights = {{ low = {}, normal = {}, high = {}, urgent = {} }}",
                w.low, w.normal, w.high, w.urgent
            );
        }
        MeasureKind::CustomAttribute { attribute } => {
            let _ = writeln!(s, "attribute = {}", quote(attribute));
        }
        MeasureKind::LatestNps { window_days: None }
        | MeasureKind::DaysSinceEngagement
        | MeasureKind::DaysToRenewal
        | MeasureKind::ChurnRisk => {}
    }
    if let Some(p) = m.per {
        let _ = writeln!(s, "per = {}", quote(p.as_str()));
    }
    if let Some(b) = m.baseline_days {
        let _ = writeln!(s, "baseline_days = {b}");
    }
    if let Some(r) = &m.relative {
        let mut parts = vec![format!("among = {}", quote(r.among.as_str()))];
        if r.among != Among::All || r.min_group != 30 {
            parts.push(format!("min_group = {}", r.min_group));
        }
        if r.direction != Direction::HigherIsBetter {
            parts.push(format!("direction = {}", quote(r.direction.as_str())));
        }
        let _ = writeln!(s, "percentile = {{ {} }}", parts.join(", "));
    }
    let _ = writeln!(s, "weight = {}", m.weight);
    let default_linear = Normalisation::Linear {
        min: 0.0,
        max: 100.0,
        direction: Direction::HigherIsBetter,
    };
    match &m.normalisation {
        n if m.relative.is_some() && *n == default_linear => {}
        Normalisation::Thresholds(steps) => {
            let pairs: Vec<String> = steps
                .iter()
                .map(|Step { value, points }| format!("[{value}, {points}]"))
                .collect();
            let _ = writeln!(s, "thresholds = [{}]", pairs.join(", "));
        }
        Normalisation::Linear {
            min,
            max,
            direction,
        } => {
            let _ = writeln!(
                s,
                "linear = {{ min = {min}, max = {max}, direction = {} }}",
                quote(direction.as_str())
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_config;
    use crate::health::{ADAPTIVE_SCORECARD, THRESHOLD_SCORECARD};

    /// A small deterministic stream of numbers in 0..1.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn card(text: &str) -> Scorecard {
        parse_config(text).unwrap().health.default
    }

    /// Two measures on 0..100: "usage" is lower for churners, "noise" is
    /// not; the card trusts the noise nine times more.
    const TWO: &str = r#"
[[health.measures]]
name = "usage"
kind = "custom_attribute"
attribute = "usage"
weight = 1
linear = { min = 0, max = 100 }

[[health.measures]]
name = "noise"
kind = "custom_attribute"
attribute = "noise"
weight = 9
linear = { min = 0, max = 100 }
"#;

    fn two_measure_rows(seed: u64, n: usize) -> FitRows {
        let mut rng = Lcg(seed);
        let mut rows = FitRows::new(2);
        for _ in 0..n {
            let churned = rng.next() < 0.2;
            let usage = if churned { 60.0 } else { 100.0 } * rng.next();
            rows.push([Some(usage), Some(100.0 * rng.next())], churned);
        }
        rows
    }

    #[test]
    fn weight_moves_to_the_measure_that_separates_churners() {
        let card = card(TWO);
        let rows = two_measure_rows(1, 2_000);
        let fitted = fit_scorecard(&card, &rows);
        let w: Vec<f64> = fitted.scorecard.measures.iter().map(|m| m.weight).collect();
        assert_eq!(w.iter().sum::<f64>(), 100.0);
        assert!(w.iter().all(|&x| x >= 1.0 && x.fract() == 0.0), "{w:?}");
        assert!(w[0] > w[1], "{w:?}");
        let (before, after) = (fitted.auc_before.unwrap(), fitted.auc_after.unwrap());
        assert!(after > before + 0.05, "{before} -> {after}");
        // Judged on other rows of the same shape, it still ranks better.
        let other = two_measure_rows(2, 2_000);
        let again = fit_scorecard(&fitted.scorecard, &other).auc_before.unwrap();
        let old = fit_scorecard(&card, &other).auc_before.unwrap();
        assert!(again > old + 0.05, "{old} -> {again}");
        // Deterministic: the same rows give the same card.
        assert_eq!(fit_scorecard(&card, &rows), fitted);
    }

    #[test]
    fn a_threshold_moves_to_where_churners_and_others_part() {
        // Churners sit below 20, the others from 20 to 100; the card cuts
        // at 60, so that the accounts from 20 to 60 look like churners.
        let card = card(
            r#"
[[health.measures]]
name = "usage"
kind = "custom_attribute"
attribute = "usage"
weight = 1
thresholds = [[0, 0], [60, 100]]
"#,
        );
        let mut rng = Lcg(7);
        let mut rows = FitRows::new(1);
        for _ in 0..1_000 {
            let churned = rng.next() < 0.3;
            let x = if churned {
                20.0 * rng.next()
            } else {
                20.0 + 80.0 * rng.next()
            };
            rows.push([Some(x.floor())], churned);
        }
        let fitted = fit_scorecard(&card, &rows);
        let Normalisation::Thresholds(steps) = &fitted.scorecard.measures[0].normalisation else {
            panic!("thresholds stay thresholds")
        };
        assert_eq!(steps.len(), 2);
        assert_eq!(
            steps[0],
            Step {
                value: 0.0,
                points: 0.0
            }
        );
        assert_eq!(steps[1].points, 100.0);
        assert!((19.0..=21.0).contains(&steps[1].value), "{steps:?}");
        assert_eq!(steps[1].value.fract(), 0.0, "whole inputs, whole cuts");
        let after = fitted.auc_after.unwrap();
        assert!(after > 0.97, "{after} {steps:?}");
        assert!(fitted.auc_before.unwrap() < 0.8);
    }

    #[test]
    fn rows_without_data_are_left_out_and_no_rows_change_nothing() {
        let card = card(TWO);
        let mut rows = FitRows::new(2);
        rows.push([None, None], true);
        let fitted = fit_scorecard(&card, &rows);
        assert_eq!(fitted.auc_before, None);
        assert_eq!(fitted.auc_after, None);
        let w: Vec<f64> = fitted.scorecard.measures.iter().map(|m| m.weight).collect();
        assert_eq!(w, [10.0, 90.0]);
    }

    #[test]
    fn weights_become_whole_percents_of_at_least_one() {
        assert_eq!(
            percents(&[20.0, 20.0, 5.0, 10.0, 10.0, 10.0]),
            [27, 27, 7, 13, 13, 13]
        );
        assert_eq!(percents(&[1.0, 1.0, 1.0]), [34, 33, 33]);
        assert_eq!(percents(&[1000.0, 1.0]), [99, 1]);
        assert_eq!(percents(&[1.0]), [100]);
    }

    #[test]
    fn readable_rounding_keeps_two_digits() {
        let check = |x: f64, want: f64| assert_eq!(round_readable(x), want, "{x}");
        check(0.8734, 0.87);
        check(137.4, 140.0);
        check(4.46, 4.5);
        check(0.0, 0.0);
        check(-0.0561, -0.056);
        check(12_345.0, 12_000.0);
        check(0.95, 0.95);
    }

    fn round_trip(text: &str) {
        let config = parse_config(text).unwrap().health;
        let written = health_toml(&config);
        let back = parse_config(&written)
            .unwrap_or_else(|e| panic!("{e:?}\n{written}"))
            .health;
        assert_eq!(back, config, "{written}");
        assert_eq!(back.version(), config.version());
    }

    #[test]
    fn the_written_section_reads_back_as_the_same_configuration() {
        round_trip(ADAPTIVE_SCORECARD);
        round_trip(THRESHOLD_SCORECARD);
        round_trip(
            r#"
[health.bands]
yellow_from = 35.5
green_from = 72

[[health.measures]]
name = "Tickets \"open\""
kind = "open_tickets"
priority_weights = { low = 0.25, urgent = 8 }
weight = 3
thresholds = [[0, 100], [2.5, 10]]

[[health.measures]]
name = "Logins per seat"
kind = "event_count"
events = ["login", "sign in"]
window_days = 14
per = "seat"
percentile = { among = "segment", min_group = 5, direction = "lower_is_better" }
weight = 2
linear = { min = 10, max = 90 }

[[health.scorecards]]
name = "enterprise"
match = { plan = ["enterprise", "scale"], attributes = { "tier level" = "gold" } }

[[health.scorecards.measures]]
name = "NPS"
kind = "latest_nps"
weight = 1
thresholds = [[0, 0], [9, 100]]

[[health.scorecards.measures]]
name = "Seats used"
kind = "seat_utilisation"
window_days = 7
weight = 1
linear = { min = 0, max = 1, direction = "lower_is_better" }
"#,
        );
    }

    #[test]
    fn a_fitted_card_reads_back_as_itself() {
        let mut config = parse_config(TWO).unwrap().health;
        let fitted = fit_scorecard(&config.default, &two_measure_rows(3, 500));
        config.default = fitted.scorecard;
        let back = parse_config(&health_toml(&config)).unwrap().health;
        assert_eq!(back, config);
    }
}
