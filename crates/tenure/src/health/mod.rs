//! `tenure health`: today's scores with their explanation, daily snapshots
//! without look-ahead, history and group trends, manual overrides, what
//! changed since a date, and the churn backtest (docs/HEALTH.md).
//!
//! The pipelines are `tenure_app::health`; this module parses arguments
//! and prints: [`scores`] (the list, one account explained, the diff),
//! [`history`] (an account's snapshots, groups, overrides) and
//! [`backtest`], [`fit`].

mod backtest;
mod fit;
mod history;
mod scores;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use jiff::civil::Date;
use tenure_app::health::Progress;
use tenure_core::model::day_number;

use crate::BadInput;
use crate::data::{Format, print_json};
use crate::data::{open_store, progress_bar};
use tenure_app::command::load_config;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HealthArgs {
    #[command(subcommand)]
    pub command: Option<HealthCommand>,
    #[command(flatten)]
    pub show: ShowArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Only this account, with the full explanation.
    #[arg(long)]
    pub account: Option<String>,
    /// Score as of the end of this UTC day (default: today).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Also list accounts that are neither paying nor in trial on that day.
    #[arg(long)]
    pub all: bool,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IntervalArg {
    Day,
    Week,
    Month,
}

#[derive(Debug, Subcommand)]
pub enum HealthCommand {
    /// Compute and store daily snapshots, each from the data as it was on its day.
    Recompute(RecomputeArgs),
    /// An account's stored daily scores.
    History(HistoryArgs),
    /// Mean score and band mix of groups of accounts over time, from snapshots.
    Groups(GroupsArgs),
    /// Set a manual score (or clear it: `override clear ACCOUNT` or `--clear`).
    Override(OverrideArgs),
    /// List manual overrides: those that apply today or later, or --all.
    Overrides(OverridesArgs),
    /// What changed in an account's score since a day, measure by measure.
    Diff(DiffArgs),
    /// How well past scores predicted churn, at monthly as-of dates.
    Backtest(BacktestArgs),
    /// Suggest weights and thresholds for the scorecard from history, with
    /// the backtest before and after on later dates.
    Fit(FitArgs),
}

#[derive(Debug, Args)]
pub struct RecomputeArgs {
    /// First day (default: today).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day (default: today).
    #[arg(long)]
    pub to: Option<String>,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[arg(long)]
    pub account: String,
    #[arg(long)]
    pub from: Option<String>,
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct GroupsArgs {
    /// `plan`, `csm`, `region`, `industry` or a custom attribute such as `segment`.
    #[arg(long)]
    pub by: String,
    /// First day (default: 90 days before --to).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day (default: today).
    #[arg(long)]
    pub to: Option<String>,
    /// One row per group and interval, from the interval's last snapshot day.
    #[arg(long, value_enum, default_value = "week")]
    pub interval: IntervalArg,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct OverrideArgs {
    /// ACCOUNT, or `clear ACCOUNT`.
    #[arg(num_args = 1..=2, required = true)]
    pub target: Vec<String>,
    /// The score to show, 0–100.
    #[arg(long)]
    pub score: Option<f64>,
    /// Why (shown with the score).
    #[arg(long)]
    pub reason: Option<String>,
    /// The last day it applies.
    #[arg(long)]
    pub until: Option<String>,
    /// Who sets it (default: $USER).
    #[arg(long)]
    pub author: Option<String>,
    /// Clear the account's overrides from today on.
    #[arg(long)]
    pub clear: bool,
}

#[derive(Debug, Args)]
pub struct OverridesArgs {
    #[arg(long)]
    pub all: bool,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[arg(long)]
    pub account: String,
    #[arg(long)]
    pub since: String,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// Churned = MRR went to 0 within this many days after the as-of date.
    #[arg(long, default_value_t = 90)]
    pub horizon: u32,
    /// First as-of month (default: 12 months before --to).
    #[arg(long)]
    pub from: Option<String>,
    /// Last possible as-of date (default: today minus the horizon).
    #[arg(long)]
    pub to: Option<String>,
    /// Compare the health sections of these configuration files (default: the current one).
    #[arg(long = "scorecard")]
    pub scorecards: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct FitArgs {
    /// Churned = MRR went to 0 within this many days after the as-of date.
    #[arg(long, default_value_t = 90)]
    pub horizon: u32,
    /// First as-of month (default: 24 months before --to, or the first month with 56 days of product events before it when events start later).
    #[arg(long)]
    pub from: Option<String>,
    /// Last as-of date (default: today minus the horizon).
    #[arg(long)]
    pub to: Option<String>,
    /// `table`: the before/after table and the section to paste; `toml`:
    /// the section alone; `json`: the whole report.
    #[arg(long, value_enum, default_value = "table")]
    pub format: FitFormat,
}

/// What `tenure health fit` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FitFormat {
    Table,
    Json,
    Toml,
}

pub async fn run(db: &str, config_path: &std::path::Path, args: HealthArgs) -> Result<()> {
    let config = load_config(config_path)?;
    let store = open_store(db).await?;
    match args.command {
        None => scores::show(&store, &config, args.show).await,
        Some(HealthCommand::Recompute(a)) => recompute(&store, &config, a).await,
        Some(HealthCommand::History(a)) => history::history(&store, a).await,
        Some(HealthCommand::Groups(a)) => history::groups(&store, a).await,
        Some(HealthCommand::Override(a)) => history::set_override(&store, &config, a).await,
        Some(HealthCommand::Overrides(a)) => history::list_overrides(&store, a).await,
        Some(HealthCommand::Diff(a)) => scores::diff(&store, &config, a).await,
        Some(HealthCommand::Backtest(a)) => backtest::backtest(&store, &config, a).await,
        Some(HealthCommand::Fit(a)) => fit::run(&store, &config, a).await,
    }
}

/// Shows recompute's progress on a terminal's progress bar.
struct Bar(Option<indicatif::ProgressBar>);

impl Progress for Bar {
    fn start(&self, steps: u64) {
        if let Some(pb) = &self.0 {
            pb.set_length(steps);
            pb.set_position(0);
        }
    }

    fn step(&self) {
        if let Some(pb) = &self.0 {
            pb.inc(1);
        }
    }
}

async fn recompute(
    store: &tenure_store::Store,
    config: &tenure_core::config::Config,
    args: RecomputeArgs,
) -> Result<()> {
    let today = tenure_app::clock::today();
    let to = opt_date(args.to.as_deref(), "--to")?.unwrap_or(today);
    let from = opt_date(args.from.as_deref(), "--from")?.unwrap_or(to);
    if from > to {
        return Err(BadInput("--from is after --to".into()).into());
    }
    let t = std::time::Instant::now();
    let bar = Bar(progress_bar(0, args.quiet, false));
    if let Some(pb) = &bar.0 {
        pb.set_message("scoring");
    }
    let n = tenure_app::health::recompute(store, config, from, to, &bar).await?;
    if let Some(pb) = &bar.0 {
        pb.set_message("stages and segments");
    }
    // Stages and segments read the scores' 30-day change, so they come
    // after the scores of the same days.
    let engage = tenure_app::engage::rebuild(store, config, from, to, &bar).await?;
    if let Some(pb) = bar.0 {
        pb.finish_and_clear();
    }
    if !args.quiet {
        eprintln!(
            "stored {n} snapshots for {} day(s), {from} to {to}, and rebuilt the stage and segment history of {} account(s), in {:.1?}",
            day_number(to) - day_number(from) + 1,
            engage.accounts.len(),
            t.elapsed()
        );
    }
    Ok(())
}

// ----- helpers shared by the printing modules --------------------------------

fn parse_date(s: &str, flag: &str) -> Result<Date> {
    s.parse::<Date>().map_err(|_| {
        BadInput(format!(
            "{flag}: expected a date such as 2025-03-31, got {s:?}"
        ))
        .into()
    })
}

fn opt_date(s: Option<&str>, flag: &str) -> Result<Option<Date>> {
    s.map(|s| parse_date(s, flag)).transpose()
}

fn fmt_opt(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "-".to_string(), |x| format!("{x:.digits$}"))
}

fn fmt_delta(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |x| format!("{x:+.1}"))
}

fn fmt_raw(x: Option<f64>) -> String {
    match x {
        None => "-".to_string(),
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        Some(x) => format!("{x:.3}"),
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
