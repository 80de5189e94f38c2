//! `/team`: the CSM KPIs against their targets (docs/TARGET.md). A
//! leader or an admin sees the CSMs side by side (a row per CSM,
//! a column per KPI, each cell red, amber or green against its target,
//! the target shown) with the team's row, and a small chart per KPI of the
//! last months; picking a CSM (`?csm=`) narrows the table and the charts
//! to that CSM beside the team. A CSM sees their own row and the team's,
//! whatever they ask (as on the Engage pages; the API answers 404
//! instead).
//!
//! The KPIs of every CSM for a day, a period and a number of months are
//! computed once (`tenure_app::target::kpis::kpis_and_history`) and kept
//! in [`KpiCache`] like the Engage reports: for [`TTL`] and until the next
//! write. Each caller's rows are picked from them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::Date;
use serde::Deserialize;
use tenure_app::clock::today;
use tenure_app::target::kpis::{KpiQuery, KpiRow, Kpis, kpis_and_history};
use tenure_core::target::kpis::{Direction, Kpi, Rag};
use tenure_store::api::Scope;

use super::cache::TTL;
use super::charts::{self, Series};
use super::layout::{Nav, money, pct, render, render_status, thousands, urlencode};
use super::{WebError, WebUser};
use crate::AppState;
use crate::api::kpis::{HistoryParams, KpiParams, Refused, history_query, query};
use crate::error::AppError;

/// Months of history the page shows unless asked.
pub const PAGE_MONTHS: usize = 6;

/// Computed KPIs kept at most; the oldest are dropped first.
const MAX_KEPT: usize = 16;

/// The page's query.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct TeamParams {
    pub as_of: Option<String>,
    pub from: Option<String>,
    pub csm: Option<String>,
    pub months: Option<String>,
}

/// The KPIs of a day, a period and months of history, for every CSM.
pub type Computed = Arc<(Kpis, Vec<Kpis>)>;

/// `(day, from, months)`.
type Key = (Date, Date, usize);

struct Kept {
    at: Instant,
    writes: u64,
    value: Computed,
}

/// The team page's KPIs by query, reused while younger than [`TTL`] and
/// no write happened since they were computed.
#[derive(Default)]
pub struct KpiCache {
    kept: Mutex<HashMap<Key, Kept>>,
}

impl std::fmt::Debug for KpiCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KpiCache").finish_non_exhaustive()
    }
}

impl KpiCache {
    /// Every CSM's KPIs for `(day, from)` and `months` of history.
    pub async fn get(
        &self,
        state: &AppState,
        day: Date,
        from: Date,
        months: usize,
    ) -> Result<Computed, AppError> {
        let key = (day, from, months);
        let writes = state.web.cache.writes();
        if let Some(k) = self.kept.lock().expect("kpi cache lock").get(&key)
            && k.writes == writes
            && k.at.elapsed() <= TTL
        {
            return Ok(k.value.clone());
        }
        let q = KpiQuery {
            day,
            from,
            csm: None,
        };
        let value = Arc::new(kpis_and_history(&state.store, &state.web.config, &q, months).await?);
        let mut kept = self.kept.lock().expect("kpi cache lock");
        if kept.len() >= MAX_KEPT {
            kept.retain(|_, k| k.writes == writes && k.at.elapsed() <= TTL);
            if kept.len() >= MAX_KEPT {
                kept.clear();
            }
        }
        kept.insert(
            key,
            Kept {
                at: Instant::now(),
                writes,
                value: value.clone(),
            },
        );
        Ok(value)
    }
}

/// The form, as typed or as shown.
#[derive(Debug, Clone, Default)]
pub struct TeamForm {
    pub from: String,
    pub as_of: String,
    pub csm: String,
    /// The CSMs a leader can pick; empty for a CSM.
    pub csms: Vec<String>,
    pub months: String,
    pub error: Option<String>,
    /// `from`, `as_of`, `months` or empty.
    pub bad: &'static str,
}

/// A KPI's column.
#[derive(Debug, Clone)]
pub struct Head {
    pub key: &'static str,
    /// A short label for the column.
    pub short: &'static str,
    /// The KPI's full label and which way is better, as its tooltip.
    pub title: String,
    /// `↑ better` or `↓ better`.
    pub better: &'static str,
}

/// A KPI's short label, for the table's narrow columns.
fn short(kpi: Kpi) -> &'static str {
    match kpi {
        Kpi::Accounts => "Accounts",
        Kpi::Arr => "ARR",
        Kpi::HealthMean => "Health",
        Kpi::HealthTrend30d => "Health 30d",
        Kpi::ActiveUsersTrend => "Users trend",
        Kpi::EventsTrend => "Events trend",
        Kpi::Nps => "NPS",
        Kpi::Csat => "CSAT",
        Kpi::PlanExecution => "Plan execution",
        Kpi::CadenceCompliance => "Cadence",
        Kpi::OverdueTasks => "Overdue tasks",
        Kpi::Grr => "GRR",
        Kpi::Nrr => "NRR",
        Kpi::TimeToValueDays => "Time to value",
    }
}

/// A KPI's cell.
#[derive(Debug, Clone)]
pub struct Cell {
    pub kpi: &'static str,
    pub value: String,
    /// `target 70`, or empty without a target.
    pub target: String,
    /// `green`, `amber`, `red` or `none`.
    pub rag: &'static str,
    /// `b-green`, `b-yellow`, `b-red` or empty.
    pub class: &'static str,
    /// In words, for screen readers and the tooltip.
    pub words: String,
}

/// A row of the table.
#[derive(Debug, Clone)]
pub struct RowOut {
    pub name: String,
    /// A link narrowing the page to this CSM (a leader's rows).
    pub href: Option<String>,
    pub members: String,
    pub cells: Vec<Cell>,
}

/// A KPI's monthly chart.
#[derive(Debug, Clone)]
pub struct ChartOut {
    pub id: String,
    pub title: String,
    pub svg: String,
}

#[derive(Template)]
#[template(path = "team.html")]
pub struct TeamPage {
    pub nav: Nav,
    pub form: TeamForm,
    /// Whose rows: "every CSM", "your portfolio", "ann@x.com".
    pub scope: String,
    pub heads: Vec<Head>,
    pub rows: Vec<RowOut>,
    pub team: Option<RowOut>,
    /// Why the table is empty, when so.
    pub empty: String,
    pub amber: String,
    pub charts: Vec<ChartOut>,
    pub months_note: String,
    /// The query of this view, for links that keep it.
    pub query: String,
}

pub async fn page(
    State(state): State<AppState>,
    user: WebUser,
    q: Result<Query<TeamParams>, QueryRejection>,
) -> Result<Response, WebError> {
    let p = &user.0;
    let nav = Nav::new(p, "team");
    let scope = p.scope();
    let params = match q {
        Ok(Query(params)) => params,
        Err(e) => {
            let form = TeamForm {
                error: Some(format!("The query could not be read ({}).", e.body_text())),
                ..TeamForm::default()
            };
            return bad(nav, form);
        }
    };
    let typed = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_string();
    let mut form = TeamForm {
        from: typed(&params.from),
        as_of: typed(&params.as_of),
        csm: if nav.own_only {
            String::new()
        } else {
            typed(&params.csm).to_ascii_lowercase()
        },
        months: typed(&params.months),
        ..TeamForm::default()
    };
    // The page reads every CSM's KPIs and picks the caller's rows from
    // them, so the query is checked as a leader's.
    let today = today();
    let checked = query(
        &KpiParams {
            as_of: params.as_of.clone(),
            from: params.from.clone(),
            csm: None,
        },
        &Scope::All,
        today,
    )
    .and_then(|q| {
        let (_, months, _) = history_query(
            &HistoryParams {
                as_of: params.as_of.clone(),
                months: params
                    .months
                    .clone()
                    .or_else(|| Some(PAGE_MONTHS.to_string())),
                csm: None,
            },
            &Scope::All,
            today,
        )?;
        Ok((q, months))
    });
    let (q, months) = match checked {
        Ok(x) => x,
        Err(Refused::Bad(m)) | Err(Refused::NotFound(m)) => {
            let (field, label, rest) = split_error(&m);
            form.error = Some(format!("{label}: {rest}."));
            form.bad = field;
            return bad(nav, form);
        }
    };
    let computed = state.web.kpis.get(&state, q.day, q.from, months).await?;
    let (now, history) = &*computed;
    form.from = now.from.to_string();
    form.as_of = now.day.to_string();
    form.months = months.to_string();
    if !nav.own_only {
        form.csms = now.csms.iter().filter_map(|r| r.csm.clone()).collect();
    }
    // Whose rows the caller sees.
    let only: Option<String> = match &scope {
        Scope::Csm(own) => Some(own.trim().to_ascii_lowercase()),
        Scope::All => (!form.csm.is_empty()).then(|| form.csm.clone()),
    };
    render(&build(&state, nav, form, now, history, only.as_deref()))
}

/// The 400 page: the form with the message, nothing else.
fn bad(nav: Nav, form: TeamForm) -> Result<Response, WebError> {
    let page = TeamPage {
        nav,
        form,
        scope: String::new(),
        heads: Vec::new(),
        rows: Vec::new(),
        team: None,
        empty: "Nothing to show for this query: correct it above.".into(),
        amber: String::new(),
        charts: Vec::new(),
        months_note: String::new(),
        query: String::new(),
    };
    render_status(&page, StatusCode::BAD_REQUEST)
}

/// `(field, label, rest)` of a message that starts with a parameter's
/// name.
fn split_error(m: &str) -> (&'static str, &'static str, &str) {
    for (field, label) in [("as_of", "As of"), ("from", "From"), ("months", "Months")] {
        if let Some(rest) = m.strip_prefix(&format!("{field}: ")) {
            return (field, label, rest);
        }
    }
    ("", "The query", m)
}

/// The page for rows of `only` (a CSM) or of every CSM.
fn build(
    state: &AppState,
    nav: Nav,
    form: TeamForm,
    now: &Kpis,
    history: &[Kpis],
    only: Option<&str>,
) -> TeamPage {
    let cur = now.currency.as_str();
    let amber_within = state.web.config.target.amber_within;
    let pick = |k: &Kpis| -> Vec<KpiRow> {
        match only {
            None => k.csms.clone(),
            Some(c) => k.csm(c).cloned().into_iter().collect(),
        }
    };
    let link = |csm: &str| {
        format!(
            "/team?from={}&as_of={}&months={}&csm={}",
            form.from,
            form.as_of,
            form.months,
            urlencode(csm)
        )
    };
    let rows: Vec<RowOut> = pick(now)
        .iter()
        .map(|r| {
            let name = r.csm.clone().unwrap_or_default();
            let href = (only.is_none() && !nav.own_only).then(|| link(&name));
            row_out(r, name, href, cur, amber_within)
        })
        .collect();
    let empty = match (only, nav.own_only) {
        (_, true) => "You have no accounts in your portfolio yet.".to_string(),
        (Some(c), false) => format!("{c} has no accounts in their portfolio."),
        (None, false) => "No account has a CSM (accounts.csm_email).".to_string(),
    };
    let scope = match (only, nav.own_only) {
        (_, true) => "your portfolio beside the team's".to_string(),
        (Some(c), false) => format!("{c}'s portfolio beside the team's"),
        (None, false) => "every CSM side by side, and the team".to_string(),
    };
    let labels: Vec<String> = history
        .iter()
        .map(|m| m.day.strftime("%b %Y").to_string())
        .collect();
    let charts = Kpi::ALL
        .into_iter()
        .map(|kpi| chart(kpi, history, &labels, only, cur, &state.web.config))
        .collect();
    let mut query = format!(
        "from={}&as_of={}&months={}",
        form.from, form.as_of, form.months
    );
    if let Some(c) = only.filter(|_| !nav.own_only) {
        query.push_str(&format!("&csm={}", urlencode(c)));
    }
    TeamPage {
        heads: Kpi::ALL
            .into_iter()
            .map(|k| {
                let (better, words) = match k.direction() {
                    Direction::AtLeast => ("↑ better", "higher is better"),
                    Direction::AtMost => ("↓ better", "lower is better"),
                };
                Head {
                    key: k.name(),
                    short: short(k),
                    title: format!("{}: {words}", k.label()),
                    better,
                }
            })
            .collect(),
        team: Some(row_out(&now.team, "Team".into(), None, cur, amber_within)),
        rows,
        empty,
        scope,
        amber: format!("{:.0}%", amber_within * 100.0),
        charts,
        months_note: match history.first().zip(history.last()) {
            Some((a, b)) => format!(
                "each month its own period, {} to {}",
                a.from.strftime("%B %Y"),
                b.day.strftime("%B %Y")
            ),
            None => "no whole month before the day".into(),
        },
        query,
        nav,
        form,
    }
}

fn row_out(r: &KpiRow, name: String, href: Option<String>, cur: &str, amber_within: f64) -> RowOut {
    RowOut {
        name,
        href,
        members: thousands(r.members as i64),
        cells: r
            .cells
            .iter()
            .map(|c| {
                let value = c
                    .value
                    .map_or_else(|| "–".to_string(), |v| fmt(c.kpi, v, cur));
                let target = c
                    .target
                    .map_or_else(String::new, |t| format!("target {}", fmt(c.kpi, t, cur)));
                let (rag, class, said) = match c.rag {
                    Some(Rag::Green) => ("green", "b-green", "on target".to_string()),
                    Some(Rag::Amber) => (
                        "amber",
                        "b-yellow",
                        format!("short of target by at most {:.0}%", amber_within * 100.0),
                    ),
                    Some(Rag::Red) => ("red", "b-red", "off target".to_string()),
                    None if c.value.is_none() => ("none", "", "no data".to_string()),
                    None => ("none", "", "no target".to_string()),
                };
                let words = if target.is_empty() {
                    said
                } else {
                    format!("{said}, {target}")
                };
                Cell {
                    kpi: c.kpi.name(),
                    value,
                    target,
                    rag,
                    class,
                    words,
                }
            })
            .collect(),
    }
}

/// A KPI's value for people.
pub fn fmt(kpi: Kpi, v: f64, cur: &str) -> String {
    match kpi {
        Kpi::Accounts | Kpi::OverdueTasks => thousands(v.round() as i64),
        Kpi::Arr => money(v, cur, true),
        Kpi::HealthMean => format!("{v:.1}"),
        Kpi::HealthTrend30d => format!("{v:+.1}"),
        Kpi::ActiveUsersTrend | Kpi::EventsTrend => format!("{:+.1}%", v * 100.0),
        Kpi::Nps => format!("{v:.0}"),
        Kpi::TimeToValueDays => format!("{v:.0} d"),
        Kpi::Csat | Kpi::PlanExecution | Kpi::CadenceCompliance | Kpi::Grr | Kpi::Nrr => {
            pct(Some(v))
        }
    }
}

/// The monthly chart of one KPI: the CSM's line (when one is shown) and
/// the team's.
fn chart(
    kpi: Kpi,
    history: &[Kpis],
    labels: &[String],
    only: Option<&str>,
    cur: &str,
    config: &tenure_core::config::Config,
) -> ChartOut {
    let i = kpi.index();
    let mut series = Vec::new();
    if let Some(c) = only {
        series.push(Series::new(
            c,
            "s-nrr",
            history
                .iter()
                .map(|m| m.csm(c).and_then(|r| r.cells[i].value))
                .collect(),
        ));
    }
    series.push(Series::new(
        "Team",
        if only.is_some() { "s-grr" } else { "s-score" },
        history.iter().map(|m| m.team.cells[i].value).collect(),
    ));
    let target = config.target.target(kpi, only);
    let title = match target {
        Some(t) => format!("{}, by month (target {})", kpi.label(), fmt(kpi, t, cur)),
        None => format!("{}, by month", kpi.label()),
    };
    let id = format!("kpi-{}", kpi.name().replace('_', "-"));
    let svg = if series.iter().any(|s| s.values.iter().any(Option::is_some)) {
        charts::lines(&id, &title, labels, &series, None, &|v| fmt(kpi, v, cur))
    } else {
        format!(r#"<p class="muted" id="{id}-none">No data in these months.</p>"#)
    };
    ChartOut { id, title, svg }
}
