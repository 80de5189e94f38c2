//! `tenure surveys`: the surveys of tenure.toml with their sends and
//! response rate, sending what is due today (as the background job does
//! after the playbooks), and a survey's response rates by segment and CSM
//! with NPS by month, and surveys scheduled for a day (docs/VOICE.md). Emails are queued in the outbox and
//! sent by the job (or `tenure outbound send`).

use std::path::Path;

use anyhow::Result;
use clap::{Args, Subcommand};
use tenure_app::command::load_config;
use tenure_server::api::surveys::{RateOut, rates_out, schedule_out, schedule_state, survey_out};
use tenure_store::api::Scope;

use crate::BadInput;
use crate::data::{Format, open_store, print_json};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SurveysArgs {
    #[command(subcommand)]
    pub command: Option<SurveysCommand>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum SurveysCommand {
    /// The surveys: kind, trigger, audience, channel, sends and response rate.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Sends the surveys due today to the contacts due one (audience,
    /// trigger, fatigue limit), as the background job does each day.
    SendDue {
        /// The day (default: today, UTC).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Sends one survey now to every contact of its audience the fatigue
    /// limit lets be surveyed, whatever its trigger (a leader's "send now").
    Send {
        /// The survey's name, as in tenure.toml.
        name: String,
        /// The day recorded as sent (default: today, UTC).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Schedules a survey for a day: the background job sends it that day
    /// to every contact of its audience the fatigue limit lets be surveyed.
    Schedule {
        /// The survey's name, as in tenure.toml.
        name: String,
        /// The day to send it, YYYY-MM-DD (UTC): today or later.
        #[arg(long)]
        on: String,
        /// Who schedules it, for the audit log (default: "cli").
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// The scheduled surveys: those still to be sent, or every one.
    Schedules {
        /// Every schedule, the sent and cancelled ones included.
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Cancels a scheduled survey not sent yet, by its id.
    Cancel {
        id: String,
        /// Who cancels it, for the audit log (default: "cli").
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Response rates by segment and CSM, and NPS by month: of one survey,
    /// or of all.
    Rates {
        /// The survey's name, as in tenure.toml (default: every survey).
        name: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".to_string(), |v| format!("{:.0}%", v * 100.0))
}

fn print_rates(title: &str, rows: &[RateOut]) {
    println!("{title}:");
    for r in rows {
        println!(
            "  {:<32} {:>6} sent {:>6} answered {:>5}",
            r.key.as_deref().unwrap_or("(none)"),
            r.sent,
            r.answered,
            pct(r.response_rate)
        );
    }
}

fn app_error(e: tenure_app::Error) -> anyhow::Error {
    match e {
        tenure_app::Error::Invalid(m) => BadInput(m).into(),
        tenure_app::Error::NotFound(m) => BadInput(format!("{m} does not exist")).into(),
        e => anyhow::Error::from(e),
    }
}

async fn list(db: &str, config: &tenure_core::config::Config, format: Format) -> Result<()> {
    let store = open_store(db).await?;
    let rates = tenure_app::surveys::rates(&store, &Scope::All, None)
        .await
        .map_err(app_error)?;
    let out: Vec<_> = config
        .surveys
        .surveys
        .iter()
        .map(|s| survey_out(config, s, &rates))
        .collect();
    if format == Format::Json {
        return print_json(&out);
    }
    if out.is_empty() {
        println!("No survey is defined: add a [[surveys]] section to tenure.toml (docs/VOICE.md).");
    }
    for s in &out {
        println!("{} ({}, {}, by {})", s.name, s.kind, s.trigger, s.channel);
        println!("  {}", s.question);
        let mut who = Vec::new();
        if !s.segments.is_empty() {
            who.push(format!("segments {}", s.segments.join(", ")));
        }
        if !s.tiers.is_empty() {
            who.push(format!("tiers {}", s.tiers.join(", ")));
        }
        if !s.roles.is_empty() {
            who.push(format!("roles {}", s.roles.join(", ")));
        }
        if s.champions_only {
            who.push("champions only".to_string());
        }
        if who.is_empty() {
            who.push("every contact".to_string());
        }
        println!("  to: {}", who.join("; "));
        println!(
            "  {} sent, {} answered, response rate {}",
            s.sent,
            s.answered,
            pct(s.response_rate)
        );
    }
    Ok(())
}

fn as_of_day(as_of: Option<String>) -> Result<jiff::civil::Date> {
    Ok(match as_of {
        Some(s) => tenure_core::model::parse_date(s.trim())
            .map_err(|e| BadInput(format!("--as-of: {e}")))?,
        None => tenure_app::clock::today(),
    })
}

pub async fn run(db: &str, config_path: &Path, args: SurveysArgs) -> Result<()> {
    let config = load_config(config_path)?;
    match args.command {
        None => list(db, &config, args.format).await,
        Some(SurveysCommand::List { format }) => list(db, &config, format).await,
        Some(SurveysCommand::Send { name, as_of }) => {
            let day = as_of_day(as_of)?;
            let store = open_store(db).await?;
            let out = tenure_app::surveys::send_now(&store, &config, &name, day)
                .await
                .map_err(app_error)?;
            println!(
                "{day}: {name}: {} survey email(s) queued, {} in-app survey(s) opened",
                out.emailed, out.in_app
            );
            for e in &out.errors {
                eprintln!("not sent: {e}");
            }
            Ok(())
        }
        Some(SurveysCommand::SendDue { as_of }) => {
            let day = as_of_day(as_of)?;
            let store = open_store(db).await?;
            let out = tenure_app::surveys::send_due(&store, &config, day)
                .await
                .map_err(app_error)?;
            println!(
                "{day}: {} survey email(s) queued, {} in-app survey(s) opened",
                out.emailed, out.in_app
            );
            for e in &out.errors {
                eprintln!("not sent: {e}");
            }
            Ok(())
        }
        Some(SurveysCommand::Schedule { name, on, by }) => {
            let on = tenure_core::model::parse_date(on.trim())
                .map_err(|e| BadInput(format!("--on: {e}")))?;
            let store = open_store(db).await?;
            let s = tenure_app::surveys::schedule(
                &store,
                &config,
                &name,
                on,
                tenure_app::clock::today(),
                &by,
            )
            .await
            .map_err(app_error)?;
            println!(
                "{}: {} scheduled for {} (the background job sends it that day; cancel with `tenure surveys cancel {}`)",
                s.id, s.survey, s.send_on, s.id
            );
            Ok(())
        }
        Some(SurveysCommand::Schedules { all, format }) => {
            let store = open_store(db).await?;
            let rows = store.survey_schedules(!all).await?;
            let out: Vec<_> = rows.iter().map(schedule_out).collect();
            if format == Format::Json {
                return print_json(&out);
            }
            if out.is_empty() {
                println!(
                    "No survey is scheduled{}.",
                    if all { "" } else { " to be sent" }
                );
            }
            for s in &out {
                let done = schedule_state(&s.status, s.sent, s.done_by.as_deref());
                println!(
                    "{}  {}  {:<24} {:<28} scheduled by {}",
                    s.id, s.send_on, s.survey, done, s.created_by
                );
            }
            Ok(())
        }
        Some(SurveysCommand::Cancel { id, by }) => {
            let store = open_store(db).await?;
            tenure_app::surveys::cancel_schedule(&store, id.trim(), &by)
                .await
                .map_err(app_error)?;
            println!("{id}: cancelled");
            Ok(())
        }
        Some(SurveysCommand::Rates { name, format }) => {
            let store = open_store(db).await?;
            let survey = match &name {
                Some(n) => Some(
                    tenure_app::surveys::find(&config, n)
                        .map_err(app_error)?
                        .name
                        .clone(),
                ),
                None => None,
            };
            let r = tenure_app::surveys::rates(&store, &Scope::All, survey.as_deref())
                .await
                .map_err(app_error)?;
            let out = rates_out(survey.as_deref().unwrap_or("all"), &r);
            if format == Format::Json {
                return print_json(&out);
            }
            println!(
                "{}: {} sent, {} answered, response rate {}",
                out.survey,
                out.total.sent,
                out.total.answered,
                pct(out.total.response_rate)
            );
            print_rates("By segment", &out.by_segment);
            print_rates("By CSM", &out.by_csm);
            println!("By month sent:");
            for m in &out.months {
                println!(
                    "  {} {:>6} sent {:>6} answered  NPS {}",
                    m.month,
                    m.sent,
                    m.answered,
                    m.nps.map_or("-".to_string(), |v| format!("{v:+.1}"))
                );
            }
            Ok(())
        }
    }
}
