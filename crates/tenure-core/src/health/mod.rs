//! Health scores (docs/HEALTH.md): a scorecard of weighted measures turns each
//! account's recent activity into a 0–100 score with a colour band and an
//! explanation.
//!
//! The pipeline, for one or many as-of dates:
//!
//! 1. [`HealthModel::new`] compiles the `[health]` configuration. Its
//!    [`SignalPlan`] lists the aggregates the scorecards need.
//! 2. The store fills one [`AccountSignals`] per account and as-of date,
//!    either from aggregated queries or by streaming raw rows through a
//!    [`SignalsBuilder`] (any order, many dates in one pass, no look-ahead).
//! 3. [`HealthModel::score`] picks each measure's raw value from the signals,
//!    normalises it to 0–100 ([`Normalisation`]), and averages the points
//!    weighted over the measures that have data. The [`HealthScore`] carries
//!    the per-measure explanation, the band and any manual [`Override`].
//! 4. [`score_deltas`] gives 7- and 30-day trends from stored snapshots;
//!    [`backtest_stats`] measures how well past scores predicted churn.
//! 5. [`check_override`] holds the rules every manual score follows,
//!    whichever surface sets it.
//!
//! ```
//! use tenure_core::config::Config;
//! use tenure_core::health::{HealthModel, SignalsBuilder};
//!
//! let config = Config::default();
//! let model = HealthModel::new(&config.health);
//! let as_of: jiff::civil::Date = "2025-03-31".parse().unwrap();
//! let mut b = SignalsBuilder::new(model.plan(), &[as_of], 1, &config.currency);
//! b.event(0, "u1", "report_created", 1_743_000_000_000_000);
//! let signals = b.finish().signals(0, 0);
//! let score = model.score(0, &signals, &[]);
//! assert!(score.computed.is_some());
//! ```

mod backtest;
mod day;
pub mod fit;
mod history;
mod overrides;
mod score;
mod scorecard;
pub mod signals;

pub use backtest::{BacktestStats, BandOutcome, auc, backtest_stats, churned_within};
pub use day::DayEvents;
pub use history::{
    DELTA_TOLERANCE_DAYS, ScoreDeltas, Since, change_reference, change_sentence, mean_score,
    score_days_before, score_deltas,
};
pub use overrides::{
    CheckedOverride, MAX_OVERRIDE_DAYS, MAX_REASON_CHARS, OverrideField, OverrideProblem,
    check_override,
};
pub use score::{
    DayRanks, HealthModel, HealthScore, MeasureResult, Override, RanksBuilder, input_of, lacking,
    percentile_of,
};
pub use scorecard::{
    Among, Band, Bands, Denominator, Direction, HealthConfig, Measure, MeasureKind, Normalisation,
    Per, PriorityWeights, Relative, Scorecard, ScorecardMatch, Step,
};
pub use signals::{
    AccountSignals, CHURN_PREDICTION_MAX_AGE_DAYS, EventFilter, EventWindow, FeatureWindow,
    LatestNps, SignalPlan, SignalsBuilder, SignalsTable, SumCount, TicketCounts, Window,
    attribute_number, churn_prediction_day,
};

/// The adaptive scorecard (docs/HEALTH.md): the `[health]` part of a
/// `tenure.toml` whose usage measures are percentiles among the company's
/// customers on the as-of date and against the account's own baseline.
pub const ADAPTIVE_SCORECARD: &str = include_str!("adaptive.toml");

/// The threshold scorecard (docs/HEALTH.md), the default before the
/// adaptive one: the `[health]` part of a `tenure.toml` whose measures are
/// placed by absolute thresholds, with tickets, engagement and two key
/// features.
pub const THRESHOLD_SCORECARD: &str = include_str!("thresholds.toml");

#[cfg(test)]
mod tests;
