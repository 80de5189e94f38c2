//! Tasks: the work a CSM does each day, written by hand or made for a plan
//! milestone the CSM owns (`plans`), and what every surface does with them
//! (the CLI's `tenure tasks`, the API's `/tasks`, the `/tasks` page and the
//! account page): list them (*my tasks*: open, overdue first, with the days
//! overdue), add one, complete it (logging an engagement when asked),
//! snooze, reassign, drop and reopen it, or edit its fields.
//!
//! The rules are core's (`tenure_core::target::tasks`); the store keeps a
//! CSM to their own accounts (a task of another portfolio is
//! [`Error::NotFound`]). Bad input is [`Error::Invalid`] with each problem
//! as `field: message`, the field named as the API names it (`title`,
//! `due`, `priority`, `notes`, `log_kind`, `owner_email`, `account_id`,
//! `owner`, `status`, `until`, `on`), problems joined by `"; "`; nothing
//! is written then.
//!
//! Decisions worth knowing:
//! - A task's owner defaults to the account's CSM, else to whoever adds it.
//! - Reassigning (or adding for someone) accepts any well-formed address
//!   but says when the new owner will not be able to work the task
//!   ([`Warning`]): not a user while the store has users (a store without
//!   users, used from the command line only, gets no warning), a disabled
//!   user, a read-only user, or a CSM limited to their own accounts who is
//!   not this account's CSM (they would not see it). Refusing would stop a
//!   leader handing work to someone before their login or account move.
//! - Completing logs an engagement of the kind asked for, else of the
//!   task's `log_kind`, unless told not to; it is dated the completion day
//!   and carries the notes given, else the task's title. Notes without an
//!   engagement to keep them are refused. The store marks a milestone
//!   task's milestone done in the same transaction, and refuses a task
//!   that is no longer open, so a form sent twice logs one engagement.
//! - Snoozing moves the task's due day only: a milestone keeps its own,
//!   which plan execution counts against. Dropping a milestone task leaves
//!   the milestone open in its plan (dropped milestones leave execution,
//!   which a CSM alone should not decide); reopening a done milestone task
//!   reopens its milestone.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::engage::{EngagementField, check_engagement};
use tenure_core::model::Account;
use tenure_core::target::plans::MilestoneStatus;
use tenure_core::target::tasks::{
    TaskDraft, TaskSource, TaskStatus, check_done_day, check_owner, check_snooze, check_task,
    check_transition, my_order, overdue_days,
};
use tenure_store::api::Scope;
use tenure_store::auth::Role;
use tenure_store::rows::Record;
use tenure_store::target::{MilestonePatch, Task, TaskPatch, TaskQuery};
use tenure_store::{Kind, Store, StoreError};

use crate::ids::new_id;
use crate::{Error, Result};

/// Which tasks by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    Open,
    Done,
    Dropped,
    All,
}

impl StatusFilter {
    /// `open`, `done`, `dropped` or `all` (any case).
    pub fn parse(s: &str) -> Option<StatusFilter> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Some(StatusFilter::Open),
            "done" => Some(StatusFilter::Done),
            "dropped" => Some(StatusFilter::Dropped),
            "all" => Some(StatusFilter::All),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Open => "open",
            StatusFilter::Done => "done",
            StatusFilter::Dropped => "dropped",
            StatusFilter::All => "all",
        }
    }

    fn status(self) -> Option<TaskStatus> {
        match self {
            StatusFilter::Open => Some(TaskStatus::Open),
            StatusFilter::Done => Some(TaskStatus::Done),
            StatusFilter::Dropped => Some(TaskStatus::Dropped),
            StatusFilter::All => None,
        }
    }
}

/// Which tasks to list (always within the caller's scope).
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// Tasks owned by this address (any case); `None`: every owner.
    pub owner: Option<String>,
    /// One account's tasks; the account must exist in scope.
    pub account_id: Option<String>,
    pub status: StatusFilter,
}

/// A task as the surfaces show it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    pub task: Task,
    /// `None` when the account has gone.
    pub account_name: Option<String>,
    /// Days an open task is overdue on the day asked for (0 for one not
    /// due yet, without a due day, done or dropped).
    pub overdue_days: i32,
}

/// Why the owner of a task may not be able to work it: the change is made
/// and the surfaces say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The store has users and this address is not one of them.
    NotAUser(String),
    /// A user whose login is disabled.
    Disabled(String),
    /// A read-only (viewer) user.
    ReadOnly(String),
    /// A CSM limited to their own accounts who is not the account's CSM.
    OtherPortfolio(String),
}

impl Warning {
    /// A short stable name, for the web page's redirect.
    pub fn code(&self) -> &'static str {
        match self {
            Warning::NotAUser(_) => "not_a_user",
            Warning::Disabled(_) => "disabled",
            Warning::ReadOnly(_) => "read_only",
            Warning::OtherPortfolio(_) => "other_portfolio",
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NotAUser(e) => write!(
                f,
                "{e} is not a Tenure user: they cannot see the task until they are added"
            ),
            Warning::Disabled(e) => write!(f, "{e} is a disabled user: they cannot log in"),
            Warning::ReadOnly(e) => write!(
                f,
                "{e} has the read-only viewer role: they cannot complete the task"
            ),
            Warning::OtherPortfolio(e) => write!(
                f,
                "{e} is a CSM of other accounts: they cannot see this account's tasks"
            ),
        }
    }
}

/// A task changed, and what the new owner may not be able to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    pub task: TaskView,
    pub warnings: Vec<Warning>,
}

/// Problems with the caller's input, field by field.
#[derive(Debug, Default)]
struct Problems(Vec<String>);

impl Problems {
    fn push(&mut self, field: &str, message: impl fmt::Display) {
        self.0.push(format!("{field}: {message}"));
    }

    fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self.0.join("; ")))
        }
    }
}

/// The problems of an [`Error::Invalid`] message as `(field, message)`:
/// split at each `"; "` that starts another `field: ` (a message may hold
/// `"; "` itself). Text before any field comes with an empty field.
pub fn problems(message: &str) -> Vec<(&str, &str)> {
    let starts_field = |rest: &str| {
        rest.split_once(": ").is_some_and(|(f, _)| {
            !f.is_empty() && f.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        })
    };
    let mut parts: Vec<&str> = Vec::new();
    let mut start = 0;
    for (i, _) in message.match_indices("; ") {
        if i >= start && starts_field(&message[i + 2..]) {
            parts.push(&message[start..i]);
            start = i + 2;
        }
    }
    parts.push(&message[start..]);
    parts
        .into_iter()
        .map(|p| match p.split_once(": ") {
            Some((f, m)) if f.chars().all(|c| c.is_ascii_lowercase() || c == '_') => (f, m),
            _ => ("", p),
        })
        .collect()
}

fn invalid(field: &str, message: impl fmt::Display) -> Error {
    Error::Invalid(format!("{field}: {message}"))
}

/// The account, if it exists and is in scope.
async fn account(store: &Store, scope: &Scope, id: &str) -> Result<Account> {
    // PostgreSQL cannot hold NUL in text: such an id cannot exist.
    if id.contains('\0') {
        return Err(Error::NotFound(format!("account {id:?}")));
    }
    match store.get_record(Kind::Accounts, id, scope).await {
        Ok(Record::Account(a)) => Ok(a),
        Ok(_) | Err(StoreError::NotFound(_)) => Err(Error::NotFound(format!("account {id:?}"))),
        Err(e) => Err(e.into()),
    }
}

/// One task in scope.
async fn task(store: &Store, scope: &Scope, id: &str) -> Result<Task> {
    if id.contains('\0') {
        return Err(Error::NotFound(format!("task {id:?}")));
    }
    Ok(store.task(id, scope).await?)
}

/// Accounts looked up one by one up to this many; past it, every account
/// is read in one pass.
const NAMES_ONE_BY_ONE: usize = 50;

/// The names of the accounts of `tasks`.
async fn account_names(store: &Store, tasks: &[Task]) -> Result<HashMap<String, String>> {
    let ids: BTreeSet<&str> = tasks.iter().map(|t| t.account_id.as_str()).collect();
    let mut names = HashMap::new();
    if ids.len() <= NAMES_ONE_BY_ONE {
        for id in ids {
            match store.get_record(Kind::Accounts, id, &Scope::All).await {
                Ok(Record::Account(a)) => {
                    names.insert(a.id, a.name);
                }
                Ok(_) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    } else {
        for a in store.health_accounts_with(false).await? {
            if ids.contains(a.id.as_str()) {
                names.insert(a.id, a.name);
            }
        }
    }
    Ok(names)
}

fn view(task: Task, name: Option<String>, day: Date) -> TaskView {
    let overdue = if task.status == TaskStatus::Open {
        overdue_days(task.due_on, day)
    } else {
        0
    };
    TaskView {
        task,
        account_name: name,
        overdue_days: overdue,
    }
}

/// The order tasks are listed in on `day`: open ones first in the order of
/// *my tasks* (most overdue first, then by due day, those without one
/// last, higher priority first within a day), then the closed ones, the
/// most recently completed first.
pub fn order(a: &Task, b: &Task, day: Date) -> Ordering {
    let open = |t: &Task| t.status == TaskStatus::Open;
    match (open(a), open(b)) {
        (true, true) => my_order((a.due_on, a.priority), (b.due_on, b.priority), day),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => b.completed_on.cmp(&a.completed_on),
    }
    .then(a.created_at.cmp(&b.created_at))
    .then(a.id.cmp(&b.id))
}

async fn views(store: &Store, mut tasks: Vec<Task>, day: Date) -> Result<Vec<TaskView>> {
    tasks.sort_by(|a, b| order(a, b, day));
    let names = account_names(store, &tasks).await?;
    Ok(tasks
        .into_iter()
        .map(|t| {
            let name = names.get(&t.account_id).cloned();
            view(t, name, day)
        })
        .collect())
}

async fn one_view(store: &Store, task: Task, day: Date) -> Result<TaskView> {
    let mut v = views(store, vec![task], day).await?;
    v.pop()
        .ok_or_else(|| Error::Internal("a task went missing".into()))
}

/// Tasks in scope matching `filter`, in [`order`] on `day`, each with its
/// days overdue on `day`. An `owner` must be an email address (the field
/// `owner`); an `account_id` must name an account in scope.
pub async fn list(
    store: &Store,
    scope: &Scope,
    filter: &TaskFilter,
    day: Date,
) -> Result<Vec<TaskView>> {
    let owner = filter
        .owner
        .as_deref()
        .map(|o| check_owner(o).map_err(|e| invalid("owner", e)))
        .transpose()?;
    if let Some(a) = &filter.account_id {
        account(store, scope, a).await?;
    }
    let tasks = store
        .tasks(&TaskQuery {
            scope: scope.clone(),
            owner,
            account_id: filter.account_id.clone(),
            status: filter.status.status(),
        })
        .await?;
    views(store, tasks, day).await
}

/// [`list`] of one account the caller has already read in `scope` (the
/// account page): its tasks with `status` in [`order`] on `day`, named
/// `account_name`, without reading the account again.
pub async fn list_of_account(
    store: &Store,
    scope: &Scope,
    (account_id, account_name): (&str, &str),
    status: StatusFilter,
    day: Date,
) -> Result<Vec<TaskView>> {
    let mut tasks = store
        .tasks(&TaskQuery {
            scope: scope.clone(),
            owner: None,
            account_id: Some(account_id.to_string()),
            status: status.status(),
        })
        .await?;
    tasks.sort_by(|a, b| order(a, b, day));
    Ok(tasks
        .into_iter()
        .map(|t| view(t, Some(account_name.to_string()), day))
        .collect())
}

/// One task in scope, with its days overdue on `day`.
pub async fn get(store: &Store, scope: &Scope, id: &str, day: Date) -> Result<TaskView> {
    let t = task(store, scope, id).await?;
    one_view(store, t, day).await
}

/// A task written by hand; empty text is "not given".
#[derive(Debug, Clone, Default)]
pub struct NewTask<'a> {
    pub account_id: &'a str,
    pub title: &'a str,
    pub due: Option<Date>,
    /// Empty: the account's CSM, else whoever adds it.
    pub owner_email: &'a str,
    /// Empty: normal.
    pub priority: &'a str,
    pub notes: &'a str,
    /// The engagement kind completing it logs; empty: none.
    pub log_kind: &'a str,
}

/// Adds a task by hand on `today` for an account in scope, checked by
/// core's `check_task` against `engage.engagement_kinds`. `by` is who adds
/// it (their email), the owner when the account has no CSM.
pub async fn add(
    store: &Store,
    config: &Config,
    scope: &Scope,
    new: &NewTask<'_>,
    by: Option<&str>,
    today: Date,
    now_micros: i64,
) -> Result<Changed> {
    let mut problems = Problems::default();
    if new.account_id.trim().is_empty() {
        problems.push("account_id", "the account is missing");
    }
    let checked = match check_task(
        &TaskDraft {
            title: new.title,
            due: new.due,
            priority: new.priority,
            notes: new.notes,
            log_kind: new.log_kind,
        },
        &config.engagement_kinds,
        today,
    ) {
        Ok(c) => Some(c),
        Err(ps) => {
            for p in ps {
                problems.push(p.field.name(), p.message);
            }
            None
        }
    };
    let owner = match new.owner_email.trim() {
        "" => None,
        e => match check_owner(e) {
            Ok(e) => Some(e),
            Err(m) => {
                problems.push("owner_email", m);
                None
            }
        },
    };
    problems.finish()?;
    let Some(checked) = checked else {
        return Err(Error::Internal("a checked task went missing".into()));
    };
    let a = account(store, scope, new.account_id.trim()).await?;
    let owner = owner
        .or_else(|| {
            a.csm_email
                .as_deref()
                .map(|e| e.trim().to_ascii_lowercase())
        })
        .or_else(|| by.map(|e| e.trim().to_ascii_lowercase()))
        .filter(|e| !e.is_empty());
    let t = Task {
        id: new_id("tsk"),
        account_id: a.id.clone(),
        title: checked.title,
        owner_email: owner.clone(),
        due_on: checked.due,
        status: TaskStatus::Open,
        priority: checked.priority,
        source: TaskSource::Manual,
        source_id: None,
        notes: checked.notes,
        log_kind: checked.log_kind,
        engagement_id: None,
        created_at: now_micros,
        completed_on: None,
    };
    store.create_task(&t, scope).await?;
    let warnings = match &owner {
        Some(o) => owner_warnings(store, o, &a).await?,
        None => Vec::new(),
    };
    Ok(Changed {
        task: view(t, Some(a.name), today),
        warnings,
    })
}

/// What a completion logs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LogChoice {
    /// The task's `log_kind`, if it has one.
    #[default]
    TaskKind,
    /// An engagement of this kind (one of `engage.engagement_kinds`).
    Kind(String),
    /// No engagement.
    Nothing,
}

/// How a task was completed.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    pub log: LogChoice,
    /// The engagement's notes (default: the task's title).
    pub notes: Option<String>,
    /// The day it was done (default: today).
    pub on: Option<Date>,
    /// Who did it (their email): the engagement's CSM, else the task's
    /// owner.
    pub by: Option<String>,
}

/// Completes an open task in scope: logs the engagement `c` asks for (see
/// [`LogChoice`]), checked by core's `check_engagement` and dated the
/// completion day, and marks the task's milestone done, in one
/// transaction. The problems are named `log_kind`, `on` and `notes`.
pub async fn complete(
    store: &Store,
    config: &Config,
    scope: &Scope,
    id: &str,
    c: &Completion,
    today: Date,
    now: Timestamp,
) -> Result<TaskView> {
    let t = task(store, scope, id).await?;
    if t.status != TaskStatus::Open {
        let when = t
            .completed_on
            .map(|d| format!(" on {d}"))
            .unwrap_or_default();
        let status = t.status.as_str();
        return Err(invalid(
            "status",
            format!("the task is already {status}{when}: reopen it first"),
        ));
    }
    let mut problems = Problems::default();
    let day = match check_done_day(c.on.unwrap_or(today), today) {
        Ok(d) => d,
        Err(e) => {
            problems.push("on", e);
            today
        }
    };
    let kind = match &c.log {
        LogChoice::TaskKind => t.log_kind.clone(),
        LogChoice::Kind(k) if k.trim().is_empty() => t.log_kind.clone(),
        LogChoice::Kind(k) => Some(k.clone()),
        LogChoice::Nothing => None,
    };
    let notes = c.notes.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let engagement = match &kind {
        None => {
            if notes.is_some() {
                problems.push(
                    "notes",
                    "notes are kept with the engagement the task logs: choose a kind to log, or leave the notes out",
                );
            }
            None
        }
        Some(k) => match check_engagement(
            k,
            day,
            notes.unwrap_or(&t.title),
            &config.engagement_kinds,
            today,
        ) {
            Ok(e) => Some(e),
            Err(ps) => {
                for p in ps {
                    let field = match p.field {
                        EngagementField::Kind => "log_kind",
                        EngagementField::Date => "on",
                        EngagementField::Notes => "notes",
                    };
                    problems.push(field, p.message);
                }
                None
            }
        },
    };
    problems.finish()?;
    let csm =
        c.by.as_deref()
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .or_else(|| t.owner_email.clone());
    let engagement = engagement.map(|e| e.record(new_id("eng"), &t.account_id, csm, today, now));
    let done = store
        .complete_task(id, day, engagement.as_ref(), scope)
        .await?;
    one_view(store, done, today).await
}

/// Moves an open task's due day to `until`: after today, at most a year
/// ahead (the field `until`).
pub async fn snooze(
    store: &Store,
    scope: &Scope,
    id: &str,
    until: Date,
    today: Date,
) -> Result<TaskView> {
    let t = task(store, scope, id).await?;
    if t.status != TaskStatus::Open {
        return Err(invalid(
            "status",
            format!(
                "the task is {}: only an open task is snoozed",
                t.status.as_str()
            ),
        ));
    }
    let until = check_snooze(until, today).map_err(|e| invalid("until", e))?;
    let patch = TaskPatch {
        due_on: Some(Some(until)),
        ..TaskPatch::default()
    };
    let t = store.update_task(id, &patch, scope).await?;
    one_view(store, t, today).await
}

/// Gives a task to another owner (the field `owner_email`), saying when
/// they may not be able to work it.
pub async fn reassign(
    store: &Store,
    scope: &Scope,
    id: &str,
    email: &str,
    today: Date,
) -> Result<Changed> {
    let email = check_owner(email).map_err(|e| invalid("owner_email", e))?;
    task(store, scope, id).await?;
    let patch = TaskPatch {
        owner_email: Some(Some(email.clone())),
        ..TaskPatch::default()
    };
    let t = store.update_task(id, &patch, scope).await?;
    let a = account(store, scope, &t.account_id).await?;
    let warnings = owner_warnings(store, &email, &a).await?;
    Ok(Changed {
        task: view(t, Some(a.name), today),
        warnings,
    })
}

/// Drops an open task (a done one must be reopened first).
pub async fn drop_task(store: &Store, scope: &Scope, id: &str, today: Date) -> Result<TaskView> {
    set_status(store, scope, id, TaskStatus::Dropped, today).await
}

/// Reopens a done or dropped task; reopening a done milestone task
/// reopens its milestone.
pub async fn reopen(store: &Store, scope: &Scope, id: &str, today: Date) -> Result<TaskView> {
    set_status(store, scope, id, TaskStatus::Open, today).await
}

/// Sets a task's status to open or dropped (the field `status`);
/// completing goes through [`complete`].
pub async fn set_status(
    store: &Store,
    scope: &Scope,
    id: &str,
    to: TaskStatus,
    today: Date,
) -> Result<TaskView> {
    let t = task(store, scope, id).await?;
    check_status(&t, to)?;
    let t = write_status(store, scope, t, to).await?;
    one_view(store, t, today).await
}

fn check_status(t: &Task, to: TaskStatus) -> Result<()> {
    if to == TaskStatus::Done && t.status != TaskStatus::Done {
        return Err(invalid(
            "status",
            "complete the task instead: completing can log an engagement and marks its milestone done",
        ));
    }
    check_transition(t.status, to).map_err(|e| invalid("status", e))
}

async fn write_status(store: &Store, scope: &Scope, t: Task, to: TaskStatus) -> Result<Task> {
    if t.status == to {
        return Ok(t);
    }
    let milestone = match (&t.source, &t.source_id) {
        (TaskSource::Milestone, Some(m)) if t.status == TaskStatus::Done => Some(m.clone()),
        _ => None,
    };
    if let Some(m) = milestone.filter(|_| to == TaskStatus::Open) {
        // The milestone and its task reopen together.
        let patch = MilestonePatch {
            status: Some((MilestoneStatus::Open, None)),
            ..MilestonePatch::default()
        };
        match store.update_milestone(&m, &patch, scope).await {
            Ok(()) => return Ok(store.task(&t.id, scope).await?),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let patch = TaskPatch {
        status: Some(to),
        ..TaskPatch::default()
    };
    Ok(store.update_task(&t.id, &patch, scope).await?)
}

/// A change to a task's fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct Edit {
    pub title: Option<String>,
    /// `Some(None)` removes the due day.
    pub due: Option<Option<Date>>,
    pub priority: Option<String>,
    /// `Some(None)` (or empty notes) removes them.
    pub notes: Option<Option<String>>,
    pub owner_email: Option<String>,
    /// Open or dropped.
    pub status: Option<TaskStatus>,
}

/// Edits a task in scope: every field that changes is checked first (by
/// core's `check_task`, so an old due day that stays is allowed), then
/// written.
pub async fn edit(
    store: &Store,
    config: &Config,
    scope: &Scope,
    id: &str,
    e: &Edit,
    today: Date,
) -> Result<Changed> {
    let t = task(store, scope, id).await?;
    let mut problems = Problems::default();
    // Only the fields that change are checked: the others stand in with
    // values that pass.
    let checked = check_task(
        &TaskDraft {
            title: e.title.as_deref().unwrap_or("-"),
            due: e.due.flatten(),
            priority: e.priority.as_deref().unwrap_or(""),
            notes: e.notes.as_ref().and_then(|n| n.as_deref()).unwrap_or(""),
            log_kind: "",
        },
        &config.engagement_kinds,
        today,
    );
    let checked = match checked {
        Ok(c) => Some(c),
        Err(ps) => {
            for p in ps {
                problems.push(p.field.name(), p.message);
            }
            None
        }
    };
    let owner = match &e.owner_email {
        Some(o) => match check_owner(o) {
            Ok(o) => Some(o),
            Err(m) => {
                problems.push("owner_email", m);
                None
            }
        },
        None => None,
    };
    if let Some(s) = e.status
        && let Err(err) = check_status(&t, s)
    {
        problems.0.push(err.to_string());
    }
    problems.finish()?;
    let Some(c) = checked else {
        return Err(Error::Internal("a checked task went missing".into()));
    };
    let patch = TaskPatch {
        title: e.title.as_ref().map(|_| c.title),
        due_on: e.due.map(|_| c.due),
        priority: e.priority.as_ref().map(|_| c.priority),
        notes: e.notes.as_ref().map(|_| c.notes),
        owner_email: owner.clone().map(Some),
        status: None,
    };
    let mut t = if patch.title.is_some()
        || patch.due_on.is_some()
        || patch.priority.is_some()
        || patch.notes.is_some()
        || patch.owner_email.is_some()
    {
        store.update_task(id, &patch, scope).await?
    } else {
        t
    };
    if let Some(s) = e.status {
        t = write_status(store, scope, t, s).await?;
    }
    let a = account(store, scope, &t.account_id).await?;
    let warnings = match &owner {
        Some(o) => owner_warnings(store, o, &a).await?,
        None => Vec::new(),
    };
    Ok(Changed {
        task: view(t, Some(a.name), today),
        warnings,
    })
}

/// Why `email` may not be able to work a task of account `a` (see
/// [`Warning`]).
pub async fn owner_warnings(store: &Store, email: &str, a: &Account) -> Result<Vec<Warning>> {
    let email = email.trim().to_ascii_lowercase();
    let warning = match store.user_by_email(&email).await? {
        Some(u) if u.disabled => Some(Warning::Disabled(email)),
        Some(u) if u.role == Role::Viewer => Some(Warning::ReadOnly(email)),
        Some(u)
            if u.role == Role::Csm
                && !u.all_accounts
                && a.csm_email
                    .as_deref()
                    .is_none_or(|c| !c.trim().eq_ignore_ascii_case(&email)) =>
        {
            Some(Warning::OtherPortfolio(email))
        }
        Some(_) => None,
        None if !store.list_users().await?.is_empty() => Some(Warning::NotAUser(email)),
        None => None,
    };
    Ok(warning.into_iter().collect())
}
