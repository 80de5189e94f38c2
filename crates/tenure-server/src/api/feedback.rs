//! `/api/v1/feedback` and `/api/v1/requests`: feedback items with their
//! sentiment and themes, suggested themes, and product requests ranked by
//! the ARR asking for them, through the application layer
//! (`tenure_app::feedback`), as `tenure feedback` / `tenure requests` and
//! the `/feedback` and `/requests` pages do (docs/FEEDBACK.md).
//!
//! Every role reads. A CSM limited to their own accounts sees only their
//! accounts' feedback, and only the requests their accounts ask for,
//! counted over those accounts. Viewers may not write (403); changing a
//! request's status is for leaders and admins only (403 otherwise). Bad
//! query parameters are 400 and bad bodies 422, each naming the field.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tenure_app::clock::today;
use tenure_app::feedback::{
    self, ItemView, NewFeedback, NewRequest, RankedRequest, Ranking, SuggestedTheme, ThemeCount,
};
use tenure_core::feedback::{RankBy, RequestStatus, Sentiment, Source};
use tenure_core::model;
use tenure_store::auth::Role;
use tenure_store::feedback::{FeedbackQuery, ProductRequest, RequestLink};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::risk::units;
use crate::auth::Principal;
use crate::error::{AppError, ErrorBody};

/// Items `GET /feedback` returns when no limit is given, and at most.
pub const DEFAULT_LIMIT: u32 = 200;
const MAX_LIMIT: u32 = 5_000;

/// A feedback item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedbackOut {
    pub id: String,
    pub account_id: String,
    pub account_name: String,
    pub contact_id: Option<String>,
    /// survey, ticket, note or api.
    pub source: String,
    /// The survey response, ticket or engagement it was made from.
    pub source_id: Option<String>,
    pub text: String,
    /// YYYY-MM-DD.
    pub date: String,
    /// nps, csat or ces: the scale of `score`.
    pub kind: Option<String>,
    pub score: Option<i64>,
    /// negative, neutral or positive; null without a score.
    pub sentiment: Option<String>,
    pub themes: Vec<String>,
}

pub fn item_out(v: &ItemView) -> FeedbackOut {
    let i = &v.item;
    FeedbackOut {
        id: i.id.clone(),
        account_id: i.account_id.clone(),
        account_name: v.account_name.clone(),
        contact_id: i.contact_id.clone(),
        source: i.source.as_str().to_string(),
        source_id: i.source_id.clone(),
        text: i.text.clone(),
        date: i.day.to_string(),
        kind: i.kind.map(|k| k.as_str().to_string()),
        score: i.score,
        sentiment: i.sentiment.map(|s| s.as_str().to_string()),
        themes: i.themes.clone(),
    }
}

/// A configured theme and how many items in scope carry it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ThemeOut {
    pub name: String,
    pub keywords: Vec<String>,
    pub rule: Option<String>,
    pub items: u64,
}

pub fn theme_out(t: &ThemeCount) -> ThemeOut {
    ThemeOut {
        name: t.name.clone(),
        keywords: t.keywords.clone(),
        rule: t.rule.clone(),
        items: t.items,
    }
}

/// `GET /feedback`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedbackListOut {
    /// Newest first.
    pub items: Vec<FeedbackOut>,
    pub themes: Vec<ThemeOut>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedbackParams {
    /// Items with this theme.
    pub theme: Option<String>,
    /// survey, ticket, note or api.
    pub source: Option<String>,
    /// negative, neutral or positive.
    pub sentiment: Option<String>,
    pub account_id: Option<String>,
    /// Only items without a theme.
    pub untagged: Option<bool>,
    /// At most this many (default 200, at most 5000).
    pub limit: Option<u32>,
}

/// The query of `p` for the caller, or the 400 naming the parameter.
pub fn feedback_query(
    p: &FeedbackParams,
    scope: tenure_store::api::Scope,
) -> Result<FeedbackQuery, String> {
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let source =
        match text(&p.source) {
            None => None,
            Some(s) => Some(Source::parse(&s).ok_or_else(|| {
                format!("source: expected survey, ticket, note or api, not {s:?}")
            })?),
        };
    let sentiment = match text(&p.sentiment) {
        None => None,
        Some(s) => Some(Sentiment::parse(&s).ok_or_else(|| {
            format!("sentiment: expected negative, neutral or positive, not {s:?}")
        })?),
    };
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(format!("limit: from 1 to {MAX_LIMIT}, not {limit}"));
    }
    Ok(FeedbackQuery {
        scope,
        account_id: text(&p.account_id),
        source,
        sentiment,
        theme: text(&p.theme),
        untagged: p.untagged.unwrap_or(false),
        limit: Some(limit),
    })
}

/// Feedback items in the caller's scope, newest first, with the configured
/// themes and their counts.
#[utoipa::path(get, path = "/feedback", tag = "feedback",
    params(FeedbackParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = FeedbackListOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn list_feedback(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<FeedbackParams>,
) -> Result<Json<FeedbackListOut>, AppError> {
    let query = feedback_query(&q, p.scope()).map_err(AppError::bad_request)?;
    let items = feedback::list(&state.store, &query).await?;
    let themes = feedback::themes(&state.store, &state.web.config, &p.scope()).await?;
    Ok(Json(FeedbackListOut {
        items: items.iter().map(item_out).collect(),
        themes: themes.iter().map(theme_out).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackIn {
    pub account_id: String,
    pub contact_id: Option<String>,
    /// What the customer said.
    pub text: String,
    /// YYYY-MM-DD (default: today, UTC).
    pub date: Option<String>,
    /// nps, csat or ces: the scale of `score`.
    pub kind: Option<String>,
    pub score: Option<i64>,
}

/// Add feedback for an account in the caller's scope; it is tagged with
/// the configured themes at once.
#[utoipa::path(post, path = "/feedback", tag = "feedback",
    request_body = FeedbackIn,
    security(("bearer" = [])),
    responses(
        (status = 201, body = FeedbackOut),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "The account is not in the caller's scope"),
        (status = 422, body = ErrorBody),
    ))]
pub async fn add_feedback(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<FeedbackIn>,
) -> Result<(StatusCode, Json<FeedbackOut>), AppError> {
    p.require_write()?;
    let day = body
        .date
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| model::parse_date(s).map_err(|e| AppError::invalid(format!("date: {e}"))))
        .transpose()?;
    let new = NewFeedback {
        account_id: body.account_id,
        contact_id: body.contact_id,
        text: body.text,
        day,
        kind: body.kind,
        score: body.score,
    };
    let scope = p.scope();
    let item = feedback::add(
        &state.store,
        &state.web.config,
        &scope,
        &new,
        p.email.as_deref(),
        today(),
    )
    .await?;
    let account_name = state
        .store
        .risk_accounts(&scope)
        .await?
        .into_iter()
        .find(|a| a.id == item.account_id)
        .map(|a| a.name)
        .unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(item_out(&ItemView { item, account_name })),
    ))
}

/// A suggested theme.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SuggestionOut {
    /// The heaviest terms first.
    pub terms: Vec<String>,
    /// Untagged items in it.
    pub items: usize,
    pub examples: Vec<FeedbackOut>,
    /// A `[[feedback.themes]]` entry to paste into tenure.toml.
    pub toml: String,
}

pub fn suggestion_out(s: &SuggestedTheme) -> SuggestionOut {
    SuggestionOut {
        terms: s.suggestion.terms.clone(),
        items: s.suggestion.items,
        examples: s.examples.iter().map(item_out).collect(),
        toml: s.suggestion.toml.clone(),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    /// Suggestions wanted, at most (default 5, at most 20).
    pub k: Option<usize>,
}

/// Suggested themes: keyword clusters of the untagged items in scope.
#[utoipa::path(get, path = "/feedback/suggestions", tag = "feedback",
    params(SuggestParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<SuggestionOut>),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn suggest_themes(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<SuggestParams>,
) -> Result<Json<Vec<SuggestionOut>>, AppError> {
    let k = q.k.unwrap_or(5);
    if !(1..=20).contains(&k) {
        return Err(AppError::bad_request(format!("k: from 1 to 20, not {k}")));
    }
    let s = feedback::suggest(&state.store, &p.scope(), k).await?;
    Ok(Json(s.iter().map(suggestion_out).collect()))
}

/// An account asking for a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestAccountOut {
    pub account_id: String,
    pub account_name: String,
    pub csm_email: Option<String>,
    /// The feedback item it was asked in.
    pub feedback_id: Option<String>,
    /// YYYY-MM-DD.
    pub added_on: String,
    /// On today's risk board.
    pub at_risk: bool,
}

fn account_out(l: &RequestLink, at_risk: bool) -> RequestAccountOut {
    RequestAccountOut {
        account_id: l.account_id.clone(),
        account_name: l.account_name.clone(),
        csm_email: l.csm_email.clone(),
        feedback_id: l.feedback_id.clone(),
        added_on: l.added_on.to_string(),
        at_risk,
    }
}

/// A product request with its standing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestOut {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// open, planned, shipped or declined.
    pub status: String,
    /// YYYY-MM-DD: when the status was last set.
    pub status_on: String,
    pub created_by: Option<String>,
    /// Accounts asking (in the caller's scope).
    pub account_count: usize,
    /// Their ARR today, in the reporting currency.
    pub arr: f64,
    /// The ARR of those on today's risk board.
    pub arr_at_risk: f64,
    pub accounts: Vec<RequestAccountOut>,
}

pub fn request_out(r: &RankedRequest, c: model::Currency) -> RequestOut {
    RequestOut {
        id: r.request.id.clone(),
        title: r.request.title.clone(),
        description: r.request.description.clone(),
        status: r.request.status.as_str().to_string(),
        status_on: r.request.status_on.to_string(),
        created_by: r.request.created_by.clone(),
        account_count: r.standing.accounts,
        arr: units(r.standing.arr, c),
        arr_at_risk: units(r.standing.arr_at_risk, c),
        accounts: r
            .accounts
            .iter()
            .map(|l| account_out(l, r.at_risk.contains(&l.account_id)))
            .collect(),
    }
}

/// `GET /requests`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestsOut {
    /// YYYY-MM-DD: the day ARR and risk are read on.
    pub as_of: String,
    pub currency: String,
    /// arr, count or arr_at_risk.
    pub ranked_by: String,
    /// In rank order.
    pub requests: Vec<RequestOut>,
}

pub fn requests_out(r: &Ranking) -> RequestsOut {
    RequestsOut {
        as_of: r.day.to_string(),
        currency: r.currency.as_str().to_string(),
        ranked_by: r.by.as_str().to_string(),
        requests: r.rows.iter().map(|x| request_out(x, r.currency)).collect(),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestParams {
    /// arr (default), count or arr_at_risk.
    pub by: Option<String>,
    /// open, planned, shipped or declined.
    pub status: Option<String>,
}

/// The rank order and status filter of `p`, or the 400 naming the
/// parameter.
pub fn request_params(p: &RequestParams) -> Result<(RankBy, Option<RequestStatus>), String> {
    let by = match p.by.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => RankBy::Arr,
        Some(s) => RankBy::parse(s).map_err(|m| format!("by: {m}"))?,
    };
    let status = match p.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(RequestStatus::parse(s).map_err(|m| format!("status: {m}"))?),
    };
    Ok((by, status))
}

/// Product requests ranked by the ARR of the accounts asking (or by their
/// count, or by the ARR at risk among them).
#[utoipa::path(get, path = "/requests", tag = "feedback",
    params(RequestParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RequestsOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn list_requests(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<RequestParams>,
) -> Result<Json<RequestsOut>, AppError> {
    let (by, status) = request_params(&q).map_err(AppError::bad_request)?;
    let r = feedback::ranking(
        &state.store,
        &state.web.config,
        &p.scope(),
        by,
        status,
        today(),
    )
    .await?;
    Ok(Json(requests_out(&r)))
}

/// The request `id` as the caller sees it now.
async fn one(state: &AppState, p: &Principal, id: &str) -> Result<RequestOut, AppError> {
    let r = feedback::ranking(
        &state.store,
        &state.web.config,
        &tenure_store::api::Scope::All,
        RankBy::Arr,
        None,
        today(),
    )
    .await?;
    let row = r
        .rows
        .iter()
        .find(|x| x.request.id == id)
        .ok_or_else(|| AppError::not_found(format!("product request {id:?} does not exist")))?;
    let mut out = request_out(row, r.currency);
    if let tenure_store::api::Scope::Csm(_) = p.scope() {
        // Only the caller's accounts, and the standing over them.
        let mine = feedback::ranking(
            &state.store,
            &state.web.config,
            &p.scope(),
            RankBy::Arr,
            None,
            today(),
        )
        .await?;
        out = match mine.rows.iter().find(|x| x.request.id == id) {
            Some(x) => request_out(x, mine.currency),
            None => RequestOut {
                account_count: 0,
                arr: 0.0,
                arr_at_risk: 0.0,
                accounts: Vec::new(),
                ..out
            },
        };
    }
    Ok(out)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestIn {
    pub title: String,
    pub description: Option<String>,
    /// The accounts asking (a CSM's own; at least one for a CSM).
    #[serde(default)]
    pub account_ids: Vec<String>,
    /// The feedback item it came from; its account is added.
    pub feedback_id: Option<String>,
}

/// Make a product request; the product team's tracker is told when
/// `[feedback] requests_webhook` is set.
#[utoipa::path(post, path = "/requests", tag = "feedback",
    request_body = RequestIn,
    security(("bearer" = [])),
    responses(
        (status = 201, body = RequestOut),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "An account or item is not in the caller's scope"),
        (status = 422, body = ErrorBody),
    ))]
pub async fn create_request(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<RequestIn>,
) -> Result<(StatusCode, Json<RequestOut>), AppError> {
    p.require_write()?;
    let r: ProductRequest = feedback::create(
        &state.store,
        &state.web.config,
        &p.scope(),
        &NewRequest {
            title: body.title,
            description: body.description,
            account_ids: body.account_ids,
            feedback_id: body.feedback_id,
        },
        p.email.as_deref(),
        today(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(one(&state, &p, &r.id).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusIn {
    /// open, planned, shipped or declined.
    pub status: String,
}

/// `POST /requests/{id}/status`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusOut {
    pub request: RequestOut,
    pub previous_status: String,
    /// The close-the-loop tasks made (one per asking account, when it
    /// shipped).
    pub task_ids: Vec<String>,
    /// The outbox id of the tracker's webhook call, when configured.
    pub webhook_id: Option<String>,
}

/// Set a request's status (leaders and admins). Marking it shipped gives
/// each asking account's CSM a task to tell the customer.
#[utoipa::path(post, path = "/requests/{id}/status", tag = "feedback",
    params(("id" = String, Path)),
    request_body = StatusIn,
    security(("bearer" = [])),
    responses(
        (status = 200, body = StatusOut),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn set_request_status(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StatusIn>,
) -> Result<Json<StatusOut>, AppError> {
    p.require_role(&[Role::Admin, Role::Leader])?;
    let c =
        feedback::set_status(&state.store, &state.web.config, &id, &body.status, today()).await?;
    state.web.cache.invalidate();
    Ok(Json(StatusOut {
        request: one(&state, &p, &id).await?,
        previous_status: c.previous.as_str().to_string(),
        task_ids: c.tasks.iter().map(|t| t.id.clone()).collect(),
        webhook_id: c.webhook,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkIn {
    /// The account asking (in the caller's scope).
    pub account_id: Option<String>,
    /// Or the feedback item it asked in: its account is added.
    pub feedback_id: Option<String>,
}

/// Add an account (or a feedback item's account) to a request; 200 with
/// the request either way, `added` false when it was already asking.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkOut {
    pub added: bool,
    pub request: RequestOut,
}

#[utoipa::path(post, path = "/requests/{id}/accounts", tag = "feedback",
    params(("id" = String, Path)),
    request_body = LinkIn,
    security(("bearer" = [])),
    responses(
        (status = 200, body = LinkOut),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn link_account(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<LinkIn>,
) -> Result<Json<LinkOut>, AppError> {
    p.require_write()?;
    let added = feedback::link(
        &state.store,
        &p.scope(),
        &id,
        body.account_id.as_deref(),
        body.feedback_id.as_deref(),
        p.email.as_deref(),
        today(),
    )
    .await?;
    Ok(Json(LinkOut {
        added,
        request: one(&state, &p, &id).await?,
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_feedback, add_feedback))
        .routes(routes!(suggest_themes))
        .routes(routes!(list_requests, create_request))
        .routes(routes!(set_request_status))
        .routes(routes!(link_account))
}
