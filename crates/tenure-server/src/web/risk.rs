//! `/risk`: accounts that are red or whose score fell by 10 points or more
//! in 30 days, sorted by the ARR at risk.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::accounts::{RowOut, row_out};
use super::cache::FALLING;
use super::layout::{Nav, money, render, thousands};
use super::{WebError, WebUser};
use crate::AppState;

#[derive(Template)]
#[template(path = "risk.html")]
pub struct RiskPage {
    pub nav: Nav,
    pub rows: Vec<(RowOut, String)>,
    pub total_arr: String,
    pub count: String,
    pub health_day: String,
}

pub async fn page(
    State(state): State<AppState>,
    WebUser(p): WebUser,
) -> Result<Response, WebError> {
    let v = state.web.cache.view(&state, &p.scope()).await?;
    let mut risky: Vec<_> = v.rows.iter().filter(|r| r.at_risk()).collect();
    risky.sort_by(|a, b| {
        b.mrr_minor
            .cmp(&a.mrr_minor)
            .then_with(|| v.accounts[a.index].name.cmp(&v.accounts[b.index].name))
    });
    let total: i64 = risky.iter().map(|r| r.mrr_minor * 12).sum();
    let rows = risky
        .iter()
        .take(500)
        .map(|r| {
            let why = match (r.health.band, r.health.delta30) {
                (Some(tenure_core::health::Band::Red), Some(d)) if d <= FALLING => {
                    format!("Red and fell {:.0} points", -d)
                }
                (Some(tenure_core::health::Band::Red), _) => "Red".to_string(),
                (_, Some(d)) => format!("Fell {:.0} points in 30 days", -d),
                _ => String::new(),
            };
            (row_out(&v, r), why)
        })
        .collect();
    render(&RiskPage {
        nav: Nav::new(&p, "risk"),
        rows,
        total_arr: money(v.units(total), v.currency(), true),
        count: thousands(risky.len() as i64),
        health_day: v
            .health_day
            .map_or("no scores yet".into(), |d| format!("scores as of {d}")),
    })
}
