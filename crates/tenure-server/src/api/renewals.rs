//! `/api/v1/renewals/forecast` (docs/FORECAST.md): the ARR renewing in the
//! next 30, 90 and 180 days and the ARR expected to renew given the churn
//! model's stored predictions, with a 90 % interval, per band, and the
//! biggest renewals at risk, from the application layer
//! (`tenure_app::forecast`); `tenure renewals forecast --format json`
//! prints the same.
//!
//! Every role reads it; a CSM limited to their own accounts gets the
//! forecast of their accounts.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tenure_app::clock::today;
use tenure_app::forecast::{RenewalForecast, renewals};
use tenure_core::forecast::{FallbackSource, LEVEL, Window};
use tenure_core::model::{Currency, add_days};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::risk::units;
use crate::auth::Principal;
use crate::error::{AppError, ErrorBody};

/// The stored predictions the forecast read.
#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastModelOut {
    /// The churn model's version that made them.
    pub version: i64,
    /// The day they were made on, YYYY-MM-DD.
    pub predicted_on: String,
    /// P(churn) is of churn within this many days after `predicted_on`.
    pub horizon_days: u32,
    /// The last day the horizon covers: renewals after it use the fallback.
    pub horizon_end: String,
}

/// The P(renew) of renewals the model does not cover.
#[derive(Debug, Serialize, ToSchema)]
pub struct FallbackOut {
    pub rate: f64,
    /// `renewal_rate`: the renewal rate of the last 365 days over `count`
    /// subscriptions due; `model_mean`: the mean P(renew) of `count`
    /// predicted accounts (when nothing fell due in that year).
    pub source: &'static str,
    pub count: u64,
}

/// One group of a window's accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastGroupOut {
    /// `red`, `yellow`, `green` (the model's bands), `beyond_horizon`
    /// (predicted, but renewing after the horizon: the fallback rate) or
    /// `not_predicted` (the fallback rate).
    pub group: &'static str,
    pub accounts: usize,
    pub arr: f64,
    /// Null when no P(renew) is known for some account.
    pub expected_renewed: Option<f64>,
}

/// Renewals dated from `from` to `to`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastWindowOut {
    pub days: u32,
    /// YYYY-MM-DD: tomorrow.
    pub from: String,
    /// YYYY-MM-DD: `days` days after today.
    pub to: String,
    /// Accounts with a running subscription renewing in the window.
    pub accounts: usize,
    /// The ARR of those subscriptions, in the reporting currency.
    pub arr: f64,
    /// Σ ARR × P(renew); null without predictions.
    pub expected_renewed: Option<f64>,
    /// `arr` − `expected_renewed`.
    pub at_risk: Option<f64>,
    /// The interval of the ARR renewed at `confidence`.
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// √(Σ ARR² p (1 − p)).
    pub std_dev: Option<f64>,
    /// `simulation` (10,000 draws, a fixed seed; up to 400 accounts) or
    /// `normal`.
    pub interval_method: Option<&'static str>,
    pub groups: Vec<ForecastGroupOut>,
}

/// A renewal among the biggest at risk.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenewalAtRiskOut {
    pub account_id: String,
    pub name: String,
    /// The account's first renewal date in the 180 days, YYYY-MM-DD.
    pub renewal_date: String,
    pub arr: f64,
    /// 1 − P(renew).
    pub churn_probability: f64,
    /// `arr` × `churn_probability`.
    pub arr_at_risk: f64,
    /// As a window group's `group`.
    pub group: &'static str,
    /// The model's first reason, when its probability was used.
    pub reason: Option<String>,
}

/// The renewal forecast (docs/FORECAST.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastOut {
    /// Today, YYYY-MM-DD.
    pub as_of: String,
    /// The reporting currency of every amount.
    pub currency: String,
    /// Null when no churn prediction is stored: then only the ARR renewing
    /// is given (train a model with `tenure churn train`).
    pub model: Option<ForecastModelOut>,
    pub fallback: Option<FallbackOut>,
    /// The interval's level.
    pub confidence: f64,
    pub windows: Vec<ForecastWindowOut>,
    /// The renewals of the 180 days that the model's own probability
    /// covers (not the fallback), at most 10, by ARR at risk.
    pub at_risk: Vec<RenewalAtRiskOut>,
}

fn window_out(w: &Window, f: &RenewalForecast) -> ForecastWindowOut {
    let c: Currency = f.currency;
    let e = w.expected;
    let u = |minor: i64| units(minor, c);
    ForecastWindowOut {
        days: w.days,
        from: add_days(f.forecast.today, 1).to_string(),
        to: add_days(f.forecast.today, w.days as i32).to_string(),
        accounts: w.accounts,
        arr: u(w.arr),
        expected_renewed: e.map(|e| u(e.renewed)),
        at_risk: e.map(|e| u(e.at_risk)),
        low: e.map(|e| u(e.low)),
        high: e.map(|e| u(e.high)),
        std_dev: e.map(|e| e.std_dev / 10f64.powi(c.minor_digits() as i32)),
        interval_method: e.map(|e| e.method.as_str()),
        groups: w
            .groups
            .iter()
            .map(|g| ForecastGroupOut {
                group: g.basis.as_str(),
                accounts: g.accounts,
                arr: u(g.arr),
                expected_renewed: g.renewed.map(u),
            })
            .collect(),
    }
}

/// The API's shape of a forecast.
pub fn forecast_out(f: &RenewalForecast) -> ForecastOut {
    let c = f.currency;
    ForecastOut {
        as_of: f.forecast.today.to_string(),
        currency: c.as_str().to_string(),
        model: f.forecast.model.map(|m| ForecastModelOut {
            version: m.version,
            predicted_on: m.day.to_string(),
            horizon_days: m.horizon_days,
            horizon_end: m.horizon_end().to_string(),
        }),
        fallback: f.forecast.fallback.map(|fb| {
            let (source, count) = match fb.source {
                FallbackSource::RenewalRate { due } => ("renewal_rate", due),
                FallbackSource::ModelMean { accounts } => ("model_mean", accounts),
            };
            FallbackOut {
                rate: fb.rate,
                source,
                count,
            }
        }),
        confidence: LEVEL,
        windows: f
            .forecast
            .windows
            .iter()
            .map(|w| window_out(w, f))
            .collect(),
        at_risk: f
            .at_risk
            .iter()
            .map(|r| RenewalAtRiskOut {
                account_id: r.account_id.clone(),
                name: r.name.clone(),
                renewal_date: r.renewal.to_string(),
                arr: units(r.arr, c),
                churn_probability: r.churn,
                arr_at_risk: units(r.arr, c) * r.churn,
                group: r.basis.as_str(),
                reason: r.reason.clone(),
            })
            .collect(),
    }
}

/// The ARR renewing in the next 30, 90 and 180 days, the ARR expected to
/// renew from the churn model's latest stored predictions with a 90 %
/// interval, by band, and the biggest renewals at risk; a CSM's own
/// accounts.
#[utoipa::path(get, path = "/renewals/forecast", tag = "renewals",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ForecastOut),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
pub async fn get_forecast(
    State(state): State<AppState>,
    p: Principal,
) -> Result<Json<ForecastOut>, AppError> {
    let f = renewals(&state.store, &state.web.config, &p.scope(), today()).await?;
    Ok(Json(forecast_out(&f)))
}

/// This group's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_forecast))
}
