//! `/surveys` (docs/VOICE.md): every survey of tenure.toml with its
//! audience, trigger and channel, sends and response rate; the response
//! rate by segment and by CSM; NPS by month with its chart; and the latest
//! comments (escaped like every text of the templates). Leaders and
//! admins see every account, and have a "Send now" form per survey (`POST
//! /surveys/{name}/send`, with the session's CSRF token) that sends it to
//! its audience within the fatigue limit, and a "Schedule" form (`POST
//! /surveys/{name}/schedule`) that sends it on a later day through the
//! background job; the scheduled sends are listed, each with a "Cancel"
//! form while it waits. A CSM sees their own accounts' figures and the
//! schedules, without the forms.

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
use crate::api::surveys::{RatesOut, SurveyOut, rates_out, survey_out};
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
    /// What the last form did, in words.
    pub flash: String,
    /// Why the last form was refused, in words.
    pub refusal: String,
    /// Sends scheduled: those waiting, then the latest done.
    pub schedules: Vec<ScheduleRow>,
    /// Today (UTC), the earliest day a survey can be scheduled for.
    pub today: String,
}

/// A scheduled send, for the page.
pub struct ScheduleRow {
    pub id: String,
    pub survey: String,
    pub send_on: String,
    pub waiting: bool,
    /// "waiting", "sent to N contacts" or "cancelled by X".
    pub state: String,
    pub created_by: String,
}

/// Done schedules shown under the waiting ones, at most.
const DONE_SCHEDULES: usize = 10;

fn schedule_rows(all: Vec<tenure_store::surveys::Schedule>) -> Vec<ScheduleRow> {
    let (mut waiting, done): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|s| s.status == "scheduled");
    waiting.sort_by_key(|s| s.send_on);
    waiting
        .into_iter()
        .chain(done.into_iter().take(DONE_SCHEDULES))
        .map(|s| ScheduleRow {
            state: if s.status == "scheduled" {
                "waiting".to_string()
            } else {
                crate::api::surveys::schedule_state(&s.status, s.sent, s.done_by.as_deref())
            },
            waiting: s.status == "scheduled",
            id: s.id,
            survey: s.survey,
            send_on: s.send_on.to_string(),
            created_by: s.created_by,
        })
        .collect()
}

pub fn pct(x: &Option<f64>) -> String {
    x.map_or("–".to_string(), |v| format!("{:.0}%", v * 100.0))
}

pub fn num(x: &Option<f64>) -> String {
    x.map_or("–".to_string(), |v| format!("{v:+.0}"))
}

/// What the last form did, carried by its redirect.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    pub sent: Option<String>,
    /// A survey just scheduled, and its day.
    pub scheduled: Option<String>,
    pub on: Option<String>,
    /// A schedule just cancelled.
    pub cancelled: Option<String>,
    /// Why a form was refused.
    pub refused_why: Option<String>,
    #[serde(default)]
    pub emailed: usize,
    #[serde(default)]
    pub in_app: usize,
    #[serde(default)]
    pub refused: usize,
}

fn flash(q: &PageQuery) -> String {
    if let (Some(name), Some(on)) = (&q.scheduled, &q.on) {
        return format!("{name} is scheduled for {on}: the background job sends it that day.");
    }
    if let Some(id) = &q.cancelled {
        return format!("The scheduled send {id} is cancelled.");
    }
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
    let schedules = schedule_rows(
        state
            .store
            .survey_schedules(false)
            .await
            .map_err(crate::error::AppError::from)?,
    );
    render(&SurveysPage {
        nav: Nav::new(&p, "surveys"),
        surveys,
        rates,
        chart,
        comments,
        can_send: matches!(p.role, Role::Admin | Role::Leader) && p.csrf_token.is_some(),
        csrf: p.csrf_token.clone().unwrap_or_default(),
        flash: flash(&q),
        refusal: q.refused_why.clone().unwrap_or_default(),
        schedules,
        today: today().to_string(),
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

/// The "Schedule" form: the day, and its CSRF token.
#[derive(Debug, Default, Deserialize)]
pub struct ScheduleForm {
    #[serde(default)]
    pub on: String,
}

/// Back to `/surveys` saying why a form was refused.
fn refused(why: &str) -> Response {
    Redirect::to(&format!(
        "/surveys?refused_why={}#schedules",
        urlencode(why)
    ))
    .into_response()
}

/// `POST /surveys/{name}/schedule`: leaders and admins schedule the survey
/// for a day; a bad or past day comes back as a message on the page.
pub async fn schedule(
    State(state): State<AppState>,
    Path(name): Path<String>,
    form: Result<CsrfForm<ScheduleForm>, crate::error::AppError>,
) -> Result<Response, WebError> {
    let CsrfForm {
        principal: p,
        form: f,
    } = form?;
    p.require_role(&[Role::Admin, Role::Leader])?;
    let on = match tenure_core::model::parse_date(f.on.trim()) {
        Ok(d) => d,
        Err(e) => return Ok(refused(&format!("The day to send {name} on: {e}"))),
    };
    match tenure_app::surveys::schedule(
        &state.store,
        &state.web.config,
        &name,
        on,
        today(),
        &p.author(),
    )
    .await
    {
        Ok(s) => Ok(Redirect::to(&format!(
            "/surveys?scheduled={}&on={}#schedules",
            urlencode(&s.survey),
            s.send_on
        ))
        .into_response()),
        Err(tenure_app::Error::Invalid(m)) => Ok(refused(&m)),
        Err(e) => Err(crate::error::AppError::from(e).into()),
    }
}

/// `POST /surveys/schedules/{id}/cancel`: leaders and admins cancel a
/// scheduled send still waiting.
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<SendForm>, crate::error::AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, .. } = form?;
    p.require_role(&[Role::Admin, Role::Leader])?;
    match tenure_app::surveys::cancel_schedule(&state.store, &id, &p.author()).await {
        Ok(()) => Ok(
            Redirect::to(&format!("/surveys?cancelled={}#schedules", urlencode(&id)))
                .into_response(),
        ),
        Err(tenure_app::Error::NotFound(_)) => Ok(refused(&format!(
            "{id} is not waiting to be sent: it was sent or cancelled already."
        ))),
        Err(e) => Err(crate::error::AppError::from(e).into()),
    }
}
