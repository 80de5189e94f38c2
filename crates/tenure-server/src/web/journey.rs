//! `/journey`: the journey funnel (accounts per stage on the day, with the
//! conversion and median days of the runs that ended in the period), the
//! stage table, friction (stage × segment past the stage's target, with
//! the ARR there) and the accounts stuck past their stage's target.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use tenure_app::engage::report::Report;

use super::charts::{self, Bar};
use super::engage::{self, PeriodForm};
use super::layout::{Nav, money, num, pct, render, thousands, urlencode};
use super::{WebError, WebUser};
use crate::AppState;
use crate::api::engage::EngageParams;

/// Stuck accounts listed; the rest are counted.
const STUCK_SHOWN: usize = 200;

#[derive(Debug, Clone)]
pub struct StageOut {
    pub name: String,
    /// A stage accounts fall into (churned): not a step forward.
    pub lost_stage: bool,
    pub accounts: String,
    pub arr: String,
    pub median_now: String,
    pub target: String,
    pub over_target: String,
    pub over: bool,
    pub entered: String,
    pub advanced: String,
    pub went_back: String,
    pub lost: String,
    pub conversion: String,
    pub median_days: String,
}

#[derive(Debug, Clone)]
pub struct FrictionOut {
    pub stage: String,
    pub segment: String,
    pub target: String,
    pub accounts: String,
    pub over_target: String,
    pub share: String,
    pub arr_over_target: String,
    pub hot: bool,
}

#[derive(Debug, Clone)]
pub struct StuckOut {
    pub href: String,
    pub name: String,
    pub id: String,
    pub csm: String,
    pub stage: String,
    pub segment: String,
    pub days: String,
    pub target: String,
    pub over: String,
    pub arr: String,
}

#[derive(Template)]
#[template(path = "journey.html")]
pub struct JourneyPage {
    pub nav: Nav,
    pub period: PeriodForm,
    pub accounts: String,
    pub in_stage: String,
    pub stuck_count: String,
    pub stuck_arr: String,
    pub funnel: String,
    pub stages: Vec<StageOut>,
    pub friction: Vec<FrictionOut>,
    pub stuck: Vec<StuckOut>,
}

pub async fn page(
    State(state): State<AppState>,
    user: WebUser,
    q: Result<Query<EngageParams>, QueryRejection>,
) -> Result<Response, WebError> {
    let (report, period, nav) = match engage::load(&state, &user, q, "/journey", "Journey").await {
        Ok(x) => x,
        Err(resp) => return Ok(resp),
    };
    let lost: Vec<bool> = state
        .web
        .config
        .engage
        .journey
        .0
        .iter()
        .map(|s| s.lost)
        .collect();
    render(&build(
        &report,
        nav,
        period,
        engage::currency(&state),
        &lost,
    ))
}

/// `lost[i]`: whether the i-th configured stage is a lost one.
pub fn build(r: &Report, nav: Nav, period: PeriodForm, cur: &str, lost: &[bool]) -> JourneyPage {
    let days = |d: Option<f64>| num(d, 0);
    let stages: Vec<StageOut> = r
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let f = &s.funnel;
            StageOut {
                name: s.row.name.clone(),
                lost_stage: lost.get(i).copied().unwrap_or(false),
                accounts: thousands(s.row.accounts as i64),
                arr: money(s.row.arr, cur, false),
                median_now: days(s.row.median_days),
                target: s
                    .row
                    .target_days
                    .map_or_else(|| "–".to_string(), |t| format!("{t} days")),
                over_target: thousands(s.row.over_target as i64),
                over: s.row.over_target > 0,
                entered: thousands(i64::from(f.entered)),
                advanced: thousands(i64::from(f.advanced)),
                went_back: thousands(i64::from(f.went_back)),
                lost: thousands(i64::from(f.lost)),
                conversion: pct(f.conversion()),
                median_days: days(f.median_days),
            }
        })
        .collect();
    let bars: Vec<Bar> = r
        .stages
        .iter()
        .zip(&stages)
        .map(|(s, out)| Bar {
            label: s.row.name.clone(),
            value: s.row.accounts as f64,
            class: if out.lost_stage { "s-lost" } else { "s-stage" },
            note: funnel_note(s),
        })
        .collect();
    let funnel = charts::funnel(
        "funnel",
        &format!("Accounts per stage on {}", r.day),
        &bars,
        &|v| thousands(v.round() as i64),
    );
    let friction = r
        .friction
        .iter()
        .map(|f| FrictionOut {
            stage: f.stage.clone(),
            segment: f.segment.clone().unwrap_or_else(|| "No segment".into()),
            target: format!("{} days", f.target_days),
            accounts: thousands(f.accounts as i64),
            over_target: thousands(f.over_target as i64),
            share: pct((f.accounts > 0).then(|| f.over_target as f64 / f.accounts as f64)),
            arr_over_target: money(f.arr_over_target, cur, false),
            hot: f.over_target > 0,
        })
        .collect();
    let stuck = r
        .stuck
        .iter()
        .take(STUCK_SHOWN)
        .map(|s| StuckOut {
            href: format!("/accounts/{}", urlencode(&s.account_id)),
            name: s.account_name.clone(),
            id: s.account_id.clone(),
            csm: s.csm_email.clone().unwrap_or_default(),
            stage: s.stage.clone(),
            segment: s.segment.clone().unwrap_or_default(),
            days: thousands(s.days_in_stage),
            target: thousands(i64::from(s.target_days)),
            over: thousands(s.days_in_stage - i64::from(s.target_days)),
            arr: money(s.arr, cur, false),
        })
        .collect();
    JourneyPage {
        nav,
        period,
        accounts: thousands(r.accounts as i64),
        in_stage: thousands(r.stages.iter().map(|s| s.row.accounts as i64).sum()),
        stuck_count: thousands(r.stuck.len() as i64),
        stuck_arr: money(r.stuck.iter().map(|s| s.arr).sum(), cur, true),
        funnel,
        stages,
        friction,
        stuck,
    }
}

/// The funnel's note on a stage: its conversion and median days over the
/// period, or what is known.
fn funnel_note(s: &tenure_app::engage::report::StageReport) -> String {
    let f = &s.funnel;
    match (f.conversion(), f.median_days) {
        (Some(c), Some(d)) => format!("{} moved on · {d:.0} days", pct(Some(c))),
        (Some(c), None) => format!("{} moved on", pct(Some(c))),
        (None, _) if f.entered > 0 => format!("{} entered, none left", f.entered),
        (None, _) => "no moves in the period".to_string(),
    }
}
