//! `/tasks`: *my tasks* for a CSM (open, overdue first with the days
//! overdue, the due day, the account, priority and source), every owner's
//! for a leader or an admin, who can pick one owner (`?owner=`); a CSM may
//! widen theirs to every task of their accounts (`?owner=all`). Status
//! (`?status=open|done|dropped|all`) and one account (`?account=`) narrow
//! the list.
//!
//! Each open task has forms to complete it (with an engagement to log, by
//! default the task's own kind), snooze it, reassign it and drop it; a
//! closed one can be reopened. Forms post to `/tasks/{id}/complete`,
//! `/snooze`, `/reassign`, `/drop` and `/reopen` with the session's CSRF
//! token and a `back` address (a path on this site: `/tasks?...` or an
//! account page); a saved change redirects there (303) with `task=` (what
//! was done) and `warn=` (why the new owner may not be able to work it),
//! which [`flash`] turns into the message shown. A change with a mistake
//! shows this page again (422) with the message next to the task's form.
//! The rules, the scope and the writes are the application layer's
//! (`tenure_app::target::tasks`); another portfolio's task is 404.
//!
//! [`account_tasks_section`] is the same table for the account page.

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::Date;
use serde::Deserialize;
use tenure_app::Error;
use tenure_app::clock::today;
use tenure_app::target::tasks::{
    self, Completion, LogChoice, StatusFilter, TaskFilter, TaskView, Warning,
};
use tenure_core::model::{add_days, parse_date};
use tenure_core::target::tasks::{Priority, TaskSource, TaskStatus, check_owner, latest_snooze};
use tenure_store::auth::Role;

use super::layout::{Nav, render, render_status, urlencode};
use super::{WebError, WebUser};
use crate::AppState;
use crate::auth::{CsrfForm, Principal};
use crate::error::AppError;

/// Rows shown (each with its forms); the rest are counted.
const ROWS_SHOWN: usize = 200;
/// Closed tasks shown on the account page.
const CLOSED_ON_ACCOUNT: usize = 5;
/// Days ahead the snooze form offers by default.
const SNOOZE_DAYS: i32 = 7;

/// The form of a task that came back with a mistake, and what was typed.
#[derive(Debug, Clone, Default)]
pub struct RowError {
    /// complete, snooze, reassign, drop or reopen.
    pub form: &'static str,
    pub message: String,
}

/// A task, formatted.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    /// `/tasks/{id}`, the forms' address.
    pub action: String,
    pub title: String,
    pub notes: String,
    pub account_id: String,
    pub account_name: String,
    pub account_href: Option<String>,
    pub due: String,
    pub overdue: i32,
    pub overdue_text: String,
    pub priority: &'static str,
    pub priority_class: &'static str,
    pub source: &'static str,
    pub owner: String,
    pub status: &'static str,
    pub open: bool,
    /// "Done on ..." or "Dropped".
    pub closed: String,
    /// The kind the complete form logs by default.
    pub log_kind: String,
    pub form_notes: String,
    pub form_until: String,
    pub form_to: String,
    pub error: Option<RowError>,
}

impl Row {
    /// Whether the mistake shown is in form `form`.
    pub fn error_in(&self, form: &str) -> bool {
        self.error.as_ref().is_some_and(|e| e.form == form)
    }
}

/// The table of tasks with its forms: on the page and on the account page.
#[derive(Debug, Clone)]
pub struct TaskTable {
    /// The section's id: `tasks` on the page, `account-tasks` on an account.
    pub id: &'static str,
    pub title: String,
    pub rows: Vec<Row>,
    pub kinds: Vec<String>,
    pub csrf: String,
    pub can_write: bool,
    pub show_owner: bool,
    pub show_account: bool,
    pub columns: usize,
    /// Where the forms send the browser back to.
    pub back: String,
    pub tomorrow: String,
    pub latest: String,
    /// Known owners, offered by the reassign form.
    pub owners: Vec<String>,
    pub empty: String,
    pub more: Option<String>,
    pub flash: Option<String>,
    pub warnings: Vec<String>,
}

#[derive(Template)]
#[template(path = "tasks.html")]
pub struct TasksPage {
    pub nav: Nav,
    pub heading: String,
    pub today: String,
    pub open_count: usize,
    pub overdue_count: usize,
    pub scope_note: String,
    /// `(value, label)` of the owner picker; empty: no picker.
    pub owner_options: Vec<(String, String)>,
    pub owner_sel: String,
    pub status: &'static str,
    pub account: String,
    pub back_link: Option<String>,
    pub table: TaskTable,
}

/// The account page's tasks: render it with `{{ tasks|safe }}` (it is a
/// `<section id="account-tasks">`), or call `render()`.
#[derive(Template)]
#[template(path = "tasks.html", block = "task_table")]
pub struct TasksSection {
    pub table: TaskTable,
}

/// The page's query.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageQuery {
    /// `me`, `all` or an owner's email.
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    /// What was just done (see [`flash`]).
    #[serde(default)]
    pub task: Option<String>,
    #[serde(default)]
    pub warn: Option<String>,
}

/// The message for a redirect's `task=` and `warn=` codes, so the
/// account page can show it too. Unknown codes show nothing.
pub fn flash(task: Option<&str>, warn: Option<&str>) -> (Option<String>, Vec<String>) {
    let saved = match task.unwrap_or("") {
        "added" => Some("Task added."),
        "done" => Some("Task done."),
        "logged" => Some("Task done; the engagement is logged."),
        "snoozed" => Some("Task snoozed."),
        "reassigned" => Some("Task reassigned."),
        "dropped" => Some("Task dropped."),
        "reopened" => Some("Task reopened."),
        _ => None,
    };
    let warnings = warn
        .unwrap_or("")
        .split(',')
        .filter_map(|code| match code {
            "not_a_user" => Some(
                "The new owner is not a Tenure user: they cannot see the task until they are added.",
            ),
            "disabled" => Some("The new owner's login is disabled."),
            "read_only" => Some("The new owner has the read-only role: they cannot complete it."),
            "other_portfolio" => Some(
                "The new owner is a CSM of other accounts: they cannot see this account's tasks.",
            ),
            _ => None,
        })
        .map(str::to_string)
        .collect();
    (saved.map(str::to_string), warnings)
}

fn row(v: &TaskView, today: Date, error: Option<&(String, RowError)>) -> Row {
    let t = &v.task;
    let error = error.filter(|(id, _)| *id == t.id).map(|(_, e)| e.clone());
    let (priority_class, source) = (
        match t.priority {
            Priority::Urgent => "b-red",
            Priority::High => "b-yellow",
            Priority::Normal | Priority::Low => "b-none",
        },
        match t.source {
            TaskSource::Manual => "by hand",
            TaskSource::Milestone => "plan milestone",
            TaskSource::Playbook => "playbook",
            TaskSource::Review => "review",
            TaskSource::Request => "product request",
        },
    );
    let overdue_text = match v.overdue_days {
        1 => "1 day overdue".to_string(),
        n => format!("{n} days overdue"),
    };
    let closed = match (t.status, t.completed_on) {
        (TaskStatus::Done, Some(d)) => format!("Done on {d}"),
        (TaskStatus::Done, None) => "Done".into(),
        (TaskStatus::Dropped, _) => "Dropped".into(),
        (TaskStatus::Open, _) => String::new(),
    };
    Row {
        id: t.id.clone(),
        action: format!("/tasks/{}", urlencode(&t.id)),
        title: t.title.clone(),
        notes: t.notes.clone().unwrap_or_default(),
        account_id: t.account_id.clone(),
        account_name: v
            .account_name
            .clone()
            .unwrap_or_else(|| t.account_id.clone()),
        account_href: v
            .account_name
            .as_ref()
            .map(|_| format!("/accounts/{}", urlencode(&t.account_id))),
        due: t.due_on.map_or("–".into(), |d| d.to_string()),
        overdue: v.overdue_days,
        overdue_text,
        priority: t.priority.as_str(),
        priority_class,
        source,
        owner: t.owner_email.clone().unwrap_or_default(),
        status: t.status.as_str(),
        open: t.status == TaskStatus::Open,
        closed,
        log_kind: t.log_kind.clone().unwrap_or_default(),
        form_notes: String::new(),
        form_until: add_days(today, SNOOZE_DAYS).to_string(),
        form_to: String::new(),
        error,
    }
}

/// Known owners for the reassign form: users who can work tasks, and the
/// owners already shown.
async fn owners(state: &AppState, views: &[TaskView]) -> Result<Vec<String>, AppError> {
    let mut out: BTreeSet<String> = state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| !u.disabled && u.role != Role::Viewer)
        .map(|u| u.email)
        .collect();
    out.extend(views.iter().filter_map(|v| v.task.owner_email.clone()));
    Ok(out.into_iter().collect())
}

#[allow(clippy::too_many_arguments)]
fn table(
    p: &Principal,
    id: &'static str,
    title: String,
    views: &[TaskView],
    kinds: &[String],
    owners: Vec<String>,
    back: String,
    show_account: bool,
    show_owner: bool,
    empty: &str,
    error: Option<&(String, RowError)>,
    today: Date,
) -> TaskTable {
    let can_write = p.role.can_write() && p.csrf_token.is_some();
    let rows: Vec<Row> = views
        .iter()
        .take(ROWS_SHOWN)
        .map(|v| row(v, today, error))
        .collect();
    TaskTable {
        id,
        title,
        more: (views.len() > rows.len()).then(|| {
            format!(
                "The first {} of {} shown: pick an owner or a status to see the others.",
                rows.len(),
                views.len()
            )
        }),
        rows,
        kinds: kinds.to_vec(),
        csrf: p.csrf_token.clone().unwrap_or_default(),
        can_write,
        show_owner,
        show_account,
        columns: 4 + usize::from(show_account) + usize::from(show_owner) + usize::from(can_write),
        back,
        tomorrow: add_days(today, 1).to_string(),
        latest: latest_snooze(today).to_string(),
        owners,
        empty: empty.to_string(),
        flash: None,
        warnings: Vec::new(),
    }
}

/// True for a CSM limited to their own accounts.
fn own_only(p: &Principal) -> bool {
    p.role == Role::Csm && !p.all_accounts
}

/// Reads the page's query for the caller: the owner (`None`: every owner
/// in scope) and what the picker shows.
fn owner_of(p: &Principal, q: &PageQuery) -> Result<(Option<String>, String), AppError> {
    let asked = q.owner.as_deref().map(str::trim).unwrap_or("");
    let me = p.email.clone().map(|e| e.to_ascii_lowercase());
    // A CSM sees their own by default; others everyone's.
    let default = if own_only(p) && me.is_some() {
        "me"
    } else {
        "all"
    };
    let asked = if asked.is_empty() { default } else { asked };
    match asked {
        "all" => Ok((None, "all".into())),
        "me" => match me {
            Some(e) => Ok((Some(e), "me".into())),
            None => Ok((None, "all".into())),
        },
        email => {
            let e = check_owner(email).map_err(|e| AppError::bad_request(format!("owner: {e}")))?;
            let sel = if Some(&e) == me.as_ref() {
                "me".to_string()
            } else {
                e.clone()
            };
            Ok((Some(e), sel))
        }
    }
}

/// A local address to go back to: a path on this site, else `/tasks`.
fn safe_back(back: &str) -> String {
    let b = back.trim();
    let local = b.starts_with('/')
        && !b.starts_with("//")
        && !b.contains('\\')
        && !b.chars().any(char::is_control)
        && b.len() <= 1000;
    if local {
        b.to_string()
    } else {
        "/tasks".into()
    }
}

/// `back` with `task=` and `warn=` added to its query, before its fragment.
fn with_flash(back: &str, done: &str, warnings: &[Warning]) -> String {
    let (path, fragment) = match back.split_once('#') {
        Some((p, f)) => (p, format!("#{f}")),
        None => (back, String::new()),
    };
    // A flash from an earlier change is replaced.
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("task=") && !kv.starts_with("warn="))
        .map(str::to_string)
        .collect();
    pairs.push(format!("task={done}"));
    if !warnings.is_empty() {
        let codes: Vec<&str> = warnings.iter().map(Warning::code).collect();
        pairs.push(format!("warn={}", codes.join(",")));
    }
    format!("{base}?{}{fragment}", pairs.join("&"))
}

async fn build(
    state: &AppState,
    p: &Principal,
    q: &PageQuery,
    error: Option<(String, RowError)>,
    back_link: Option<String>,
) -> Result<TasksPage, AppError> {
    let today = today();
    let (owner, owner_sel) = owner_of(p, q)?;
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => StatusFilter::Open,
        Some(s) => StatusFilter::parse(s).ok_or_else(|| {
            AppError::bad_request(format!(
                "status: expected open, done, dropped or all, not {s:?}"
            ))
        })?,
    };
    let account = q
        .account
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let filter = TaskFilter {
        owner: owner.clone(),
        account_id: account.clone(),
        status,
    };
    let views = tasks::list(&state.store, &p.scope(), &filter, today).await?;
    let own = own_only(p);
    let mine = owner.is_some() && owner == p.email.as_ref().map(|e| e.to_ascii_lowercase());
    let heading = if mine { "My tasks" } else { "Tasks" }.to_string();
    let known = owners(state, &views).await?;
    let mut owner_options: Vec<(String, String)> = Vec::new();
    if p.email.is_some() {
        owner_options.push(("me".into(), "Me".into()));
    }
    owner_options.push((
        "all".into(),
        if own {
            "Everyone, on my accounts"
        } else {
            "Everyone"
        }
        .into(),
    ));
    if !own {
        let me = p.email.as_deref().unwrap_or("");
        for o in known.iter().filter(|o| !o.eq_ignore_ascii_case(me)) {
            owner_options.push((o.clone(), o.clone()));
        }
        if owner_sel != "me" && owner_sel != "all" && !known.contains(&owner_sel) {
            owner_options.push((owner_sel.clone(), owner_sel.clone()));
        }
    }
    let scope_note = match (&owner, own) {
        (Some(o), _) if !mine => format!("owned by {o}"),
        (None, true) => "every owner, on your accounts".into(),
        (None, false) => "every owner".into(),
        _ => String::new(),
    };
    let mut back = format!(
        "/tasks?owner={}&status={}",
        urlencode(&owner_sel),
        status.as_str()
    );
    if let Some(a) = &account {
        back.push_str(&format!("&account={}", urlencode(a)));
    }
    let empty = match status {
        StatusFilter::Open => "Nothing to do: no open tasks.",
        _ => "No tasks.",
    };
    let title = match &account {
        Some(a) => format!(
            "{} of {}",
            status_title(status),
            views
                .first()
                .and_then(|v| v.account_name.clone())
                .unwrap_or_else(|| a.clone())
        ),
        None => status_title(status).to_string(),
    };
    let mut t = table(
        p,
        "tasks",
        title,
        &views,
        &state.web.config.engagement_kinds,
        known,
        back,
        true,
        !mine,
        empty,
        error.as_ref(),
        today,
    );
    let (flash, warnings) = flash(q.task.as_deref(), q.warn.as_deref());
    t.flash = flash;
    t.warnings = warnings;
    Ok(TasksPage {
        nav: Nav::new(p, "tasks"),
        heading,
        today: today.to_string(),
        open_count: views
            .iter()
            .filter(|v| v.task.status == TaskStatus::Open)
            .count(),
        overdue_count: views.iter().filter(|v| v.overdue_days > 0).count(),
        scope_note,
        owner_options,
        owner_sel,
        status: status.as_str(),
        account: account.unwrap_or_default(),
        back_link,
        table: t,
    })
}

fn status_title(s: StatusFilter) -> &'static str {
    match s {
        StatusFilter::Open => "Open tasks",
        StatusFilter::Done => "Done tasks",
        StatusFilter::Dropped => "Dropped tasks",
        StatusFilter::All => "All tasks",
    }
}

/// `GET /tasks`.
pub async fn page(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let Query(q) = q.map_err(|e| AppError::bad_request(e.body_text()))?;
    render(&build(&state, &p, &q, None, None).await?)
}

/// The account page's tasks section: the account's open tasks (overdue
/// first) and its few most recently closed ones, with the same forms,
/// which come back to `/accounts/{id}#account-tasks`. `task` and `warn`
/// are the page's query parameters of the same names (the flash after a
/// change). A CSM sees their own accounts only (404 otherwise).
pub async fn account_tasks_section(
    state: &AppState,
    p: &Principal,
    account_id: &str,
    task: Option<&str>,
    warn: Option<&str>,
) -> Result<TasksSection, AppError> {
    let today = today();
    let filter = TaskFilter {
        owner: None,
        account_id: Some(account_id.to_string()),
        status: StatusFilter::All,
    };
    let views = tasks::list(&state.store, &p.scope(), &filter, today).await?;
    account_section(state, p, account_id, views, task, warn, today).await
}

/// [`account_tasks_section`] of an account the caller has already read
/// (the account page), named `account_name`: the account is not read
/// again.
pub async fn account_tasks_section_of(
    state: &AppState,
    p: &Principal,
    (account_id, account_name): (&str, &str),
    task: Option<&str>,
    warn: Option<&str>,
) -> Result<TasksSection, AppError> {
    let today = today();
    let views = tasks::list_of_account(
        &state.store,
        &p.scope(),
        (account_id, account_name),
        StatusFilter::All,
        today,
    )
    .await?;
    account_section(state, p, account_id, views, task, warn, today).await
}

/// The account's tasks section from its tasks in order.
async fn account_section(
    state: &AppState,
    p: &Principal,
    account_id: &str,
    mut views: Vec<TaskView>,
    task: Option<&str>,
    warn: Option<&str>,
    today: Date,
) -> Result<TasksSection, AppError> {
    let open = views
        .iter()
        .filter(|v| v.task.status == TaskStatus::Open)
        .count();
    views.truncate(open + CLOSED_ON_ACCOUNT);
    let known = owners(state, &views).await?;
    let mut t = table(
        p,
        "account-tasks",
        "Tasks".into(),
        &views,
        &state.web.config.engagement_kinds,
        known,
        format!("/accounts/{}#account-tasks", urlencode(account_id)),
        false,
        true,
        "No tasks on this account.",
        None,
        today,
    );
    let (flash, warnings) = flash(task, warn);
    t.flash = flash;
    t.warnings = warnings;
    Ok(TasksSection { table: t })
}

/// The fields every task form sends.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TaskForm {
    #[serde(default)]
    pub back: String,
    /// Complete: `-` logs nothing, empty the task's kind, else a kind.
    #[serde(default)]
    pub log_kind: String,
    #[serde(default)]
    pub notes: String,
    /// Snooze: YYYY-MM-DD.
    #[serde(default)]
    pub until: String,
    /// Reassign: the new owner's email.
    #[serde(default)]
    pub to: String,
}

/// What a form asks for.
#[derive(Debug, Clone, Copy)]
enum Action {
    Complete,
    Snooze,
    Reassign,
    Drop,
    Reopen,
}

impl Action {
    fn form(self) -> &'static str {
        match self {
            Action::Complete => "complete",
            Action::Snooze => "snooze",
            Action::Reassign => "reassign",
            Action::Drop => "drop",
            Action::Reopen => "reopen",
        }
    }
}

async fn apply(
    state: &AppState,
    p: &Principal,
    id: &str,
    action: Action,
    f: &TaskForm,
) -> Result<(&'static str, Vec<Warning>), Error> {
    let (store, scope, today) = (&state.store, p.scope(), today());
    match action {
        Action::Complete => {
            let log = match f.log_kind.trim() {
                "-" => LogChoice::Nothing,
                "" => LogChoice::TaskKind,
                k => LogChoice::Kind(k.to_string()),
            };
            let c = Completion {
                log,
                notes: Some(f.notes.clone()),
                on: None,
                by: p.email.clone(),
            };
            let config = &state.web.config;
            let now = jiff::Timestamp::now();
            let v = tasks::complete(store, config, &scope, id, &c, today, now).await?;
            if v.task.engagement_id.is_some() || v.task.source == TaskSource::Milestone {
                state.web.cache.invalidate();
            }
            Ok((
                if v.task.engagement_id.is_some() {
                    "logged"
                } else {
                    "done"
                },
                Vec::new(),
            ))
        }
        Action::Snooze => {
            let until = parse_date(f.until.trim()).map_err(|_| {
                Error::Invalid(format!(
                    "until: enter a day as YYYY-MM-DD, not {:?}",
                    f.until.trim()
                ))
            })?;
            tasks::snooze(store, &scope, id, until, today).await?;
            Ok(("snoozed", Vec::new()))
        }
        Action::Reassign => {
            let c = tasks::reassign(store, &scope, id, &f.to, today).await?;
            Ok(("reassigned", c.warnings))
        }
        Action::Drop => {
            tasks::drop_task(store, &scope, id, today).await?;
            Ok(("dropped", Vec::new()))
        }
        Action::Reopen => {
            tasks::reopen(store, &scope, id, today).await?;
            Ok(("reopened", Vec::new()))
        }
    }
}

async fn post(
    state: AppState,
    id: String,
    action: Action,
    form: Result<CsrfForm<TaskForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let back = safe_back(&form.back);
    match apply(&state, &p, &id, action, &form).await {
        Ok((done, warnings)) => {
            Ok(Redirect::to(&with_flash(&back, done, &warnings)).into_response())
        }
        Err(Error::Invalid(message)) => {
            // The task's account, its open tasks, the message at its form.
            let task = tasks::get(&state.store, &p.scope(), &id, today())
                .await
                .map_err(AppError::from)?;
            let message = tasks::problems(&message)
                .into_iter()
                .map(|(_, m)| capitalised(m))
                .collect::<Vec<_>>()
                .join(" ");
            let q = PageQuery {
                owner: Some("all".into()),
                status: Some(
                    if task.task.status == TaskStatus::Open {
                        "open"
                    } else {
                        "all"
                    }
                    .into(),
                ),
                account: Some(task.task.account_id.clone()),
                ..PageQuery::default()
            };
            let mut error = RowError {
                form: action.form(),
                message,
            };
            if error.message.is_empty() {
                error.message = "This change could not be made.".into();
            }
            let mut page = build(&state, &p, &q, Some((id.clone(), error)), Some(back)).await?;
            if let Some(r) = page.table.rows.iter_mut().find(|r| r.id == id) {
                r.form_notes = form.notes.clone();
                r.form_to = form.to.clone();
                if !form.until.trim().is_empty() {
                    r.form_until = form.until.trim().to_string();
                }
            }
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(WebError(AppError::from(e))),
    }
}

/// A message as a sentence: capitalised, ending with a full stop.
fn capitalised(m: &str) -> String {
    let mut c = m.trim().chars();
    let mut out: String = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// `POST /tasks/{id}/complete`.
pub async fn complete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<TaskForm>, AppError>,
) -> Result<Response, WebError> {
    post(state, id, Action::Complete, form).await
}

/// `POST /tasks/{id}/snooze`.
pub async fn snooze(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<TaskForm>, AppError>,
) -> Result<Response, WebError> {
    post(state, id, Action::Snooze, form).await
}

/// `POST /tasks/{id}/reassign`.
pub async fn reassign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<TaskForm>, AppError>,
) -> Result<Response, WebError> {
    post(state, id, Action::Reassign, form).await
}

/// `POST /tasks/{id}/drop`.
pub async fn drop_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<TaskForm>, AppError>,
) -> Result<Response, WebError> {
    post(state, id, Action::Drop, form).await
}

/// `POST /tasks/{id}/reopen`.
pub async fn reopen(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<TaskForm>, AppError>,
) -> Result<Response, WebError> {
    post(state, id, Action::Reopen, form).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_addresses_stay_on_the_site_and_carry_the_flash() {
        assert_eq!(safe_back("https://evil.example/"), "/tasks");
        assert_eq!(safe_back("//evil.example/"), "/tasks");
        assert_eq!(safe_back("/\\evil"), "/tasks");
        assert_eq!(
            safe_back(" /accounts/a1#account-tasks "),
            "/accounts/a1#account-tasks"
        );
        assert_eq!(
            with_flash("/tasks?owner=me&task=done", "snoozed", &[]),
            "/tasks?owner=me&task=snoozed"
        );
        assert_eq!(
            with_flash(
                "/accounts/a1#account-tasks",
                "reassigned",
                &[Warning::NotAUser("x@y.z".into())]
            ),
            "/accounts/a1?task=reassigned&warn=not_a_user#account-tasks"
        );
        let (saved, warnings) = flash(Some("logged"), Some("not_a_user,bogus"));
        assert_eq!(
            saved.as_deref(),
            Some("Task done; the engagement is logged.")
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(flash(Some("<script>"), None), (None, Vec::new()));
    }
}

/// The account page's "Add a task" form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AddTaskForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub due: String,
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub log_kind: String,
}

/// `POST /accounts/{id}/tasks`: a task by hand from the account page, owned
/// by the account's CSM (else whoever adds it). Saved, back to the
/// account's tasks; refused, the account page again (422) with the message
/// at the form.
pub async fn add_for_account(
    State(state): State<AppState>,
    Path(account): Path<String>,
    form: Result<CsrfForm<AddTaskForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let today = today();
    let due = match form.due.trim() {
        "" => Ok(None),
        s => parse_date(s)
            .map(Some)
            .map_err(|e| Error::Invalid(format!("due: {e}"))),
    };
    let result = match due {
        Ok(due) => {
            let new = tasks::NewTask {
                account_id: &account,
                title: &form.title,
                due,
                owner_email: "",
                priority: &form.priority,
                notes: "",
                log_kind: &form.log_kind,
            };
            tasks::add(
                &state.store,
                &state.web.config,
                &p.scope(),
                &new,
                p.email.as_deref(),
                today,
                tenure_app::clock::now_micros(),
            )
            .await
            .map(|_| ())
        }
        // The other fields' problems too, as the application would say.
        Err(due) => {
            let draft = tenure_core::target::tasks::TaskDraft {
                title: &form.title,
                due: None,
                priority: &form.priority,
                notes: "",
                log_kind: &form.log_kind,
            };
            let mut all = Vec::new();
            if let Err(problems) = tenure_core::target::tasks::check_task(
                &draft,
                &state.web.config.engagement_kinds,
                today,
            ) {
                all.extend(
                    problems
                        .iter()
                        .map(|p| format!("{}: {}", p.field.name(), p.message)),
                );
            }
            all.push(due.to_string());
            Err(Error::Invalid(all.join("; ")))
        }
    };
    match result {
        Ok(()) => {
            state.web.cache.invalidate();
            Ok(Redirect::to(&format!(
                "/accounts/{}?task=added#account-tasks",
                urlencode(&account)
            ))
            .into_response())
        }
        Err(Error::NotFound(what)) => Err(AppError::not_found(format!("{what} not found")).into()),
        Err(e) if e.is_bad_input() => {
            super::account::with_task_error(&state, &p, &account, form, e.to_string()).await
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}
