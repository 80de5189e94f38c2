//! `/api/v1/survival` (docs/METRICS.md, "Survival"): Kaplan–Meier curves
//! of account lifetimes from first MRR, one per segment, plan or tier,
//! from the application layer (`tenure_app::survival`), the same as
//! `tenure survival --format json` prints.
//!
//! Every role may read them, as the metrics page; a CSM gets the curves of
//! their own accounts.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tenure_app::clock::today;
use tenure_app::survival::{SurvivalQuery, SurvivalReport, survival};
use tenure_core::survival::{GroupBy, MILESTONES};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::engage::{EngageParams, query as period_query};
use crate::api::extract::ApiQuery;
use crate::auth::Principal;
use crate::error::{AppError, ErrorBody};

/// How to group and on which day.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SurvivalParams {
    /// `segment`, `plan` or `tier` (the current segment, the account's
    /// plan, the current segment's tier); default one curve of every
    /// account (`all`).
    pub by: Option<String>,
    /// The day lifetimes are censored on, YYYY-MM-DD (default: today, UTC).
    pub as_of: Option<String>,
}

/// The query of `params`; each error names its parameter (`by: ...`,
/// `as_of: ...`).
pub fn query(params: &SurvivalParams, today: jiff::civil::Date) -> Result<SurvivalQuery, String> {
    let by = GroupBy::parse(params.by.as_deref().unwrap_or("")).map_err(|e| format!("by: {e}"))?;
    let q = period_query(
        &EngageParams {
            as_of: params.as_of.clone(),
            from: None,
            csm: None,
        },
        &tenure_store::api::Scope::All,
        today,
    )?;
    Ok(SurvivalQuery { by, as_of: q.day })
}

/// The median lifetime in days and its 95 % interval; null is "not
/// reached" (the curve, or the band, never drops to 0.5).
#[derive(Debug, Serialize, ToSchema)]
pub struct MedianOut {
    pub days: Option<u32>,
    pub lower: Option<u32>,
    pub upper: Option<u32>,
}

/// The curve read `months` months (`days` days) after first MRR; null
/// values past the longest lifetime observed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MilestoneOut {
    pub months: u32,
    pub days: u32,
    /// Share of accounts still customers, 0–1.
    pub survival: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// Accounts whose lifetime reached the day.
    pub at_risk: u64,
}

/// The curve on a day on which accounts churned or were censored.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepOut {
    /// Days since first MRR.
    pub day: u32,
    pub at_risk: u64,
    pub churned: u64,
    pub censored: u64,
    /// Kaplan–Meier estimate of the share still customers after `day`.
    pub survival: f64,
    /// Greenwood's standard error; null once the curve is 0.
    pub std_err: Option<f64>,
    /// The 95 % log-log band.
    pub lower: f64,
    pub upper: f64,
}

/// One group's curve.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupOut {
    pub name: String,
    pub accounts: u64,
    pub churned: u64,
    pub median: MedianOut,
    pub milestones: Vec<MilestoneOut>,
    pub steps: Vec<StepOut>,
}

/// Survival curves of accounts from first MRR (docs/METRICS.md,
/// "Survival").
#[derive(Debug, Serialize, ToSchema)]
pub struct SurvivalOut {
    pub as_of: String,
    /// `all`, `segment`, `plan` or `tier`.
    pub by: String,
    /// `kaplan-meier`.
    pub estimator: &'static str,
    /// `log-log`: the band is S^exp(±z σ) with Greenwood's variance.
    pub interval: &'static str,
    pub confidence: f64,
    pub groups: Vec<GroupOut>,
}

pub fn survival_out(r: &SurvivalReport) -> SurvivalOut {
    SurvivalOut {
        as_of: r.as_of.to_string(),
        by: r.by.as_str().to_string(),
        estimator: "kaplan-meier",
        interval: "log-log",
        confidence: 0.95,
        groups: r
            .groups
            .iter()
            .map(|g| GroupOut {
                name: g.name.clone(),
                accounts: g.curve.accounts,
                churned: g.curve.churned,
                median: MedianOut {
                    days: g.median.days,
                    lower: g.median.lower,
                    upper: g.median.upper,
                },
                milestones: MILESTONES
                    .iter()
                    .map(|&(months, days)| {
                        let p = g.curve.at(days);
                        MilestoneOut {
                            months,
                            days,
                            survival: p.map(|p| p.survival),
                            lower: p.map(|p| p.lower),
                            upper: p.map(|p| p.upper),
                            at_risk: p.map_or(0, |p| p.at_risk),
                        }
                    })
                    .collect(),
                steps: g
                    .curve
                    .steps
                    .iter()
                    .map(|s| StepOut {
                        day: s.day,
                        at_risk: s.at_risk,
                        churned: s.churned,
                        censored: s.censored,
                        survival: s.survival,
                        std_err: s.std_err,
                        lower: s.lower,
                        upper: s.upper,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Kaplan–Meier survival curves of the caller's accounts from first MRR,
/// with 95 % log-log bands, the median lifetime and the survival at 3, 6,
/// 12 and 24 months.
#[utoipa::path(get, path = "/survival", tag = "metrics",
    params(SurvivalParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SurvivalOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn get_survival(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(params): ApiQuery<SurvivalParams>,
) -> Result<Json<SurvivalOut>, AppError> {
    let q = query(&params, today()).map_err(AppError::bad_request)?;
    let r = survival(&state.store, &state.web.config, &p.scope(), q).await?;
    Ok(Json(survival_out(&r)))
}

/// This group's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_survival))
}
