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
//!
//! Like the `tenure` command, it takes `--db` and `--config` (or
//! `TENURE_DB` and `TENURE_CONFIG`; `health` ignores both: it builds its
//! own database in its work folder and scores with the default
//! configuration), and it uses only the library crates
//! (`tenure-core`, `tenure-store`, `tenure-app`). Exit codes: 2 for bad
//! input, 1 for other failures, 0 when standard output is closed early.

mod health;
mod metrics;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use tenure_core::config::{Config, parse_config};

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
}

/// An error caused by the user's input (a bad flag or config): exit code 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Reads `tenure.toml`; a missing file gives the built-in defaults, errors
/// are one bad-input error listing each with the file name and line.
pub fn load_config(path: &Path) -> Result<Config> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(e) => return Err(BadInput(format!("cannot read {}: {e}", path.display())).into()),
    };
    parse_config(&text).map_err(|errors| {
        let lines: Vec<String> = errors
            .iter()
            .map(|e| format!("{} line {}: {}", path.display(), e.line, e.message))
            .collect();
        BadInput(format!(
            "{} has {} error(s):\n{}",
            path.display(),
            errors.len(),
            lines.join("\n")
        ))
        .into()
    })
}

fn exit_code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.downcast_ref::<BadInput>().is_some() {
            return 2;
        }
        if let Some(e) = cause.downcast_ref::<tenure_app::Error>()
            && e.is_bad_input()
        {
            return 2;
        }
        if let Some(tenure_store::StoreError::Invalid(_) | tenure_store::StoreError::BadUrl(_)) =
            cause.downcast_ref::<tenure_store::StoreError>()
        {
            return 2;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return 0;
        }
    }
    1
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Metrics(args) => metrics::run(&cli.db, &cli.config, args).await,
        Command::Health(args) => health::run(args).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = exit_code_for(&err);
            if code != 0 {
                eprintln!("error: {err:#}");
            }
            ExitCode::from(code)
        }
    }
}
