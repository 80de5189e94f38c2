//! `/api/v1/surveys` (docs/VOICE.md): the surveys of tenure.toml with
//! their sends and response rate, one survey's rates by segment and CSM
//! with NPS by month, and the in-app channel: the surveys pending for a
//! contact and their answers, which land in `survey_responses` like the
//! hosted page's. A CSM sees and answers for their own accounts only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tenure_app::surveys::{RateRow, Rates, Refused};
use tenure_core::surveys::Survey;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::extract::{ApiJson, ApiQuery};
use crate::auth::Principal;
use crate::error::{AppError, ErrorBody};
use tenure_store::auth::Role;

/// A survey of tenure.toml.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyOut {
    pub name: String,
    /// nps, csat or ces.
    pub kind: String,
    pub question: String,
    pub follow_up: Option<String>,
    /// When it is sent, in words (`every 90 days`, `after a ticket closed`).
    pub trigger: String,
    /// email or in_app.
    pub channel: String,
    pub segments: Vec<String>,
    pub tiers: Vec<String>,
    pub roles: Vec<String>,
    pub champions_only: bool,
    /// Sends of accounts in the caller's scope.
    pub sent: u64,
    pub answered: u64,
    /// answered ÷ sent; null before the first send.
    pub response_rate: Option<f64>,
}

/// A survey with its counts.
pub fn survey_out(config: &tenure_core::config::Config, s: &Survey, rates: &Rates) -> SurveyOut {
    let e = &config.engage;
    let row = rates
        .by_survey
        .iter()
        .find(|r| r.key.as_deref() == Some(s.name.as_str()));
    SurveyOut {
        name: s.name.clone(),
        kind: s.kind.as_str().to_string(),
        question: s.question.clone(),
        follow_up: s.follow_up.clone(),
        trigger: s.trigger_text.clone(),
        channel: s.channel.as_str().to_string(),
        segments: s
            .segments
            .iter()
            .filter_map(|i| e.segments.0.get(*i).map(|x| x.name.clone()))
            .collect(),
        tiers: s
            .tiers
            .iter()
            .filter_map(|i| e.tiers.get(*i).map(|x| x.name.clone()))
            .collect(),
        roles: s.roles.clone(),
        champions_only: s.champions_only,
        sent: row.map_or(0, |r| r.sent),
        answered: row.map_or(0, |r| r.answered),
        response_rate: row.and_then(|r| r.rate),
    }
}

#[utoipa::path(get, path = "/surveys", tag = "surveys",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<SurveyOut>), (status = 401, body = ErrorBody)))]
pub async fn get_surveys(
    State(state): State<AppState>,
    p: Principal,
) -> Result<Json<Vec<SurveyOut>>, AppError> {
    let config = &state.web.config;
    let rates = tenure_app::surveys::rates(&state.store, &p.scope(), None).await?;
    Ok(Json(
        config
            .surveys
            .surveys
            .iter()
            .map(|s| survey_out(config, s, &rates))
            .collect(),
    ))
}

/// Sends and answers of a group.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateOut {
    /// The survey, segment or CSM; null for sends without one.
    pub key: Option<String>,
    pub sent: u64,
    pub answered: u64,
    pub response_rate: Option<f64>,
}

fn rate_out(r: &RateRow) -> RateOut {
    RateOut {
        key: r.key.clone(),
        sent: r.sent,
        answered: r.answered,
        response_rate: r.rate,
    }
}

/// One month of sends (by the day sent) and their answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthOut {
    /// YYYY-MM.
    pub month: String,
    pub sent: u64,
    pub answered: u64,
    /// NPS of the month's NPS answers, -100 to 100.
    pub nps: Option<f64>,
    /// Mean score of the month's answers.
    pub mean_score: Option<f64>,
}

/// A survey's response rates.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatesOut {
    pub survey: String,
    pub total: RateOut,
    /// By the account's segment when sent.
    pub by_segment: Vec<RateOut>,
    /// By the account's CSM when sent.
    pub by_csm: Vec<RateOut>,
    pub months: Vec<MonthOut>,
}

pub fn rates_out(survey: &str, r: &Rates) -> RatesOut {
    RatesOut {
        survey: survey.to_string(),
        total: rate_out(&r.total),
        by_segment: r.by_segment.iter().map(rate_out).collect(),
        by_csm: r.by_csm.iter().map(rate_out).collect(),
        months: r
            .months
            .iter()
            .map(|m| MonthOut {
                month: m.month.clone(),
                sent: m.sent,
                answered: m.answered,
                nps: m.nps,
                mean_score: m.mean,
            })
            .collect(),
    }
}

#[utoipa::path(get, path = "/surveys/{name}/rates", tag = "surveys",
    params(("name" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = RatesOut), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_rates(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
) -> Result<Json<RatesOut>, AppError> {
    let s = tenure_app::surveys::find(&state.web.config, &name)?;
    let r = tenure_app::surveys::rates(&state.store, &p.scope(), Some(&s.name)).await?;
    Ok(Json(rates_out(&s.name, &r)))
}

/// The contact asked for.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PendingParams {
    /// The contact whose pending surveys to list (required).
    #[param(required = true)]
    pub contact_id: Option<String>,
}

/// An in-app survey waiting for the contact's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingOut {
    /// The id to answer with.
    pub id: String,
    pub survey: String,
    pub kind: String,
    pub question: String,
    pub follow_up: Option<String>,
    pub min_score: i64,
    pub max_score: i64,
    pub account_id: String,
    /// RFC 3339.
    pub expires_at: String,
}

fn when(us: i64) -> String {
    jiff::Timestamp::from_microsecond(us).map_or_else(|_| us.to_string(), |t| t.to_string())
}

#[utoipa::path(get, path = "/surveys/pending", tag = "surveys",
    params(PendingParams),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<PendingOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "Without `contact_id`.")))]
pub async fn get_pending(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<PendingParams>,
) -> Result<Json<Vec<PendingOut>>, AppError> {
    let Some(contact) = q.contact_id.filter(|c| !c.trim().is_empty()) else {
        return Err(AppError::invalid("contact_id: required"));
    };
    let now = tenure_app::clock::now_micros();
    let list = tenure_app::surveys::pending(
        &state.store,
        &state.web.config,
        &p.scope(),
        contact.trim(),
        now,
    )
    .await?;
    Ok(Json(
        list.into_iter()
            .map(|x| {
                let (lo, hi) = x.kind.range();
                PendingOut {
                    id: x.id,
                    survey: x.survey,
                    kind: x.kind.as_str().to_string(),
                    question: x.question,
                    follow_up: x.follow_up,
                    min_score: lo,
                    max_score: hi,
                    account_id: x.account_id,
                    expires_at: when(x.expires_at),
                }
            })
            .collect(),
    ))
}

/// An in-app survey's answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerIn {
    /// The pending survey's id.
    pub id: String,
    /// The contact answering: the pending survey's.
    pub contact_id: String,
    pub score: i64,
    /// Up to 2,000 characters.
    pub comment: Option<String>,
}

/// The answer recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerOut {
    /// The `survey_responses` row.
    pub response_id: String,
}

#[utoipa::path(post, path = "/surveys/answers", tag = "surveys",
    request_body = AnswerIn,
    security(("bearer" = [])),
    responses((status = 201, body = AnswerOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn post_answer(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(a): ApiJson<AnswerIn>,
) -> Result<(StatusCode, Json<AnswerOut>), AppError> {
    p.require_write()?;
    let now = tenure_app::clock::now_micros();
    let r = tenure_app::surveys::answer_in_app(
        &state.store,
        &p.scope(),
        a.id.trim(),
        a.contact_id.trim(),
        a.score,
        a.comment.as_deref(),
        now,
    )
    .await?;
    match r {
        Ok(response_id) => Ok((StatusCode::CREATED, Json(AnswerOut { response_id }))),
        Err(r @ (Refused::Used | Refused::Expired)) => Err(AppError::new(
            StatusCode::GONE,
            "gone",
            r.words().to_string(),
        )),
        Err(Refused::Unknown) => Err(AppError::not_found("in-app survey not found")),
    }
}

/// What a send did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendOut {
    pub survey: String,
    /// The day sent (UTC).
    pub day: String,
    /// Emails queued in the outbox.
    pub emailed: usize,
    /// In-app surveys opened.
    pub in_app: usize,
    /// Contacts who could not be sent one (a bad address), in words.
    pub errors: Vec<String>,
}

#[utoipa::path(post, path = "/surveys/{name}/send", tag = "surveys",
    params(("name" = String, Path)),
    security(("bearer" = [])),
    description = "Sends the survey now to every contact of its audience the fatigue limit lets be surveyed, whatever its trigger. Leaders and admins only.",
    responses((status = 200, body = SendOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn post_send(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
) -> Result<Json<SendOut>, AppError> {
    p.require_role(&[Role::Admin, Role::Leader])?;
    let day = tenure_app::clock::today();
    let out = tenure_app::surveys::send_now(&state.store, &state.web.config, &name, day).await?;
    state.web.cache.invalidate();
    Ok(Json(SendOut {
        survey: name,
        day: day.to_string(),
        emailed: out.emailed,
        in_app: out.in_app,
        errors: out.errors,
    }))
}

/// A survey scheduled for a day.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleOut {
    pub id: String,
    pub survey: String,
    /// The day it is sent (UTC), YYYY-MM-DD.
    pub send_on: String,
    /// scheduled, sent or cancelled.
    pub status: String,
    pub created_by: String,
    /// RFC 3339.
    pub created_at: String,
    /// When it was sent or cancelled (RFC 3339).
    pub done_at: Option<String>,
    /// Who cancelled it.
    pub done_by: Option<String>,
    /// How many contacts it was sent to.
    pub sent: Option<i64>,
}

/// A schedule's state in words: "sent to N contact(s)", "cancelled by
/// WHO", else its status as stored (shared by the page and the CLI).
pub fn schedule_state(status: &str, sent: Option<i64>, done_by: Option<&str>) -> String {
    match (status, sent, done_by) {
        ("sent", Some(n), _) => format!("sent to {n} contact(s)"),
        ("cancelled", _, Some(by)) => format!("cancelled by {by}"),
        (other, _, _) => other.to_string(),
    }
}

pub fn schedule_out(s: &tenure_store::surveys::Schedule) -> ScheduleOut {
    ScheduleOut {
        id: s.id.clone(),
        survey: s.survey.clone(),
        send_on: s.send_on.to_string(),
        status: s.status.clone(),
        created_by: s.created_by.clone(),
        created_at: when(s.created_at),
        done_at: s.done_at.map(when),
        done_by: s.done_by.clone(),
        sent: s.sent,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SchedulesParams {
    /// true: every schedule, sent and cancelled ones included (default:
    /// only those still to be sent).
    pub all: Option<bool>,
}

#[utoipa::path(get, path = "/surveys/schedules", tag = "surveys",
    params(SchedulesParams),
    security(("bearer" = [])),
    description = "Surveys scheduled for a day, latest day first: those still to be sent, or every one with all=true.",
    responses((status = 200, body = [ScheduleOut]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_schedules(
    State(state): State<AppState>,
    _p: Principal,
    ApiQuery(q): ApiQuery<SchedulesParams>,
) -> Result<Json<Vec<ScheduleOut>>, AppError> {
    let rows = state
        .store
        .survey_schedules(!q.all.unwrap_or(false))
        .await
        .map_err(tenure_app::Error::from)?;
    Ok(Json(rows.iter().map(schedule_out).collect()))
}

/// A day to send a survey on.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleIn {
    /// YYYY-MM-DD (UTC): today or later, within a year.
    pub on: String,
}

#[utoipa::path(post, path = "/surveys/{name}/schedule", tag = "surveys",
    params(("name" = String, Path)),
    request_body = ScheduleIn,
    security(("bearer" = [])),
    description = "Schedules the survey for a day: the background job sends it that day to every contact of its audience the fatigue limit lets be surveyed. Leaders and admins only.",
    responses((status = 201, body = ScheduleOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn post_schedule(
    State(state): State<AppState>,
    p: Principal,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<ScheduleIn>,
) -> Result<(StatusCode, Json<ScheduleOut>), AppError> {
    p.require_role(&[Role::Admin, Role::Leader])?;
    let on = tenure_core::model::parse_date(body.on.trim())
        .map_err(|e| AppError::invalid(format!("on: {e}")))?;
    let s = tenure_app::surveys::schedule(
        &state.store,
        &state.web.config,
        &name,
        on,
        tenure_app::clock::today(),
        &p.author(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(schedule_out(&s))))
}

#[utoipa::path(delete, path = "/surveys/schedules/{id}", tag = "surveys",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    description = "Cancels a scheduled survey not sent yet. Leaders and admins only.",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_schedule(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    p.require_role(&[Role::Admin, Role::Leader])?;
    tenure_app::surveys::cancel_schedule(&state.store, &id, &p.author()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_surveys))
        .routes(routes!(get_pending))
        .routes(routes!(get_rates))
        .routes(routes!(post_answer))
        .routes(routes!(post_send))
        .routes(routes!(get_schedules))
        .routes(routes!(post_schedule))
        .routes(routes!(delete_schedule))
}
