//! `/api/v1/churn/predictions` and `/api/v1/accounts/{id}/churn`
//! (docs/CHURN.md): the churn model's stored daily predictions, read
//! through the application layer (`tenure_app::churn`), the same rows the
//! account page shows.
//!
//! Every role may read them; a CSM gets their own accounts only, and
//! another's account is 404 as on every account route.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use tenure_app::churn::{ACCOUNT_HISTORY, account_churn, predictions_on};
use tenure_core::model;
use tenure_store::churn::StoredPrediction;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::extract::ApiQuery;
use crate::api::health::visible;
use crate::auth::Principal;
use crate::error::{AppError, ErrorBody};

/// A feature that raises the account's risk, in words.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonOut {
    /// e.g. "events in the last 28 days (log) 1.2 against a typical 3.4".
    pub reason: String,
    /// Its contribution to the log-odds of churn.
    pub log_odds: f64,
}

/// One account's prediction on one day.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictionOut {
    /// YYYY-MM-DD: the day predicted from.
    pub day: String,
    pub account_id: String,
    /// The account's name (in the day's list only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub model_version: i64,
    /// Probability of churn within the model's horizon after `day`, 0–1.
    pub probability: f64,
    /// `red`, `yellow` or `green`: the model's bands.
    pub band: String,
    /// Up to three, the largest first.
    pub reasons: Vec<ReasonOut>,
}

fn prediction_out(p: &StoredPrediction, name: Option<&str>) -> PredictionOut {
    PredictionOut {
        day: p.day.to_string(),
        account_id: p.account_id.clone(),
        name: name.map(str::to_string),
        model_version: p.model_version,
        probability: p.probability,
        band: p.band.clone(),
        reasons: p
            .reasons
            .iter()
            .map(|(reason, log_odds)| ReasonOut {
                reason: reason.clone(),
                log_odds: *log_odds,
            })
            .collect(),
    }
}

/// Which day.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PredictionsParams {
    /// YYYY-MM-DD (default: the latest day with stored predictions).
    pub day: Option<String>,
}

/// A day's stored predictions of the caller's accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictionsOut {
    /// The day read; null when no prediction was ever stored (no model
    /// trained, or the daily job has not run since).
    pub day: Option<String>,
    /// Riskiest first; empty for a day without predictions.
    pub accounts: Vec<PredictionOut>,
}

/// The churn model's stored predictions of one day (default: the latest),
/// riskiest first: a CSM's own accounts, everyone else's all.
#[utoipa::path(get, path = "/churn/predictions", tag = "churn",
    params(PredictionsParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PredictionsOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn get_predictions(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<PredictionsParams>,
) -> Result<Json<PredictionsOut>, AppError> {
    let day = q
        .day
        .as_deref()
        .map(|s| model::parse_date(s).map_err(|e| AppError::bad_request(format!("day: {e}"))))
        .transpose()?;
    let found = predictions_on(&state.store, &p.scope(), day).await?;
    Ok(Json(match found {
        None => PredictionsOut {
            day: None,
            accounts: Vec::new(),
        },
        Some(d) => PredictionsOut {
            day: Some(d.day.to_string()),
            accounts: d
                .accounts
                .iter()
                .map(|(p, name)| prediction_out(p, Some(name)))
                .collect(),
        },
    }))
}

/// The latest stored model, in brief.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelOut {
    pub version: i64,
    /// The model predicts churn within this many days.
    pub horizon_days: u32,
}

/// An account's churn risk.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountChurnOut {
    pub account_id: String,
    /// Null when no model was trained (`tenure churn train`).
    pub model: Option<ModelOut>,
    /// The latest stored prediction; null without one.
    pub latest: Option<PredictionOut>,
    /// The stored predictions of the last 30 days predicted, newest
    /// first (the first is `latest`).
    pub history: Vec<PredictionOut>,
}

/// An account's latest churn prediction and its recent history.
#[utoipa::path(get, path = "/accounts/{id}/churn", tag = "churn",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccountChurnOut),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_account_churn(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<AccountChurnOut>, AppError> {
    visible(&state, &p, &id).await?;
    let c = account_churn(&state.store, &id, ACCOUNT_HISTORY).await?;
    let history: Vec<PredictionOut> = c.history.iter().map(|p| prediction_out(p, None)).collect();
    Ok(Json(AccountChurnOut {
        account_id: id,
        model: c.model.map(|m| ModelOut {
            version: m.version,
            horizon_days: m.horizon_days,
        }),
        latest: c.history.first().map(|p| prediction_out(p, None)),
        history,
    }))
}

/// This group's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_predictions))
        .routes(routes!(get_account_churn))
}
