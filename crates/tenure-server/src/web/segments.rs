//! `/segments`: every configured segment on the day with its touch tier,
//! persona, accounts, ARR, mean health, 90-day churn and cadence
//! compliance over the period, the accounts in no segment, bar charts of
//! ARR and mean health per segment, and the rules that could not be
//! decided on some accounts.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use tenure_app::engage::report::Report;

use super::charts::{self, Bar};
use super::engage::{self, PeriodForm, Share, share};
use super::layout::{Nav, money, num, pct, render, thousands, urlencode};
use super::{WebError, WebUser};
use crate::AppState;
use crate::api::engage::EngageParams;

/// Rule errors listed on the page; the rest are counted.
const ERRORS_SHOWN: usize = 20;

#[derive(Debug, Clone)]
pub struct SegmentOut {
    pub name: String,
    pub tier: String,
    pub persona: String,
    pub accounts: String,
    pub arr: String,
    pub health: String,
    pub churn: String,
    pub churn_detail: String,
    pub compliance: Share,
}

#[derive(Debug, Clone)]
pub struct RuleErrorOut {
    pub href: String,
    pub id: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "segments.html")]
pub struct SegmentsPage {
    pub nav: Nav,
    pub period: PeriodForm,
    pub accounts: String,
    pub arr: String,
    pub segmented: String,
    pub unsegmented: String,
    pub compliance: Share,
    pub rows: Vec<SegmentOut>,
    pub arr_chart: String,
    pub health_chart: String,
    pub errors: Vec<RuleErrorOut>,
    pub error_count: String,
}

pub async fn page(
    State(state): State<AppState>,
    user: WebUser,
    q: Result<Query<EngageParams>, QueryRejection>,
) -> Result<Response, WebError> {
    let (report, period, nav) = match engage::load(&state, &user, q, "/segments", "Segments").await
    {
        Ok(x) => x,
        Err(resp) => return Ok(resp),
    };
    render(&build(&report, nav, period, engage::currency(&state)))
}

pub fn build(r: &Report, nav: Nav, period: PeriodForm, cur: &str) -> SegmentsPage {
    let segmented: usize = r.segments.iter().map(|s| s.row.accounts).sum();
    let arr: f64 = r.segments.iter().map(|s| s.row.arr).sum();
    let rows = r
        .segments
        .iter()
        .map(|s| SegmentOut {
            name: s.row.name.clone(),
            tier: s.row.tier.clone(),
            persona: s.row.persona.clone().unwrap_or_default(),
            accounts: thousands(s.row.accounts as i64),
            arr: money(s.row.arr, cur, false),
            health: num(s.row.mean_health, 1),
            churn: pct(s.churn.rate()),
            churn_detail: format!(
                "{} of {}",
                thousands(i64::from(s.churn.churned)),
                thousands(i64::from(s.churn.accounts))
            ),
            compliance: share(s.compliance),
        })
        .collect();
    let arr_chart = charts::hbars(
        "segment-arr",
        "ARR per segment",
        &r.segments
            .iter()
            .map(|s| Bar {
                label: s.row.name.clone(),
                value: s.row.arr,
                class: "s-arr",
                note: money(s.row.arr, cur, true),
            })
            .collect::<Vec<_>>(),
    );
    let health_chart = charts::hbars(
        "segment-health",
        "Mean health per segment",
        &r.segments
            .iter()
            .map(|s| Bar {
                label: s.row.name.clone(),
                value: s.row.mean_health.unwrap_or(0.0),
                class: "s-health",
                note: s
                    .row
                    .mean_health
                    .map_or_else(|| "no scores".to_string(), |h| format!("{h:.1}")),
            })
            .collect::<Vec<_>>(),
    );
    SegmentsPage {
        nav,
        period,
        accounts: thousands(r.accounts as i64),
        arr: money(arr, cur, true),
        segmented: thousands(segmented as i64),
        unsegmented: thousands((r.accounts - segmented) as i64),
        compliance: share(r.compliance),
        rows,
        arr_chart,
        health_chart,
        errors: r
            .errors
            .iter()
            .take(ERRORS_SHOWN)
            .map(|(id, e)| RuleErrorOut {
                href: format!("/accounts/{}", urlencode(id)),
                id: id.clone(),
                error: e.clone(),
            })
            .collect(),
        error_count: thousands(r.errors.len() as i64),
    }
}
