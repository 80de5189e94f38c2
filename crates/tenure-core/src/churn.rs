//! The churn model (docs/CHURN.md): a regularised logistic regression
//! over features read from the health signals, trained on earlier as-of
//! dates and judged on later ones.
//!
//! The pieces, all pure:
//!
//! - [`FeatureSet`]: the features of one account on one as-of date, from
//!   its [`AccountSignals`] (the health scorecard's measures, raw, plus a
//!   fixed set of usage, revenue, support and renewal figures). The signals
//!   come from the health machinery, which never reads past the as-of
//!   date; a feature reads nothing else but the account's first paying
//!   day, which the caller takes from subscriptions started by then.
//! - [`split_dates`]: the time split. The test dates are the latest third;
//!   a training date counts only when its churn label (the horizon after
//!   it) is known by the first test date, so no label overlaps the test.
//! - [`Scaling`]: missing values imputed with the training mean, a
//!   missing-indicator column for each feature that lacked values in
//!   training, every column standardised with the training mean and
//!   standard deviation.
//! - [`fit`]: L2-regularised logistic regression (`linfa-logistic`).
//! - [`ChurnModel`]: the fitted model, which predicts by itself (no linfa
//!   at prediction), and each feature's contribution.
//! - The metrics: [`evaluate`] gives the AUC, the PR-AUC ([`pr_auc`]), the
//!   Brier score ([`brier`]), the reliability table ([`reliability`]), the
//!   worst decile's lift and churn by band, the model's bands being
//!   probability cut-offs ([`ModelBands::matching`]) that put the same
//!   shares of accounts in red, yellow and green as the scorecard.
//!
//! The band and decile figures reuse the health backtest's
//! [`backtest_stats`] with −probability as the score (a low score means
//! risk there), so the model and the scorecard are judged by one
//! definition.

use jiff::civil::Date;
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};

use crate::health::{
    AccountSignals, BacktestStats, Bands, EventFilter, HealthModel, SignalPlan, Window,
    backtest_stats,
};
use crate::model::{add_days, day_number};

/// The fewest churned accounts the training window must hold.
pub const MIN_CHURNED_TRAIN: usize = 50;
/// The fewest churned accounts the test dates must hold.
pub const MIN_CHURNED_TEST: usize = 10;
/// The L2 penalty (`alpha` of linfa-logistic: ½·α·‖w‖² added to the summed
/// log-loss; the intercept is not penalised).
pub const DEFAULT_ALPHA: f64 = 1.0;
/// How many event names get features of their own: the most frequent in
/// the training window ([`top_event_names`]).
pub const EVENT_NAME_FEATURES: usize = 10;
/// The event names are counted from the first of this many days ending on
/// the first training as-of date: the longest window a per-name feature
/// reads.
pub const EVENT_NAME_LOOKBACK_DAYS: u32 = 90;

/// Bad input, or a fit that failed.
#[derive(Debug, thiserror::Error)]
pub enum ChurnError {
    /// Too little history or too few churners: the message names what is
    /// missing.
    #[error("{0}")]
    Input(String),
    #[error("fitting the logistic regression: {0}")]
    Fit(String),
}

/// How a feature reads its raw value; [`FeatureSet::words`] describes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FeatureKind {
    /// The raw value of the scorecard measure at this index of
    /// [`HealthModel::raw_values`].
    Measure(usize),
    /// ln(1 + events) in the window of this plan slot: all events, or
    /// those of the event name at this index of
    /// [`FeatureSet::event_names`].
    EventsLog {
        slot: usize,
        days: u32,
        event: Option<usize>,
    },
    /// ln((1 + events in the last 28 days) ÷ (1 + events in the 28 before)),
    /// of all events or of one event name.
    EventTrend {
        last: usize,
        previous: usize,
        event: Option<usize>,
    },
    /// Days since the first day of paid MRR.
    TenureDays,
    /// ln(1 + ARR) in the reporting currency.
    ArrLog,
    Seats,
    /// Active users in 30 days ÷ seats.
    ActiveUserRatio {
        slot: usize,
    },
    LatestNps,
    /// Mean CSAT answer (1–5) in 90 days.
    Csat {
        slot: usize,
    },
    OpenTickets,
    DaysToRenewal,
    DaysSinceEngagement,
}

/// The features of the churn model: their names and where each reads,
/// and the signal plan (the health model's plus the extra windows) to load.
#[derive(Debug, Clone)]
pub struct FeatureSet {
    plan: SignalPlan,
    names: Vec<String>,
    kinds: Vec<FeatureKind>,
    event_names: Vec<String>,
}

/// The `n` event names with the most events in `totals` (name, events),
/// most first, a tie in name order; names without events are left out.
/// The same totals give the same names in the same order.
pub fn top_event_names(totals: &[(String, u64)], n: usize) -> Vec<String> {
    let mut sorted: Vec<&(String, u64)> = totals.iter().filter(|t| t.1 > 0).collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out: Vec<String> = Vec::new();
    for (name, _) in sorted {
        if out.len() == n {
            break;
        }
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    out
}

impl FeatureSet {
    /// The features for the configured scorecards without per-name event
    /// features: [`FeatureSet::with_event_names`] with none.
    pub fn new(model: &HealthModel) -> FeatureSet {
        FeatureSet::with_event_names(model, &[])
    }

    /// The features for the configured scorecards: every measure's raw
    /// value, then the fixed ones, then four for each of `event_names`
    /// (its events in the last 7, 28 and 90 days, log, and its 28-day
    /// trend), in that order. A `churn_risk` measure (the model's
    /// own stored predictions) is left out, and the plan does not load
    /// predictions, so the scorecard judged beside the model in training
    /// goes without that measure (re-weighted, as for missing data).
    pub fn with_event_names(model: &HealthModel, event_names: &[String]) -> FeatureSet {
        let mut plan = model.plan().clone();
        // Features never read the stored predictions (see below).
        plan.needs_churn_risk = false;
        let kinds_of_measures = model.measure_kinds();
        let mut names = Vec::new();
        let mut kinds = Vec::new();
        for (i, m) in model.measure_names().into_iter().enumerate() {
            // The model's own stored output is never one of its inputs.
            if kinds_of_measures[i] == "churn_risk" {
                continue;
            }
            names.push(format!("measure: {m}"));
            kinds.push(FeatureKind::Measure(i));
        }
        let mut push = |name: &str, kind| {
            names.push(name.to_string());
            kinds.push(kind);
        };
        for days in [7, 28, 90] {
            let slot = plan.event_slot(EventFilter::All, Window::ending_on_as_of(days));
            push(
                &format!("events in the last {days} days (log)"),
                FeatureKind::EventsLog {
                    slot,
                    days,
                    event: None,
                },
            );
        }
        let last = plan.event_slot(EventFilter::All, Window::ending_on_as_of(28));
        let previous = plan.event_slot(EventFilter::All, PREVIOUS_28);
        push(
            "event trend: last 28 days against the 28 before (log ratio)",
            FeatureKind::EventTrend {
                last,
                previous,
                event: None,
            },
        );
        push("tenure (days since first MRR)", FeatureKind::TenureDays);
        push("ARR (log)", FeatureKind::ArrLog);
        push("seats", FeatureKind::Seats);
        let slot = plan.active_users_slot(Window::ending_on_as_of(30));
        push(
            "active users in 30 days per seat",
            FeatureKind::ActiveUserRatio { slot },
        );
        push("latest NPS", FeatureKind::LatestNps);
        let slot = plan.csat_slot(Window::ending_on_as_of(90));
        push("CSAT average in 90 days", FeatureKind::Csat { slot });
        push("open tickets", FeatureKind::OpenTickets);
        // These two would repeat a measure of the same kind word for word.
        if !kinds_of_measures.contains(&"days_to_renewal") {
            push("days to renewal", FeatureKind::DaysToRenewal);
        }
        if !kinds_of_measures.contains(&"days_since_engagement") {
            push(
                "days since last engagement",
                FeatureKind::DaysSinceEngagement,
            );
        }
        for (e, name) in event_names.iter().enumerate() {
            let filter = || EventFilter::Named(vec![name.clone()]);
            for days in [7, 28, 90] {
                let slot = plan.event_slot(filter(), Window::ending_on_as_of(days));
                push(
                    &format!("“{name}” events in the last {days} days (log)"),
                    FeatureKind::EventsLog {
                        slot,
                        days,
                        event: Some(e),
                    },
                );
            }
            let last = plan.event_slot(filter(), Window::ending_on_as_of(28));
            let previous = plan.event_slot(filter(), PREVIOUS_28);
            push(
                &format!("“{name}” event trend: last 28 days against the 28 before (log ratio)"),
                FeatureKind::EventTrend {
                    last,
                    previous,
                    event: Some(e),
                },
            );
        }
        FeatureSet {
            plan,
            names,
            kinds,
            event_names: event_names.to_vec(),
        }
    }

    /// The event names with features of their own, in feature order.
    pub fn event_names(&self) -> &[String] {
        &self.event_names
    }

    /// The signals to load: the health model's plan with the extra windows
    /// appended (the model's slots keep their numbers).
    pub fn plan(&self) -> &SignalPlan {
        &self.plan
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Appends the raw features of one account on `signals.as_of` to `out`,
    /// NaN where there is no value. `first_paid` is the first day of paid
    /// MRR on or before the as-of date. Reads nothing but its arguments, so
    /// the features at an as-of date depend only on the signals (which the
    /// health machinery computes without look-ahead).
    pub fn row(
        &self,
        model: &HealthModel,
        signals: &AccountSignals,
        first_paid: Option<Date>,
        out: &mut Vec<f64>,
    ) {
        let measures = model.raw_values(signals);
        let as_of = day_number(signals.as_of);
        let ln1p = |x: f64| (1.0 + x.max(0.0)).ln();
        let events = |slot: usize| signals.event_counts.get(slot).copied().unwrap_or(0) as f64;
        for kind in &self.kinds {
            let v = match *kind {
                FeatureKind::Measure(i) => measures.get(i).copied().flatten(),
                FeatureKind::EventsLog { slot, .. } => Some(ln1p(events(slot))),
                FeatureKind::EventTrend { last, previous, .. } => {
                    Some(((1.0 + events(last)) / (1.0 + events(previous))).ln())
                }
                FeatureKind::TenureDays => first_paid
                    .filter(|f| *f <= signals.as_of)
                    .map(|f| f64::from(as_of - day_number(f))),
                FeatureKind::ArrLog => Some(ln1p(12.0 * signals.mrr)),
                FeatureKind::Seats => signals.seats.map(|s| s as f64),
                FeatureKind::ActiveUserRatio { slot } => {
                    signals.seats.filter(|s| *s > 0).map(|s| {
                        f64::from(signals.active_users.get(slot).copied().unwrap_or(0)) / s as f64
                    })
                }
                FeatureKind::LatestNps => signals.latest_nps.map(|n| n.score),
                FeatureKind::Csat { slot } => signals.csat.get(slot).and_then(|c| c.mean()),
                FeatureKind::OpenTickets => Some(f64::from(signals.open_tickets.total())),
                FeatureKind::DaysToRenewal => signals
                    .next_renewal
                    .map(|r| f64::from(day_number(r) - as_of)),
                FeatureKind::DaysSinceEngagement => signals
                    .last_engagement
                    .map(|e| f64::from(as_of - day_number(e))),
            };
            out.push(v.filter(|x| x.is_finite()).unwrap_or(f64::NAN));
        }
    }

    /// Whether a feature that raises this account's risk in the model can
    /// be read as a reason by a person. Usage moves with churn one way:
    /// fewer events, a falling trend or fewer active users per seat are
    /// risk. Usage features are correlated (the counts of 7, 28 and 90
    /// days, of all events and of each name), so the fitted weights of
    /// some come out with the other sign, and "31 “login” events in the
    /// last 28 days (typical 10)" would be shown as a reason for risk. A
    /// usage feature is a reason only when the account's value is below
    /// the typical one (a trend: below none); every other feature is.
    pub fn reads_as_risk(&self, feature: usize, raw: &[f64], typical: &[f64]) -> bool {
        let (x, typ) = (raw[feature], typical[feature]);
        match self.kinds[feature] {
            FeatureKind::EventsLog { .. } | FeatureKind::ActiveUserRatio { .. } => {
                x.is_nan() || typ.is_nan() || x < typ
            }
            FeatureKind::EventTrend { .. } => x.is_nan() || x < 0.0,
            _ => true,
        }
    }

    /// Feature `feature` of the raw row `raw` in words beside `typical`
    /// (each feature's training mean of the values present), for the
    /// reasons of a prediction: `“message_sent” events fell 60 % in the
    /// last 28 days (12 against 30)`.
    pub fn words(&self, feature: usize, raw: &[f64], typical: &[f64]) -> String {
        let name = &self.names[feature];
        let name = name.strip_prefix("measure: ").unwrap_or(name);
        let (x, typ) = (raw[feature], typical[feature]);
        if x.is_nan() {
            return format!("no value for {name}");
        }
        let count = |log: f64| (log.exp() - 1.0).max(0.0).round();
        match self.kinds[feature] {
            FeatureKind::EventTrend { event: None, .. } => {
                let change = (x.exp() - 1.0) * 100.0;
                let verb = if change < 0.0 { "fell" } else { "rose" };
                format!(
                    "events in the last 28 days {verb} {:.0} % against the 28 before",
                    change.abs()
                )
            }
            FeatureKind::EventTrend {
                last,
                event: Some(e),
                ..
            } => {
                let event = &self.event_names[e];
                // The events of the last 28 days are a feature of their
                // own; those of the 28 before follow from the ratio.
                let recent = self
                    .kinds
                    .iter()
                    .position(|k| matches!(k, FeatureKind::EventsLog { slot, .. } if *slot == last))
                    .map(|f| count(raw[f]));
                let Some(recent) = recent else {
                    return format!("“{event}” events: 28-day trend {x:.2} (log ratio)");
                };
                let before = ((1.0 + recent) / x.exp() - 1.0).max(0.0).round();
                if recent == 0.0 && before == 0.0 {
                    return format!("no “{event}” events in the last 56 days");
                }
                if recent == before {
                    return format!(
                        "“{event}” events unchanged in the last 28 days ({recent:.0} against \
                         {before:.0})"
                    );
                }
                let (verb, change) = if recent < before {
                    ("fell", (before - recent) / before * 100.0)
                } else if before == 0.0 {
                    return format!(
                        "“{event}” events rose from none to {recent:.0} in the last 28 days"
                    );
                } else {
                    ("rose", (recent - before) / before * 100.0)
                };
                format!(
                    "“{event}” events {verb} {change:.0} % in the last 28 days ({recent:.0} \
                     against {before:.0})"
                )
            }
            FeatureKind::EventsLog {
                days,
                event: Some(e),
                ..
            } => {
                let event = &self.event_names[e];
                let n = count(x);
                if n == 0.0 {
                    format!(
                        "no “{event}” events in {days} days (typical {:.0})",
                        count(typ)
                    )
                } else {
                    let noun = if n == 1.0 { "event" } else { "events" };
                    format!(
                        "{n:.0} “{event}” {noun} in the last {days} days (typical {:.0})",
                        count(typ)
                    )
                }
            }
            FeatureKind::EventsLog { days, .. } => format!(
                "{:.0} events in the last {days} days (typical {:.0})",
                x.exp() - 1.0,
                typ.exp() - 1.0
            ),
            FeatureKind::ArrLog => {
                format!("ARR {:.0} (typical {:.0})", x.exp() - 1.0, typ.exp() - 1.0)
            }
            FeatureKind::ActiveUserRatio { .. } => format!(
                "{:.0} % of seats active in 30 days (typical {:.0} %)",
                x * 100.0,
                typ * 100.0
            ),
            _ => format!("{name}: {} (typical {})", short(x), short(typ)),
        }
    }
}

/// The 28 days before the last 28.
const PREVIOUS_28: Window = Window {
    days: 28,
    ends_days_before: 28,
};

fn short(x: f64) -> String {
    if x.fract() == 0.0 || x.abs() >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// Splits monthly as-of dates in time: the latest third (at least one)
/// are the test dates; a date before them trains only when its whole
/// horizon ends by the first test date, so no training label reads past
/// it. Errors name what is missing.
pub fn split_dates(dates: &[Date], horizon: u32) -> Result<(Vec<Date>, Vec<Date>), ChurnError> {
    let mut dates = dates.to_vec();
    dates.sort_unstable();
    dates.dedup();
    let n_test = (dates.len() / 3).max(1);
    if dates.len() < n_test + 1 {
        return Err(ChurnError::Input(format!(
            "{} monthly as-of date(s) in the window; at least 2 needed \
             (training dates, then {horizon} days, then test dates)",
            dates.len()
        )));
    }
    let test = dates.split_off(dates.len() - n_test);
    let first_test = test[0];
    let train: Vec<Date> = dates
        .into_iter()
        .filter(|d| add_days(*d, horizon as i32) <= first_test)
        .collect();
    if train.len() < 2 {
        return Err(ChurnError::Input(format!(
            "{} training as-of date(s) whose {horizon}-day horizon ends by the first test date \
             {first_test}; at least 2 needed: widen --from / --to or shorten --horizon",
            train.len()
        )));
    }
    Ok((train, test))
}

/// One column of the design matrix: a feature's value (missing replaced
/// by `fill`) or its missing indicator (1 when missing), standardised.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// Index of the feature in the [`FeatureSet`].
    pub feature: usize,
    pub missing_indicator: bool,
    /// The value a missing one is replaced with (the training mean).
    pub fill: f64,
    pub mean: f64,
    /// The training standard deviation; 1 for a constant column.
    pub sd: f64,
}

/// Imputation and standardisation, fitted on the training rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaling {
    pub columns: Vec<Column>,
}

impl Scaling {
    /// Fits on `rows` (flattened, `names.len()` raw values each, NaN =
    /// missing): each feature's column, plus a missing-indicator column for
    /// each feature missing in some training row.
    pub fn fit(names: &[String], rows: &[f64]) -> Scaling {
        let k = names.len();
        let n = rows.len().checked_div(k).unwrap_or(0);
        let mut columns = Vec::new();
        for (j, name) in names.iter().enumerate() {
            let (mut sum, mut sq, mut present) = (0.0, 0.0, 0usize);
            for i in 0..n {
                let x = rows[i * k + j];
                if !x.is_nan() {
                    sum += x;
                    sq += x * x;
                    present += 1;
                }
            }
            let fill = if present > 0 {
                sum / present as f64
            } else {
                0.0
            };
            // Missing values take the mean, so the mean stays and the
            // spread is that of the values present, scaled by their share.
            let var = if n > 0 && present > 0 {
                (sq / present as f64 - fill * fill).max(0.0) * present as f64 / n as f64
            } else {
                0.0
            };
            columns.push(Column {
                name: name.clone(),
                feature: j,
                missing_indicator: false,
                fill,
                mean: fill,
                sd: sd_or_one(var),
            });
            if present < n {
                let share = (n - present) as f64 / n as f64;
                columns.push(Column {
                    name: format!("{name}: missing"),
                    feature: j,
                    missing_indicator: true,
                    fill: 0.0,
                    mean: share,
                    sd: sd_or_one(share * (1.0 - share)),
                });
            }
        }
        Scaling { columns }
    }

    /// The standardised columns of one row of raw values.
    pub fn transform_into(&self, raw: &[f64], out: &mut Vec<f64>) {
        for c in &self.columns {
            let x = raw[c.feature];
            let v = if c.missing_indicator {
                f64::from(u8::from(x.is_nan()))
            } else if x.is_nan() {
                c.fill
            } else {
                x
            };
            out.push((v - c.mean) / c.sd);
        }
    }

    pub fn transform(&self, raw: &[f64]) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.columns.len());
        self.transform_into(raw, &mut out);
        out
    }
}

fn sd_or_one(var: f64) -> f64 {
    let sd = var.sqrt();
    if sd > 1e-12 { sd } else { 1.0 }
}

/// Probability cut-offs of the model's bands: red when the probability
/// is at least `red_from`, yellow at least `yellow_from`, else green.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelBands {
    pub red_from: f64,
    pub yellow_from: f64,
}

impl ModelBands {
    /// The cut-offs that put `red_share` of `probabilities` (the highest)
    /// in red and the next `yellow_share` in yellow: each half-way between
    /// the last probability in and the first out.
    pub fn matching(probabilities: &[f64], red_share: f64, yellow_share: f64) -> ModelBands {
        let mut p: Vec<f64> = probabilities
            .iter()
            .copied()
            .filter(|x| !x.is_nan())
            .collect();
        p.sort_by(|a, b| b.total_cmp(a));
        let cut = |share: f64| -> f64 {
            let k = (share.clamp(0.0, 1.0) * p.len() as f64).round() as usize;
            match (k, p.len()) {
                (_, 0) => 0.5,
                (0, _) => p[0] + 1e-9,
                (k, n) if k >= n => p[n - 1] - 1e-9,
                (k, _) => (p[k - 1] + p[k]) / 2.0,
            }
        };
        let red_from = cut(red_share);
        let yellow_from = cut(red_share + yellow_share).min(red_from);
        ModelBands {
            red_from,
            yellow_from,
        }
    }

    /// The health [`Bands`] over −probability that give the same bands
    /// (a probability exactly at a cut-off counts in the lower-risk band
    /// there; cut-offs lie between observed values).
    pub fn as_score_bands(&self) -> Bands {
        Bands {
            yellow_from: -self.red_from,
            green_from: -self.yellow_from,
        }
    }
}

/// A fitted churn model: scaling, intercept and one coefficient per
/// column of the scaling (the log-odds of churn within the horizon).
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnModel {
    pub scaling: Scaling,
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    pub bands: ModelBands,
}

impl ChurnModel {
    /// The probability of churn within the horizon for one row of raw
    /// features.
    pub fn probability(&self, raw: &[f64]) -> f64 {
        let z = self.scaling.transform(raw);
        sigmoid(
            self.intercept
                + z.iter()
                    .zip(&self.coefficients)
                    .map(|(x, w)| x * w)
                    .sum::<f64>(),
        )
    }

    /// Each feature's share of the log-odds: coefficient × standardised
    /// value, summed over its value and missing-indicator columns; positive
    /// raises the risk. Indexed by feature.
    pub fn contributions(&self, raw: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; raw.len()];
        let z = self.scaling.transform(raw);
        for ((c, x), w) in self.scaling.columns.iter().zip(&z).zip(&self.coefficients) {
            out[c.feature] += x * w;
        }
        out
    }
}

pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Fits an L2-regularised logistic regression on standardised rows
/// (flattened, `columns` values each) with churned = true, returning the
/// intercept and coefficients of the log-odds of churn.
pub fn fit(
    x: Vec<f64>,
    columns: usize,
    churned: &[bool],
    alpha: f64,
) -> Result<(f64, Vec<f64>), ChurnError> {
    let n = churned.len();
    let x = Array2::from_shape_vec((n, columns), x).map_err(|e| ChurnError::Fit(e.to_string()))?;
    let y: Array1<bool> = churned.iter().copied().collect();
    let dataset = Dataset::new(x, y);
    let fitted = LogisticRegression::default()
        .alpha(alpha)
        .max_iterations(300)
        .fit(&dataset)
        .map_err(|e| ChurnError::Fit(e.to_string()))?;
    // linfa's positive class is the larger one (retained accounts, as a
    // rule): flip the signs when it is not churn.
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    Ok((
        sign * fitted.intercept(),
        fitted.params().iter().map(|w| sign * w).collect(),
    ))
}

/// One row of the reliability table: a tenth of the accounts by predicted
/// probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReliabilityRow {
    pub accounts: usize,
    pub churned: usize,
    pub min_predicted: f64,
    pub max_predicted: f64,
    pub mean_predicted: f64,
    pub observed: f64,
}

/// The reliability table: accounts sorted by predicted probability and cut
/// into `bins` groups of (nearly) equal size, lowest first; in each, the
/// mean prediction beside the observed churn rate.
pub fn reliability(predictions: &[(f64, bool)], bins: usize) -> Vec<ReliabilityRow> {
    let mut sorted: Vec<(f64, bool)> = predictions.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = sorted.len();
    let mut out = Vec::new();
    for b in 0..bins {
        let (lo, hi) = (b * n / bins, (b + 1) * n / bins);
        if lo == hi {
            continue;
        }
        let part = &sorted[lo..hi];
        let churned = part.iter().filter(|p| p.1).count();
        out.push(ReliabilityRow {
            accounts: part.len(),
            churned,
            min_predicted: part[0].0,
            max_predicted: part[part.len() - 1].0,
            mean_predicted: part.iter().map(|p| p.0).sum::<f64>() / part.len() as f64,
            observed: churned as f64 / part.len() as f64,
        });
    }
    out
}

/// Mean squared difference between the predicted probability and the
/// outcome (1 churned, 0 retained); `None` without predictions.
pub fn brier(predictions: &[(f64, bool)]) -> Option<f64> {
    if predictions.is_empty() {
        return None;
    }
    let sum: f64 = predictions
        .iter()
        .map(|&(p, c)| (p - f64::from(u8::from(c))).powi(2))
        .sum();
    Some(sum / predictions.len() as f64)
}

/// The area under the precision–recall curve as average precision: going
/// down the predictions from the highest, each group of equal probability
/// adds its share of the churned accounts times the precision once it is
/// included. The base rate is what a random ranking scores. `None`
/// without churned accounts.
pub fn pr_auc(predictions: &[(f64, bool)]) -> Option<f64> {
    let mut sorted: Vec<(f64, bool)> = predictions
        .iter()
        .copied()
        .filter(|p| !p.0.is_nan())
        .collect();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = sorted.iter().filter(|p| p.1).count() as f64;
    if positives == 0.0 {
        return None;
    }
    let (mut tp, mut seen, mut ap) = (0.0, 0.0, 0.0);
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j].0 == sorted[i].0 {
            j += 1;
        }
        let c = sorted[i..j].iter().filter(|p| p.1).count() as f64;
        tp += c;
        seen += (j - i) as f64;
        ap += c / positives * (tp / seen);
        i = j;
    }
    Some(ap)
}

/// Everything the report shows of one set of predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// AUC (churned ranked above retained), churn by the model's bands,
    /// churned while green, the worst (highest-probability) decile's churn
    /// rate and lift: [`backtest_stats`] over −probability.
    pub stats: BacktestStats,
    pub pr_auc: Option<f64>,
    pub brier: Option<f64>,
    pub reliability: Vec<ReliabilityRow>,
}

/// Judges `(probability, churned)` pairs with the model's bands.
pub fn evaluate(predictions: &[(f64, bool)], bands: &ModelBands) -> Evaluation {
    let as_scores: Vec<(f64, bool)> = predictions.iter().map(|&(p, c)| (-p, c)).collect();
    Evaluation {
        stats: backtest_stats(&as_scores, &bands.as_score_bands()),
        pr_auc: pr_auc(predictions),
        brier: brier(predictions),
        reliability: reliability(predictions, 10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::health::SignalsBuilder;

    /// Hand-worked: probabilities 0.9 (churned), 0.8 (retained), 0.7
    /// (churned), 0.1 (retained).
    fn four() -> Vec<(f64, bool)> {
        vec![(0.9, true), (0.8, false), (0.7, true), (0.1, false)]
    }

    #[test]
    fn auc_and_pr_auc_by_hand() {
        // AUC: pairs (churned, retained) with the churned higher: 0.9 > 0.8,
        // 0.9 > 0.1, 0.7 > 0.1, not 0.7 > 0.8: 3 of 4.
        let e = evaluate(
            &four(),
            &ModelBands::matching(&[0.9, 0.8, 0.7, 0.1], 0.25, 0.25),
        );
        assert_eq!(e.stats.auc, Some(0.75));
        // Average precision: recall 1/2 at precision 1/1 (0.9), then recall
        // 2/2 at precision 2/3 (0.7): 0.5 × 1 + 0.5 × 2/3 = 5/6.
        let ap = pr_auc(&four()).unwrap();
        assert!((ap - 5.0 / 6.0).abs() < 1e-12, "{ap}");
        // Ties: all four at 0.5 → precision 2/4 at recall 1.
        let tied: Vec<(f64, bool)> = four().into_iter().map(|(_, c)| (0.5, c)).collect();
        assert_eq!(pr_auc(&tied), Some(0.5));
        assert_eq!(pr_auc(&[(0.3, false)]), None);
    }

    #[test]
    fn brier_by_hand() {
        // (0.9−1)² + (0.8−0)² + (0.7−1)² + (0.1−0)² = 0.01 + 0.64 + 0.09
        // + 0.01 = 0.75, over 4.
        let b = brier(&four()).unwrap();
        assert!((b - 0.1875).abs() < 1e-12, "{b}");
        assert_eq!(brier(&[]), None);
    }

    #[test]
    fn bands_match_shares_and_worst_decile_is_the_highest_probabilities() {
        // 20 accounts, probabilities 0.05 .. 1.0; the two highest churned.
        let preds: Vec<(f64, bool)> = (1..=20).map(|i| (f64::from(i) / 20.0, i > 18)).collect();
        let probs: Vec<f64> = preds.iter().map(|p| p.0).collect();
        let bands = ModelBands::matching(&probs, 0.25, 0.25);
        assert!((bands.red_from - 0.775).abs() < 1e-12);
        assert!((bands.yellow_from - 0.525).abs() < 1e-12);
        let e = evaluate(&preds, &bands);
        assert_eq!(e.stats.red.accounts, 5);
        assert_eq!(e.stats.yellow.accounts, 5);
        assert_eq!(e.stats.green.accounts, 10);
        assert_eq!(e.stats.churned_while_green, Some(0.0));
        assert_eq!(e.stats.worst_decile_churn_rate, Some(1.0));
        assert_eq!(e.stats.worst_decile_lift, Some(10.0));
        assert_eq!(e.stats.auc, Some(1.0));
        let r = &e.reliability;
        assert_eq!(r.len(), 10);
        assert_eq!((r[9].accounts, r[9].churned), (2, 2));
        assert!((r[0].mean_predicted - 0.075).abs() < 1e-12);
    }

    #[test]
    fn scaling_imputes_the_mean_with_an_indicator_and_standardises() {
        let names = vec!["a".to_string(), "b".to_string()];
        // a: 1, 3 (mean 2, sd 1); b: 10, missing.
        let rows = [1.0, 10.0, 3.0, f64::NAN];
        let s = Scaling::fit(&names, &rows);
        let cols: Vec<(&str, bool)> = s
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.missing_indicator))
            .collect();
        assert_eq!(cols, [("a", false), ("b", false), ("b: missing", true)]);
        assert_eq!(s.transform(&[3.0, f64::NAN]), vec![1.0, 0.0, 1.0]);
        assert_eq!(s.transform(&[1.0, 10.0]), vec![-1.0, 0.0, -1.0]);
    }

    #[test]
    fn split_keeps_training_labels_before_the_test_dates() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let dates: Vec<Date> = (1..=12).map(|m| Date::new(2025, m, 1).unwrap()).collect();
        let (train, test) = split_dates(&dates, 90).unwrap();
        assert_eq!(test.first(), Some(&d("2025-09-01")));
        assert_eq!(test.len(), 4);
        // 2025-06-01 + 90 days = 2025-08-30 ≤ 2025-09-01; 07-01 is not.
        assert_eq!(train.last(), Some(&d("2025-06-01")));
        let few = split_dates(&dates[..3], 90).unwrap_err();
        assert!(few.to_string().contains("training as-of date"), "{few}");
    }

    #[test]
    fn fit_finds_the_direction_of_risk() {
        // Churn when x is high: the coefficient must be positive.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..200 {
            let v = f64::from(i) / 100.0 - 1.0;
            x.push(v);
            y.push((i * 37) % 200 < i);
        }
        let (_, w) = fit(x, 1, &y, 1.0).unwrap();
        assert!(w[0] > 0.5, "{w:?}");
    }

    #[test]
    fn a_churn_risk_measure_is_never_a_feature_of_the_model() {
        let config = crate::config::parse_config(
            r#"
[[health.measures]]
name = "Churn risk"
kind = "churn_risk"
weight = 1
linear = { min = 0, max = 0.5, direction = "lower_is_better" }

[[health.measures]]
name = "Tickets"
kind = "open_tickets"
weight = 1
linear = { min = 0, max = 5, direction = "lower_is_better" }
"#,
        )
        .unwrap();
        let model = HealthModel::new(&config.health);
        assert!(model.plan().needs_churn_risk);
        let features = FeatureSet::new(&model);
        assert!(!features.plan().needs_churn_risk);
        let measures: Vec<&String> = features
            .names()
            .iter()
            .filter(|n| n.starts_with("measure: "))
            .collect();
        assert_eq!(measures, ["measure: Tickets"]);
        // The measure read by the remaining feature is the right one.
        let mut s = AccountSignals::empty(features.plan(), "2025-03-31".parse().unwrap());
        s.open_tickets.add(crate::model::Priority::Normal, 3);
        s.churn_risk = Some(0.9);
        let mut row = Vec::new();
        features.row(&model, &s, None, &mut row);
        assert_eq!(row[0], 3.0);
    }

    #[test]
    fn top_event_names_are_the_most_frequent_in_a_fixed_order() {
        let t = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
            v.iter().map(|(n, c)| (n.to_string(), *c)).collect()
        };
        let totals = t(&[("b", 5), ("a", 5), ("c", 9), ("z", 0), ("d", 1)]);
        assert_eq!(top_event_names(&totals, 3), ["c", "a", "b"]);
        // Names without events never count, however many are asked for.
        assert_eq!(top_event_names(&totals, 10), ["c", "a", "b", "d"]);
        // The input order does not matter.
        let mut reversed = totals.clone();
        reversed.reverse();
        assert_eq!(top_event_names(&reversed, 3), ["c", "a", "b"]);
        assert!(top_event_names(&totals, 0).is_empty());
    }

    /// The features of one account with `last` "sent" events in the last
    /// 28 days and `before` in the 28 before, and each feature's index.
    fn sent_words(last: u64, before: u64) -> (String, String) {
        let (trend, count, _) = sent_reasons(last, before);
        (trend, count)
    }

    /// [`sent_words`], and whether the trend and the 28-day count read as
    /// risk.
    fn sent_reasons(last: u64, before: u64) -> (String, String, (bool, bool)) {
        let model = HealthModel::new(&Config::default().health);
        let features = FeatureSet::with_event_names(&model, &["sent".to_string()]);
        let at = |n: &str| features.names().iter().position(|x| x == n).unwrap();
        let mut s = AccountSignals::empty(features.plan(), "2025-03-31".parse().unwrap());
        let plan = features.plan();
        let filter = plan
            .event_filters
            .iter()
            .position(|f| *f == EventFilter::Named(vec!["sent".to_string()]))
            .unwrap();
        for (slot, w) in plan.event_windows.iter().enumerate() {
            if w.filter == filter && w.window == Window::ending_on_as_of(28) {
                s.event_counts[slot] = last;
            }
            if w.filter == filter && w.window == PREVIOUS_28 {
                s.event_counts[slot] = before;
            }
        }
        let mut raw = Vec::new();
        features.row(&model, &s, None, &mut raw);
        // A typical account: 14 events in 28 days.
        let mut typical = vec![0.0; raw.len()];
        let e28 = at("“sent” events in the last 28 days (log)");
        typical[e28] = 15f64.ln();
        let trend = at("“sent” event trend: last 28 days against the 28 before (log ratio)");
        (
            features.words(trend, &raw, &typical),
            features.words(e28, &raw, &typical),
            (
                features.reads_as_risk(trend, &raw, &typical),
                features.reads_as_risk(e28, &raw, &typical),
            ),
        )
    }

    #[test]
    fn usage_reads_as_risk_only_below_the_typical_account() {
        // Falling, and fewer than typical: both are reasons.
        assert_eq!(sent_reasons(12, 30).2, (true, true));
        // Rising, and more than typical (31 against 14): neither is, even
        // when a weight of the other sign makes them raise the risk.
        assert_eq!(sent_reasons(31, 20).2, (false, false));
        // No change: the trend is not a reason; 3 events against 14 is.
        assert_eq!(sent_reasons(3, 3).2, (false, true));
        // Features other than usage are always readable.
        let model = HealthModel::new(&Config::default().health);
        let features = FeatureSet::new(&model);
        let tenure = features
            .names()
            .iter()
            .position(|n| n.starts_with("tenure"))
            .unwrap();
        let raw = vec![1.0; features.len()];
        assert!(features.reads_as_risk(tenure, &raw, &vec![2.0; features.len()]));
        assert!(features.reads_as_risk(tenure, &raw, &vec![0.5; features.len()]));
    }

    #[test]
    fn per_name_features_in_words() {
        let (trend, count) = sent_words(12, 30);
        assert_eq!(
            trend,
            "“sent” events fell 60 % in the last 28 days (12 against 30)"
        );
        assert_eq!(count, "12 “sent” events in the last 28 days (typical 14)");
        let (trend, _) = sent_words(45, 30);
        assert_eq!(
            trend,
            "“sent” events rose 50 % in the last 28 days (45 against 30)"
        );
        let (trend, count) = sent_words(0, 30);
        assert_eq!(
            trend,
            "“sent” events fell 100 % in the last 28 days (0 against 30)"
        );
        assert_eq!(count, "no “sent” events in 28 days (typical 14)");
        let (_, count) = sent_words(1, 0);
        assert_eq!(count, "1 “sent” event in the last 28 days (typical 14)");
        let (trend, _) = sent_words(0, 0);
        assert_eq!(trend, "no “sent” events in the last 56 days");
        let (trend, _) = sent_words(7, 0);
        assert_eq!(
            trend,
            "“sent” events rose from none to 7 in the last 28 days"
        );
    }

    #[test]
    fn per_name_features_follow_the_fixed_ones_in_the_order_given() {
        let model = HealthModel::new(&Config::default().health);
        let plain = FeatureSet::new(&model);
        let names = ["b".to_string(), "a".to_string()];
        let features = FeatureSet::with_event_names(&model, &names);
        assert_eq!(features.event_names(), names);
        assert_eq!(features.len(), plain.len() + 8);
        assert_eq!(features.names()[..plain.len()], *plain.names());
        assert_eq!(
            features.names()[plain.len()..],
            [
                "“b” events in the last 7 days (log)",
                "“b” events in the last 28 days (log)",
                "“b” events in the last 90 days (log)",
                "“b” event trend: last 28 days against the 28 before (log ratio)",
                "“a” events in the last 7 days (log)",
                "“a” events in the last 28 days (log)",
                "“a” events in the last 90 days (log)",
                "“a” event trend: last 28 days against the 28 before (log ratio)",
            ]
        );
    }

    #[test]
    fn features_read_only_the_signals_up_to_the_as_of_date() {
        let config = Config::default();
        let model = HealthModel::new(&config.health);
        let features =
            FeatureSet::with_event_names(&model, &["login".to_string(), "sent".to_string()]);
        let as_of: Date = "2025-03-31".parse().unwrap();
        let day = |s: &str| {
            i64::from(day_number(s.parse().unwrap())) * crate::model::MICROS_PER_DAY + 3_600_000_000
        };
        let build = |later: bool| {
            let mut b = SignalsBuilder::new(features.plan(), &[as_of], 1, &config.currency);
            b.event(0, "u1", "login", day("2025-03-20"));
            b.event(0, "u1", "login", day("2025-02-10"));
            b.event(0, "u1", "sent", day("2025-03-31"));
            b.event(0, "u1", "sent", day("2025-02-01"));
            b.engagement(0, day("2025-03-01"));
            if later {
                b.event(0, "u2", "login", day("2025-04-01"));
                b.event(0, "u2", "sent", day("2025-04-01"));
                b.event(0, "u2", "other", day("2025-04-01"));
                b.engagement(0, day("2025-04-02"));
            }
            let mut row = Vec::new();
            features.row(
                &model,
                &b.finish().signals(0, 0),
                Some("2024-03-31".parse().unwrap()),
                &mut row,
            );
            row
        };
        let (before, after) = (build(false), build(true));
        assert_eq!(before.len(), features.len());
        let same = before
            .iter()
            .zip(&after)
            .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()));
        assert!(same, "{before:?} vs {after:?}");
        let tenure = features
            .names()
            .iter()
            .position(|n| n.starts_with("tenure"))
            .unwrap();
        assert_eq!(before[tenure], 365.0);
        let e7 = features
            .names()
            .iter()
            .position(|n| n.contains("last 7 days"))
            .unwrap();
        // All events: "sent" on the as-of day in 7 days; with "login" on
        // 03-20, two in 28.
        assert_eq!(before[e7], 2f64.ln());
        let e28 = features
            .names()
            .iter()
            .position(|n| n.contains("last 28 days (log)"))
            .unwrap();
        assert!((before[e28] - 3f64.ln()).abs() < 1e-12);
        let at = |n: &str| features.names().iter().position(|x| x == n).unwrap();
        // "sent": one event on the as-of day, one 58 days before it.
        assert_eq!(
            before[at("“sent” events in the last 7 days (log)")],
            2f64.ln()
        );
        assert_eq!(
            before[at("“sent” events in the last 90 days (log)")],
            3f64.ln()
        );
        assert_eq!(
            before[at("“sent” event trend: last 28 days against the 28 before (log ratio)")],
            2f64.ln()
        );
        // "login": one in the last 28 days (03-20), one 49 days before.
        assert_eq!(
            before[at("“login” events in the last 28 days (log)")],
            2f64.ln()
        );
        assert_eq!(
            before[at("“login” event trend: last 28 days against the 28 before (log ratio)")],
            0.0
        );
    }
}
