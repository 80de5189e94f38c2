//! `/api/v1/tasks`: the work a CSM does, through the application layer
//! (`tenure_app::target::tasks`), as the CLI's `tenure tasks` and the
//! `/tasks` page do; `tenure tasks --format json` prints these shapes.
//!
//! Every role but the viewer may read; the viewer gets 403 (it sees only
//! the shared views and account cards). A CSM limited
//! to their own accounts sees and changes only their portfolio's tasks:
//! another portfolio's task or account is 404, as if it did not exist.
//! Bad query parameters are 400 and bad bodies 422 (a malformed JSON body
//! 400), each message naming the field (`title: the title is empty`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::civil::Date;
use serde::{Deserialize, Deserializer, Serialize};
use tenure_app::clock::today;
use tenure_app::target::tasks::{
    self, Changed, Completion, Edit, LogChoice, NewTask, StatusFilter, TaskFilter, TaskView,
};
use tenure_core::model::{self, add_days};
use tenure_core::target::tasks::{TaskSource, TaskStatus, check_owner};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::engage::FUTURE_DAYS;
use crate::api::extract::{ApiJson, ApiQuery};
use crate::auth::Principal;
use crate::error::{AppError, ErrorBody};

/// A task.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskOut {
    pub id: String,
    pub account_id: String,
    /// Null when the account has gone.
    pub account_name: Option<String>,
    pub title: String,
    /// Lower case; null when nobody owns it.
    pub owner_email: Option<String>,
    /// YYYY-MM-DD; null without a due day.
    pub due: Option<String>,
    /// open, done or dropped.
    pub status: String,
    /// low, normal, high or urgent.
    pub priority: String,
    /// manual, milestone, playbook, review or request (a shipped product request).
    pub source: String,
    /// The milestone (or play, or review) behind it.
    pub source_id: Option<String>,
    pub notes: Option<String>,
    /// The engagement kind completing it logs.
    pub log_kind: Option<String>,
    /// The engagement its completion logged.
    pub engagement_id: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// YYYY-MM-DD: the day it was done.
    pub completed_on: Option<String>,
    /// Days an open task is overdue on the day asked for (`as_of`, else
    /// today): 0 when not due yet, without a due day, done or dropped.
    pub overdue_days: i32,
    /// After a change of owner: why the new owner may not be able to work
    /// the task (not a user, disabled, read-only, a CSM of other
    /// accounts). Left out when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The JSON of a task.
pub fn task_out(v: &TaskView) -> TaskOut {
    let t = &v.task;
    TaskOut {
        id: t.id.clone(),
        account_id: t.account_id.clone(),
        account_name: v.account_name.clone(),
        title: t.title.clone(),
        owner_email: t.owner_email.clone(),
        due: t.due_on.map(|d| d.to_string()),
        status: t.status.as_str().to_string(),
        priority: t.priority.as_str().to_string(),
        source: t.source.as_str().to_string(),
        source_id: t.source_id.clone(),
        notes: t.notes.clone(),
        log_kind: t.log_kind.clone(),
        engagement_id: t.engagement_id.clone(),
        created_at: jiff::Timestamp::from_microsecond(t.created_at)
            .map(|ts| ts.to_string())
            .unwrap_or_default(),
        completed_on: t.completed_on.map(|d| d.to_string()),
        overdue_days: v.overdue_days,
        warnings: Vec::new(),
    }
}

/// The JSON of a changed task, with its warnings.
pub fn changed_out(c: &Changed) -> TaskOut {
    TaskOut {
        warnings: c.warnings.iter().map(ToString::to_string).collect(),
        ..task_out(&c.task)
    }
}

/// `GET /tasks`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TasksOut {
    /// YYYY-MM-DD: the day overdue days count to.
    pub as_of: String,
    /// The owner asked for; null: every owner in the caller's scope.
    pub owner: Option<String>,
    pub account_id: Option<String>,
    /// open, done, dropped or all.
    pub status: String,
    /// Open tasks overdue on `as_of`.
    pub overdue: usize,
    /// Open tasks first, most overdue first, then by due day (those
    /// without one last), higher priority first within a day; then done
    /// and dropped ones, the most recently completed first.
    pub tasks: Vec<TaskOut>,
}

/// The JSON of a list of tasks.
pub fn tasks_out(filter: &TaskFilter, as_of: Date, views: &[TaskView]) -> TasksOut {
    TasksOut {
        as_of: as_of.to_string(),
        owner: filter.owner.clone(),
        account_id: filter.account_id.clone(),
        status: filter.status.as_str().to_string(),
        overdue: views.iter().filter(|v| v.overdue_days > 0).count(),
        tasks: views.iter().map(task_out).collect(),
    }
}

/// Which tasks to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TasksParams {
    /// `me` (the caller's own tasks), an owner's email, or nothing for
    /// every owner in the caller's scope.
    pub owner: Option<String>,
    /// One account's tasks.
    pub account_id: Option<String>,
    /// open (default), done, dropped or all.
    pub status: Option<String>,
    /// The day overdue days count to, YYYY-MM-DD (default: today, UTC).
    pub as_of: Option<String>,
}

/// The filter and day of `params` for a caller whose email is `me`; the
/// error names the parameter.
pub fn tasks_query(
    params: &TasksParams,
    me: Option<&str>,
    today: Date,
) -> Result<(TaskFilter, Date), String> {
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let owner = match text(&params.owner) {
        None => None,
        Some(o) if o.eq_ignore_ascii_case("me") => Some(me.map(str::to_string).ok_or(
            "owner: this caller acts for no user, so has no tasks of their own: name an owner's email",
        )?),
        Some(o) => Some(check_owner(&o).map_err(|e| format!("owner: {e}"))?),
    };
    let status = match text(&params.status) {
        None => StatusFilter::Open,
        Some(s) => StatusFilter::parse(&s)
            .ok_or_else(|| format!("status: expected open, done, dropped or all, not {s:?}"))?,
    };
    let as_of = match text(&params.as_of) {
        None => today,
        Some(s) => model::parse_date(&s).map_err(|e| format!("as_of: {e}"))?,
    };
    let latest = add_days(today, FUTURE_DAYS);
    if as_of.year() < 1970 || as_of > latest {
        return Err(format!(
            "as_of: pick a day between 1970-01-01 and {latest}, not {as_of}"
        ));
    }
    Ok((
        TaskFilter {
            owner: owner.map(|o| o.to_ascii_lowercase()),
            account_id: text(&params.account_id),
            status,
        },
        as_of,
    ))
}

/// A date field of a body, or a 422 naming it.
fn date_field(name: &str, v: Option<&str>) -> Result<Option<Date>, AppError> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| model::parse_date(s).map_err(|e| AppError::invalid(format!("{name}: {e}"))))
        .transpose()
}

/// Tasks in the caller's scope: open ones by default, overdue first.
#[utoipa::path(get, path = "/tasks", tag = "tasks",
    params(TasksParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TasksOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "The account is not in the caller's scope"),
    ))]
pub async fn list_tasks(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<TasksParams>,
) -> Result<Json<TasksOut>, AppError> {
    let (filter, as_of) =
        tasks_query(&q, p.email.as_deref(), today()).map_err(AppError::bad_request)?;
    let views = tasks::list(&state.store, &p.scope(), &filter, as_of).await?;
    Ok(Json(tasks_out(&filter, as_of, &views)))
}

/// A task written by hand. The rules are those of every surface: a title
/// of 1 to 200 characters, a due day at most a year back and ten years
/// ahead, a priority of low, normal (default), high or urgent, notes of at
/// most 4,000 characters, and a `log_kind` from `engage.engagement_kinds`
/// in tenure.toml.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskIn {
    pub account_id: String,
    pub title: String,
    /// YYYY-MM-DD.
    pub due: Option<String>,
    /// Default: the account's CSM, else the caller.
    pub owner_email: Option<String>,
    pub priority: Option<String>,
    pub notes: Option<String>,
    /// The engagement kind completing the task logs.
    pub log_kind: Option<String>,
}

/// Add a task to an account.
#[utoipa::path(post, path = "/tasks", tag = "tasks",
    request_body = TaskIn,
    security(("bearer" = [])),
    responses(
        (status = 201, body = TaskOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "The account is not in the caller's scope"),
        (status = 422, body = ErrorBody),
    ))]
pub async fn add_task(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<TaskIn>,
) -> Result<(StatusCode, Json<TaskOut>), AppError> {
    p.require_write()?;
    let due = date_field("due", body.due.as_deref())?;
    let new = NewTask {
        account_id: &body.account_id,
        title: &body.title,
        due,
        owner_email: body.owner_email.as_deref().unwrap_or(""),
        priority: body.priority.as_deref().unwrap_or(""),
        notes: body.notes.as_deref().unwrap_or(""),
        log_kind: body.log_kind.as_deref().unwrap_or(""),
    };
    let changed = tasks::add(
        &state.store,
        &state.web.config,
        &p.scope(),
        &new,
        p.email.as_deref(),
        today(),
        tenure_app::clock::now_micros(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(changed_out(&changed))))
}

/// One task.
#[utoipa::path(get, path = "/tasks/{id}", tag = "tasks",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TaskOut),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_task(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<TaskOut>, AppError> {
    let v = tasks::get(&state.store, &p.scope(), &id, today()).await?;
    Ok(Json(task_out(&v)))
}

/// Reads a field that may be `null` (to clear it) apart from one left out.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A change to a task: fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatchIn {
    pub title: Option<String>,
    /// YYYY-MM-DD; null removes the due day.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub due: Option<Option<String>>,
    pub priority: Option<String>,
    /// Null removes the notes.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    /// Reassigns the task; the answer's `warnings` say when the new owner
    /// may not be able to work it.
    pub owner_email: Option<String>,
    /// open (reopens a done or dropped task; a done milestone's task
    /// reopens its milestone) or dropped. Completing is
    /// `POST /tasks/{id}/complete`.
    pub status: Option<String>,
}

/// Edit, reassign, drop or reopen a task.
#[utoipa::path(patch, path = "/tasks/{id}", tag = "tasks",
    params(("id" = String, Path)),
    request_body = TaskPatchIn,
    security(("bearer" = [])),
    responses(
        (status = 200, body = TaskOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn patch_task(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TaskPatchIn>,
) -> Result<Json<TaskOut>, AppError> {
    p.require_write()?;
    let due = match &body.due {
        None => None,
        Some(d) => Some(date_field("due", d.as_deref())?),
    };
    let status = match body.status.as_deref().map(str::trim) {
        None => None,
        Some(s) => match TaskStatus::parse(s) {
            Some(TaskStatus::Done) => {
                return Err(AppError::invalid(format!(
                    "status: complete a task with POST /api/v1/tasks/{id}/complete"
                )));
            }
            Some(s) => Some(s),
            None => {
                return Err(AppError::invalid(format!(
                    "status: expected open or dropped, not {s:?}"
                )));
            }
        },
    };
    let edit = Edit {
        title: body.title,
        due,
        priority: body.priority,
        notes: body.notes,
        owner_email: body.owner_email,
        status,
    };
    let changed = tasks::edit(
        &state.store,
        &state.web.config,
        &p.scope(),
        &id,
        &edit,
        today(),
    )
    .await?;
    Ok(Json(changed_out(&changed)))
}

/// How a task was completed. An engagement is logged, dated the day it
/// was done, when the task has a `log_kind` or one is given here, unless
/// `log` is false.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteIn {
    /// The engagement kind to log (one of `engage.engagement_kinds`);
    /// default: the task's `log_kind`.
    pub log_kind: Option<String>,
    /// False: log no engagement (default true).
    pub log: Option<bool>,
    /// The engagement's notes (default: the task's title). Refused when no
    /// engagement is logged.
    pub notes: Option<String>,
    /// The day it was done, YYYY-MM-DD: not in the future, at most a year
    /// back (default: today, UTC).
    pub on: Option<String>,
}

/// Complete an open task, logging an engagement if asked, and marking its
/// milestone done for a milestone's task. Send `{}` for the defaults.
#[utoipa::path(post, path = "/tasks/{id}/complete", tag = "tasks",
    params(("id" = String, Path)),
    request_body = CompleteIn,
    security(("bearer" = [])),
    responses(
        (status = 200, body = TaskOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "A bad field, or a task that is not open"),
    ))]
pub async fn complete_task(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CompleteIn>,
) -> Result<Json<TaskOut>, AppError> {
    p.require_write()?;
    let on = date_field("on", body.on.as_deref())?;
    let log = match (body.log, body.log_kind) {
        (Some(false), Some(k)) if !k.trim().is_empty() => {
            return Err(AppError::invalid(
                "log_kind: a kind to log was given with \"log\": false",
            ));
        }
        (Some(false), _) => LogChoice::Nothing,
        (_, Some(k)) if !k.trim().is_empty() => LogChoice::Kind(k),
        _ => LogChoice::TaskKind,
    };
    let completion = Completion {
        log,
        notes: body.notes,
        on,
        by: p.email.clone(),
    };
    let v = tasks::complete(
        &state.store,
        &state.web.config,
        &p.scope(),
        &id,
        &completion,
        today(),
        jiff::Timestamp::now(),
    )
    .await?;
    if v.task.engagement_id.is_some() || v.task.source == TaskSource::Milestone {
        // Cadence and the plans read what was just written.
        state.web.cache.invalidate();
    }
    Ok(Json(task_out(&v)))
}

/// The day to snooze a task to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeIn {
    /// YYYY-MM-DD: after today, at most a year ahead. The task's due day
    /// moves; a milestone's own due day does not.
    pub until: String,
}

/// Snooze an open task to a later day.
#[utoipa::path(post, path = "/tasks/{id}/snooze", tag = "tasks",
    params(("id" = String, Path)),
    request_body = SnoozeIn,
    security(("bearer" = [])),
    responses(
        (status = 200, body = TaskOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn snooze_task(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SnoozeIn>,
) -> Result<Json<TaskOut>, AppError> {
    p.require_write()?;
    let until = date_field("until", Some(&body.until))?
        .ok_or_else(|| AppError::invalid("until: the day is missing"))?;
    let v = tasks::snooze(&state.store, &p.scope(), &id, until, today()).await?;
    Ok(Json(task_out(&v)))
}

/// This group's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tasks, add_task))
        .routes(routes!(get_task, patch_task))
        .routes(routes!(complete_task))
        .routes(routes!(snooze_task))
}
