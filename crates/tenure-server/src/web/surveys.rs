//! `/surveys` (docs/VOICE.md): every survey of tenure.toml with its
//! audience, trigger and channel, sends and response rate; the response
//! rate by segment and by CSM; NPS by month with its chart; and the latest
//! comments (escaped like every text of the templates). Leaders and
//! admins see every account, and have a "Send now" form per survey (`POST
//! /surveys/{name}/send`, with the session's CSRF token) that sends it to
//! its audience within the fatigue limit; a CSM sees their own.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tenure_app::clock::today;
use tenure_store::auth::Role;

use super::charts::{self, Series};
use super::layout::{Nav, render, urlencode};
use super::{WebError, WebUser};
use crate::AppState;
use crate::api::surveys::{RateOut, RatesOut, SurveyOut, rates_out, survey_out};
use crate::auth::CsrfForm;

/// Answers shown, at most.
const COMMENTS: u32 = 20;

/// A comment, for the page.
pub struct CommentRow {
    pub day: String,
    pub survey: String,
    pub account_href: String,
    pub account_id: String,
    pub score: i64,
    pub comment: String,
}

#[derive(Template)]
#[template(path = "surveys.html")]
pub struct SurveysPage {
    pub nav: Nav,
    pub surveys: Vec<SurveyOut>,
    pub rates: RatesOut,
    pub chart: String,
    pub comments: Vec<CommentRow>,
    /// Leaders and admins (with a session) may send a survey now.
    pub can_send: bool,
    pub csrf: String,
    /// What the last "Send now" did, in words.
    pub flash: String,
}

impl SurveysPage {
    pub fn pct(&self, r: &RateOut) -> String {
        pct(&r.response_rate)
    }
}

pub fn pct(x: &Option<f64>) -> String {
    x.map_or("–".to_string(), |v| format!("{:.0}%", v * 100.0))
}

pub fn num(x: &Option<f64>) -> String {
    x.map_or("–".to_string(), |v| format!("{v:+.0}"))
}

/// What the "Send now" form did, carried by its redirect.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    pub sent: Option<String>,
    #[serde(default)]
    pub emailed: usize,
    #[serde(default)]
    pub in_app: usize,
    #[serde(default)]
    pub refused: usize,
}

fn flash(q: &PageQuery) -> String {
    let Some(name) = &q.sent else {
        return String::new();
    };
    let mut f = format!(
        "{name}: {} email(s) queued, {} in-app survey(s) opened",
        q.emailed, q.in_app
    );
    if q.emailed + q.in_app == 0 {
        f.push_str(" (every contact of its audience was surveyed within the fatigue limit)");
    }
    if q.refused > 0 {
        f.push_str(&format!(
            "; {} contact(s) not sent one (a bad address: see the server log)",
            q.refused
        ));
    }
    f.push('.');
    f
}

pub async fn page(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    Query(q): Query<PageQuery>,
) -> Result<Response, WebError> {
    let scope = p.scope();
    let config = &state.web.config;
    let all = tenure_app::surveys::rates(&state.store, &scope, None)
        .await
        .map_err(crate::error::AppError::from)?;
    let surveys = config
        .surveys
        .surveys
        .iter()
        .map(|s| survey_out(config, s, &all))
        .collect();
    let rates = rates_out("all", &all);
    let labels: Vec<String> = rates.months.iter().map(|m| m.month.clone()).collect();
    let chart = charts::lines(
        "nps-trend",
        "NPS of survey answers by month sent",
        &labels,
        &[Series::new(
            "NPS",
            "s-grr",
            rates.months.iter().map(|m| m.nps).collect(),
        )],
        Some((-100.0, 100.0)),
        &|v| format!("{v:+.0}"),
    );
    let comments = state
        .store
        .survey_answers(&scope, COMMENTS)
        .await
        .map_err(crate::error::AppError::from)?
        .into_iter()
        .filter_map(|a| {
            let comment = a.comment?;
            let day = jiff::Timestamp::from_microsecond(a.responded_at)
                .map(|t| tenure_core::model::utc_date(t).to_string())
                .unwrap_or_default();
            Some(CommentRow {
                day,
                survey: a.survey,
                account_href: format!("/accounts/{}", urlencode(&a.account_id)),
                account_id: a.account_id,
                score: a.score,
                comment,
            })
        })
        .collect();
    render(&SurveysPage {
        nav: Nav::new(&p, "surveys"),
        surveys,
        rates,
        chart,
        comments,
        can_send: matches!(p.role, Role::Admin | Role::Leader) && p.csrf_token.is_some(),
        csrf: p.csrf_token.clone().unwrap_or_default(),
        flash: flash(&q),
    })
}

/// The "Send now" form: only its CSRF token.
#[derive(Debug, Default, Deserialize)]
pub struct SendForm {}

/// `POST /surveys/{name}/send`: leaders and admins send the survey now to
/// its audience (fatigue limit kept); back to `/surveys` with what it did.
pub async fn send(
    State(state): State<AppState>,
    Path(name): Path<String>,
    form: Result<CsrfForm<SendForm>, crate::error::AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, .. } = form?;
    p.require_role(&[Role::Admin, Role::Leader])?;
    let out = tenure_app::surveys::send_now(&state.store, &state.web.config, &name, today())
        .await
        .map_err(crate::error::AppError::from)?;
    for e in &out.errors {
        tracing::warn!(survey = %name, "survey not sent: {e}");
    }
    state.web.cache.invalidate();
    Ok(Redirect::to(&format!(
        "/surveys?sent={}&emailed={}&in_app={}&refused={}#surveys-table",
        urlencode(&name),
        out.emailed,
        out.in_app,
        out.errors.len()
    ))
    .into_response())
}
