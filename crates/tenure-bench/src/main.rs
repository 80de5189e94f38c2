//! `tenure-bench`: Tenure's benchmarks, in their own binary so that the
//! shipping `tenure` binary carries none of them. docs/PERFORMANCE.md has
//! the figures and how to reproduce them.
//!
//! - `tenure-bench metrics` ([`metrics`]): times `tenure metrics` from the
//!   database for a quarter and a 24-month series; `scripts/bench.sh`
//!   compares the result with DuckDB.
//! - `tenure-bench health` ([`health`]): loads a demo company and times
//!   today's health scores (against DuckDB), a year of daily snapshots and
//!   the default scorecard's backtest.
//! - `tenure-bench engage` ([`engage`]): today's Engage pass and report on
//!   a demo company against today's health recompute in the same run, with
//!   peak memory and the cost of the CEL rules per account.
//! - `tenure-bench kpis` ([`kpis`]): the CSM KPIs of every portfolio and
//!   the team on a demo company (made-up portfolios by default, `--csms`),
//!   load and fold timed apart, against today's recompute in the same run.
//! - `tenure-bench plays` ([`plays`]): every default playbook evaluated
//!   on every account after today's scores and Engage, against today's
//!   recompute in the same run.
//! - `tenure-bench voice` ([`voice`]): the surveys the day's pass would
//!   send, the feedback refresh and the product requests' ranking, on a
//!   demo company with the demo's configuration, against today's
//!   recompute in the same run.
//!
//! Like the `tenure` command, it takes `--db` and `--config` (or
//! `TENURE_DB` and `TENURE_CONFIG`; `health` ignores both: it builds its
//! own database in its work folder and scores with the default
//! configuration), and it uses only the library crates
//! (`tenure-core`, `tenure-store`, `tenure-app`). Exit codes: 2 for bad
//! input, 1 for other failures, 0 when standard output is closed early.

mod engage;
mod health;
mod kpis;
mod metrics;
mod plays;
mod voice;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Tenure's benchmarks (docs/PERFORMANCE.md).
#[derive(Debug, Parser)]
#[command(name = "tenure-bench", version, about, long_about = None)]
pub struct Cli {
    /// Database URL: sqlite://FILE (created on first use) or postgres://...
    #[arg(
        long,
        global = true,
        env = "TENURE_DB",
        default_value = "sqlite://tenure.db"
    )]
    pub db: String,

    /// Configuration file.
    #[arg(
        long,
        global = true,
        env = "TENURE_CONFIG",
        default_value = "tenure.toml"
    )]
    pub config: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Time `tenure metrics` for a quarter and a 24-month monthly series.
    Metrics(metrics::BenchMetricsArgs),
    /// Health scores on a demo company, against DuckDB (docs/PERFORMANCE.md).
    Health(health::BenchHealthArgs),
    /// Engage (stages, segments, cadence) after today's health recompute.
    Engage(engage::BenchEngageArgs),
    /// CSM KPIs for every portfolio and the team, against today's recompute.
    Kpis(kpis::BenchKpisArgs),
    /// Every default playbook evaluated after today's scores and Engage.
    Plays(plays::BenchPlaysArgs),
    /// Surveys decided, feedback refreshed and requests ranked, with the demo's configuration.
    Voice(voice::BenchVoiceArgs),
}

pub use tenure_app::command::{BadInput, load_config};

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Metrics(args) => metrics::run(&cli.db, &cli.config, args).await,
        Command::Health(args) => health::run(args).await,
        Command::Engage(args) => engage::run(args).await,
        Command::Kpis(args) => kpis::run(args).await,
        Command::Plays(args) => plays::run(args).await,
        Command::Voice(args) => voice::run(args).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tenure_app::command::run_to_exit(run(cli))
}
