//! `tenure run-jobs`: the background jobs of `tenure_app::jobs` from cron
//! (`--once`) or in the foreground. `tenure serve` runs the same jobs
//! itself.

use std::time::Duration;

use anyhow::Result;
use clap::Args;
use tenure_app::jobs::{JobState, run_forever, run_once};

use crate::data::open_store;
use tenure_app::command::load_config;
use tenure_store::jobs::JobRun;

#[derive(Debug, Args)]
pub struct RunJobsArgs {
    /// Run one pass and exit (for cron).
    #[arg(long)]
    pub once: bool,
    /// Seconds between passes when not --once.
    #[arg(long, default_value_t = 30)]
    pub interval: u64,
    /// Show the last passes recorded by every process sharing the
    /// database (newest first) and exit.
    #[arg(long, conflicts_with = "once")]
    pub status: bool,
    /// How many passes `--status` shows.
    #[arg(long, default_value_t = 20, requires = "status")]
    pub limit: usize,
}

/// Prints the last `limit` passes, newest first.
fn print_status(out: &mut impl std::io::Write, runs: &[JobRun], limit: usize) -> Result<()> {
    if runs.is_empty() {
        writeln!(out, "no pass recorded yet")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<20} {:<8} {:<10} {:>8} {:<7} {:>7}  process",
        "started (UTC)", "job", "day", "took", "outcome", "written"
    )?;
    for r in runs.iter().rev().take(limit) {
        let started = crate::outbound::time(Some(r.started_at));
        let took = (r.finished_at - r.started_at) as f64 / 1e6;
        writeln!(
            out,
            "{started:<20} {:<8} {:<10} {:>7.2}s {:<7} {:>7}  {}",
            r.job, r.day, took, r.outcome, r.written, r.instance
        )?;
        if let Some(e) = &r.error {
            writeln!(out, "    error: {e}")?;
        }
    }
    Ok(())
}

/// `tenure run-jobs`.
pub async fn run(db: &str, config_path: &std::path::Path, args: RunJobsArgs) -> Result<()> {
    let config = load_config(config_path)?;
    let store = open_store(db).await?;
    if args.status {
        let runs = store.job_runs(None).await?;
        print_status(&mut std::io::stdout().lock(), &runs, args.limit)?;
        return Ok(());
    }
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
        crate::outbound::print_waiting_for_smtp(&d);
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
