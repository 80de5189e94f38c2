//! `tenure segments`, `tenure journey` and `tenure cadence`: the accounts
//! of each segment and stage, and the overdue engagements, as decided by
//! `tenure_app::engage` (docs/ENGAGE.md). They record nothing: the
//! background job does (`tenure run-jobs --once`).

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::Args;
use jiff::civil::Date;
use serde_json::{Value, json};
use tenure_app::command::load_config;
use tenure_app::engage::{EngageDay, evaluate, overdue, segment_rows, stage_rows};
use tenure_core::config::Config;

use crate::BadInput;
use crate::data::{Format, open_store, print_json};

#[derive(Debug, Args)]
pub struct EngageArgs {
    /// The day (default: today, UTC).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Only this CSM's accounts (their email).
    #[arg(long)]
    pub csm: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
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
    let day = match &args.as_of {
        Some(s) => s.parse::<Date>().map_err(|_| {
            BadInput(format!(
                "--as-of: expected a date such as 2025-03-31, got {s:?}"
            ))
        })?,
        None => tenure_app::clock::today(),
    };
    let store = open_store(db).await?;
    let mut d = evaluate(&store, &config, day).await?;
    if let Some(csm) = &args.csm {
        let csm = csm.trim().to_ascii_lowercase();
        d.accounts.retain(|a| {
            a.account
                .csm_email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(&csm))
        });
    }
    let mut out = std::io::stdout().lock();
    let value = match view {
        View::Segments => segments(&mut out, &config, &d, args.format)?,
        View::Journey => journey(&mut out, &config, &d, args.format)?,
        View::Cadence => cadence(&mut out, &config, &d, args.format)?,
    };
    if let Some(v) = value {
        print_json(&v)?;
    }
    let errors: usize = d.accounts.iter().map(|a| a.errors.len()).sum();
    if errors > 0 {
        let first = d.accounts.iter().find(|a| !a.errors.is_empty());
        if let Some(a) = first {
            eprintln!(
                "note: {errors} rule(s) could not be decided on some accounts, e.g. {}: {}",
                a.account.id, a.errors[0]
            );
        }
    }
    Ok(())
}

fn money(x: f64) -> String {
    format!("{x:.0}")
}

fn segments(
    out: &mut impl Write,
    config: &Config,
    d: &EngageDay,
    f: Format,
) -> Result<Option<Value>> {
    let rows = segment_rows(config, d);
    if f == Format::Json {
        let list: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({"segment": r.name, "tier": r.tier, "persona": r.persona,
                       "accounts": r.accounts, "arr": r.arr, "mean_health": r.mean_health})
            })
            .collect();
        return Ok(Some(json!({"as_of": d.day.to_string(), "segments": list})));
    }
    writeln!(
        out,
        "{:<24} {:<8} {:>8} {:>14} {:>7}",
        "segment", "tier", "accounts", "ARR", "health"
    )?;
    for r in &rows {
        writeln!(
            out,
            "{:<24} {:<8} {:>8} {:>14} {:>7}",
            r.name,
            r.tier,
            r.accounts,
            money(r.arr),
            r.mean_health.map_or("-".into(), |h| format!("{h:.1}"))
        )?;
    }
    Ok(None)
}

fn journey(
    out: &mut impl Write,
    config: &Config,
    d: &EngageDay,
    f: Format,
) -> Result<Option<Value>> {
    let rows = stage_rows(config, d);
    if f == Format::Json {
        let list: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({"stage": r.name, "target_days": r.target_days, "accounts": r.accounts,
                       "arr": r.arr, "median_days_in_stage": r.median_days,
                       "over_target": r.over_target})
            })
            .collect();
        return Ok(Some(json!({"as_of": d.day.to_string(), "stages": list})));
    }
    writeln!(
        out,
        "{:<16} {:>8} {:>14} {:>12} {:>8} {:>12}",
        "stage", "accounts", "ARR", "median days", "target", "over target"
    )?;
    for r in &rows {
        writeln!(
            out,
            "{:<16} {:>8} {:>14} {:>12} {:>8} {:>12}",
            r.name,
            r.accounts,
            money(r.arr),
            r.median_days.map_or("-".into(), |x| x.to_string()),
            r.target_days.map_or("-".into(), |x| x.to_string()),
            r.over_target
        )?;
    }
    Ok(None)
}

fn cadence(
    out: &mut impl Write,
    config: &Config,
    d: &EngageDay,
    f: Format,
) -> Result<Option<Value>> {
    let list = overdue(config, d);
    let required: usize = d.accounts.iter().map(|a| a.cadence.len()).sum();
    if f == Format::Json {
        let items: Vec<Value> = list
            .iter()
            .map(|o| {
                json!({"account_id": o.account_id, "name": o.account_name, "csm_email": o.csm_email,
                       "arr": o.arr, "segment": o.segment, "stage": o.stage, "kind": o.kind,
                       "every_days": o.every_days, "last_done": o.last_done.map(|x| x.to_string()),
                       "due": o.due.to_string(), "overdue_days": o.overdue_days})
            })
            .collect();
        return Ok(Some(json!({
            "as_of": d.day.to_string(),
            "required": required,
            "overdue": items,
        })));
    }
    writeln!(
        out,
        "{} of {} required engagements overdue on {}",
        list.len(),
        required,
        d.day
    )?;
    if list.is_empty() {
        return Ok(None);
    }
    writeln!(
        out,
        "{:<20} {:<28} {:>12} {:<16} {:>5} {:<10} {:>7}  owner",
        "account", "name", "ARR", "kind", "every", "last done", "overdue"
    )?;
    for o in &list {
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
    Ok(None)
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
        Some(s) => s.parse::<Date>().map_err(|_| {
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
            .map(|p| format!("--{}: {}", field_flag(p.field), p.message))
            .collect();
        BadInput(lines.join("\n"))
    })?;
    let store = open_store(db).await?;
    let engagement = tenure_core::model::Engagement {
        id: format!("eng_{}", tenure_server::auth::random_token(12)),
        account_id: args.account.clone(),
        occurred_at: tenure_core::engage::occurred_at(checked.day, today, jiff::Timestamp::now()),
        kind: checked.kind.clone(),
        csm_email: args.csm,
        notes: checked.notes,
    };
    store
        .create_record(
            &tenure_store::rows::Record::Engagement(engagement),
            &tenure_store::api::Scope::All,
        )
        .await?;
    eprintln!(
        "logged a {} with {} on {}",
        checked.kind, args.account, checked.day
    );
    Ok(())
}

fn field_flag(f: tenure_core::engage::EngagementField) -> &'static str {
    match f {
        tenure_core::engage::EngagementField::Kind => "kind",
        tenure_core::engage::EngagementField::Date => "date",
        tenure_core::engage::EngagementField::Notes => "notes",
    }
}
