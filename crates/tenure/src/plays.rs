//! `tenure plays`: the playbooks of tenure.toml, a dry run (who would
//! enter today and why, acting on nothing), a backtest (who would have
//! entered on past days, and how many of them stopped paying within 90
//! days) and the history of firings with their trace (docs/REACT.md). The
//! background job runs them.

use std::path::Path;

use anyhow::Result;
use clap::{Args, Subcommand};
use tenure_app::command::load_config;
use tenure_core::plays::ActionKind;
use tenure_server::api::plays::{candidate_out, enrolment_out, playbook_out};
use tenure_store::api::Scope;

use crate::BadInput;
use crate::data::{Format, open_store, print_json};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PlaysArgs {
    #[command(subcommand)]
    pub command: Option<PlaysCommand>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum PlaysCommand {
    /// Who would enter a playbook today, with the values its trigger read;
    /// acts on nothing.
    DryRun {
        name: String,
        /// The day (default: today, UTC).
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Who would have entered a playbook on past days (every 7 days over
    /// the year that ends 90 days ago, by default) and how many of them
    /// stopped paying within 90 days, against the churn of its whole
    /// paying audience; acts on nothing.
    Backtest {
        /// The playbook's name, as in tenure.toml.
        name: String,
        /// The first sampled day, YYYY-MM-DD (default: 364 days before
        /// --to).
        #[arg(long)]
        from: Option<String>,
        /// The last day sampled at most, YYYY-MM-DD (default: 90 days ago,
        /// so that every entry can be judged; at most today).
        #[arg(long)]
        to: Option<String>,
        /// Days between sampled days.
        #[arg(long, default_value_t = 7)]
        every: u32,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Every firing: when, the playbook's version, the trigger and the
    /// values it saw, and the actions run.
    History {
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        playbook: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

fn describe(a: &tenure_core::plays::Action) -> String {
    let when = if a.only_if_matching {
        format!("day {}, if the trigger still holds", a.day)
    } else {
        format!("day {}", a.day)
    };
    match &a.kind {
        ActionKind::Task {
            title, due_days, ..
        } => {
            format!(
                "{when}: task \"{}\" due {due_days} days later",
                title.source()
            )
        }
        ActionKind::Note { text } => format!("{when}: note \"{}\"", text.source()),
        ActionKind::Email { to, subject, .. } => {
            let to = match to {
                tenure_core::plays::Recipient::Csm => "the CSM".to_string(),
                tenure_core::plays::Recipient::Champion => "the champion".to_string(),
                tenure_core::plays::Recipient::Address(a) => a.clone(),
            };
            format!("{when}: email \"{}\" to {to}", subject.source())
        }
        ActionKind::Webhook { endpoint } => format!("{when}: webhook {endpoint}"),
        ActionKind::Risk { reason } => {
            format!("{when}: on the risk board, \"{}\"", reason.source())
        }
    }
}

pub async fn run(db: &str, config_path: &Path, args: PlaysArgs) -> Result<()> {
    let config = load_config(config_path)?;
    match args.command {
        None => {
            let out: Vec<_> = config.playbooks.iter().map(playbook_out).collect();
            if args.format == Format::Json {
                return print_json(&out);
            }
            for p in &out {
                println!("{} (version {})", p.name, p.version);
                if let Some(d) = &p.description {
                    println!("  {d}");
                }
                println!(
                    "  trigger: {}",
                    p.trigger.split_whitespace().collect::<Vec<_>>().join(" ")
                );
                if let Some(e) = &p.exit {
                    println!("  exit: {e}");
                }
                println!(
                    "  at most {} enrolment(s) in {} days",
                    p.max_enrolments, p.cooldown_days
                );
                for a in config
                    .playbooks
                    .iter()
                    .filter(|x| x.name == p.name)
                    .flat_map(|x| &x.actions)
                {
                    println!("  - {}", describe(a));
                }
            }
        }
        Some(PlaysCommand::DryRun {
            name,
            as_of,
            format,
        }) => {
            let day = match as_of {
                Some(s) => tenure_core::model::parse_date(s.trim())
                    .map_err(|e| BadInput(format!("--as-of: {e}")))?,
                None => tenure_app::clock::today(),
            };
            let store = open_store(db).await?;
            let (p, who) = tenure_app::plays::dry_run(&store, &config, &name, day)
                .await
                .map_err(|e| match e {
                    tenure_app::Error::Invalid(m) => BadInput(m).into(),
                    e => anyhow::Error::from(e),
                })?;
            let out = tenure_server::api::plays::DryRunOut {
                playbook: playbook_out(&p),
                as_of: day.to_string(),
                accounts: who.iter().map(candidate_out).collect(),
            };
            if format == Format::Json {
                return print_json(&out);
            }
            let out = out.accounts;
            let n = out.iter().filter(|c| c.would_enrol).count();
            println!(
                "{}: {n} accounts would enter on {day} ({} match the trigger)",
                p.name,
                out.len()
            );
            for c in &out {
                let values: Vec<String> = c
                    .inputs
                    .iter()
                    .map(|i| format!("{} = {}", i.field, i.value))
                    .collect();
                let status = match &c.why_not {
                    None => "enters".to_string(),
                    Some(w) => format!("not now: {w}"),
                };
                println!(
                    "  {:<14} {:<28} {:>12.0}  {status}  ({})",
                    c.account_id,
                    c.account_name,
                    c.arr,
                    values.join(", ")
                );
            }
        }
        Some(PlaysCommand::Backtest {
            name,
            from,
            to,
            every,
            format,
        }) => {
            let date = |flag: &str, v: Option<String>| -> Result<_> {
                v.map(|s| {
                    tenure_core::model::parse_date(s.trim())
                        .map_err(|e| BadInput(format!("--{flag}: {e}")).into())
                })
                .transpose()
            };
            let window = tenure_app::plays_backtest::Window {
                from: date("from", from)?,
                to: date("to", to)?,
                every_days: Some(every),
            };
            // An unknown playbook before opening the database.
            tenure_app::plays::find(&config, &name).map_err(|e| BadInput(e.to_string()))?;
            let store = open_store(db).await?;
            let b = tenure_app::plays_backtest::backtest(
                &store,
                &config,
                &name,
                window,
                tenure_app::clock::today(),
                &Scope::All,
            )
            .await
            .map_err(|e| match e {
                tenure_app::Error::Invalid(m) => BadInput(m).into(),
                e => anyhow::Error::from(e),
            })?;
            let out = tenure_server::api::plays::backtest_out(&b);
            if format == Format::Json {
                return print_json(&out);
            }
            print_backtest(&out);
        }
        Some(PlaysCommand::History {
            account,
            playbook,
            format,
        }) => {
            let store = open_store(db).await?;
            let mut all = store
                .play_enrolments(&Scope::All, account.as_deref(), playbook.as_deref())
                .await?;
            all.sort_by(|a, b| b.enrolled_on.cmp(&a.enrolled_on).then(a.id.cmp(&b.id)));
            let out: Vec<_> = all.iter().map(enrolment_out).collect();
            if format == Format::Json {
                return print_json(&out);
            }
            for e in &out {
                let values: Vec<String> = e
                    .inputs
                    .iter()
                    .map(|i| format!("{} = {}", i.field, i.value))
                    .collect();
                println!(
                    "{} {} entered {:?} (version {}){}: {}",
                    e.enrolled_on,
                    e.account_id,
                    e.playbook,
                    e.version,
                    e.exited_on
                        .as_ref()
                        .map(|d| format!(", left {d} ({})", e.exit_reason.as_deref().unwrap_or("")))
                        .unwrap_or_default(),
                    values.join(", ")
                );
                for a in &e.actions {
                    println!(
                        "    {} action {}: {} {}",
                        a["run_on"].as_str().unwrap_or(""),
                        a["action"],
                        a["result"].as_str().unwrap_or(""),
                        a["detail"].as_str().unwrap_or("")
                    );
                }
            }
            if out.is_empty() {
                eprintln!(
                    "no playbook has fired{}",
                    account.map(|a| format!(" for {a}")).unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

fn percent(x: Option<f64>) -> String {
    x.map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0))
}

fn print_backtest(b: &tenure_server::api::plays::BacktestOut) {
    let t = &b.totals;
    println!(
        "{}: backtest from {} to {}, every {} days ({} sampled days); data to {}",
        b.playbook.name, b.from, b.to, b.every_days, t.days, b.last_day
    );
    println!(
        "  entries             {:>8}  (trigger held on {} account-days)",
        t.entries, t.held
    );
    println!(
        "  judged              {:>8}  (paying on entry, {} days over)",
        t.judged, b.horizon_days
    );
    println!(
        "  churned in {} days  {:>8}  precision {}",
        b.horizon_days,
        t.churned,
        percent(t.precision)
    );
    println!(
        "  base rate           {:>8}  ({} of {} paying account-days of the audience)",
        percent(t.base_rate),
        t.audience_churned,
        t.audience
    );
    println!(
        "  lift                {:>8}",
        t.lift.map_or("-".to_string(), |l| format!("{l:.2}x"))
    );
    println!(
        "  caught              {:>8}  ({} of {} churns in the audience entered within {} days before)",
        percent(b.recall),
        b.caught,
        b.churns,
        b.horizon_days
    );
    println!(
        "  ARR entered {:.0}, judged {:.0}, churned {:.0}",
        t.arr_entered, t.arr_judged, t.arr_churned
    );
    if b.undecided > 0 {
        println!(
            "  the trigger could not be decided on {} account-days",
            b.undecided
        );
    }
    println!();
    println!(
        "  {:<8} {:>5} {:>8} {:>7} {:>7} {:>9} {:>9}  {:>12}",
        "month", "days", "entries", "judged", "churned", "precision", "base rate", "ARR churned"
    );
    for m in &b.months {
        let c = &m.counts;
        println!(
            "  {:<8} {:>5} {:>8} {:>7} {:>7} {:>9} {:>9}  {:>12.0}",
            m.month,
            c.days,
            c.entries,
            c.judged,
            c.churned,
            percent(c.precision),
            percent(c.base_rate),
            c.arr_churned
        );
    }
}
