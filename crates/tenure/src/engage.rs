//! `tenure segments`, `tenure journey` and `tenure cadence`: the segments,
//! the journey funnel and friction, cadence compliance and the overdue
//! engagements, from `tenure_app::engage::report` (docs/ENGAGE.md); their
//! `--format json` is the API's shape. They record nothing: the
//! background job does (`tenure run-jobs --once`), and `tenure health
//! recompute --from` rebuilds the history.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::Args;
use tenure_app::command::load_config;
use tenure_app::engage::report::{ComplianceRow, Report, report};
use tenure_core::engage::cadence::Compliance;
use tenure_server::api::engage::{EngageParams, cadence_out, journey_out, query, segments_out};
use tenure_store::api::Scope;

use crate::BadInput;
use crate::data::{Format, open_store, print_json};

#[derive(Debug, Args)]
pub struct EngageArgs {
    /// The day (default: today, UTC).
    #[arg(long)]
    pub as_of: Option<String>,
    /// The first day of the period the funnel and compliance cover
    /// (default: 89 days before the day, a 90-day period).
    #[arg(long)]
    pub from: Option<String>,
    /// Only this CSM's accounts (their email).
    #[arg(long)]
    pub csm: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// `tenure segments`: the day's segments, or `suggest`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SegmentsArgs {
    #[command(subcommand)]
    pub command: Option<SegmentsCommand>,
    #[command(flatten)]
    pub view: EngageArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum SegmentsCommand {
    /// Suggest segments from revenue, size and usage (k-means), each with a rule to paste.
    Suggest(crate::suggest::SuggestArgs),
}

/// Which view of the day.
#[derive(Debug, Clone, Copy)]
pub enum View {
    Segments,
    Journey,
    Cadence,
}

pub async fn run(db: &str, config_path: &Path, view: View, args: EngageArgs) -> Result<()> {
    let config = load_config(config_path)?;
    // The API's reading of the day, the period and the CSM.
    let params = EngageParams {
        as_of: args.as_of.clone(),
        from: args.from.clone(),
        csm: args.csm.clone(),
    };
    let q = query(&params, &Scope::All, tenure_app::clock::today()).map_err(|e| {
        let e = e
            .strip_prefix("as_of: ")
            .map(|r| format!("--as-of: {r}"))
            .or_else(|| e.strip_prefix("from: ").map(|r| format!("--from: {r}")))
            .unwrap_or(e);
        BadInput(e)
    })?;
    let store = open_store(db).await?;
    let r = report(&store, &config, &q).await?;
    if args.format == Format::Json {
        match view {
            View::Segments => print_json(&segments_out(&r))?,
            View::Journey => print_json(&journey_out(&r))?,
            View::Cadence => print_json(&cadence_out(&r))?,
        }
    } else {
        let mut out = std::io::stdout().lock();
        match view {
            View::Segments => segments(&mut out, &r)?,
            View::Journey => journey(&mut out, &r)?,
            View::Cadence => cadence(&mut out, &r)?,
        }
    }
    if let Some((id, e)) = r.errors.first() {
        eprintln!(
            "note: {} rule(s) could not be decided on some accounts, e.g. {id}: {e}",
            r.errors.len()
        );
    }
    Ok(())
}

fn money(x: f64) -> String {
    crate::data::thousands(x.round().max(0.0) as u64)
}

fn share(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.0}%", v * 100.0))
}

fn days(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.0}"))
}

fn segments(out: &mut impl Write, r: &Report) -> Result<()> {
    writeln!(
        out,
        "segments on {} ({} accounts); churn of the accounts each held 90 days before; cadence compliance {} to {}",
        r.day, r.accounts, r.from, r.day
    )?;
    writeln!(
        out,
        "{:<24} {:<8} {:>8} {:>14} {:>7} {:>10} {:>11}",
        "segment", "tier", "accounts", "ARR", "health", "churn 90d", "compliance"
    )?;
    for s in &r.segments {
        writeln!(
            out,
            "{:<24} {:<8} {:>8} {:>14} {:>7} {:>10} {:>11}",
            s.row.name,
            s.row.tier,
            s.row.accounts,
            money(s.row.arr),
            s.row.mean_health.map_or("-".into(), |h| format!("{h:.1}")),
            share(s.churn.rate()),
            share(s.compliance.share())
        )?;
    }
    Ok(())
}

fn journey(out: &mut impl Write, r: &Report) -> Result<()> {
    writeln!(
        out,
        "journey on {} ({} accounts); funnel {} to {}",
        r.day, r.accounts, r.from, r.day
    )?;
    writeln!(
        out,
        "{:<16} {:>8} {:>14} {:>9} {:>7} {:>7} {:>8} {:>10} {:>9}",
        "stage", "accounts", "ARR", "days now", "target", "over", "entered", "converted", "days"
    )?;
    for s in &r.stages {
        writeln!(
            out,
            "{:<16} {:>8} {:>14} {:>9} {:>7} {:>7} {:>8} {:>10} {:>9}",
            s.row.name,
            s.row.accounts,
            money(s.row.arr),
            days(s.row.median_days),
            s.row.target_days.map_or("-".into(), |x| x.to_string()),
            s.row.over_target,
            s.funnel.entered,
            share(s.funnel.conversion()),
            days(s.funnel.median_days)
        )?;
    }
    let friction: Vec<_> = r.friction.iter().filter(|f| f.over_target > 0).collect();
    if !friction.is_empty() {
        writeln!(out, "\nfriction: accounts past the stage's target")?;
        for f in friction {
            writeln!(
                out,
                "  {:<16} {:<24} {:>5} of {:<5} ARR {}",
                f.stage,
                f.segment.as_deref().unwrap_or("(no segment)"),
                f.over_target,
                f.accounts,
                money(f.arr_over_target)
            )?;
        }
    }
    if !r.stuck.is_empty() {
        writeln!(out, "\nstuck longest ({} in all):", r.stuck.len())?;
        for s in r.stuck.iter().take(10) {
            writeln!(
                out,
                "  {:<20} {:<28} {:<12} {:>5} days (target {}) ARR {} {}",
                s.account_id,
                s.account_name.chars().take(28).collect::<String>(),
                s.stage,
                s.days_in_stage,
                s.target_days,
                money(s.arr),
                s.csm_email.as_deref().unwrap_or("-")
            )?;
        }
    }
    Ok(())
}

fn compliance_table(out: &mut impl Write, title: &str, rows: &[ComplianceRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\n{:<48} {:>9} {:>11} {:>8}",
        title, "accounts", "compliance", "overdue"
    )?;
    for row in rows {
        writeln!(
            out,
            "{:<48} {:>9} {:>11} {:>8}",
            row.key,
            row.accounts,
            share(row.compliance.share()),
            row.overdue
        )?;
    }
    Ok(())
}

fn cadence(out: &mut impl Write, r: &Report) -> Result<()> {
    let c: Compliance = r.compliance;
    writeln!(
        out,
        "cadence compliance {} to {}: {} ({} of {} required days on time)",
        r.from,
        r.day,
        share(c.share()),
        c.on_time_days,
        c.days
    )?;
    compliance_table(out, "by CSM", &r.by_csm)?;
    compliance_table(out, "by segment", &r.by_segment)?;
    compliance_table(out, "by policy", &r.by_policy)?;
    writeln!(
        out,
        "\n{} engagements overdue on {}",
        r.overdue.len(),
        r.day
    )?;
    if r.overdue.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{:<20} {:<28} {:>12} {:<16} {:>5} {:<10} {:>7}  owner",
        "account", "name", "ARR", "kind", "every", "last done", "overdue"
    )?;
    for o in &r.overdue {
        writeln!(
            out,
            "{:<20} {:<28} {:>12} {:<16} {:>5} {:<10} {:>7}  {}",
            o.account_id,
            o.account_name.chars().take(28).collect::<String>(),
            money(o.arr),
            o.kind,
            o.every_days,
            o.last_done.map_or("never".into(), |x| x.to_string()),
            o.overdue_days,
            o.csm_email.as_deref().unwrap_or("-")
        )?;
    }
    Ok(())
}

#[derive(Debug, clap::Subcommand)]
pub enum EngagementsCommand {
    /// Log an engagement with an account; it counts for cadence at once.
    Log(LogArgs),
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// The account's id.
    pub account: String,
    /// One of `engage.engagement_kinds` in tenure.toml.
    #[arg(long)]
    pub kind: String,
    /// The day it happened (default: today, UTC).
    #[arg(long)]
    pub date: Option<String>,
    #[arg(long)]
    pub notes: Option<String>,
    /// Who held it (default: the account's CSM).
    #[arg(long)]
    pub csm: Option<String>,
}

/// `tenure engagements log`.
pub async fn log(db: &str, config_path: &Path, command: EngagementsCommand) -> Result<()> {
    let EngagementsCommand::Log(args) = command;
    let config = load_config(config_path)?;
    let today = tenure_app::clock::today();
    let day = match &args.date {
        Some(s) => s.parse::<jiff::civil::Date>().map_err(|_| {
            BadInput(format!(
                "--date: expected a date such as 2025-03-31, got {s:?}"
            ))
        })?,
        None => today,
    };
    let checked = tenure_core::engage::check_engagement(
        &args.kind,
        day,
        args.notes.as_deref().unwrap_or(""),
        &config.engagement_kinds,
        today,
    )
    .map_err(|problems| {
        let lines: Vec<String> = problems
            .iter()
            .map(|p| format!("--{}: {}", p.field.name(), p.message))
            .collect();
        BadInput(lines.join("\n"))
    })?;
    let store = open_store(db).await?;
    let said = format!(
        "logged a {} with {} on {}",
        checked.kind, args.account, checked.day
    );
    let engagement = checked.record(
        format!("eng_{}", tenure_server::auth::random_token(12)),
        &args.account,
        args.csm,
        today,
        jiff::Timestamp::now(),
    );
    store
        .create_record(
            &tenure_store::rows::Record::Engagement(engagement),
            &tenure_store::api::Scope::All,
        )
        .await?;
    eprintln!("{said}");
    Ok(())
}
