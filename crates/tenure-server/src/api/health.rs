//! `/api/v1/accounts/{id}/health...`: an account's health score computed
//! now and explained measure by measure, its stored daily history, and its
//! manual overrides. Scoring and overrides go through the application
//! layer (`tenure_app::health`), the same path as `tenure health` and the
//! account page. The account must be in the caller's scope (404 otherwise).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tenure_app::clock::{now_micros, today};
use tenure_app::health::{OverrideRequest, Scored};
use tenure_core::model;
use tenure_store::Kind;
use tenure_store::health::OverrideRow;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::extract::{ApiJson, ApiQuery};
use crate::auth::Principal;
use crate::error::{AppError, ErrorBody};

/// One measure of a score: its raw value, the points it earned (0–100)
/// and what it added to the score.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureOut {
    pub name: String,
    /// The measure kind as written in tenure.toml.
    pub kind: String,
    /// Null when the account has no data for it (it is then left out and
    /// the others re-weighted).
    pub raw: Option<f64>,
    pub points: Option<f64>,
    pub weight: f64,
    /// Its share of the score after re-weighting, 0–1.
    pub effective_weight: Option<f64>,
    pub contribution: f64,
}

/// A manual override.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverrideOut {
    pub id: i64,
    pub account_id: String,
    pub score: f64,
    pub reason: String,
    pub author: String,
    /// YYYY-MM-DD: the day it was set; it applies from then on.
    pub set_on: String,
    /// YYYY-MM-DD: the last day it applies.
    pub until: String,
    pub cleared_on: Option<String>,
    pub cleared_by: Option<String>,
}

fn override_out(o: &OverrideRow) -> OverrideOut {
    OverrideOut {
        id: o.id,
        account_id: o.account_id.clone(),
        score: o.score,
        reason: o.reason.clone(),
        author: o.author.clone(),
        set_on: o.set_on.to_string(),
        until: o.until.to_string(),
        cleared_on: o.cleared_on.map(|d| d.to_string()),
        cleared_by: o.cleared_by.clone(),
    }
}

/// An account's health score, computed now from its data.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    pub account_id: String,
    /// YYYY-MM-DD.
    pub as_of: String,
    /// 0–100, the override's when one applies; null without data.
    pub score: Option<f64>,
    /// red, yellow or green.
    pub band: Option<String>,
    /// The score the measures give, before any override.
    pub computed: Option<f64>,
    pub computed_band: Option<String>,
    pub scorecard: String,
    pub scorecard_version: String,
    /// MRR on the day, in the reporting currency.
    pub mrr: f64,
    pub measures: Vec<MeasureOut>,
    /// Measures without data.
    pub missing: Vec<String>,
    #[serde(rename = "override")]
    pub override_: Option<OverrideOut>,
}

fn health_out(account_id: &str, s: &Scored) -> HealthOut {
    let sc = &s.score;
    HealthOut {
        account_id: account_id.to_string(),
        as_of: sc.as_of.to_string(),
        score: sc.score,
        band: sc.band.map(|b| b.as_str().to_string()),
        computed: sc.computed,
        computed_band: sc.computed_band.map(|b| b.as_str().to_string()),
        scorecard: sc.scorecard_name.to_string(),
        scorecard_version: sc.scorecard_version.to_string(),
        mrr: s.mrr,
        measures: sc
            .measures
            .iter()
            .map(|m| MeasureOut {
                name: m.name.to_string(),
                kind: m.kind.to_string(),
                raw: m.raw,
                points: m.normalised,
                weight: m.weight,
                effective_weight: m.effective_weight,
                contribution: m.contribution,
            })
            .collect(),
        missing: sc.missing().map(str::to_string).collect(),
        override_: s.override_row.as_ref().map(override_out),
    }
}

/// Fails with 404 unless the account exists in the caller's scope.
pub(crate) async fn visible(state: &AppState, p: &Principal, id: &str) -> Result<(), AppError> {
    if id.contains('\0') {
        return Err(AppError::not_found(format!("account {id:?} not found")));
    }
    state
        .store
        .get_record(Kind::Accounts, id, &p.scope())
        .await?;
    Ok(())
}

/// An account's health score now, explained.
#[utoipa::path(get, path = "/accounts/{id}/health", tag = "health",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = HealthOut),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn get_health(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<HealthOut>, AppError> {
    visible(&state, &p, &id).await?;
    let (_, scored) = tenure_app::health::score_by_id(
        &state.store,
        &state.web.config,
        state.web.model(),
        &id,
        today(),
    )
    .await?;
    Ok(Json(health_out(&id, &scored)))
}

/// A stored daily score.
#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotOut {
    /// YYYY-MM-DD.
    pub day: String,
    pub score: Option<f64>,
    pub band: Option<String>,
    pub computed: Option<f64>,
    pub override_id: Option<i64>,
    pub scorecard_version: String,
}

/// An account's stored daily scores, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryOut {
    pub account_id: String,
    pub snapshots: Vec<SnapshotOut>,
}

/// The days of a history.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// First day, YYYY-MM-DD (default: all).
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (default: all).
    pub to: Option<String>,
}

/// An account's stored daily scores.
#[utoipa::path(get, path = "/accounts/{id}/health/history", tag = "health",
    params(("id" = String, Path), HistoryParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = HistoryOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_history(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<HistoryParams>,
) -> Result<Json<HistoryOut>, AppError> {
    let day = |name: &str, v: &Option<String>| -> Result<Option<Date>, AppError> {
        v.as_deref()
            .map(|s| {
                model::parse_date(s).map_err(|e| AppError::bad_request(format!("{name}: {e}")))
            })
            .transpose()
    };
    let (from, to) = (day("from", &q.from)?, day("to", &q.to)?);
    visible(&state, &p, &id).await?;
    let snaps = tenure_app::health::account_history(&state.store, &id, from, to).await?;
    Ok(Json(HistoryOut {
        account_id: id,
        snapshots: snaps
            .into_iter()
            .map(|s| SnapshotOut {
                day: s.day.to_string(),
                score: s.score,
                band: s.band.map(|b| b.as_str().to_string()),
                computed: s.computed,
                override_id: s.override_id,
                scorecard_version: s.scorecard_version,
            })
            .collect(),
    }))
}

/// An account's overrides, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverridesOut {
    pub items: Vec<OverrideOut>,
}

/// Every override of an account, cleared and expired ones included.
#[utoipa::path(get, path = "/accounts/{id}/health/overrides", tag = "health",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OverridesOut),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn list_overrides(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<OverridesOut>, AppError> {
    visible(&state, &p, &id).await?;
    let rows = state.store.overrides(Some(&id)).await?;
    Ok(Json(OverridesOut {
        items: rows.iter().map(override_out).collect(),
    }))
}

/// A manual score to set. The rules are those of every surface: a score
/// from 0 to 100, a reason of 1 to 1,000 characters, a last day from today
/// to a year from now.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideIn {
    pub score: f64,
    pub reason: String,
    /// YYYY-MM-DD: the last day it applies.
    pub until: String,
}

/// Set a manual score; it applies from today to `until`.
#[utoipa::path(post, path = "/accounts/{id}/health/overrides", tag = "health",
    params(("id" = String, Path)),
    request_body = OverrideIn,
    security(("bearer" = [])),
    responses(
        (status = 201, body = OverrideOut),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn create_override(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OverrideIn>,
) -> Result<(StatusCode, Json<OverrideOut>), AppError> {
    p.require_write()?;
    visible(&state, &p, &id).await?;
    let until =
        model::parse_date(&body.until).map_err(|e| AppError::invalid(format!("until: {e}")))?;
    let req = OverrideRequest {
        account_id: id.clone(),
        score: body.score,
        reason: body.reason,
        until,
        author: p.author(),
    };
    let new_id = tenure_app::health::set_override(
        &state.store,
        &state.web.config,
        &req,
        today(),
        now_micros(),
    )
    .await?;
    state.web.cache.invalidate();
    let row = state
        .store
        .overrides(Some(&id))
        .await?
        .into_iter()
        .find(|o| o.id == new_id)
        .ok_or_else(|| AppError::not_found(format!("override {new_id} not found")))?;
    Ok((StatusCode::CREATED, Json(override_out(&row))))
}

/// How many overrides were cleared.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClearedOut {
    pub cleared: usize,
}

/// Clear the account's overrides from today on (they stay in its history).
#[utoipa::path(delete, path = "/accounts/{id}/health/overrides", tag = "health",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ClearedOut),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn clear_overrides(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<ClearedOut>, AppError> {
    p.require_write()?;
    visible(&state, &p, &id).await?;
    let cleared = tenure_app::health::clear_overrides(
        &state.store,
        &state.web.config,
        &id,
        &p.author(),
        today(),
        now_micros(),
    )
    .await?;
    state.web.cache.invalidate();
    Ok(Json(ClearedOut { cleared }))
}

/// This group's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_health))
        .routes(routes!(get_history))
        .routes(routes!(list_overrides, create_override, clear_overrides))
}
