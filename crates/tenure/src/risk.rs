//! `tenure risk` and `tenure reviews`: the early-warning risk board and
//! leadership reviews (docs/REACT.md), from `tenure_app::risk`.
//!
//! - `tenure risk [--as-of D] [--format json]`: the board and the day's
//!   measure against the `[risk]` thresholds (`--format json` prints the
//!   API's `GET /api/v1/risk`).
//! - `tenure risk backfill [--from D] [--to D]`: the daily pass over past
//!   days with health scores, for the chart after a demo or an import.
//! - `tenure risk digest [--as-of D] [--send]`: the weekly digest to
//!   leaders (`[risk.digest]`) printed, or queued in the outbox with
//!   `--send` (once per day, as the daily job does on its weekday).
//! - `tenure risk flag ACCOUNT --reason R [--next-step S --due D]` and
//!   `tenure risk resolve ACCOUNT --outcome saved|churned|downgraded`.
//! - `tenure reviews [list]`, `tenure reviews show ID`, and
//!   `tenure reviews hold ID --attendees "CEO, VP CS" --decision
//!   ACCOUNT=ACTION[,OWNER,DUE] ...`: a decision with an owner and a due
//!   day makes a task for the owner. `--decisions FILE` reads the API's
//!   JSON list of decisions instead (`[{"account_id": ..., "action": ...,
//!   "owner_email": ..., "due": ...}]`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use tenure_app::command::load_config;
use tenure_app::risk;
use tenure_core::react::risk::FlagSource;
use tenure_server::api::risk::{
    DecisionIn, ReviewDetailOut, as_of, decisions, load_risk, outcome_field, review_detail_out,
    review_out, risk_out,
};
use tenure_store::api::Scope;

use crate::BadInput;
use crate::data::{Format, open_store, print_json};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RiskArgs {
    #[command(subcommand)]
    pub command: Option<RiskCommand>,
    /// The day of the board (default: today, UTC).
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// Put an account on the board by hand.
    Flag {
        account: String,
        /// Why it is at risk.
        #[arg(long)]
        reason: String,
        /// What happens next.
        #[arg(long)]
        next_step: Option<String>,
        /// YYYY-MM-DD: when the next step is due.
        #[arg(long)]
        due: Option<String>,
    },
    /// Record the board's daily measure for past days with health scores
    /// (the chart's history after a demo or an import), opening reviews as
    /// the daily job would have.
    Backfill {
        /// YYYY-MM-DD (default: 90 days before --to).
        #[arg(long)]
        from: Option<String>,
        /// YYYY-MM-DD (default: today).
        #[arg(long)]
        to: Option<String>,
    },
    /// The weekly digest to leaders: the board's changes over the last
    /// seven days. Printed; queued to the recipients of `[risk.digest]`
    /// with --send.
    Digest {
        /// YYYY-MM-DD: the digest's last day (default: today, UTC).
        #[arg(long)]
        as_of: Option<String>,
        /// Queue it in the outbox for the recipients (sent by the jobs or
        /// `tenure outbound send-due`); a day's digest is queued once.
        #[arg(long)]
        send: bool,
    },
    /// Take an account off the board with an outcome.
    Resolve {
        account: String,
        /// saved, churned or downgraded.
        #[arg(long)]
        outcome: String,
        #[arg(long)]
        notes: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ReviewsArgs {
    #[command(subcommand)]
    pub command: Option<ReviewsCommand>,
}

#[derive(Debug, Subcommand)]
pub enum ReviewsCommand {
    /// Every review, newest first, with how much of its ARR was kept.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// One review: its accounts and decisions.
    Show {
        id: String,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Hold a review: attendees and a decision per account.
    Hold {
        id: String,
        /// Who attended, comma-separated.
        #[arg(long)]
        attendees: String,
        /// `ACCOUNT=ACTION[,OWNER,DUE]`, once per account; with an owner
        /// and a due day (YYYY-MM-DD) the decision makes a task.
        #[arg(long = "decision")]
        decision: Vec<String>,
        /// A JSON file with a list of decisions in the API's shape.
        #[arg(long)]
        decisions: Option<PathBuf>,
        /// YYYY-MM-DD (default: today).
        #[arg(long)]
        held_on: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

fn bad(e: tenure_server::error::AppError) -> BadInput {
    BadInput(e.message)
}

fn date(flag: &str, v: Option<&str>) -> Result<Option<jiff::civil::Date>, BadInput> {
    v.map(|s| {
        tenure_core::model::parse_date(s.trim()).map_err(|e| BadInput(format!("{flag}: {e}")))
    })
    .transpose()
}

pub async fn run(db: &str, config_path: &Path, args: RiskArgs) -> Result<()> {
    let config = load_config(config_path)?;
    let today = tenure_app::clock::today();
    let store = open_store(db).await?;
    match args.command {
        Some(RiskCommand::Flag {
            account,
            reason,
            next_step,
            due,
        }) => {
            let due = date("--due", due.as_deref())?;
            let f = risk::flag_with(
                &store,
                &Scope::All,
                &risk::NewFlag {
                    account_id: &account,
                    reason: &reason,
                    source: FlagSource::Manual,
                    next_step: next_step.as_deref().unwrap_or(""),
                    next_step_due: due,
                    by: None,
                },
                today,
            )
            .await?;
            println!(
                "{} is on the risk board: {} (flag {})",
                f.account_id, f.reason, f.id
            );
            Ok(())
        }
        Some(RiskCommand::Backfill { from, to }) => {
            let to = date("--to", to.as_deref())?.unwrap_or(today);
            let from =
                date("--from", from.as_deref())?.unwrap_or(tenure_core::model::add_days(to, -90));
            if from > to {
                return Err(BadInput(format!("--from: {from} is after --to, {to}")).into());
            }
            let (days, opened) = risk::backfill(&store, &config, from, to).await?;
            println!(
                "Measured {days} day(s) from {from} to {to}; {} review(s) opened",
                opened.len()
            );
            for r in &opened {
                println!("  {} opened {}: {}", r.id, r.opened_on, r.crossed);
            }
            Ok(())
        }
        Some(RiskCommand::Digest { as_of, send }) => {
            let day = date("--as-of", as_of.as_deref())?.unwrap_or(today);
            let to = risk::digest_recipients(&store, &config).await?;
            if send {
                if config.risk.digest.is_none() {
                    return Err(BadInput(
                        "--send: no [risk.digest] in tenure.toml says who gets the digest".into(),
                    )
                    .into());
                }
                if to.is_empty() {
                    return Err(BadInput(
                        "--send: [risk.digest] names \"leaders\", but there is no enabled leader or admin user".into(),
                    )
                    .into());
                }
                match risk::send_digest(&store, &config, day).await? {
                    Some(ids) => println!(
                        "Queued the digest of {day} to {} recipient(s): {}",
                        ids.len(),
                        to.join(", ")
                    ),
                    None => println!("The digest of {day} was already queued"),
                }
                return Ok(());
            }
            let d = risk::digest(&store, &config, day).await?;
            let mut w = std::io::stdout().lock();
            if to.is_empty() {
                writeln!(w, "To: (no one: set [risk.digest] in tenure.toml)")?;
            } else {
                writeln!(w, "To: {}", to.join(", "))?;
            }
            writeln!(w, "Subject: {}\n\n{}", d.subject(), d.text())?;
            Ok(())
        }
        Some(RiskCommand::Resolve {
            account,
            outcome,
            notes,
        }) => {
            let outcome = outcome_field(&outcome)
                .map_err(|m| BadInput(m.replacen("outcome", "--outcome", 1)))?;
            let fs = risk::resolve(
                &store,
                &config,
                &Scope::All,
                &account,
                outcome,
                notes.as_deref(),
                today,
            )
            .await?;
            println!(
                "{account} is off the risk board: {} ({} flag(s) resolved)",
                outcome.as_str(),
                fs.len()
            );
            Ok(())
        }
        None => {
            let day = as_of(args.as_of.as_deref(), today)
                .map_err(|m| BadInput(m.replacen("as_of", "--as-of", 1)))?;
            let (b, h) = load_risk(&store, &config, &Scope::All, day).await?;
            let out = risk_out(&b, &h);
            if args.format == Format::Json {
                return print_json(&out);
            }
            let mut w = std::io::stdout().lock();
            writeln!(
                w,
                "Risk board on {}: {} account(s), {:.2} {} ARR at risk of {:.2} ({:.1}%)",
                out.as_of,
                out.measure.accounts_at_risk,
                out.measure.arr_at_risk,
                out.currency,
                out.measure.total_arr,
                out.measure.arr_at_risk_share * 100.0
            )?;
            for t in &out.thresholds {
                writeln!(
                    w,
                    "  {}{}: {} against {}{}",
                    t.segment
                        .as_deref()
                        .map(|s| format!("{s}/"))
                        .unwrap_or_default(),
                    t.kind,
                    t.value,
                    t.limit,
                    if t.above { "  ABOVE" } else { "" }
                )?;
            }
            writeln!(
                w,
                "{:<16} {:<24} {:>12} {:>5}  {:<24} {:<24} {:<10} REASON",
                "ACCOUNT", "OWNER", "ARR", "DAYS", "NAME", "NEXT STEP", "DUE"
            )?;
            for r in &out.accounts {
                writeln!(
                    w,
                    "{:<16} {:<24} {:>12.2} {:>5}  {:<24} {:<24} {:<10} {}",
                    r.account_id,
                    r.owner.as_deref().unwrap_or("-"),
                    r.arr,
                    r.days_on_board,
                    r.account_name,
                    r.next_step.as_deref().unwrap_or("-"),
                    r.next_step_due.as_deref().unwrap_or("-"),
                    r.reason
                )?;
            }
            Ok(())
        }
    }
}

fn print_review(v: &ReviewDetailOut) -> Result<()> {
    let mut w = std::io::stdout().lock();
    let r = &v.review;
    writeln!(
        w,
        "Review {} opened {} ({}): {}",
        r.id, r.opened_on, r.status, r.crossed
    )?;
    if let Some(h) = &r.held_on {
        writeln!(w, "Held {h} with {}", r.attendees.join(", "))?;
    }
    writeln!(
        w,
        "Kept as of {}: {} of {} account(s), {:.2} of {:.2} {} ARR",
        r.outcome.as_of,
        r.outcome.kept_accounts,
        r.outcome.accounts,
        r.outcome.kept_arr,
        r.outcome.reviewed_arr,
        v.currency
    )?;
    for a in &v.accounts {
        writeln!(
            w,
            "  {:<16} {:>12.2}  {}  decision: {}{}{}",
            a.account_id,
            a.arr,
            a.reason,
            a.action.as_deref().unwrap_or("-"),
            a.owner_email
                .as_deref()
                .map(|o| format!(", {o}"))
                .unwrap_or_default(),
            a.due
                .as_deref()
                .map(|d| format!(", due {d}"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

pub async fn reviews(db: &str, config_path: &Path, args: ReviewsArgs) -> Result<()> {
    let config = load_config(config_path)?;
    let today = tenure_app::clock::today();
    let store = open_store(db).await?;
    let c = config.currency.reporting;
    match args.command.unwrap_or(ReviewsCommand::List {
        format: Format::Table,
    }) {
        ReviewsCommand::List { format } => {
            let all = risk::reviews(&store, &config, &Scope::All, today).await?;
            let out: Vec<_> = all.iter().map(|(r, o)| review_out(r, o, c)).collect();
            if format == Format::Json {
                return print_json(&out);
            }
            let mut w = std::io::stdout().lock();
            writeln!(
                w,
                "{:<22} {:<10} {:<6} {:<10} {:>8} {:>14} {:>14}  CROSSED",
                "ID", "OPENED", "STATUS", "HELD", "KEPT", "REVIEWED ARR", "KEPT ARR"
            )?;
            for r in &out {
                writeln!(
                    w,
                    "{:<22} {:<10} {:<6} {:<10} {:>8} {:>14.2} {:>14.2}  {}",
                    r.id,
                    r.opened_on,
                    r.status,
                    r.held_on.as_deref().unwrap_or("-"),
                    format!("{}/{}", r.outcome.kept_accounts, r.outcome.accounts),
                    r.outcome.reviewed_arr,
                    r.outcome.kept_arr,
                    r.crossed
                )?;
            }
            if out.is_empty() {
                writeln!(w, "No review has opened yet.")?;
            }
            Ok(())
        }
        ReviewsCommand::Show { id, format } => {
            let v = risk::review(&store, &config, &Scope::All, &id, today).await?;
            let out = review_detail_out(&v);
            if format == Format::Json {
                return print_json(&out);
            }
            print_review(&out)
        }
        ReviewsCommand::Hold {
            id,
            attendees,
            decision,
            decisions: file,
            held_on,
            format,
        } => {
            let held_on = date("--held-on", held_on.as_deref())?.unwrap_or(today);
            let mut ds = Vec::new();
            for d in &decision {
                ds.push(risk::parse_decision(d).map_err(|e| BadInput(format!("--decision: {e}")))?);
            }
            if let Some(path) = file {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let list: Vec<DecisionIn> = serde_json::from_str(&text)
                    .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
                ds.extend(decisions(&list).map_err(bad)?);
            }
            let attendees: Vec<String> = attendees.split(',').map(str::to_string).collect();
            let v = risk::hold_review(&store, &config, &id, held_on, &attendees, &ds).await?;
            let out = review_detail_out(&v);
            if format == Format::Json {
                return print_json(&out);
            }
            print_review(&out)
        }
    }
}
