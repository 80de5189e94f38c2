//! `/feedback`: feedback items (survey comments, ticket text, CSM notes,
//! items from the API) with their sentiment and themes, filtered by theme,
//! source and sentiment, the configured themes with their counts, and
//! suggested themes (keyword clusters of the untagged items) with their
//! top terms and example comments. `/requests`: product requests ranked by
//! the ARR of the accounts asking (or their count, or the ARR at risk),
//! a form to make one, the status form for leaders and admins, and
//! `/requests.csv`. All through `tenure_app::feedback`, as the API and the
//! CLI; a CSM sees their own accounts only. Every text customers wrote is
//! escaped by the templates.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tenure_app::Error;
use tenure_app::clock::today;
use tenure_app::feedback::{self, NewRequest, Ranking};
use tenure_core::feedback::{RankBy, RequestStatus, Sentiment, Source};
use tenure_store::auth::Role;

use super::layout::{Nav, money, render, render_status, urlencode};
use super::{WebError, WebUser};
use crate::AppState;
use crate::api::feedback::{FeedbackParams, RequestParams, feedback_query, request_params};
use crate::api::risk::units;
use crate::auth::{CsrfForm, Principal};
use crate::error::AppError;

/// Items the page shows at most.
const PAGE_ITEMS: u32 = 200;
/// Suggested themes the page shows at most.
const PAGE_SUGGESTIONS: usize = 5;

/// An item as shown.
pub struct ItemRow {
    pub id: String,
    /// `/requests` with its request form filled with this item.
    pub request_href: String,
    pub date: String,
    pub account_href: String,
    pub account: String,
    pub source: &'static str,
    pub text: String,
    pub score: String,
    pub sentiment: String,
    pub themes: Vec<String>,
}

/// A theme with its filter link.
pub struct ThemeRow {
    pub name: String,
    pub href: String,
    pub items: u64,
    pub how: String,
    pub current: bool,
}

/// A suggested theme as shown.
pub struct SuggestionRow {
    pub terms: String,
    pub items: usize,
    pub examples: Vec<String>,
    pub toml: String,
}

/// An option of a filter.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "feedback.html")]
pub struct FeedbackPage {
    pub nav: Nav,
    pub items: Vec<ItemRow>,
    pub shown: usize,
    pub themes: Vec<ThemeRow>,
    pub theme_choices: Vec<Choice>,
    pub source_choices: Vec<Choice>,
    pub sentiment_choices: Vec<Choice>,
    pub suggestions: Vec<SuggestionRow>,
    pub error: String,
    pub can_write: bool,
}

fn choices(values: &[(&str, &str)], current: &str) -> Vec<Choice> {
    let mut out = vec![Choice {
        value: String::new(),
        label: "Any".into(),
        selected: current.is_empty(),
    }];
    out.extend(values.iter().map(|(v, l)| Choice {
        value: v.to_string(),
        label: l.to_string(),
        selected: *v == current,
    }));
    out
}

/// `GET /feedback`.
pub async fn page(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    q: Result<Query<FeedbackParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let mut q = q.map(|Query(q)| q).unwrap_or_default();
    q.limit = Some(PAGE_ITEMS);
    let scope = p.scope();
    // A bad filter is shown, with every item.
    let (query, error) = match feedback_query(&q, scope.clone()) {
        Ok(query) => (query, String::new()),
        Err(m) => {
            let q2 = FeedbackParams {
                limit: Some(PAGE_ITEMS),
                ..FeedbackParams::default()
            };
            (
                feedback_query(&q2, scope.clone()).map_err(AppError::bad_request)?,
                m,
            )
        }
    };
    let items = feedback::list(&state.store, &query).await?;
    let themes = feedback::themes(&state.store, &state.web.config, &scope).await?;
    let suggestions = feedback::suggest(&state.store, &scope, PAGE_SUGGESTIONS).await?;
    let current_theme = query.theme.clone().unwrap_or_default();
    let rows: Vec<ItemRow> = items
        .iter()
        .map(|v| {
            let i = &v.item;
            ItemRow {
                id: i.id.clone(),
                request_href: format!("/requests?feedback={}#request-form", urlencode(&i.id)),
                date: i.day.to_string(),
                account_href: format!("/accounts/{}", urlencode(&i.account_id)),
                account: if v.account_name.is_empty() {
                    i.account_id.clone()
                } else {
                    v.account_name.clone()
                },
                source: i.source.as_str(),
                text: i.text.clone(),
                score: match (i.kind, i.score) {
                    (Some(k), Some(s)) => format!("{} {s}", k.as_str().to_uppercase()),
                    _ => String::new(),
                },
                sentiment: i
                    .sentiment
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                themes: i.themes.clone(),
            }
        })
        .collect();
    let theme_names: Vec<(String, String)> = themes
        .iter()
        .map(|t| (t.name.clone(), t.name.clone()))
        .collect();
    let theme_refs: Vec<(&str, &str)> = theme_names
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let sources: Vec<(&str, &str)> = Source::ALL
        .iter()
        .map(|s| (s.as_str(), s.as_str()))
        .collect();
    let sentiments: Vec<(&str, &str)> = Sentiment::ALL
        .iter()
        .map(|s| (s.as_str(), s.as_str()))
        .collect();
    render(&FeedbackPage {
        nav: Nav::new(&p, "feedback"),
        shown: rows.len(),
        items: rows,
        themes: themes
            .iter()
            .map(|t| {
                let mut how = Vec::new();
                if !t.keywords.is_empty() {
                    how.push(format!("keywords: {}", t.keywords.join(", ")));
                }
                if let Some(r) = &t.rule {
                    how.push(format!("rule: {r}"));
                }
                ThemeRow {
                    href: format!("/feedback?theme={}", urlencode(&t.name)),
                    current: t.name == current_theme,
                    name: t.name.clone(),
                    items: t.items,
                    how: how.join("; "),
                }
            })
            .collect(),
        theme_choices: choices(&theme_refs, &current_theme),
        source_choices: choices(
            &sources,
            query.source.map(Source::as_str).unwrap_or_default(),
        ),
        sentiment_choices: choices(
            &sentiments,
            query.sentiment.map(Sentiment::as_str).unwrap_or_default(),
        ),
        suggestions: suggestions
            .iter()
            .map(|s| SuggestionRow {
                terms: s.suggestion.terms.join(", "),
                items: s.suggestion.items,
                examples: s.examples.iter().map(|e| e.item.text.clone()).collect(),
                toml: s.suggestion.toml.clone(),
            })
            .collect(),
        error,
        can_write: p.role.can_write() && p.csrf_token.is_some(),
    })
}

/// An account asking, as shown.
pub struct AskRow {
    pub href: String,
    pub name: String,
    pub at_risk: bool,
}

/// A request as shown.
pub struct RequestRow {
    pub n: usize,
    pub id: String,
    pub title: String,
    pub description: String,
    pub status: &'static str,
    pub status_on: String,
    pub accounts: usize,
    pub arr: String,
    pub arr_at_risk: String,
    pub asking: Vec<AskRow>,
}

#[derive(Template)]
#[template(path = "requests.html")]
pub struct RequestsPage {
    pub nav: Nav,
    pub day: String,
    pub rows: Vec<RequestRow>,
    pub by_choices: Vec<Choice>,
    pub status_choices: Vec<Choice>,
    pub statuses: Vec<&'static str>,
    pub csv_href: String,
    pub can_write: bool,
    pub can_set_status: bool,
    pub csrf: String,
    pub flash: String,
    pub error: String,
    pub form_title: String,
    pub form_accounts: String,
    pub form_feedback: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct RequestsQuery {
    pub by: Option<String>,
    pub status: Option<String>,
    pub done: Option<String>,
    /// A feedback item to make a request from: fills the form.
    pub feedback: Option<String>,
}

fn rank_of(q: &RequestsQuery) -> (RankBy, Option<RequestStatus>, String) {
    match request_params(&RequestParams {
        by: q.by.clone(),
        status: q.status.clone(),
    }) {
        Ok((b, s)) => (b, s, String::new()),
        Err(m) => (RankBy::Arr, None, m),
    }
}

async fn ranking(
    state: &AppState,
    p: &Principal,
    by: RankBy,
    status: Option<RequestStatus>,
) -> Result<Ranking, WebError> {
    Ok(feedback::ranking(
        &state.store,
        &state.web.config,
        &p.scope(),
        by,
        status,
        today(),
    )
    .await?)
}

async fn build(
    state: &AppState,
    p: &Principal,
    q: &RequestsQuery,
) -> Result<RequestsPage, WebError> {
    let (by, status, error) = rank_of(q);
    let r = ranking(state, p, by, status).await?;
    let c = r.currency;
    let m = |minor: i64| money(units(minor, c), c.as_str(), false);
    let rows = r
        .rows
        .iter()
        .enumerate()
        .map(|(n, x)| RequestRow {
            n: n + 1,
            id: x.request.id.clone(),
            title: x.request.title.clone(),
            description: x.request.description.clone().unwrap_or_default(),
            status: x.request.status.as_str(),
            status_on: x.request.status_on.to_string(),
            accounts: x.standing.accounts,
            arr: m(x.standing.arr),
            arr_at_risk: m(x.standing.arr_at_risk),
            asking: x
                .accounts
                .iter()
                .map(|l| AskRow {
                    href: format!("/accounts/{}", urlencode(&l.account_id)),
                    name: l.account_name.clone(),
                    at_risk: x.at_risk.contains(&l.account_id),
                })
                .collect(),
        })
        .collect();
    let csv_href = format!(
        "/requests.csv?by={}{}",
        by.as_str(),
        status
            .map(|s| format!("&status={}", s.as_str()))
            .unwrap_or_default()
    );
    Ok(RequestsPage {
        nav: Nav::new(p, "requests"),
        day: r.day.to_string(),
        rows,
        by_choices: [
            ("arr", "ARR asking"),
            ("count", "Accounts asking"),
            ("arr_at_risk", "ARR at risk"),
        ]
        .iter()
        .map(|(v, l)| Choice {
            value: v.to_string(),
            label: l.to_string(),
            selected: *v == by.as_str(),
        })
        .collect(),
        status_choices: choices(
            &RequestStatus::ALL
                .iter()
                .map(|s| (s.as_str(), s.as_str()))
                .collect::<Vec<_>>(),
            status.map(RequestStatus::as_str).unwrap_or_default(),
        ),
        statuses: RequestStatus::ALL.iter().map(|s| s.as_str()).collect(),
        csv_href,
        can_write: p.role.can_write() && p.csrf_token.is_some(),
        can_set_status: matches!(p.role, Role::Admin | Role::Leader) && p.csrf_token.is_some(),
        csrf: p.csrf_token.clone().unwrap_or_default(),
        flash: match q.done.as_deref() {
            Some("created") => "The request was made.".into(),
            Some("status") => "The status was changed.".into(),
            Some("shipped") => {
                "Marked shipped: each asking account's CSM has a task to tell the customer.".into()
            }
            _ => String::new(),
        },
        error,
        form_title: String::new(),
        form_accounts: String::new(),
        form_feedback: q.feedback.clone().unwrap_or_default(),
    })
}

/// `GET /requests`.
pub async fn requests(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    q: Result<Query<RequestsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    render(&build(&state, &p, &q).await?)
}

/// `GET /requests.csv`: the ranking as CSV.
pub async fn csv(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    q: Result<Query<RequestsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let (by, status, error) = rank_of(&q);
    if !error.is_empty() {
        return Err(AppError::bad_request(error).into());
    }
    let r = ranking(&state, &p, by, status).await?;
    let body = feedback::to_csv(&r)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"requests.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub account_ids: String,
    #[serde(default)]
    pub feedback_id: String,
}

/// `POST /requests`: make a request; a refused form comes back with its
/// message (422).
pub async fn create(
    State(state): State<AppState>,
    form: Result<CsrfForm<RequestForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_write()?;
    let new = NewRequest {
        title: form.title.clone(),
        description: None,
        account_ids: form
            .account_ids
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        feedback_id: Some(form.feedback_id.trim().to_string()).filter(|s| !s.is_empty()),
    };
    match feedback::create(
        &state.store,
        &state.web.config,
        &p.scope(),
        &new,
        p.email.as_deref(),
        today(),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to("/requests?done=created").into_response()),
        Err(e @ (Error::Invalid(_) | Error::NotFound(_))) => {
            let mut page = build(&state, &p, &RequestsQuery::default()).await?;
            page.error = match e {
                Error::Invalid(m) => m,
                Error::NotFound(what) => format!("No {what} among your accounts and feedback."),
                _ => String::new(),
            };
            page.form_title = form.title;
            page.form_accounts = form.account_ids;
            page.form_feedback = form.feedback_id;
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    pub status: String,
}

/// `POST /requests/{id}/status`: leaders and admins.
pub async fn set_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Result<CsrfForm<StatusForm>, AppError>,
) -> Result<Response, WebError> {
    let CsrfForm { principal: p, form } = form?;
    p.require_role(&[Role::Admin, Role::Leader])?;
    let c =
        feedback::set_status(&state.store, &state.web.config, &id, &form.status, today()).await?;
    state.web.cache.invalidate();
    let done = if c.request.status == RequestStatus::Shipped && !c.tasks.is_empty() {
        "shipped"
    } else {
        "status"
    };
    Ok(Redirect::to(&format!("/requests?done={done}")).into_response())
}
