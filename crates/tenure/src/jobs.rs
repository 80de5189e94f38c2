//! Background jobs: keep today's health snapshot fresh.
//!
//! `tenure serve` runs [`run_forever`] as a tokio task; `tenure run-jobs
//! --once` runs one pass for people who schedule it with cron. A pass
//! recomputes today's scores when the data changed since the last pass
//! (new events, rows, imports, overrides: see `DataFingerprint`), when the
//! UTC day changed, or when the last pass is older than an hour. Passes are
//! `interval` apart, so new data shows in scores within about two intervals.

use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use tenure_core::config::Config;
use tenure_store::Store;
use tenure_store::health::DataFingerprint;

use crate::data::open_store;
use crate::health::{recompute, today};
use crate::output::load_config;

/// Scores are refreshed at least this often even without new data.
const MAX_AGE: Duration = Duration::from_secs(3600);

#[derive(Debug, Args)]
pub struct RunJobsArgs {
    /// Run one pass and exit (for cron).
    #[arg(long)]
    pub once: bool,
    /// Seconds between passes when not --once.
    #[arg(long, default_value_t = 30)]
    pub interval: u64,
}

/// What the previous pass saw.
#[derive(Debug, Default)]
pub struct JobState {
    fingerprint: Option<DataFingerprint>,
    day: Option<jiff::civil::Date>,
    at: Option<Instant>,
}

/// One pass: recomputes today's snapshots if needed; returns how many were
/// written, or None when nothing had changed.
pub async fn run_once(store: &Store, config: &Config, state: &mut JobState) -> Result<Option<u64>> {
    let fingerprint = store.data_fingerprint().await?;
    let day = today();
    let fresh = state.fingerprint.as_ref() == Some(&fingerprint)
        && state.day == Some(day)
        && state.at.is_some_and(|t| t.elapsed() < MAX_AGE);
    if fresh {
        return Ok(None);
    }
    // The fingerprint was read before scoring, so data arriving during the
    // pass changes it and triggers the next pass.
    let written = recompute(store, config, day, day, true).await?;
    state.fingerprint = Some(fingerprint);
    state.day = Some(day);
    state.at = Some(Instant::now());
    Ok(Some(written))
}

/// Runs passes every `interval` until `stop` resolves; errors are logged and
/// the next pass tries again.
pub async fn run_forever(
    store: Store,
    config: Config,
    interval: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut state = JobState::default();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = ticker.tick() => {
                let started = Instant::now();
                match run_once(&store, &config, &mut state).await {
                    Ok(Some(n)) => tracing::info!(
                        snapshots = n,
                        ms = started.elapsed().as_millis() as u64,
                        "health scores refreshed"
                    ),
                    Ok(None) => {}
                    Err(e) => tracing::error!(error = format!("{e:#}"), "health refresh failed"),
                }
            }
        }
    }
}

/// `tenure run-jobs`.
pub async fn run(db: &str, config_path: &std::path::Path, args: RunJobsArgs) -> Result<()> {
    let config = load_config(config_path)?;
    let store = open_store(db).await?;
    if args.once {
        let n = run_once(&store, &config, &mut JobState::default())
            .await?
            .unwrap_or(0);
        println!("health: {n} snapshots for {} written", today());
        return Ok(());
    }
    crate::serve::init_logging(crate::serve::LogFormat::Compact);
    run_forever(
        store,
        config,
        Duration::from_secs(args.interval.max(1)),
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    )
    .await;
    Ok(())
}
