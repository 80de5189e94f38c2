//! `tenure tasks`: the work CSMs do (docs/API.md, "Tasks"), through the
//! application layer (`tenure_app::target::tasks`), as the API and the
//! `/tasks` page do; `--format json` prints the API's shapes.
//!
//! Without a subcommand it lists tasks: open ones by default, overdue
//! first, of every owner, unless `--owner` (or `TENURE_OWNER`, to make
//! `tenure tasks` *my tasks* in a CSM's shell) names one; `--all` lists
//! every owner even when `TENURE_OWNER` is set. `add`, `done`, `snooze`,
//! `reassign`, `drop` and `reopen` change one task. The command line sees
//! every account (it holds the database); a mistake names the flag and
//! exits with 2.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::{Args, Subcommand};
use jiff::civil::Date;
use tenure_app::command::load_config;
use tenure_app::target::tasks::{
    self, Changed, Completion, LogChoice, NewTask, StatusFilter, TaskFilter, TaskView,
};
use tenure_core::model::{add_days, parse_date};
use tenure_server::api::engage::FUTURE_DAYS;
use tenure_server::api::tasks::{changed_out, task_out, tasks_out};
use tenure_store::api::Scope;

use crate::BadInput;
use crate::data::{Format, open_store, print_json};

/// `tenure tasks`: the list, or a change to one task.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TasksArgs {
    #[command(subcommand)]
    pub command: Option<TasksCommand>,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this owner's tasks (their email).
    #[arg(long, env = "TENURE_OWNER")]
    pub owner: Option<String>,
    /// Every owner's tasks, even when TENURE_OWNER is set (the default
    /// without an owner).
    #[arg(long)]
    pub all: bool,
    /// Only this account's tasks.
    #[arg(long)]
    pub account: Option<String>,
    /// open, done, dropped or all.
    #[arg(long, default_value = "open")]
    pub status: String,
    /// The day overdue days count to (default: today, UTC).
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// Add a task to an account.
    Add(AddArgs),
    /// Complete a task, logging an engagement of its kind (or --log KIND).
    Done(DoneArgs),
    /// Move an open task's due day to a later day.
    Snooze(SnoozeArgs),
    /// Give a task to another owner.
    Reassign(ReassignArgs),
    /// Drop an open task.
    Drop(OneArgs),
    /// Reopen a done or dropped task.
    Reopen(OneArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The account's id.
    #[arg(long)]
    pub account: String,
    #[arg(long)]
    pub title: String,
    /// The due day, YYYY-MM-DD.
    #[arg(long)]
    pub due: Option<String>,
    /// Who does it (default: the account's CSM).
    #[arg(long)]
    pub owner: Option<String>,
    /// low, normal (default), high or urgent.
    #[arg(long)]
    pub priority: Option<String>,
    #[arg(long)]
    pub notes: Option<String>,
    /// The engagement kind completing it logs (one of
    /// engage.engagement_kinds in tenure.toml).
    #[arg(long)]
    pub log_kind: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DoneArgs {
    /// The task's id.
    pub id: String,
    /// Log an engagement of this kind (default: the task's own kind, if
    /// any).
    #[arg(long, conflicts_with = "no_log")]
    pub log: Option<String>,
    /// Log no engagement.
    #[arg(long)]
    pub no_log: bool,
    /// The engagement's notes (default: the task's title).
    #[arg(long)]
    pub notes: Option<String>,
    /// The day it was done (default: today, UTC).
    #[arg(long)]
    pub on: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct SnoozeArgs {
    /// The task's id.
    pub id: String,
    /// The new due day: after today, at most a year ahead.
    #[arg(long)]
    pub until: String,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ReassignArgs {
    /// The task's id.
    pub id: String,
    /// The new owner's email.
    #[arg(long)]
    pub to: String,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct OneArgs {
    /// The task's id.
    pub id: String,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

fn date(flag: &str, s: &str) -> Result<Date, BadInput> {
    parse_date(s.trim()).map_err(|_| {
        BadInput(format!(
            "{flag}: expected a date such as 2025-03-31, got {s:?}"
        ))
    })
}

fn opt_date(flag: &str, s: &Option<String>) -> Result<Option<Date>, BadInput> {
    s.as_deref().map(|s| date(flag, s)).transpose()
}

/// Names the flags in the application layer's `field: message` problems.
fn flagged(e: tenure_app::Error, flags: &[(&str, &str)]) -> anyhow::Error {
    match e {
        tenure_app::Error::Invalid(message) => {
            let lines: Vec<String> = tasks::problems(&message)
                .into_iter()
                .map(
                    |(field, rest)| match flags.iter().find(|(f, _)| *f == field) {
                        Some((_, flag)) => format!("{flag}: {rest}"),
                        None if field.is_empty() => rest.to_string(),
                        None => format!("{field}: {rest}"),
                    },
                )
                .collect();
            BadInput(lines.join("\n")).into()
        }
        e => e.into(),
    }
}

pub async fn run(db: &str, config_path: &Path, args: TasksArgs) -> Result<()> {
    let today = tenure_app::clock::today();
    match args.command {
        None => list(db, args.list, today).await,
        Some(TasksCommand::Add(a)) => add(db, config_path, a, today).await,
        Some(TasksCommand::Done(a)) => done(db, config_path, a, today).await,
        Some(TasksCommand::Snooze(a)) => {
            let until = date("--until", &a.until)?;
            let store = open_store(db).await?;
            let v = tasks::snooze(&store, &Scope::All, &a.id, until, today)
                .await
                .map_err(|e| flagged(e, &[("until", "--until")]))?;
            show(&v, a.format, &format!("snoozed until {until}"))
        }
        Some(TasksCommand::Reassign(a)) => {
            let store = open_store(db).await?;
            let c = tasks::reassign(&store, &Scope::All, &a.id, &a.to, today)
                .await
                .map_err(|e| flagged(e, &[("owner_email", "--to")]))?;
            let owner = c.task.task.owner_email.clone().unwrap_or_default();
            show_changed(&c, a.format, &format!("reassigned to {owner}"))
        }
        Some(TasksCommand::Drop(a)) => {
            let store = open_store(db).await?;
            let v = tasks::drop_task(&store, &Scope::All, &a.id, today).await?;
            show(&v, a.format, "dropped")
        }
        Some(TasksCommand::Reopen(a)) => {
            let store = open_store(db).await?;
            let v = tasks::reopen(&store, &Scope::All, &a.id, today).await?;
            show(&v, a.format, "reopened")
        }
    }
}

/// Prints a changed task: its JSON, or one line.
fn show(v: &TaskView, format: Format, what: &str) -> Result<()> {
    if format == Format::Json {
        print_json(&task_out(v))
    } else {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}: {what}", v.task.id)?;
        Ok(())
    }
}

fn show_changed(c: &Changed, format: Format, what: &str) -> Result<()> {
    for w in &c.warnings {
        eprintln!("warning: {w}");
    }
    if format == Format::Json {
        print_json(&changed_out(c))
    } else {
        show(&c.task, format, what)
    }
}

async fn list(db: &str, args: ListArgs, today: Date) -> Result<()> {
    let status = StatusFilter::parse(&args.status).ok_or_else(|| {
        BadInput(format!(
            "--status: expected open, done, dropped or all, got {:?}",
            args.status
        ))
    })?;
    let as_of = opt_date("--as-of", &args.as_of)?.unwrap_or(today);
    let latest = add_days(today, FUTURE_DAYS);
    if as_of.year() < 1970 || as_of > latest {
        return Err(BadInput(format!(
            "--as-of: pick a day between 1970-01-01 and {latest}, not {as_of}"
        ))
        .into());
    }
    let owner = if args.all {
        None
    } else {
        args.owner.filter(|o| !o.trim().is_empty())
    };
    let filter = TaskFilter {
        owner: owner.map(|o| o.trim().to_ascii_lowercase()),
        account_id: args.account,
        status,
    };
    let store = open_store(db).await?;
    let views = tasks::list(&store, &Scope::All, &filter, as_of)
        .await
        .map_err(|e| flagged(e, &[("owner", "--owner"), ("account_id", "--account")]))?;
    if args.format == Format::Json {
        return print_json(&tasks_out(&filter, as_of, &views));
    }
    let mut out = std::io::stdout().lock();
    let overdue = views.iter().filter(|v| v.overdue_days > 0).count();
    let whose = filter
        .owner
        .as_deref()
        .map_or("every owner".to_string(), |o| format!("owned by {o}"));
    writeln!(
        out,
        "{} {} task(s) on {as_of}, {whose}; {overdue} overdue; overdue first",
        views.len(),
        status.as_str(),
    )?;
    if views.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{:<20} {:<10} {:>7} {:<7} {:<9} {:<20} {:<26} title",
        "id", "due", "overdue", "status", "priority", "account", "owner"
    )?;
    for v in &views {
        let t = &v.task;
        let account = v.account_name.as_deref().unwrap_or(&t.account_id);
        writeln!(
            out,
            "{:<20} {:<10} {:>7} {:<7} {:<9} {:<20} {:<26} {}",
            t.id,
            t.due_on.map_or("-".into(), |d| d.to_string()),
            if v.overdue_days > 0 {
                v.overdue_days.to_string()
            } else {
                String::new()
            },
            t.status.as_str(),
            t.priority.as_str(),
            account.chars().take(20).collect::<String>(),
            t.owner_email.as_deref().unwrap_or("-"),
            t.title
        )?;
    }
    Ok(())
}

async fn add(db: &str, config_path: &Path, a: AddArgs, today: Date) -> Result<()> {
    let config = load_config(config_path)?;
    let due = opt_date("--due", &a.due)?;
    let new = NewTask {
        account_id: &a.account,
        title: &a.title,
        due,
        owner_email: a.owner.as_deref().unwrap_or(""),
        priority: a.priority.as_deref().unwrap_or(""),
        notes: a.notes.as_deref().unwrap_or(""),
        log_kind: a.log_kind.as_deref().unwrap_or(""),
    };
    let store = open_store(db).await?;
    let c = tasks::add(
        &store,
        &config,
        &Scope::All,
        &new,
        None,
        today,
        tenure_app::clock::now_micros(),
    )
    .await
    .map_err(|e| {
        flagged(
            e,
            &[
                ("account_id", "--account"),
                ("title", "--title"),
                ("due", "--due"),
                ("priority", "--priority"),
                ("notes", "--notes"),
                ("log_kind", "--log-kind"),
                ("owner_email", "--owner"),
            ],
        )
    })?;
    let t = &c.task.task;
    let what = format!(
        "added to {}, owned by {}, due {}",
        t.account_id,
        t.owner_email.as_deref().unwrap_or("nobody"),
        t.due_on.map_or("any day".into(), |d| d.to_string())
    );
    show_changed(&c, a.format, &what)
}

async fn done(db: &str, config_path: &Path, a: DoneArgs, today: Date) -> Result<()> {
    let config = load_config(config_path)?;
    let on = opt_date("--on", &a.on)?;
    let log = match (a.no_log, a.log) {
        (true, _) => LogChoice::Nothing,
        (false, Some(k)) => LogChoice::Kind(k),
        (false, None) => LogChoice::TaskKind,
    };
    let completion = Completion {
        log,
        notes: a.notes,
        on,
        by: None,
    };
    let store = open_store(db).await?;
    let v = tasks::complete(
        &store,
        &config,
        &Scope::All,
        &a.id,
        &completion,
        today,
        jiff::Timestamp::now(),
    )
    .await
    .map_err(|e| {
        let log_flag = if matches!(completion.log, LogChoice::Kind(_)) {
            "--log"
        } else {
            "the task's log kind"
        };
        flagged(
            e,
            &[
                ("log_kind", log_flag),
                ("on", "--on"),
                ("notes", "--notes"),
                ("status", "status"),
            ],
        )
    })?;
    let day = v.task.completed_on.unwrap_or(today);
    let what = match &v.task.engagement_id {
        Some(e) => format!("done on {day}; logged engagement {e}"),
        None => format!("done on {day}"),
    };
    show(&v, a.format, &what)
}
