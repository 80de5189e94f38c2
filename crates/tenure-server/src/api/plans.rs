//! `/api/v1/plans` and their goals, milestones and proven value, and
//! `/api/v1/time-to-value` (docs/TARGET.md): success plans as
//! `tenure_app::target::plans` shows and edits them, the same as
//! `tenure plans` (whose `--format json` prints these shapes) and the
//! dashboard's plan pages. A CSM reads and edits their own accounts'
//! plans only (others are 404); the viewer role gets 403 (it sees only the
//! shared views).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tenure_app::clock::today;
use tenure_app::target::plans::{
    self as app, GoalDraft, GoalView, MilestoneDraft, PlanView, ProvenDraft, TimeToValue, TtvGroup,
};
use tenure_core::model;
use tenure_core::target::plans::standing;
use tenure_store::api::Scope;
use tenure_store::target::{Milestone, PlanItem, ProvenValue};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::extract::{ApiJson, ApiQuery};
use crate::auth::Principal;
use crate::error::{AppError, ErrorBody};

/// A day written as YYYY-MM-DD in a body, its error (422) naming `field`.
pub fn day_field(field: &str, s: &str) -> Result<Date, AppError> {
    model::parse_date(s.trim()).map_err(|e| AppError::invalid(format!("{field}: {e}")))
}

/// The day a query asks for (400 when it is not a day; default today).
pub fn query_day(as_of: Option<&str>) -> Result<Date, AppError> {
    match as_of {
        Some(s) => {
            model::parse_date(s.trim()).map_err(|e| AppError::bad_request(format!("as_of: {e}")))
        }
        None => Ok(today()),
    }
}

/// Milestones due up to the day and how they went.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionOut {
    pub due: usize,
    pub on_time: usize,
    pub late: usize,
    pub missed: usize,
    /// on_time ÷ due, 0–1; null when nothing was due.
    pub rate: Option<f64>,
}

impl ExecutionOut {
    pub fn of(e: tenure_core::target::plans::Execution) -> ExecutionOut {
        ExecutionOut {
            due: e.due,
            on_time: e.on_time,
            late: e.late,
            missed: e.missed,
            rate: e.rate(),
        }
    }
}

/// A goal: a customer outcome with a target.
#[derive(Debug, Serialize, ToSchema)]
pub struct GoalOut {
    pub id: String,
    pub name: String,
    /// What the value is measured from; null when set by hand.
    pub metric: Option<String>,
    pub target: f64,
    /// Met at or below the target.
    pub at_most: bool,
    /// null: no data (never 0 for "no data").
    pub value: Option<f64>,
    pub measured_on: Option<String>,
    /// The first day the target was met.
    pub achieved_on: Option<String>,
    /// 0–1; null without data.
    pub progress: Option<f64>,
    pub met: bool,
    pub template: Option<String>,
}

fn goal_out(g: &GoalView) -> GoalOut {
    GoalOut {
        id: g.goal.id.clone(),
        name: g.goal.name.clone(),
        metric: g.goal.metric.clone(),
        target: g.goal.target,
        at_most: g.goal.at_most,
        value: g.goal.value,
        measured_on: g.goal.measured_on.map(|d| d.to_string()),
        achieved_on: g.goal.achieved_on.map(|d| d.to_string()),
        progress: g.progress,
        met: g.met,
        template: g.goal.template.clone(),
    }
}

/// A milestone.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PlanMilestoneOut)]
pub struct MilestoneOut {
    pub id: String,
    pub name: String,
    pub due_on: String,
    /// One of the configured roles; `csm` is the account's CSM.
    pub owner_role: String,
    pub owner_email: Option<String>,
    /// open, done, missed or dropped, as recorded.
    pub status: String,
    /// The status on the day: `overdue` for an open milestone past its due day.
    pub standing: String,
    pub done_on: Option<String>,
    pub template: Option<String>,
}

pub fn milestone_out(m: &Milestone, day: Date) -> MilestoneOut {
    MilestoneOut {
        id: m.id.clone(),
        name: m.name.clone(),
        due_on: m.due_on.to_string(),
        owner_role: m.owner_role.clone(),
        owner_email: m.owner_email.clone(),
        status: m.status.as_str().to_string(),
        standing: standing(m.status, m.due_on, day).to_string(),
        done_on: m.done_on.map(|d| d.to_string()),
        template: m.template.clone(),
    }
}

/// Value delivered to the customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvenOut {
    pub id: String,
    pub title: String,
    /// Text or a link.
    pub evidence: Option<String>,
    pub delivered_on: String,
    /// Confirmed by the customer.
    pub confirmed: bool,
}

fn proven_out(p: &ProvenValue) -> ProvenOut {
    ProvenOut {
        id: p.id.clone(),
        title: p.title.clone(),
        evidence: p.evidence.clone(),
        delivered_on: p.delivered_on.to_string(),
        confirmed: p.confirmed,
    }
}

/// A success plan with everything it holds, as of a day.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanOut {
    pub id: String,
    pub account_id: String,
    pub account_name: String,
    pub csm_email: Option<String>,
    pub name: String,
    /// active, completed or cancelled.
    pub status: String,
    pub started_on: String,
    pub closed_on: Option<String>,
    /// The templates applied to it.
    pub templates: Vec<String>,
    pub as_of: String,
    pub execution: ExecutionOut,
    pub overdue_milestones: usize,
    pub next_milestone: Option<MilestoneOut>,
    pub goals: Vec<GoalOut>,
    pub milestones: Vec<MilestoneOut>,
    pub proven_value: Vec<ProvenOut>,
}

pub fn plan_out(v: &PlanView, day: Date) -> PlanOut {
    PlanOut {
        id: v.plan.id.clone(),
        account_id: v.plan.account_id.clone(),
        account_name: v.account_name.clone(),
        csm_email: v.csm_email.clone(),
        name: v.plan.name.clone(),
        status: v.plan.status.as_str().to_string(),
        started_on: v.plan.started_on.to_string(),
        closed_on: v.plan.closed_on.map(|d| d.to_string()),
        templates: v.plan.templates.clone(),
        as_of: day.to_string(),
        execution: ExecutionOut::of(v.execution),
        overdue_milestones: v.overdue,
        next_milestone: v.next.map(|i| milestone_out(&v.milestones[i], day)),
        goals: v.goals.iter().map(goal_out).collect(),
        milestones: v.milestones.iter().map(|m| milestone_out(m, day)).collect(),
        proven_value: v.proven.iter().map(proven_out).collect(),
    }
}

/// Which plans.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlansParams {
    /// Only this account's plans.
    pub account_id: Option<String>,
    /// active, completed or cancelled (default: every plan).
    pub status: Option<String>,
    /// The day progress and standing are read on (default: today, UTC).
    pub as_of: Option<String>,
}

/// The plans asked for, as of their day: what the list route, the CLI and
/// the plans page show.
pub async fn list(
    state: &AppState,
    scope: &Scope,
    params: &PlansParams,
) -> Result<(Date, Vec<PlanView>), AppError> {
    let day = query_day(params.as_of.as_deref())?;
    let status = match params.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(
            tenure_core::target::plans::PlanStatus::parse(s).ok_or_else(|| {
                AppError::bad_request(format!(
                    "status: unknown status {s:?}: expected active, completed or cancelled"
                ))
            })?,
        ),
    };
    let mut views =
        app::plan_views(&state.store, scope, day, params.account_id.as_deref(), None).await?;
    if let Some(s) = status {
        views.retain(|v| v.plan.status == s);
    }
    Ok((day, views))
}

#[utoipa::path(get, path = "/plans", tag = "plans",
    params(PlansParams),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<PlanOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_plans(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(params): ApiQuery<PlansParams>,
) -> Result<Json<Vec<PlanOut>>, AppError> {
    let (day, views) = list(&state, &p.scope(), &params).await?;
    Ok(Json(views.iter().map(|v| plan_out(v, day)).collect()))
}

/// The day a single plan is read on.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOf {
    /// YYYY-MM-DD (default: today, UTC).
    pub as_of: Option<String>,
}

async fn one(
    state: &AppState,
    scope: &Scope,
    id: &str,
    as_of: Option<&str>,
) -> Result<PlanOut, AppError> {
    let day = query_day(as_of)?;
    let views = app::plan_views(&state.store, scope, day, None, Some(id)).await?;
    views
        .first()
        .map(|v| plan_out(v, day))
        .ok_or_else(|| AppError::not_found(format!("plan {id:?} not found")))
}

#[utoipa::path(get, path = "/plans/{id}", tag = "plans",
    params(("id" = String, Path), AsOf),
    security(("bearer" = [])),
    responses((status = 200, body = PlanOut), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_plan(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<AsOf>,
) -> Result<Json<PlanOut>, AppError> {
    Ok(Json(
        one(&state, &p.scope(), &id, q.as_of.as_deref()).await?,
    ))
}

/// A plan to create by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanIn {
    pub account_id: String,
    pub name: String,
    /// YYYY-MM-DD (default: today).
    pub started_on: Option<String>,
}

#[utoipa::path(post, path = "/plans", tag = "plans",
    request_body = PlanIn,
    security(("bearer" = [])),
    responses((status = 201, body = PlanOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_plan(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<PlanIn>,
) -> Result<(StatusCode, Json<PlanOut>), AppError> {
    p.require_write()?;
    let today = today();
    let start = match &body.started_on {
        Some(s) => day_field("started_on", s)?,
        None => today,
    };
    let plan = app::create_plan(
        &state.store,
        &p.scope(),
        &body.account_id,
        &body.name,
        start,
        today,
    )
    .await?;
    state.web.cache.invalidate();
    Ok((
        StatusCode::CREATED,
        Json(one(&state, &p.scope(), &plan.id, None).await?),
    ))
}

/// A change to a plan.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanPatch {
    pub name: Option<String>,
    /// active, completed or cancelled.
    pub status: Option<String>,
}

#[utoipa::path(patch, path = "/plans/{id}", tag = "plans",
    params(("id" = String, Path)),
    request_body = PlanPatch,
    security(("bearer" = [])),
    responses((status = 200, body = PlanOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_plan(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PlanPatch>,
) -> Result<Json<PlanOut>, AppError> {
    p.require_write()?;
    app::edit_plan(
        &state.store,
        &p.scope(),
        &id,
        body.name.as_deref(),
        body.status.as_deref(),
        today(),
    )
    .await?;
    state.web.cache.invalidate();
    Ok(Json(one(&state, &p.scope(), &id, None).await?))
}

/// A goal to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalIn {
    pub name: String,
    /// What to measure it from (active_users_30d, usage_rate, events_30d,
    /// nps, health, health_trend_30d, seats, arr, open_tickets or
    /// attrs.NAME); absent: set by hand.
    pub metric: Option<String>,
    pub target: f64,
    #[serde(default)]
    pub at_most: bool,
}

#[utoipa::path(post, path = "/plans/{id}/goals", tag = "plans",
    params(("id" = String, Path)),
    request_body = GoalIn,
    security(("bearer" = [])),
    responses((status = 201, body = PlanOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_goal(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<GoalIn>,
) -> Result<(StatusCode, Json<PlanOut>), AppError> {
    p.require_write()?;
    let draft = GoalDraft {
        name: &body.name,
        metric: body.metric.as_deref().unwrap_or(""),
        target: body.target,
        at_most: body.at_most,
    };
    app::add_goal(&state.store, &p.scope(), &id, &draft).await?;
    state.web.cache.invalidate();
    Ok((
        StatusCode::CREATED,
        Json(one(&state, &p.scope(), &id, None).await?),
    ))
}

/// A change to a goal.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalPatchIn {
    pub name: Option<String>,
    pub target: Option<f64>,
    /// The value of a goal set by hand (a number, or null to clear it).
    #[schema(value_type = Option<f64>)]
    pub value: Option<Value>,
}

#[utoipa::path(patch, path = "/goals/{id}", tag = "plans",
    params(("id" = String, Path)),
    request_body = GoalPatchIn,
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_goal(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<GoalPatchIn>,
) -> Result<StatusCode, AppError> {
    p.require_write()?;
    let value = match body.value {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::Number(n)) => Some(n.as_f64()),
        Some(other) => {
            return Err(AppError::invalid(format!(
                "value: expected a number or null, got {other}"
            )));
        }
    };
    app::edit_goal(
        &state.store,
        &p.scope(),
        &id,
        body.name.as_deref(),
        body.target,
        value,
        today(),
    )
    .await?;
    state.web.cache.invalidate();
    Ok(StatusCode::NO_CONTENT)
}

/// A milestone to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MilestoneIn {
    pub name: String,
    /// YYYY-MM-DD.
    pub due_on: String,
    /// One of the configured roles (default: csm).
    pub owner_role: Option<String>,
    /// Default: the account's CSM for the csm role.
    pub owner_email: Option<String>,
}

#[utoipa::path(post, path = "/plans/{id}/milestones", tag = "plans",
    params(("id" = String, Path)),
    request_body = MilestoneIn,
    security(("bearer" = [])),
    responses((status = 201, body = PlanOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_milestone(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MilestoneIn>,
) -> Result<(StatusCode, Json<PlanOut>), AppError> {
    p.require_write()?;
    let draft = MilestoneDraft {
        name: &body.name,
        due: Some(day_field("due_on", &body.due_on)?),
        owner_role: body.owner_role.as_deref().unwrap_or(""),
        owner_email: body.owner_email.as_deref().unwrap_or(""),
    };
    app::add_milestone(
        &state.store,
        &state.web.config,
        &p.scope(),
        &id,
        &draft,
        today(),
    )
    .await?;
    state.web.cache.invalidate();
    Ok((
        StatusCode::CREATED,
        Json(one(&state, &p.scope(), &id, None).await?),
    ))
}

/// A change to a milestone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MilestonePatchIn {
    /// open, done, missed or dropped.
    pub status: Option<String>,
    /// With `done`: the day it was done (default: today).
    pub done_on: Option<String>,
    /// A new due day.
    pub due_on: Option<String>,
}

#[utoipa::path(patch, path = "/milestones/{id}", tag = "plans",
    params(("id" = String, Path)),
    request_body = MilestonePatchIn,
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_milestone(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MilestonePatchIn>,
) -> Result<StatusCode, AppError> {
    p.require_write()?;
    let done_on = body
        .done_on
        .as_deref()
        .map(|s| day_field("done_on", s))
        .transpose()?;
    let due = body
        .due_on
        .as_deref()
        .map(|s| day_field("due_on", s))
        .transpose()?;
    app::edit_milestone(
        &state.store,
        &p.scope(),
        &id,
        body.status.as_deref(),
        done_on,
        due,
        today(),
    )
    .await?;
    state.web.cache.invalidate();
    Ok(StatusCode::NO_CONTENT)
}

/// Value delivered, to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvenIn {
    pub title: String,
    /// Text or a link.
    pub evidence: Option<String>,
    /// YYYY-MM-DD (default: today).
    pub delivered_on: Option<String>,
    #[serde(default)]
    pub confirmed: bool,
}

#[utoipa::path(post, path = "/plans/{id}/proven-value", tag = "plans",
    params(("id" = String, Path)),
    request_body = ProvenIn,
    security(("bearer" = [])),
    responses((status = 201, body = PlanOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_proven(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProvenIn>,
) -> Result<(StatusCode, Json<PlanOut>), AppError> {
    p.require_write()?;
    let draft = ProvenDraft {
        title: &body.title,
        evidence: body.evidence.as_deref().unwrap_or(""),
        delivered_on: body
            .delivered_on
            .as_deref()
            .map(|s| day_field("delivered_on", s))
            .transpose()?,
        confirmed: body.confirmed,
    };
    app::add_proven_value(&state.store, &p.scope(), &id, &draft, today()).await?;
    state.web.cache.invalidate();
    Ok((
        StatusCode::CREATED,
        Json(one(&state, &p.scope(), &id, None).await?),
    ))
}

async fn delete(
    state: &AppState,
    p: &Principal,
    item: PlanItem,
    id: &str,
) -> Result<StatusCode, AppError> {
    p.require_write()?;
    app::delete_item(&state.store, &p.scope(), item, id).await?;
    state.web.cache.invalidate();
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/goals/{id}", tag = "plans", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_goal(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    delete(&state, &p, PlanItem::Goal, &id).await
}

#[utoipa::path(delete, path = "/milestones/{id}", tag = "plans", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_milestone(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    delete(&state, &p, PlanItem::Milestone, &id).await
}

#[utoipa::path(delete, path = "/proven-value/{id}", tag = "plans", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_proven(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    delete(&state, &p, PlanItem::ProvenValue, &id).await
}

/// Time to value of one group of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct TtvGroupOut {
    pub name: String,
    /// Accounts that started paying by the day.
    pub accounts: usize,
    /// Of those, accounts whose first milestone was done.
    pub reached: usize,
    pub median_days: Option<f64>,
}

/// One account's time to value.
#[derive(Debug, Serialize, ToSchema)]
pub struct TtvAccountOut {
    pub account_id: String,
    pub first_mrr: String,
    pub first_value: Option<String>,
    pub days: Option<i64>,
}

/// Time to value (docs/METRICS.md): days from first MRR to the first
/// success-plan milestone done.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimeToValueOut {
    pub as_of: String,
    pub median_days: Option<f64>,
    pub by_segment: Vec<TtvGroupOut>,
    pub by_cohort: Vec<TtvGroupOut>,
    pub accounts: Vec<TtvAccountOut>,
}

fn group_out(g: &TtvGroup) -> TtvGroupOut {
    TtvGroupOut {
        name: g.name.clone(),
        accounts: g.accounts,
        reached: g.reached,
        median_days: g.median_days,
    }
}

pub fn ttv_out(t: &TimeToValue) -> TimeToValueOut {
    TimeToValueOut {
        as_of: t.day.to_string(),
        median_days: t.median_days,
        by_segment: t.by_segment.iter().map(group_out).collect(),
        by_cohort: t.by_cohort.iter().map(group_out).collect(),
        accounts: t
            .accounts
            .iter()
            .map(|a| TtvAccountOut {
                account_id: a.account_id.clone(),
                first_mrr: a.first_mrr.to_string(),
                first_value: a.first_value.map(|d| d.to_string()),
                days: a.days,
            })
            .collect(),
    }
}

/// Time to value on a day for the caller's accounts.
pub async fn time_to_value(
    state: &AppState,
    scope: &Scope,
    day: Date,
) -> Result<TimeToValue, AppError> {
    Ok(app::time_to_value_for(&state.store, scope, day).await?)
}

#[utoipa::path(get, path = "/time-to-value", tag = "plans",
    params(AsOf),
    security(("bearer" = [])),
    responses((status = 200, body = TimeToValueOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_time_to_value(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<AsOf>,
) -> Result<Json<TimeToValueOut>, AppError> {
    let day = query_day(q.as_of.as_deref())?;
    Ok(Json(ttv_out(
        &time_to_value(&state, &p.scope(), day).await?,
    )))
}

/// This group's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_plans, create_plan))
        .routes(routes!(get_plan, patch_plan))
        .routes(routes!(add_goal))
        .routes(routes!(patch_goal, delete_goal))
        .routes(routes!(add_milestone))
        .routes(routes!(patch_milestone, delete_milestone))
        .routes(routes!(add_proven))
        .routes(routes!(delete_proven))
        .routes(routes!(get_time_to_value))
}
