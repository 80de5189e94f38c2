//! The command line: the global options and the list of commands, each
//! dispatched to its module. Every command module declares its own argument
//! types next to the code that reads them.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::data::{ConfigCommand, DbCommand, ExportArgs, ImportArgs};
use crate::demo::DemoArgs;
use crate::engage::View;
use crate::{data, demo, engage, health, metrics};

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
    /// Write a checked copy of the database while the server may run (docs/OPERATIONS.md).
    Backup(crate::backup::BackupArgs),
    /// Replace the database with a backup, then migrate it; stop the server first.
    Restore(crate::backup::RestoreArgs),
    /// Import a CSV or NDJSON file (optionally .gz), all or nothing.
    ///
    /// KIND is one of accounts, contacts, subscriptions, events, tickets,
    /// survey_responses, engagements. Rows are upserted by id; events are appended.
    /// With --from salesforce or --from hubspot, FILE is the CRM's own export
    /// and KIND is accounts (companies), contacts or opportunities (deals).
    Import(ImportArgs),
    /// Export every record of a kind, or `health` for a CRM (docs/CRM.md).
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
    /// Survival curves of accounts from first MRR (Kaplan–Meier, docs/METRICS.md).
    Survival(crate::survival::SurvivalArgs),
    /// Segments and touch tiers: accounts, ARR and health of each (docs/ENGAGE.md).
    Segments(engage::SegmentsArgs),
    /// Journey stages: accounts, time in stage and friction (docs/ENGAGE.md).
    Journey(engage::EngageArgs),
    /// Engagement cadence: the required engagements that are overdue (docs/ENGAGE.md).
    Cadence(engage::EngageArgs),
    /// Engagements with accounts: log one.
    Engagements {
        #[command(subcommand)]
        command: engage::EngagementsCommand,
    },
    /// Tasks: my tasks (overdue first); add, done, snooze, reassign, drop, reopen.
    Tasks(crate::tasks::TasksArgs),
    /// Success plans: goals, milestones and proven value (docs/TARGET.md).
    Plans(crate::plans::PlansArgs),
    /// Playbooks: the list, a dry run, the history of firings (docs/REACT.md).
    Plays(crate::plays::PlaysArgs),
    /// Surveys: the list with response rates, send what is due, rates by segment and CSM (docs/VOICE.md).
    Surveys(crate::surveys::SurveysArgs),
    /// The early-warning risk board: accounts at risk, ARR at risk, flag and resolve (docs/REACT.md).
    Risk(crate::risk::RiskArgs),
    /// Leadership reviews: list, show, hold with a decision per account (docs/REACT.md).
    Reviews(crate::risk::ReviewsArgs),
    /// Renewals: the forecast of ARR renewing and expected to renew from the churn model (docs/FORECAST.md).
    Renewals(crate::renewals::RenewalsArgs),
    /// Feedback from surveys, tickets and notes, with themes: list, themes, suggest (docs/FEEDBACK.md).
    Feedback(crate::feedback::FeedbackArgs),
    /// Product requests ranked by the ARR asking: list, add, link, status, export (docs/FEEDBACK.md).
    Requests(crate::feedback::RequestsArgs),
    /// CSM KPIs against their targets: CSMs side by side, the team, and by month (docs/TARGET.md).
    Kpis(crate::kpis::KpisArgs),
    /// Outbound email and webhooks: the send log, send what is due, test messages (docs/REACT.md).
    Outbound(crate::outbound::OutboundArgs),
    /// Customer lifetime value from transactions: fit BG/NBD and Gamma-Gamma, predict (docs/CLV.md).
    Clv(crate::clv::ClvArgs),
    /// The churn model: train and validate it beside the scorecard, predict (docs/CHURN.md).
    Churn(crate::churn::ChurnArgs),
    /// The CRM's account-change webhook: preview, queue or mark the changes sent (docs/CRM.md).
    Crm(crate::crm::CrmArgs),
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(args) => demo::run(&cli.db, &cli.config, args).await,
        Command::Init { force } => data::init(&cli.config, force),
        Command::Config {
            command: ConfigCommand::Check,
        } => data::config_check(&cli.config),
        Command::Db { command } => data::db(&cli.db, command).await,
        Command::Backup(args) => crate::backup::backup(&cli.db, args).await,
        Command::Restore(args) => crate::backup::restore(&cli.db, args).await,
        Command::Import(args) => data::import(&cli.db, &cli.config, args).await,
        Command::Export(args) => data::export(&cli.db, &cli.config, args).await,
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
        Command::Survival(args) => crate::survival::run(&cli.db, &cli.config, args).await,
        Command::Segments(args) => match args.command {
            Some(engage::SegmentsCommand::Suggest(s)) => {
                crate::suggest::run(&cli.db, &cli.config, s).await
            }
            None => engage::run(&cli.db, &cli.config, View::Segments, args.view).await,
        },
        Command::Journey(args) => engage::run(&cli.db, &cli.config, View::Journey, args).await,
        Command::Cadence(args) => engage::run(&cli.db, &cli.config, View::Cadence, args).await,
        Command::Engagements { command } => engage::log(&cli.db, &cli.config, command).await,
        Command::Tasks(args) => crate::tasks::run(&cli.db, &cli.config, args).await,
        Command::Plans(args) => crate::plans::run(&cli.db, &cli.config, args).await,
        Command::Plays(args) => crate::plays::run(&cli.db, &cli.config, args).await,
        Command::Surveys(args) => crate::surveys::run(&cli.db, &cli.config, args).await,
        Command::Kpis(args) => crate::kpis::run(&cli.db, &cli.config, args).await,
        Command::Outbound(args) => crate::outbound::run(&cli.db, &cli.config, args).await,
        Command::Risk(args) => crate::risk::run(&cli.db, &cli.config, args).await,
        Command::Reviews(args) => crate::risk::reviews(&cli.db, &cli.config, args).await,
        Command::Renewals(args) => crate::renewals::run(&cli.db, &cli.config, args).await,
        Command::Feedback(args) => crate::feedback::run(&cli.db, &cli.config, args).await,
        Command::Requests(args) => crate::feedback::requests(&cli.db, &cli.config, args).await,
        Command::Clv(args) => crate::clv::run(args),
        Command::Churn(args) => crate::churn::run(&cli.db, &cli.config, args).await,
        Command::Crm(args) => crate::crm::run(&cli.db, &cli.config, args).await,
    }
}
