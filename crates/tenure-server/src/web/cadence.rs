//! `/cadence`: compliance with the cadence policies over the period
//! (overall, by CSM, by segment, by policy) and the engagements overdue on
//! the day, most overdue first. Leaders and admins may pick a CSM
//! (`?csm=`); a CSM sees their own accounts.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use tenure_app::engage::report::{ComplianceRow, Report};

use super::engage::{self, OverdueOut, PeriodForm, Share, overdue_out, share};
use super::layout::{Nav, money, render, thousands, urlencode};
use super::{WebError, WebUser};
use crate::AppState;
use crate::api::engage::EngageParams;

/// Overdue engagements listed; the rest are counted.
const OVERDUE_SHOWN: usize = 500;

/// A group's compliance, formatted.
#[derive(Debug, Clone)]
pub struct GroupOut {
    pub key: String,
    /// A link that narrows the page to this group (CSM rows for a leader).
    pub href: Option<String>,
    pub accounts: String,
    pub share: Share,
    pub overdue: String,
    pub late: bool,
}

/// One of the tables of compliance by group.
#[derive(Debug, Clone)]
pub struct GroupTable {
    pub id: &'static str,
    pub title: &'static str,
    /// The heading of the group's column.
    pub first: &'static str,
    pub rows: Vec<GroupOut>,
}

#[derive(Template)]
#[template(path = "cadence.html")]
pub struct CadencePage {
    pub nav: Nav,
    pub period: PeriodForm,
    pub compliance: Share,
    pub overdue_count: String,
    pub overdue_accounts: String,
    pub overdue_arr: String,
    /// By CSM, by segment and by policy.
    pub groups: Vec<GroupTable>,
    pub overdue: Vec<OverdueOut>,
    pub more: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    user: WebUser,
    q: Result<Query<EngageParams>, QueryRejection>,
) -> Result<Response, WebError> {
    let (report, period, nav) = match engage::load(&state, &user, q, "/cadence", "Cadence").await {
        Ok(x) => x,
        Err(resp) => return Ok(resp),
    };
    render(&build(&report, nav, period, engage::currency(&state)))
}

pub fn build(r: &Report, nav: Nav, period: PeriodForm, cur: &str) -> CadencePage {
    let groups = |rows: &[ComplianceRow], link: bool| -> Vec<GroupOut> {
        rows.iter()
            .map(|g| GroupOut {
                key: g.key.clone(),
                href: (link && g.key != "(no CSM)").then(|| {
                    format!(
                        "/cadence?from={}&as_of={}&csm={}",
                        period.from,
                        period.as_of,
                        urlencode(&g.key)
                    )
                }),
                accounts: thousands(g.accounts as i64),
                share: share(g.compliance),
                overdue: thousands(g.overdue as i64),
                late: g.overdue > 0,
            })
            .collect()
    };
    // A leader's CSM rows narrow the page to that CSM; already narrowed,
    // or for a CSM, there is nothing to narrow.
    let link_csms = !nav.own_only && period.csm.is_empty();
    let mut accounts: Vec<&str> = r.overdue.iter().map(|o| o.account_id.as_str()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    let overdue_arr: f64 = {
        let mut seen = std::collections::HashSet::new();
        r.overdue
            .iter()
            .filter(|o| seen.insert(o.account_id.as_str()))
            .map(|o| o.arr)
            .sum()
    };
    CadencePage {
        compliance: share(r.compliance),
        overdue_count: thousands(r.overdue.len() as i64),
        overdue_accounts: thousands(accounts.len() as i64),
        overdue_arr: money(overdue_arr, cur, true),
        groups: vec![
            GroupTable {
                id: "by-csm",
                title: "By CSM",
                first: "CSM",
                rows: groups(&r.by_csm, link_csms),
            },
            GroupTable {
                id: "by-segment",
                title: "By segment",
                first: "Segment",
                rows: groups(&r.by_segment, false),
            },
            GroupTable {
                id: "by-policy",
                title: "By policy",
                first: "Policy",
                rows: groups(&r.by_policy, false),
            },
        ],
        overdue: r
            .overdue
            .iter()
            .take(OVERDUE_SHOWN)
            .map(|o| overdue_out(o, cur))
            .collect(),
        more: (r.overdue.len() > OVERDUE_SHOWN).then(|| {
            format!(
                "The {OVERDUE_SHOWN} most overdue of {} shown.",
                thousands(r.overdue.len() as i64)
            )
        }),
        nav,
        period,
    }
}
