//! `/surveys` (docs/VOICE.md): every survey of tenure.toml with its
//! audience, trigger and channel, sends and response rate; the response
//! rate by segment and by CSM; NPS by month with its chart; and the latest
//! comments (escaped like every text of the templates). Leaders and
//! admins see every account; a CSM sees their own.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::charts::{self, Series};
use super::layout::{Nav, render, urlencode};
use super::{WebError, WebUser};
use crate::AppState;
use crate::api::surveys::{RateOut, RatesOut, SurveyOut, rates_out, survey_out};

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

pub async fn page(
    State(state): State<AppState>,
    WebUser(p): WebUser,
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
    })
}
