//! `tenure run-jobs`: the background jobs of `tenure_app::jobs` from cron
//! (`--once`) or in the foreground. `tenure serve` runs the same jobs
//! itself.

use std::time::Duration;

use anyhow::Result;
use clap::Args;
use tenure_app::jobs::{JobState, run_forever, run_once};

use crate::data::open_store;
use tenure_app::command::load_config;

#[derive(Debug, Args)]
pub struct RunJobsArgs {
    /// Run one pass and exit (for cron).
    #[arg(long)]
    pub once: bool,
    /// Seconds between passes when not --once.
    #[arg(long, default_value_t = 30)]
    pub interval: u64,
}

/// `tenure run-jobs`.
pub async fn run(db: &str, config_path: &std::path::Path, args: RunJobsArgs) -> Result<()> {
    let config = load_config(config_path)?;
    let store = open_store(db).await?;
    if args.once {
        match run_once(&store, &config, &mut JobState::default()).await? {
            Some(n) => println!(
                "health: {n} snapshots for {} written",
                tenure_app::clock::today()
            ),
            None => println!(
                "health: nothing to do (the data has not changed since the last pass, \
                 or another process is running one)"
            ),
        }
        let d = tenure_app::outbound::deliver_due(&store, &config, tenure_app::clock::now_micros())
            .await?;
        println!(
            "outbound: {} sent, {} to retry, {} dead",
            d.sent, d.retrying, d.dead
        );
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
