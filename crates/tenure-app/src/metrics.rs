//! The metrics of docs/METRICS.md from the database: the bulk loads of the
//! store fed to `tenure_core::metrics`, for `tenure metrics`, `tenure mrr
//! movements`, `tenure cohorts` and the benchmarks.

use std::time::Instant;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::metrics::{
    Dataset, Interval, MetricsError, Period, Settings, Usage, UsageAccumulator,
};
use tenure_store::Store;
use tenure_store::analytics::LoadRange;

use crate::{Error, Result};

/// Everything computed for a period.
pub struct Computed {
    pub dataset: Dataset,
    pub settings: Settings,
    pub usage: Usage,
    /// Events read from the database.
    pub events: u64,
    /// Seconds spent loading accounts, subscriptions, responses and tickets
    /// (and indexing them), then streaming events and computing usage.
    pub load_seconds: f64,
    pub usage_seconds: f64,
}

/// The engine's errors the user can fix (a missing or invalid rate, an
/// inverted period) as [`Error::Invalid`].
fn engine_error(e: MetricsError) -> Error {
    match e {
        MetricsError::UnknownAccount { .. } => Error::Internal(e.to_string()),
        _ => Error::Invalid(e.to_string()),
    }
}

/// Loads what the period (or each interval of it) needs and computes: the
/// whole path from the database that `tenure metrics` and the benchmark
/// time. Accounts and subscriptions are loaded whole, responses and tickets
/// of the period only, events only in the 30-day windows ending with the
/// period or with each interval.
pub async fn compute(
    store: &Store,
    config: &Config,
    period: Period,
    interval: Option<Interval>,
) -> Result<Computed> {
    let (rates, settings) =
        Settings::from_config(config).map_err(|e| Error::Invalid(e.to_string()))?;
    let started = Instant::now();
    let load = store
        .load_metrics_input(Some(LoadRange {
            from: period.from(),
            to: period.to(),
        }))
        .await?;
    let dataset = Dataset::new(load.input, &rates).map_err(engine_error)?;
    let ends: Vec<Date> = match interval {
        Some(i) => period.split(i).iter().map(|p| p.to()).collect(),
        None => vec![period.to()],
    };
    let load_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut acc = UsageAccumulator::new(&ends);
    let events = store.stream_usage(&load.account_index, &mut acc).await?;
    let usage = acc.finish();
    Ok(Computed {
        dataset,
        settings,
        usage,
        events,
        load_seconds,
        usage_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Accounts and subscriptions only: what the MRR ledger and the cohort
/// table need.
pub async fn subscriptions_dataset(store: &Store, config: &Config) -> Result<Dataset> {
    let (rates, _) = Settings::from_config(config).map_err(|e| Error::Invalid(e.to_string()))?;
    let load = store.load_metrics_input(None).await?;
    Dataset::new(load.input, &rates).map_err(engine_error)
}
