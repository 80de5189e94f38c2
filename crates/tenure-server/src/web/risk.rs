//! `/risk`: the early-warning risk board (accounts red, flagged by a
//! playbook or flagged by hand, with ARR at risk, reason, owner, next step
//! and days on the board), the day's measure against the review
//! thresholds, a chart of accounts and ARR at risk over the last 90 days,
//! and forms to flag an account by hand and to resolve one with an
//! outcome, and the renewal forecast of today (from the dashboard cache).
//! `/reviews` lists the leadership reviews with how much of their ARR was
//! kept; `/reviews/{id}` shows one, and lets leaders and admins
//! hold it (attendees and a decision per account). All through
//! `tenure_app::risk`, as the API and the CLI.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::Date;
use serde::Deserialize;
use tenure_app::Error;
use tenure_app::clock::today;
use tenure_app::risk::{self, Board, Decision, NewFlag, ReviewView};
use tenure_core::react::risk::{FlagSource, Measure};
use tenure_store::auth::Role;

use super::charts::{self, Series};
use super::layout::{Nav, money, render, render_status, thousands};
use super::{WebError, WebUser};
use crate::AppState;
use crate::api::risk::{as_of, load_risk, outcome_field, units};
use crate::auth::{CsrfForm, Principal};
use crate::error::AppError;

/// A row of the board as shown.
pub struct RowOut {
    pub id: String,
    pub href: String,
    pub name: String,
    pub owner: String,
    pub arr: String,
    pub reason: String,
    pub next_step: String,
    pub due: String,
    pub overdue: bool,
    pub days: i64,
}

/// A threshold as shown.
pub struct ThresholdOut {
    pub what: String,
    pub value: String,
    pub limit: String,
    pub above: bool,
}

#[derive(Template)]
#[template(path = "risk.html")]
pub struct RiskPage {
    pub nav: Nav,
    pub day: String,
    pub rows: Vec<RowOut>,
    pub count: String,
    pub arr: String,
    pub share: String,
    pub thresholds: Vec<ThresholdOut>,
    pub chart: String,
    pub can_write: bool,
    pub csrf: String,
    /// The flag form's error and values after a refused post.
    pub error: String,
    pub form_account: String,
    pub form_reason: String,
    pub form_next_step: String,
    pub form_due: String,
    pub flash: String,
    /// The renewal forecast panel (docs/FORECAST.md), of today.
    pub forecast: super::forecast::ForecastPanel,
}

#[derive(Debug, Default, Deserialize)]
pub struct RiskQuery {
    pub as_of: Option<String>,
    pub done: Option<String>,
}

fn cur_money(minor: i64, b: &Board) -> String {
    money(units(minor, b.currency), b.currency.as_str(), false)
}

fn chart(b: &Board, history: &[(Date, Measure)]) -> String {
    if history.is_empty() {
        return "<p class=\"muted\" id=\"risk-chart-empty\">No daily measure recorded yet: the background job records one each day.</p>".into();
    }
    let labels: Vec<String> = history.iter().map(|(d, _)| d.to_string()).collect();
    let c = b.currency;
    // Whole numbers of accounts: an axis from 0 to at least 4.
    let most = history
        .iter()
        .map(|(_, m)| m.accounts_at_risk)
        .max()
        .unwrap_or(0)
        .max(4);
    let count = charts::lines(
        "risk-count-chart",
        "Accounts at risk by day",
        &labels,
        &[Series::new(
            "Accounts at risk",
            "s-red",
            history
                .iter()
                .map(|(_, m)| Some(m.accounts_at_risk as f64))
                .collect(),
        )],
        Some((0.0, most as f64)),
        &|x| thousands(x.round() as i64),
    );
    let arr = charts::lines(
        "risk-arr-chart",
        "ARR at risk by day",
        &labels,
        &[Series::new(
            "ARR at risk",
            "s-arr",
            history
                .iter()
                .map(|(_, m)| Some(units(m.arr_at_risk, c)))
                .collect(),
        )],
        None,
        &|x| money(x, c.as_str(), true),
    );
    format!("{count}{arr}")
}

fn threshold_out(t: &risk::ThresholdView, b: &Board) -> ThresholdOut {
    let (what, value, limit) = match t.kind {
        "arr_at_risk" => (
            "ARR at risk",
            cur_money(t.value as i64, b),
            cur_money(t.limit as i64, b),
        ),
        "arr_at_risk_share" => (
            "Share of ARR at risk",
            format!("{:.1}%", t.value * 100.0),
            format!("{:.1}%", t.limit * 100.0),
        ),
        _ => (
            "Accounts at risk",
            thousands(t.value as i64),
            thousands(t.limit as i64),
        ),
    };
    ThresholdOut {
        what: match &t.segment {
            Some(s) => format!("{s}: {what}"),
            None => what.to_string(),
        },
        value,
        limit,
        above: t.above,
    }
}

async fn build(
    state: &AppState,
    p: &Principal,
    day: Date,
    flash: &str,
) -> Result<RiskPage, WebError> {
    let (b, h) = load_risk(&state.store, &state.web.config, &p.scope(), day).await?;
    let view = state.web.cache.view(state, &p.scope()).await?;
    let rows = b
        .rows
        .iter()
        .map(|r| RowOut {
            id: r.account_id.clone(),
            href: format!("/accounts/{}", super::layout::urlencode(&r.account_id)),
            name: r.name.clone(),
            owner: r.owner.clone().unwrap_or_else(|| "—".into()),
            arr: cur_money(r.arr, &b),
            reason: r.reason.clone(),
            next_step: r.next_step.clone().unwrap_or_default(),
            due: r.next_step_due.map(|d| d.to_string()).unwrap_or_default(),
            overdue: r.next_step_due.is_some_and(|d| d < day),
            days: r.days_on_board,
        })
        .collect();
    Ok(RiskPage {
        nav: Nav::new(p, "risk"),
        day: day.to_string(),
        rows,
        count: thousands(b.measure.accounts_at_risk as i64),
        arr: cur_money(b.measure.arr_at_risk, &b),
        share: format!("{:.1}%", b.measure.share() * 100.0),
        thresholds: b.thresholds.iter().map(|t| threshold_out(t, &b)).collect(),
        chart: chart(&b, &h),
        can_write: p.role.can_write() && p.csrf_token.is_some(),
        csrf: p.csrf_token.clone().unwrap_or_default(),
        error: String::new(),
        form_account: String::new(),
        form_reason: String::new(),
        form_next_step: String::new(),
        form_due: String::new(),
        flash: flash.to_string(),
        forecast: super::forecast::panel(&view.forecast, true),
    })
}

/// `GET /risk`.
pub async fn page(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    q: Result<Query<RiskQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    // A malformed query is read as no query: the board of today.
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let day = as_of(q.as_of.as_deref(), today()).map_err(AppError::bad_request)?;
    let flash = match q.done.as_deref() {
        Some("flagged") => "The account is on the risk board.",
        Some("resolved") => "The account is off the risk board.",
        _ => "",
    };
    render(&build(&state, &p, day, flash).await?)
}

#[derive(Debug, Default, Deserialize)]
pub struct FlagForm {
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub next_step: String,
    #[serde(default)]
    pub due: String,
}

/// A message of `field: problem; ...` as sentences.
pub(super) fn sentences(m: &str) -> String {
    tenure_app::target::tasks::problems(m)
        .into_iter()
        .map(|(_, m)| {
            let mut c = m.trim().chars();
            let mut s: String = match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            };
            if !s.is_empty() && !s.ends_with('.') {
                s.push('.');
            }
            s
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `POST /risk/flags`: flag an account by hand; a refused form comes back
/// with its message (422).
pub async fn add_flag(
    State(state): State<AppState>,
    form: Result<CsrfForm<FlagForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let day = today();
    let due = match form.due.trim() {
        "" => Ok(None),
        s => tenure_core::model::parse_date(s)
            .map(Some)
            .map_err(|e| format!("next_step_due: {e}")),
    };
    let result = match due {
        Err(m) => Err(Error::Invalid(m)),
        Ok(due) => {
            risk::flag_with(
                &state.store,
                &p.scope(),
                &NewFlag {
                    account_id: &form.account_id,
                    reason: &form.reason,
                    source: FlagSource::Manual,
                    next_step: &form.next_step,
                    next_step_due: due,
                    by: p.email.as_deref(),
                },
                day,
            )
            .await
        }
    };
    match result {
        Ok(_) => {
            state.web.cache.invalidate();
            Ok(Redirect::to("/risk?done=flagged").into_response())
        }
        Err(e @ (Error::Invalid(_) | Error::NotFound(_))) => {
            let mut page = build(&state, &p, day, "").await?;
            page.error = match e {
                Error::Invalid(m) => sentences(&m),
                _ => format!(
                    "No account {:?} among your accounts.",
                    form.account_id.trim()
                ),
            };
            page.form_account = form.account_id;
            page.form_reason = form.reason;
            page.form_next_step = form.next_step;
            page.form_due = form.due;
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub notes: String,
}

/// `POST /risk/{account}/resolve`: take an account off the board.
pub async fn resolve(
    State(state): State<AppState>,
    Path(account): Path<String>,
    form: Result<CsrfForm<ResolveForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let outcome = outcome_field(&form.outcome).map_err(AppError::invalid)?;
    risk::resolve(
        &state.store,
        &state.web.config,
        &p.scope(),
        &account,
        outcome,
        Some(&form.notes),
        today(),
    )
    .await?;
    state.web.cache.invalidate();
    Ok(Redirect::to("/risk?done=resolved").into_response())
}

/// A review in the list.
pub struct ReviewRow {
    pub id: String,
    pub href: String,
    pub opened_on: String,
    pub crossed: String,
    pub status: String,
    pub held_on: String,
    pub kept: String,
    pub reviewed_arr: String,
    pub kept_arr: String,
}

#[derive(Template)]
#[template(path = "reviews.html")]
pub struct ReviewsPage {
    pub nav: Nav,
    pub rows: Vec<ReviewRow>,
}

/// `GET /reviews`.
pub async fn reviews(
    State(state): State<AppState>,
    WebUser(p): WebUser,
) -> Result<Response, WebError> {
    let c = state.web.config.currency.reporting;
    let m = |minor: i64| money(units(minor, c), c.as_str(), false);
    let all = risk::reviews(&state.store, &state.web.config, &p.scope(), today()).await?;
    let rows = all
        .iter()
        .map(|(r, o)| ReviewRow {
            id: r.id.clone(),
            href: format!("/reviews/{}", super::layout::urlencode(&r.id)),
            opened_on: r.opened_on.to_string(),
            crossed: r.crossed.clone(),
            status: r.status.as_str().to_string(),
            held_on: r.held_on.map(|d| d.to_string()).unwrap_or_default(),
            kept: format!("{} of {}", o.kept_accounts, o.accounts),
            reviewed_arr: m(o.reviewed_arr),
            kept_arr: m(o.kept_arr),
        })
        .collect();
    render(&ReviewsPage {
        nav: Nav::new(&p, "risk"),
        rows,
    })
}

/// An account of a review as shown, with its decision form's values.
pub struct ItemOut {
    pub n: usize,
    pub account_id: String,
    pub href: String,
    pub name: String,
    pub arr: String,
    pub reason: String,
    pub action: String,
    pub owner: String,
    pub due: String,
    pub task: String,
    pub paying: bool,
}

#[derive(Template)]
#[template(path = "review.html")]
pub struct ReviewPage {
    pub nav: Nav,
    pub id: String,
    pub opened_on: String,
    pub crossed: String,
    pub held: bool,
    pub held_on: String,
    pub attendees: String,
    pub kept: String,
    pub items: Vec<ItemOut>,
    pub can_hold: bool,
    pub csrf: String,
    pub error: String,
    pub today: String,
}

fn review_page(p: &Principal, v: &ReviewView) -> ReviewPage {
    let c = v.currency;
    let m = |minor: i64| money(units(minor, c), c.as_str(), false);
    let r = &v.review;
    let held = r.status == tenure_store::risk::ReviewStatus::Held;
    ReviewPage {
        nav: Nav::new(p, "risk"),
        id: r.id.clone(),
        opened_on: r.opened_on.to_string(),
        crossed: r.crossed.clone(),
        held,
        held_on: r.held_on.map(|d| d.to_string()).unwrap_or_default(),
        attendees: r.attendees.join(", "),
        kept: format!(
            "{} of {} accounts still paying on {}: {} of {} ARR",
            v.outcome.kept_accounts,
            v.outcome.accounts,
            v.outcome.as_of,
            m(v.outcome.kept_arr),
            m(v.outcome.reviewed_arr)
        ),
        items: v
            .items
            .iter()
            .enumerate()
            .map(|(n, (i, name, paying))| ItemOut {
                n,
                account_id: i.account_id.clone(),
                href: format!("/accounts/{}", super::layout::urlencode(&i.account_id)),
                name: name.clone(),
                arr: m(i.arr),
                reason: i.reason.clone(),
                action: i.action.clone().unwrap_or_default(),
                owner: i.owner_email.clone().unwrap_or_default(),
                due: i.due_on.map(|d| d.to_string()).unwrap_or_default(),
                task: i.task_id.clone().unwrap_or_default(),
                paying: *paying,
            })
            .collect(),
        can_hold: !held && matches!(p.role, Role::Admin | Role::Leader) && p.csrf_token.is_some(),
        csrf: p.csrf_token.clone().unwrap_or_default(),
        error: String::new(),
        today: today().to_string(),
    }
}

/// `GET /reviews/{id}`.
pub async fn review(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let v = risk::review(&state.store, &state.web.config, &p.scope(), &id, today()).await?;
    render(&review_page(&p, &v))
}

/// `POST /reviews/{id}/hold`: the form has `attendees`, `held_on`, and
/// per account `account_N`, `action_N`, `owner_N`, `due_N`.
pub async fn hold(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<std::collections::HashMap<String, String>>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_role(&[Role::Admin, Role::Leader])?;
    let get = |k: &str| {
        form.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    let held_on = match get("held_on").as_str() {
        "" => today(),
        s => tenure_core::model::parse_date(s).unwrap_or_else(|e| {
            problems.push(format!("held_on: {e}"));
            today()
        }),
    };
    let mut decisions = Vec::new();
    for n in 0..1000 {
        let Some(account) = form.get(&format!("account_{n}")) else {
            break;
        };
        let action = get(&format!("action_{n}"));
        if action.is_empty() {
            continue;
        }
        let due = match get(&format!("due_{n}")).as_str() {
            "" => None,
            s => match tenure_core::model::parse_date(s) {
                Ok(d) => Some(d),
                Err(e) => {
                    problems.push(format!("due: {account}: {e}"));
                    None
                }
            },
        };
        decisions.push(Decision {
            account_id: account.clone(),
            action,
            owner_email: get(&format!("owner_{n}")),
            due,
            notes: String::new(),
        });
    }
    let attendees: Vec<String> = get("attendees").split(',').map(str::to_string).collect();
    let result = if problems.is_empty() {
        risk::hold_review(
            &state.store,
            &state.web.config,
            &id,
            held_on,
            &attendees,
            &decisions,
        )
        .await
    } else {
        Err(Error::Invalid(problems.join("; ")))
    };
    match result {
        Ok(_) => {
            state.web.cache.invalidate();
            Ok(
                Redirect::to(&format!("/reviews/{}", super::layout::urlencode(&id)))
                    .into_response(),
            )
        }
        Err(Error::Invalid(m)) => {
            let v = risk::review(&state.store, &state.web.config, &p.scope(), &id, today()).await?;
            let mut page = review_page(&p, &v);
            page.error = sentences(&m);
            page.attendees = get("attendees");
            for it in &mut page.items {
                it.action = get(&format!("action_{}", it.n));
                it.owner = get(&format!("owner_{}", it.n));
                it.due = get(&format!("due_{}", it.n));
            }
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}
