//! Command-line arguments and dispatch.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
use tenure_store::Kind;

use crate::{data, demo, health, metrics};

/// Tenure: customer success on your own infrastructure. Health scores,
/// revenue metrics, playbooks and a dashboard for your CS team.
#[derive(Debug, Parser)]
#[command(name = "tenure", version, about, long_about = None)]
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
    /// Generate a realistic demo company into the database and show it.
    Demo(DemoArgs),
    /// Write a commented tenure.toml to start from.
    Init {
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Check the configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Database schema: migrate and status.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Import a CSV or NDJSON file (optionally .gz), all or nothing.
    ///
    /// KIND is one of accounts, contacts, subscriptions, events, tickets,
    /// survey_responses, engagements. Rows are upserted by id; events are appended.
    Import(ImportArgs),
    /// Export every record of a kind.
    Export(ExportArgs),
    /// Health scores: explain, recompute history, override, diff, backtest.
    Health(health::HealthArgs),
    /// Background jobs (today's health scores); `tenure serve` runs them itself.
    RunJobs(crate::jobs::RunJobsArgs),
    /// Run the HTTP server: JSON API, Segment-compatible ingest, Stripe webhooks.
    Serve(crate::serve::ServeArgs),
    /// Users who log in to the web pages: add, list, password, disable, enable.
    Users {
        #[command(subcommand)]
        command: crate::admin::UsersCommand,
    },
    /// API keys and ingest (write) keys: create, list, revoke.
    Keys {
        #[command(subcommand)]
        command: crate::admin::KeysCommand,
    },
    /// Every revenue, retention, satisfaction and usage metric of a period.
    ///
    /// Definitions, edge cases and examples: docs/METRICS.md.
    Metrics(metrics::MetricsArgs),
    /// MRR analysis (docs/METRICS.md).
    Mrr {
        #[command(subcommand)]
        command: metrics::MrrCommand,
    },
    /// Cohort retention by month of first MRR (docs/METRICS.md).
    Cohorts(metrics::CohortsArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Report every error in the configuration file, with its line.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations.
    Migrate,
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What the file holds.
    pub kind: String,
    /// The file: CSV with a header row, or NDJSON (one JSON object per line).
    pub file: PathBuf,
    /// Create a bare account for rows whose account does not exist yet.
    #[arg(long)]
    pub create_missing_accounts: bool,
    /// File format; guessed from the file name when left out.
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// Import an events file again even if the same file was imported before.
    #[arg(long)]
    pub allow_reimport: bool,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InputFormat {
    Csv,
    Ndjson,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to export.
    pub kind: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: OutputFormat,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Csv,
    Json,
    Ndjson,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of customer accounts to simulate.
    #[arg(long, default_value_t = 2000)]
    pub accounts: u32,
    /// Random seed: the same seed and end date give the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Last simulated day (default: today, UTC).
    #[arg(long)]
    pub end: Option<String>,
    /// Days of history to simulate.
    #[arg(long, default_value_t = 730)]
    pub days: u32,
    /// Write importable files to this folder instead of loading the database.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Load the data but do not start the dashboard.
    #[arg(long)]
    pub no_serve: bool,
    /// Address the dashboard listens on.
    #[arg(long, env = "TENURE_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn parse_kind(s: &str) -> Result<Kind> {
    s.parse::<Kind>()
        .map_err(|e| crate::BadInput(e.to_string()).into())
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(args) => demo::run(&cli.db, &cli.config, args).await,
        Command::Init { force } => data::init(&cli.config, force),
        Command::Config {
            command: ConfigCommand::Check,
        } => data::config_check(&cli.config),
        Command::Db { command } => data::db(&cli.db, command).await,
        Command::Import(args) => data::import(&cli.db, &cli.config, args).await,
        Command::Export(args) => data::export(&cli.db, args).await,
        Command::Health(args) => health::run(&cli.db, &cli.config, args).await,
        Command::RunJobs(args) => crate::jobs::run(&cli.db, &cli.config, args).await,
        Command::Serve(args) => crate::serve::run(&cli.db, &cli.config, args).await,
        Command::Users { command } => crate::admin::users(&cli.db, command).await,
        Command::Keys { command } => crate::admin::keys(&cli.db, command).await,
        Command::Metrics(args) => metrics::run(&cli.db, &cli.config, args).await,
        Command::Mrr {
            command: metrics::MrrCommand::Movements(args),
        } => metrics::movements(&cli.db, &cli.config, args).await,
        Command::Cohorts(args) => metrics::cohorts(&cli.db, &cli.config, args).await,
    }
}
