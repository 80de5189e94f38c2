//! `tenure crm changes`: the account-change webhook of docs/CRM.md. The
//! pending changes (each account whose watched fields changed since last
//! sent, before and after), previewed with `--dry-run`, queued now as the
//! background job would, or recorded as sent without sending with
//! `--mark-sent` (to start without a baseline).

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::{Args, Subcommand};
use tenure_app::command::load_config;
use tenure_app::crm_webhook::{Pass, dry_run, mark_sent, run as queue, settings};
use tenure_core::crm_webhook::AccountState;

use crate::BadInput;
use crate::data::{Format, open_store, print_json};

#[derive(Debug, Args)]
pub struct CrmArgs {
    #[command(subcommand)]
    pub command: CrmCommand,
}

#[derive(Debug, Subcommand)]
pub enum CrmCommand {
    /// Accounts whose health band, risk flag, segment, tier, stage or NPS changed since last sent to the CRM's webhook; queue them.
    Changes(ChangesArgs),
}

#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// Show the changes and the payloads they make; queue and record nothing.
    #[arg(long, conflicts_with = "mark_sent")]
    pub dry_run: bool,
    /// Record every account's current state as sent without sending anything (skips the first pass's baseline).
    #[arg(long)]
    pub mark_sent: bool,
    /// `table` lists the changes; `json` prints the payloads.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub async fn run(db: &str, config_path: &Path, args: CrmArgs) -> Result<()> {
    let CrmCommand::Changes(args) = args.command;
    let config = load_config(config_path)?;
    // Refuse before opening the database when the webhook is off.
    settings(&config).map_err(|e| BadInput(e.to_string()))?;
    let store = open_store(db).await?;
    let day = tenure_app::clock::today();
    if args.mark_sent {
        let n = mark_sent(&store, &config, day).await?;
        println!("recorded the current state of {n} accounts as sent; nothing was queued");
        return Ok(());
    }
    let pass = if args.dry_run {
        dry_run(&store, &config, day).await?
    } else {
        queue(&store, &config, day)
            .await?
            .expect("the webhook is configured")
    };
    if args.format == Format::Json {
        return print_json(&pass.payloads());
    }
    print_table(&mut std::io::stdout().lock(), &pass, args.dry_run)?;
    Ok(())
}

fn value(s: Option<&AccountState>, f: tenure_core::crm_webhook::Field) -> String {
    match s.map(|s| s.value(f)) {
        None => "(never sent)".into(),
        Some(serde_json::Value::Null) => "-".into(),
        Some(serde_json::Value::String(s)) => s,
        Some(v) => v.to_string(),
    }
}

fn print_table(out: &mut dyn Write, pass: &Pass, dry_run: bool) -> std::io::Result<()> {
    for c in &pass.changes {
        let what: Vec<String> = c
            .changed
            .iter()
            .map(|&f| {
                format!(
                    "{} {} -> {}",
                    f.as_str(),
                    value(c.before.as_ref(), f),
                    value(Some(&c.after), f)
                )
            })
            .collect();
        writeln!(
            out,
            "{}  {}: {}",
            c.account.id,
            c.account.name,
            what.join("; ")
        )?;
    }
    let batches = pass.changes.len().div_ceil(pass.batch_size);
    let accounts = pass.changes.len();
    if dry_run {
        writeln!(
            out,
            "{accounts} accounts changed: {batches} payloads would be queued (dry run, nothing written)"
        )
    } else {
        writeln!(
            out,
            "{accounts} accounts changed: {} payloads queued",
            pass.messages.len()
        )
    }
}
