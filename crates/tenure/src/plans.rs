//! `tenure plans`: success plans (docs/TARGET.md) — list and show them,
//! create and edit them by hand (goals, milestones, proven value), apply
//! the templates of tenure.toml now, and time to value. `--format json`
//! prints the API's shapes (`/api/v1/plans`, `/api/v1/time-to-value`).

use std::path::Path;

use anyhow::Result;
use clap::{Args, Subcommand};
use jiff::civil::Date;
use tenure_app::command::load_config;
use tenure_app::target::plans::{
    self as app, GoalDraft, MilestoneDraft, PlanView, ProvenDraft, Start,
};
use tenure_server::api::plans::{plan_out, ttv_out};
use tenure_store::api::Scope;

use crate::BadInput;
use crate::data::{Format, open_store, print_json};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PlansArgs {
    #[command(subcommand)]
    pub command: Option<PlansCommand>,
    #[command(flatten)]
    pub list: ListArgs,
}

/// Which plans to list.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this account's plans.
    #[arg(long)]
    pub account: Option<String>,
    /// Only this CSM's accounts (their email).
    #[arg(long)]
    pub csm: Option<String>,
    /// active, completed or cancelled (default: every plan).
    #[arg(long)]
    pub status: Option<String>,
    /// The day progress and standing are read on (default: today, UTC).
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum PlansCommand {
    /// One plan with its goals, milestones and proven value.
    Show {
        id: String,
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Create a plan by hand for an account.
    Create {
        #[arg(long)]
        account: String,
        #[arg(long)]
        name: String,
        /// The day it starts (default: today).
        #[arg(long)]
        start: Option<String>,
    },
    /// Rename a plan or change its status (active, completed, cancelled).
    Edit {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        status: Option<String>,
    },
    /// Goals: add one to a plan, or set one's name, target or value.
    Goal {
        #[command(subcommand)]
        command: GoalCommand,
    },
    /// Milestones: add one to a plan, or set one's status or due day.
    Milestone {
        #[command(subcommand)]
        command: MilestoneCommand,
    },
    /// Proven value: record value delivered on a plan.
    Value {
        #[command(subcommand)]
        command: ValueCommand,
    },
    /// Apply the templates of tenure.toml to the accounts they fit now, and
    /// measure goals (the background job does this every day).
    Apply {
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Import goals, milestones and proven value from a CSV file, all or
    /// nothing (docs/TARGET.md lists the columns).
    Import { file: std::path::PathBuf },
    /// Time to value: per account, median per segment and per cohort.
    TimeToValue {
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum GoalCommand {
    /// Add a goal to a plan.
    Add {
        plan: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        target: f64,
        /// Measure it from active_users_30d, usage_rate, events_30d, nps,
        /// health, health_trend_30d, seats, arr, open_tickets or attrs.NAME
        /// (default: set by hand).
        #[arg(long)]
        metric: Option<String>,
        /// Met at or below the target.
        #[arg(long)]
        at_most: bool,
    },
    /// Set a goal's name, target or (for a goal set by hand) value.
    Set {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        target: Option<f64>,
        #[arg(long, conflicts_with = "clear_value")]
        value: Option<f64>,
        /// Clear the value (no data).
        #[arg(long)]
        clear_value: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MilestoneCommand {
    /// Add a milestone to a plan; one the CSM owns becomes their task.
    Add {
        plan: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        due: String,
        /// One of the configured roles (default: csm).
        #[arg(long)]
        owner_role: Option<String>,
        /// Default: the account's CSM for the csm role.
        #[arg(long)]
        owner_email: Option<String>,
    },
    /// Set a milestone's status (open, done, missed, dropped) or due day.
    Set {
        id: String,
        #[arg(long)]
        status: Option<String>,
        /// With --status done: the day it was done (default: today).
        #[arg(long)]
        on: Option<String>,
        #[arg(long)]
        due: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ValueCommand {
    /// Record value delivered.
    Add {
        plan: String,
        #[arg(long)]
        title: String,
        /// Text or a link.
        #[arg(long)]
        evidence: Option<String>,
        /// The day it was delivered (default: today).
        #[arg(long)]
        on: Option<String>,
        /// The customer confirmed it.
        #[arg(long)]
        confirmed: bool,
    },
}

/// A date flag's value, or a bad-input error naming the flag.
fn date_flag(flag: &str, v: Option<&str>) -> Result<Option<Date>> {
    v.map(|s| {
        tenure_core::model::parse_date(s.trim())
            .map_err(|e| BadInput(format!("--{flag}: {e}")).into())
    })
    .transpose()
}

/// An app error of the form `field: problem`, reworded as the flag.
fn flagged(e: tenure_app::Error) -> anyhow::Error {
    match e {
        tenure_app::Error::Invalid(m) => match m.split_once(": ") {
            Some((field, rest)) if !field.contains(' ') => {
                BadInput(format!("--{}: {rest}", field.replace('_', "-"))).into()
            }
            _ => BadInput(m).into(),
        },
        e => e.into(),
    }
}

pub async fn run(db: &str, config_path: &Path, args: PlansArgs) -> Result<()> {
    let config = load_config(config_path)?;
    let today = tenure_app::clock::today();
    let store = open_store(db).await?;
    let all = Scope::All;
    match args.command {
        None => {
            let a = args.list;
            let day = date_flag("as-of", a.as_of.as_deref())?.unwrap_or(today);
            let status = a
                .status
                .as_deref()
                .map(|s| {
                    tenure_core::target::plans::PlanStatus::parse(s).ok_or_else(|| {
                        BadInput(format!("--status: unknown status {s:?}: expected active, completed or cancelled"))
                    })
                })
                .transpose()?;
            let scope = match &a.csm {
                Some(e) => Scope::Csm(e.clone()),
                None => Scope::All,
            };
            let mut views =
                app::plan_views(&store, &scope, day, a.account.as_deref(), None).await?;
            views.retain(|v| status.is_none_or(|s| v.plan.status == s));
            if a.format == Format::Json {
                let out: Vec<_> = views.iter().map(|v| plan_out(v, day)).collect();
                return print_json(&out);
            }
            print_list(&views, day);
        }
        Some(PlansCommand::Show { id, as_of, format }) => {
            let day = date_flag("as-of", as_of.as_deref())?.unwrap_or(today);
            let views = app::plan_views(&store, &all, day, None, Some(&id)).await?;
            let Some(v) = views.first() else {
                return Err(BadInput(format!("plan {id:?} does not exist")).into());
            };
            if format == Format::Json {
                return print_json(&plan_out(v, day));
            }
            print_plan(v, day);
        }
        Some(PlansCommand::Create {
            account,
            name,
            start,
        }) => {
            let start = date_flag("start", start.as_deref())?.unwrap_or(today);
            let plan = app::create_plan(&store, &all, &account, &name, start, today)
                .await
                .map_err(flagged)?;
            println!("{}", plan.id);
            eprintln!("created plan {:?} for {account}", plan.name);
        }
        Some(PlansCommand::Edit { id, name, status }) => {
            app::edit_plan(&store, &all, &id, name.as_deref(), status.as_deref(), today)
                .await
                .map_err(flagged)?;
            eprintln!("plan {id} updated");
        }
        Some(PlansCommand::Goal { command }) => goal(&store, command, today).await?,
        Some(PlansCommand::Milestone { command }) => {
            milestone(&store, &config, command, today).await?
        }
        Some(PlansCommand::Value {
            command:
                ValueCommand::Add {
                    plan,
                    title,
                    evidence,
                    on,
                    confirmed,
                },
        }) => {
            let draft = ProvenDraft {
                title: &title,
                evidence: evidence.as_deref().unwrap_or(""),
                delivered_on: date_flag("on", on.as_deref())?,
                confirmed,
            };
            let p = app::add_proven_value(&store, &all, &plan, &draft, today)
                .await
                .map_err(flagged)?;
            println!("{}", p.id);
        }
        Some(PlansCommand::Apply { as_of }) => {
            let day = date_flag("as-of", as_of.as_deref())?.unwrap_or(today);
            let engage = tenure_app::engage::evaluate(&store, &config, day).await?;
            let applied = app::apply_templates(&store, &config, &engage, Start::Today).await?;
            let measured = app::measure_goals(&store, &engage).await?;
            eprintln!(
                "{} plans created, {} templates applied, {} tasks made, {} goals measured on {day}",
                applied.plans_created, applied.templates, applied.tasks, measured
            );
        }
        Some(PlansCommand::Import { file }) => {
            let name = file.display().to_string();
            let reader =
                std::fs::File::open(&file).map_err(|e| BadInput(format!("reading {name}: {e}")))?;
            let n = tenure_app::target::import::import_plans(&store, &config, &name, reader, today)
                .await?;
            eprintln!(
                "imported {name}: {} new plans, {} goals, {} milestones, {} proven-value records",
                n.plans, n.goals, n.milestones, n.values
            );
        }
        Some(PlansCommand::TimeToValue { as_of, format }) => {
            let day = date_flag("as-of", as_of.as_deref())?.unwrap_or(today);
            let t = app::time_to_value_for(&store, &all, day).await?;
            if format == Format::Json {
                return print_json(&ttv_out(&t));
            }
            let days = |d: Option<f64>| d.map_or("-".to_string(), |d| format!("{d:.0}"));
            println!(
                "Time to value on {day}: median {} days",
                days(t.median_days)
            );
            for (title, groups) in [
                ("Segment", &t.by_segment),
                ("Cohort (first MRR)", &t.by_cohort),
            ] {
                println!(
                    "\n{title:<24} {:>8} {:>8} {:>12}",
                    "accounts", "reached", "median days"
                );
                for g in groups {
                    println!(
                        "{:<24} {:>8} {:>8} {:>12}",
                        g.name,
                        g.accounts,
                        g.reached,
                        days(g.median_days)
                    );
                }
            }
        }
    }
    Ok(())
}

async fn goal(store: &tenure_store::Store, command: GoalCommand, today: Date) -> Result<()> {
    let all = Scope::All;
    match command {
        GoalCommand::Add {
            plan,
            name,
            target,
            metric,
            at_most,
        } => {
            let draft = GoalDraft {
                name: &name,
                metric: metric.as_deref().unwrap_or(""),
                target,
                at_most,
            };
            let g = app::add_goal(store, &all, &plan, &draft)
                .await
                .map_err(flagged)?;
            println!("{}", g.id);
        }
        GoalCommand::Set {
            id,
            name,
            target,
            value,
            clear_value,
        } => {
            let value = if clear_value {
                Some(None)
            } else {
                value.map(Some)
            };
            app::edit_goal(store, &all, &id, name.as_deref(), target, value, today)
                .await
                .map_err(flagged)?;
            eprintln!("goal {id} updated");
        }
    }
    Ok(())
}

async fn milestone(
    store: &tenure_store::Store,
    config: &tenure_core::config::Config,
    command: MilestoneCommand,
    today: Date,
) -> Result<()> {
    let all = Scope::All;
    match command {
        MilestoneCommand::Add {
            plan,
            name,
            due,
            owner_role,
            owner_email,
        } => {
            let draft = MilestoneDraft {
                name: &name,
                due: date_flag("due", Some(&due))?,
                owner_role: owner_role.as_deref().unwrap_or(""),
                owner_email: owner_email.as_deref().unwrap_or(""),
            };
            let m = app::add_milestone(store, config, &all, &plan, &draft, today)
                .await
                .map_err(flagged)?;
            println!("{}", m.id);
        }
        MilestoneCommand::Set {
            id,
            status,
            on,
            due,
        } => {
            let on = date_flag("on", on.as_deref())?;
            let due = date_flag("due", due.as_deref())?;
            app::edit_milestone(store, &all, &id, status.as_deref(), on, due, today)
                .await
                .map_err(|e| match e {
                    tenure_app::Error::Invalid(m) if m.starts_with("done_on: ") => {
                        BadInput(m.replacen("done_on: ", "--on: ", 1)).into()
                    }
                    e => flagged(e),
                })?;
            eprintln!("milestone {id} updated");
        }
    }
    Ok(())
}

fn pct(r: Option<f64>) -> String {
    r.map_or("-".to_string(), |r| format!("{:.0}%", r * 100.0))
}

fn print_list(views: &[PlanView], day: Date) {
    println!(
        "{:<22} {:<28} {:<9} {:>9} {:>7} {:>6}  next milestone",
        "account", "plan", "status", "execution", "overdue", "goals"
    );
    for v in views {
        let met = v.goals.iter().filter(|g| g.met).count();
        let next = v
            .next
            .map(|i| format!("{} (due {})", v.milestones[i].name, v.milestones[i].due_on))
            .unwrap_or_default();
        println!(
            "{:<22} {:<28} {:<9} {:>9} {:>7} {:>6}  {next}",
            truncate(&v.account_name, 22),
            truncate(&v.plan.name, 28),
            v.plan.status.as_str(),
            pct(v.execution.rate()),
            v.overdue,
            format!("{met}/{}", v.goals.len()),
        );
    }
    println!("{} plans on {day}", views.len());
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

fn print_plan(v: &PlanView, day: Date) {
    println!(
        "{} — {} ({})",
        v.plan.name,
        v.account_name,
        v.plan.status.as_str()
    );
    println!(
        "started {}; templates: {}; execution {} ({} of {} due milestones on time)",
        v.plan.started_on,
        if v.plan.templates.is_empty() {
            "none".to_string()
        } else {
            v.plan.templates.join(", ")
        },
        pct(v.execution.rate()),
        v.execution.on_time,
        v.execution.due
    );
    println!("\nGoals");
    for g in &v.goals {
        let value = g
            .goal
            .value
            .map_or("no data".to_string(), |x| format!("{x}"));
        let source = g.goal.metric.as_deref().unwrap_or("set by hand");
        println!(
            "  {:<32} {:>10} / {:<8} {:>5}  {source}{}",
            g.goal.name,
            value,
            g.goal.target,
            pct(g.progress),
            if g.met { "  met" } else { "" }
        );
    }
    println!("\nMilestones");
    for m in &v.milestones {
        let standing = tenure_core::target::plans::standing(m.status, m.due_on, day);
        let owner = m.owner_email.as_deref().unwrap_or(&m.owner_role);
        let done = m.done_on.map(|d| format!(" on {d}")).unwrap_or_default();
        println!(
            "  {} {:<36} {:<8}{done}  {owner}",
            m.due_on, m.name, standing
        );
    }
    if !v.proven.is_empty() {
        println!("\nProven value");
        for p in &v.proven {
            let confirmed = if p.confirmed {
                "confirmed"
            } else {
                "not confirmed"
            };
            println!(
                "  {} {} ({confirmed}) {}",
                p.delivered_on,
                p.title,
                p.evidence.as_deref().unwrap_or("")
            );
        }
    }
}
