//! The hosted survey page (docs/VOICE.md), without login: `GET /s/{token}`
//! shows the question and its score scale (radio buttons styled as large
//! targets, a label each, usable by keyboard and without JavaScript), with
//! the score of the email's one-click link (`?score=N`) already chosen, and
//! the optional follow-up comment; `POST /s/{token}` records the answer.
//!
//! Why the answer is recorded on the POST and not on the GET: mail
//! scanners and link previews fetch the links of an email, so a GET that
//! recorded would answer for the contact (and use the single-use token)
//! before they click. The email's one click opens the page with the score
//! chosen; one press of "Send my answer" records it, with the comment.
//!
//! An unknown token answers 404, a used or expired one 410, a score outside
//! the kind's range 400, each with a clear page and nothing written. The
//! page is rate limited per client address, sets no cookie, is not cached
//! and sends no referrer (the token is in its address). `GET` and `POST
//! /s/{token}/unsubscribe` unsubscribe the contact from every survey.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, extract::rejection::FormRejection};
use serde::Deserialize;
use tenure_app::surveys::{Open, Refused};
use tenure_core::model::SurveyKind;

use super::layout::{render_status, urlencode};
use crate::AppState;
use crate::auth::Client;
use crate::limits::{RateLimit, RateLimiter};

/// The page's limiter: per client address, a burst of 30 requests, then
/// one every 2 seconds.
pub fn limiter() -> RateLimiter {
    RateLimiter::new(RateLimit {
        per_second: 0.5,
        burst: 30,
    })
}

/// The form's view.
pub struct FormView {
    pub action: String,
    pub question: String,
    pub follow_up: String,
    /// Each score and whether it is chosen.
    pub scores: Vec<(i64, bool)>,
    pub low: String,
    pub high: String,
    pub comment: String,
}

#[derive(Template)]
#[template(path = "respond.html")]
pub struct RespondPage {
    pub title: String,
    pub message: Option<String>,
    pub error: Option<String>,
    pub comment_shown: Option<String>,
    pub form: Option<FormView>,
    /// The unsubscribe form's action.
    pub unsubscribe: Option<String>,
}

impl RespondPage {
    fn note(title: &str, message: &str) -> RespondPage {
        RespondPage {
            title: title.to_string(),
            message: Some(message.to_string()),
            error: None,
            comment_shown: None,
            form: None,
            unsubscribe: None,
        }
    }
}

fn page(p: &RespondPage, status: StatusCode) -> Response {
    let mut resp = match render_status(p, status) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let h = resp.headers_mut();
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    resp
}

fn limited(state: &AppState, client: &Client) -> Option<Response> {
    let wait = state
        .web
        .survey_limiter
        .check(&format!("survey:{}", client.0))
        .err()?;
    let mut resp = page(
        &RespondPage::note(
            "Too many requests",
            "Too many requests from your address. Please wait a moment and try again.",
        ),
        StatusCode::TOO_MANY_REQUESTS,
    );
    let secs = wait.as_secs().max(1).to_string();
    if let Ok(v) = HeaderValue::from_str(&secs) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Some(resp)
}

fn refused(r: Refused) -> Response {
    let status = match r {
        Refused::Unknown => StatusCode::NOT_FOUND,
        Refused::Used | Refused::Expired => StatusCode::GONE,
    };
    let title = match r {
        Refused::Unknown => "Survey not found",
        Refused::Used => "Already answered",
        Refused::Expired => "Survey closed",
    };
    page(&RespondPage::note(title, r.words()), status)
}

fn internal(e: tenure_app::Error) -> Response {
    super::WebError::from(crate::error::AppError::from(e)).into_response()
}

fn ends(kind: SurveyKind) -> (&'static str, &'static str) {
    match kind {
        SurveyKind::Nps => ("0 = not at all likely", "10 = extremely likely"),
        SurveyKind::Csat => ("1 = very dissatisfied", "5 = very satisfied"),
        SurveyKind::Ces => ("1 = very difficult", "7 = very easy"),
    }
}

fn form_page(
    token: &str,
    o: &Open,
    chosen: Option<i64>,
    comment: &str,
    error: Option<String>,
) -> RespondPage {
    let (lo, hi) = o.kind.range();
    let (low, high) = ends(o.kind);
    RespondPage {
        title: "A quick question".to_string(),
        message: None,
        error,
        comment_shown: None,
        form: Some(FormView {
            action: format!("/s/{}", urlencode(token)),
            question: o.question.clone(),
            follow_up: o
                .follow_up
                .clone()
                .unwrap_or_else(|| "Anything you would like to add?".to_string()),
            scores: (lo..=hi).map(|s| (s, chosen == Some(s))).collect(),
            low: low.to_string(),
            high: high.to_string(),
            comment: comment.to_string(),
        }),
        unsubscribe: None,
    }
}

/// A score as given, checked against the kind's range.
fn parse_score(kind: SurveyKind, s: Option<&str>) -> Result<Option<i64>, String> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let (lo, hi) = kind.range();
    match s.parse::<i64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
        _ => Err(format!("Choose a score from {lo} to {hi}.")),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ScoreQuery {
    #[serde(default)]
    score: Option<String>,
}

/// `GET /s/{token}`: the question, with `?score=N` chosen.
pub async fn show(
    State(state): State<AppState>,
    client: Client,
    Path(token): Path<String>,
    q: Result<Query<ScoreQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Some(r) = limited(&state, &client) {
        return r;
    }
    let now = tenure_app::clock::now_micros();
    let o = match tenure_app::surveys::open(&state.store, &state.web.config, &token, now).await {
        Ok(Ok(o)) => o,
        Ok(Err(r)) => return refused(r),
        Err(e) => return internal(e),
    };
    let given = q.ok().and_then(|q| q.0.score);
    match parse_score(o.kind, given.as_deref()) {
        Ok(chosen) => page(&form_page(&token, &o, chosen, "", None), StatusCode::OK),
        Err(e) => page(
            &form_page(&token, &o, None, "", Some(e)),
            StatusCode::BAD_REQUEST,
        ),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    score: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

/// `POST /s/{token}`: records the answer, once.
pub async fn submit(
    State(state): State<AppState>,
    client: Client,
    Path(token): Path<String>,
    form: Result<Form<AnswerForm>, FormRejection>,
) -> Response {
    if let Some(r) = limited(&state, &client) {
        return r;
    }
    let now = tenure_app::clock::now_micros();
    let config = &state.web.config;
    let o = match tenure_app::surveys::open(&state.store, config, &token, now).await {
        Ok(Ok(o)) => o,
        Ok(Err(r)) => return refused(r),
        Err(e) => return internal(e),
    };
    let f = form.map(|f| f.0).unwrap_or_default();
    let comment = f.comment.unwrap_or_default();
    let score = match parse_score(o.kind, f.score.as_deref()) {
        Ok(Some(s)) => s,
        Ok(None) => {
            let e = "Choose a score.".to_string();
            return page(
                &form_page(&token, &o, None, &comment, Some(e)),
                StatusCode::BAD_REQUEST,
            );
        }
        Err(e) => {
            return page(
                &form_page(&token, &o, None, &comment, Some(e)),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    match tenure_app::surveys::answer(&state.store, config, &token, score, Some(&comment), now)
        .await
    {
        Ok(Ok(_)) => {
            let kept = tenure_app::surveys::check_comment(Some(&comment))
                .ok()
                .flatten();
            let mut p = RespondPage::note(
                "Thank you!",
                &format!("Your answer ({score}) is recorded. Thank you for taking the time."),
            );
            p.comment_shown = kept;
            page(&p, StatusCode::OK)
        }
        Ok(Err(r)) => refused(r),
        Err(tenure_app::Error::Invalid(e)) => page(
            &form_page(&token, &o, Some(score), &comment, Some(e)),
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => internal(e),
    }
}

/// `GET /s/{token}/unsubscribe`: a button to confirm (a GET changes
/// nothing, for the same reason as answers).
pub async fn unsubscribe_form(
    State(state): State<AppState>,
    client: Client,
    Path(token): Path<String>,
) -> Response {
    if let Some(r) = limited(&state, &client) {
        return r;
    }
    let hash = tenure_app::surveys::hash_token(&token);
    match state.store.survey_send_by_token(&hash).await {
        Ok(Some(_)) => {
            let mut p = RespondPage::note(
                "Unsubscribe",
                "You will get no more surveys from us once you confirm.",
            );
            p.unsubscribe = Some(format!("/s/{}/unsubscribe", urlencode(&token)));
            page(&p, StatusCode::OK)
        }
        Ok(None) => refused(Refused::Unknown),
        Err(e) => internal(e.into()),
    }
}

/// `POST /s/{token}/unsubscribe`.
pub async fn unsubscribe(
    State(state): State<AppState>,
    client: Client,
    Path(token): Path<String>,
) -> Response {
    if let Some(r) = limited(&state, &client) {
        return r;
    }
    let now = tenure_app::clock::now_micros();
    match tenure_app::surveys::unsubscribe(&state.store, &token, now).await {
        Ok(true) => page(
            &RespondPage::note("Unsubscribed", "You will get no more surveys from us."),
            StatusCode::OK,
        ),
        Ok(false) => refused(Refused::Unknown),
        Err(e) => internal(e),
    }
}
