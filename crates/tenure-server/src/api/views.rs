//! `/api/v1/views/sales`, `/support` and `/product` (docs/CRM.md, "Shared
//! views"): what the sales, support and product teams read, the same as
//! the `/views` pages, from the application layer (`tenure_app::views`).
//!
//! Every role may read them, in its scope (a CSM: their own accounts);
//! they and the account card are all a viewer may read.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tenure_app::clock::today;
use tenure_app::views::{
    ADOPTION_DAYS, AccountHealth, ProductView, RENEWAL_DAYS, SalesView, SupportView,
};
use tenure_core::model::Currency;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, ErrorBody};

/// Reporting minor units as currency units.
fn units(minor: i64, currency: Currency) -> f64 {
    minor as f64 / 10f64.powi(currency.minor_digits() as i32)
}

/// An account with its ARR, health and risk.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewAccount {
    pub account_id: String,
    pub name: String,
    /// The CSM's email.
    pub csm: Option<String>,
    /// ARR today (MRR × 12), in the reporting currency's units.
    pub arr: f64,
    /// The latest stored health score, 0–100.
    pub health_score: Option<f64>,
    /// red, yellow or green; null when not scored.
    pub health_band: Option<String>,
    /// On the risk board today.
    pub at_risk: bool,
    /// The board's reason, when on it.
    pub risk_reason: Option<String>,
}

fn account(a: &AccountHealth, currency: Currency) -> ViewAccount {
    ViewAccount {
        account_id: a.account_id.clone(),
        name: a.name.clone(),
        csm: a.csm_email.clone(),
        arr: units(a.arr, currency),
        health_score: a.health_score.map(|s| (s * 10.0).round() / 10.0),
        health_band: a.health_band.clone(),
        at_risk: a.at_risk,
        risk_reason: a.risk_reason.clone(),
    }
}

/// A renewal due in the sales view's window.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewRenewalOut {
    #[serde(flatten)]
    pub account: ViewAccount,
    /// YYYY-MM-DD.
    pub renewal_date: String,
    pub days_to_renewal: i32,
}

/// The sales view: renewals in the next 90 days.
#[derive(Debug, Serialize, ToSchema)]
pub struct SalesOut {
    pub as_of: String,
    pub currency: String,
    pub horizon_days: i32,
    /// By renewal date, then ARR (largest first).
    pub renewals: Vec<ViewRenewalOut>,
}

/// Builds the sales view's JSON.
pub fn sales_out(v: &SalesView) -> SalesOut {
    SalesOut {
        as_of: v.day.to_string(),
        currency: v.currency.to_string(),
        horizon_days: RENEWAL_DAYS,
        renewals: v
            .renewals
            .iter()
            .map(|r| ViewRenewalOut {
                account: account(&r.account, v.currency),
                renewal_date: r.renewal_date.to_string(),
                days_to_renewal: r.days_to_renewal,
            })
            .collect(),
    }
}

/// An account with open urgent tickets.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewUrgentOut {
    #[serde(flatten)]
    pub account: ViewAccount,
    pub open_urgent_tickets: i64,
    /// The day the oldest of them was opened, YYYY-MM-DD.
    pub oldest_opened: String,
}

/// The support view: accounts with open urgent tickets.
#[derive(Debug, Serialize, ToSchema)]
pub struct SupportOut {
    pub as_of: String,
    pub currency: String,
    /// Most open urgent tickets first, then ARR.
    pub accounts: Vec<ViewUrgentOut>,
}

/// Builds the support view's JSON.
pub fn support_out(v: &SupportView) -> SupportOut {
    SupportOut {
        as_of: v.day.to_string(),
        currency: v.currency.to_string(),
        accounts: v
            .accounts
            .iter()
            .map(|a| ViewUrgentOut {
                account: account(&a.account, v.currency),
                open_urgent_tickets: a.open_urgent,
                oldest_opened: a.oldest_opened.to_string(),
            })
            .collect(),
    }
}

/// An event name's use in a segment.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewAdoptionOut {
    pub event: String,
    /// Accounts of the segment that used it in the window.
    pub accounts: usize,
    /// Their share of the segment's accounts, 0–1.
    pub share: f64,
}

/// One segment's adoption.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewSegmentOut {
    /// Null for accounts in no segment.
    pub segment: Option<String>,
    pub accounts: usize,
    /// Every event name of the window, by name.
    pub adoption: Vec<ViewAdoptionOut>,
}

/// A product request ranked by the ARR asking.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewRequestOut {
    pub id: String,
    pub title: String,
    /// open, planned, in_progress, shipped or declined.
    pub status: String,
    pub accounts: usize,
    /// ARR of the accounts asking, in currency units.
    pub arr: f64,
    /// ARR of those of them on the risk board.
    pub arr_at_risk: f64,
}

/// The product view: feature adoption by segment and requests by ARR.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductOut {
    pub as_of: String,
    /// The adoption window's first day (the last is `as_of`).
    pub from: String,
    pub window_days: i32,
    pub currency: String,
    pub segments: Vec<ViewSegmentOut>,
    pub requests: Vec<ViewRequestOut>,
}

/// Builds the product view's JSON.
pub fn product_out(v: &ProductView) -> ProductOut {
    let currency = v.requests.currency;
    ProductOut {
        as_of: v.day.to_string(),
        from: v.from.to_string(),
        window_days: ADOPTION_DAYS,
        currency: currency.to_string(),
        segments: v
            .segments
            .iter()
            .map(|s| ViewSegmentOut {
                segment: s.segment.clone(),
                accounts: s.accounts,
                adoption: v
                    .events
                    .iter()
                    .map(|e| {
                        let n = s.used.get(e).copied().unwrap_or(0);
                        ViewAdoptionOut {
                            event: e.clone(),
                            accounts: n,
                            share: if s.accounts == 0 {
                                0.0
                            } else {
                                n as f64 / s.accounts as f64
                            },
                        }
                    })
                    .collect(),
            })
            .collect(),
        requests: v
            .requests
            .rows
            .iter()
            .map(|r| ViewRequestOut {
                id: r.request.id.clone(),
                title: r.request.title.clone(),
                status: r.request.status.as_str().to_string(),
                accounts: r.standing.accounts,
                arr: units(r.standing.arr, currency),
                arr_at_risk: units(r.standing.arr_at_risk, currency),
            })
            .collect(),
    }
}

/// Renewals in the next 90 days with ARR, health, risk and CSM, in the
/// caller's scope.
#[utoipa::path(get, path = "/views/sales", tag = "views",
    security(("bearer" = [])),
    responses((status = 200, body = SalesOut), (status = 401, body = ErrorBody)))]
pub async fn get_sales(
    State(state): State<AppState>,
    p: Principal,
) -> Result<Json<SalesOut>, AppError> {
    let v = tenure_app::views::sales(&state.store, &state.web.config, &p.scope(), today()).await?;
    Ok(Json(sales_out(&v)))
}

/// Accounts with open urgent tickets, with health and CSM, in the caller's
/// scope.
#[utoipa::path(get, path = "/views/support", tag = "views",
    security(("bearer" = [])),
    responses((status = 200, body = SupportOut), (status = 401, body = ErrorBody)))]
pub async fn get_support(
    State(state): State<AppState>,
    p: Principal,
) -> Result<Json<SupportOut>, AppError> {
    let v =
        tenure_app::views::support(&state.store, &state.web.config, &p.scope(), today()).await?;
    Ok(Json(support_out(&v)))
}

/// Feature adoption by segment over the last 30 days, and product requests
/// ranked by the ARR asking, in the caller's scope.
#[utoipa::path(get, path = "/views/product", tag = "views",
    security(("bearer" = [])),
    responses((status = 200, body = ProductOut), (status = 401, body = ErrorBody)))]
pub async fn get_product(
    State(state): State<AppState>,
    p: Principal,
) -> Result<Json<ProductOut>, AppError> {
    let v =
        tenure_app::views::product(&state.store, &state.web.config, &p.scope(), today()).await?;
    Ok(Json(product_out(&v)))
}

/// This group's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_sales))
        .routes(routes!(get_support))
        .routes(routes!(get_product))
}
