//! `/playbooks`: every playbook of tenure.toml with its trigger, audience
//! and actions, the last firings with the values each trigger saw, and a
//! dry run (`?dry_run=NAME`): who would enter today and why, acting on
//! nothing, and a backtest (`?backtest=NAME`, with `from`, `to` and
//! `every` as the API takes them): who would have entered on past days and
//! how many of them stopped paying within 90 days (docs/REACT.md). A CSM
//! sees their own accounts.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::charts::{self, Series};
use super::layout::{Nav, money, render, urlencode};
use super::{WebError, WebUser};
use crate::AppState;
use crate::api::plays::{
    BacktestOut, BacktestParams, DryRunOut, PlaybookOut, backtest, dry_run, playbook_out,
};

/// `(ARR, values seen, today)` of a dry run's account.
pub type DryRow = (String, String, String);

/// A firing, for the page.
#[derive(Debug, Clone)]
pub struct FiringRow {
    pub day: String,
    pub playbook: String,
    pub account_href: String,
    pub account_id: String,
    pub seen: String,
    pub state: String,
}

/// A backtest for the page: the result, its summary lines `(label,
/// value, detail)`, each month's cells as text and the chart.
pub struct BacktestView {
    pub out: BacktestOut,
    pub summary: Vec<(String, String, String)>,
    pub months: Vec<Vec<String>>,
    pub chart: String,
}

#[derive(Template)]
#[template(path = "playbooks.html")]
pub struct PlaybooksPage {
    pub nav: Nav,
    /// Each playbook with its dry run's and its backtest's links.
    pub playbooks: Vec<(PlaybookOut, String, String)>,
    pub backtest: Option<BacktestView>,
    pub backtest_error: Option<String>,
    /// The dry run asked for, and for each account its ARR, the values
    /// seen and what happens today, as text.
    pub dry: Option<(DryRunOut, Vec<DryRow>)>,
    pub dry_error: Option<String>,
    pub firings: Vec<FiringRow>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    dry_run: Option<String>,
    #[serde(default)]
    backtest: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    every: Option<String>,
}

fn percent(x: Option<f64>) -> String {
    x.map_or("–".to_string(), |v| format!("{:.1}%", v * 100.0))
}

/// The backtest's summary, table and chart as the page shows them.
fn backtest_view(out: BacktestOut, cur: &str) -> BacktestView {
    let t = &out.totals;
    let h = out.horizon_days;
    let summary = vec![
        (
            "Entries".to_string(),
            t.entries.to_string(),
            format!(
                "on {} sampled days; the trigger held on {} account-days",
                t.days, t.held
            ),
        ),
        (
            "Judged".to_string(),
            t.judged.to_string(),
            format!("paying on entry, {h} days over"),
        ),
        (
            format!("Churned within {h} days"),
            t.churned.to_string(),
            format!("{} of ARR", money(t.arr_churned, cur, false)),
        ),
        (
            "Precision".to_string(),
            percent(t.precision),
            "churned ÷ judged entries".to_string(),
        ),
        (
            "Base rate".to_string(),
            percent(t.base_rate),
            format!(
                "{} of {} paying account-days of the audience churned within {h} days",
                t.audience_churned, t.audience
            ),
        ),
        (
            "Lift".to_string(),
            t.lift.map_or("–".to_string(), |l| format!("{l:.2}×")),
            "precision ÷ base rate".to_string(),
        ),
        (
            "Churns caught".to_string(),
            percent(out.recall),
            format!(
                "{} of {} churns in the audience had entered within {h} days before",
                out.caught, out.churns
            ),
        ),
        (
            "ARR entered".to_string(),
            money(t.arr_entered, cur, false),
            format!("{} judged", money(t.arr_judged, cur, false)),
        ),
    ];
    let months = out
        .months
        .iter()
        .map(|m| {
            let c = &m.counts;
            vec![
                m.month.clone(),
                c.days.to_string(),
                c.entries.to_string(),
                c.judged.to_string(),
                c.churned.to_string(),
                percent(c.precision),
                percent(c.base_rate),
                money(c.arr_churned, cur, false),
            ]
        })
        .collect();
    let labels: Vec<String> = out.months.iter().map(|m| m.month.clone()).collect();
    let chart = charts::lines(
        "backtest-chart",
        "Precision and base rate by month",
        &labels,
        &[
            Series::new(
                "Precision",
                "s-red",
                out.months.iter().map(|m| m.counts.precision).collect(),
            ),
            Series::new(
                "Base rate",
                "s-grr",
                out.months.iter().map(|m| m.counts.base_rate).collect(),
            ),
        ],
        None,
        &|v| format!("{:.0}%", v * 100.0),
    );
    BacktestView {
        out,
        summary,
        months,
        chart,
    }
}

/// Firings shown.
const FIRINGS: usize = 50;

pub async fn page(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let scope = p.scope();
    let cur = state.web.config.currency.reporting.as_str().to_string();
    let playbooks = state
        .web
        .config
        .playbooks
        .iter()
        .map(|pb| {
            (
                playbook_out(pb),
                format!("/playbooks?dry_run={}#dry-run", urlencode(&pb.name)),
                format!("/playbooks?backtest={}#backtest", urlencode(&pb.name)),
            )
        })
        .collect();
    let (backtest, backtest_error) = match q.backtest.as_deref() {
        None => (None, None),
        Some(name) => {
            let every = match q.every.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => s
                    .parse::<u32>()
                    .map(Some)
                    .map_err(|_| format!("every: {s:?} is not a number of days")),
            };
            let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
            let result = match every {
                Err(e) => Err(e),
                Ok(every) => {
                    let params = BacktestParams {
                        from: nonempty(&q.from),
                        to: nonempty(&q.to),
                        every,
                    };
                    backtest(&state, &scope, name, &params)
                        .await
                        .map_err(|e| e.message.clone())
                }
            };
            match result {
                Ok(out) => (Some(backtest_view(out, &cur)), None),
                Err(e) => (None, Some(e)),
            }
        }
    };
    let (dry, dry_error) = match q.dry_run.as_deref() {
        None => (None, None),
        Some(name) => match dry_run(&state, &scope, name, None).await {
            Ok(d) => {
                let rows = d
                    .accounts
                    .iter()
                    .map(|c| {
                        (
                            money(c.arr, &cur, false),
                            c.inputs
                                .iter()
                                .map(|i| format!("{} = {}", i.field, i.value))
                                .collect::<Vec<_>>()
                                .join(", "),
                            c.why_not.clone().unwrap_or_else(|| "enters".into()),
                        )
                    })
                    .collect();
                (Some((d, rows)), None)
            }
            Err(e) => (None, Some(e.message.clone())),
        },
    };
    let mut all = state.store.play_enrolments(&scope, None, None).await?;
    all.sort_by(|a, b| b.enrolled_on.cmp(&a.enrolled_on).then(a.id.cmp(&b.id)));
    let firings = all
        .iter()
        .take(FIRINGS)
        .map(|e| FiringRow {
            day: e.enrolled_on.to_string(),
            playbook: e.playbook.clone(),
            account_href: format!("/accounts/{}", urlencode(&e.account_id)),
            account_id: e.account_id.clone(),
            seen: e
                .inputs
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            state: match (&e.exited_on, &e.exit_reason) {
                (Some(d), Some(r)) => format!("left {d} ({r})"),
                _ => format!("running, {} action(s) done", e.actions.len()),
            },
        })
        .collect();
    render(&PlaybooksPage {
        nav: Nav::new(&p, "playbooks"),
        playbooks,
        backtest,
        backtest_error,
        dry,
        dry_error,
        firings,
    })
}
