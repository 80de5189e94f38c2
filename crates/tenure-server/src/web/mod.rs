//! The web dashboard: server-rendered pages for people (README.md, "The
//! dashboard").
//!
//! One module per page: [`login`] (`/login`, `/logout`), [`overview`] (`/`),
//! [`accounts`] (`/accounts`, `/accounts.csv`), [`account`]
//! (`/accounts/{id}` and its forms), [`card`] (`/accounts/{id}/card`, the
//! compact card a CRM frames), [`metrics`] (`/metrics` for browsers, shared with Prometheus in [`crate::ops`]), [`risk`]
//! (`/risk`, `/reviews`), [`feedback`] (`/feedback`, `/requests`), the Engage pages [`segments`] (`/segments`), [`journey`]
//! (`/journey`) and [`cadence`] (`/cadence`), [`team`] (`/team`, the CSM
//! KPIs against their targets), [`tasks`] (`/tasks`, *my
//! tasks*, and its forms) and [`settings`] (`/settings`). [`layout`]
//! holds what every page shares (navigation,
//! number formats, the HTML error page), [`engage`] what the Engage pages
//! share (the period form and its checks, the cached report, a CSM's
//! overdue engagements on their landing page),
//! [`charts`] draws SVG charts on the server and [`cache`] keeps the
//! portfolio aggregates that the overview, accounts, metrics and risk pages
//! read, and the Engage reports, so that no request recomputes them over
//! every account; [`account_cache`] keeps the day's health signals behind
//! the account page's live score and each account's weekly use until the
//! data changes.
//!
//! Pages take a [`WebUser`]: the caller from the session cookie or an
//! `Authorization: Bearer` API key (for scripts, monitoring and screenshot
//! tools); a browser without either is sent to `/login`. Every page reads
//! through the caller's [`Scope`](tenure_store::api::Scope), so a CSM sees
//! their own accounts only. Forms that change something go through
//! [`CsrfForm`](crate::auth::CsrfForm). Templates are askama (escaping by
//! default); the CSS and the small progressive-enhancement script are
//! embedded in the binary.

pub mod account;
pub mod account_cache;
pub mod account_churn;
pub mod account_voice;
pub mod accounts;
pub mod cache;
pub mod cadence;
pub mod card;
pub mod charts;
pub mod engage;
pub mod feedback;
pub mod forecast;
pub mod health;
pub mod journey;
pub mod layout;
pub mod login;
pub mod metrics;
pub mod overrides;
pub mod overview;
pub mod plans;
pub mod plays;
pub mod respond;
pub mod risk;
pub mod segments;
pub mod settings;
pub mod surveys;
pub mod tasks;
pub mod team;
pub mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tenure_core::config::Config;

use crate::AppState;
use crate::auth::Principal;
use crate::error::AppError;

pub use layout::WebError;

/// What the web pages keep between requests: the configuration in force
/// (scorecards, currency) and the aggregate cache.
#[derive(Debug)]
pub struct WebState {
    pub config: Arc<Config>,
    pub cache: cache::Cache,
    /// The team page's KPIs ([`team::KpiCache`]).
    pub kpis: team::KpiCache,
    /// The account page's scores and weekly use
    /// ([`account_cache::AccountCache`]).
    pub accounts: account_cache::AccountCache,
    /// The hosted survey page's rate limit per client address.
    pub survey_limiter: crate::limits::RateLimiter,
    model: std::sync::OnceLock<tenure_core::health::HealthModel>,
}

impl WebState {
    pub fn new(config: Config) -> WebState {
        WebState {
            config: Arc::new(config),
            cache: cache::Cache::default(),
            kpis: team::KpiCache::default(),
            accounts: account_cache::AccountCache::default(),
            survey_limiter: respond::limiter(),
            model: std::sync::OnceLock::new(),
        }
    }

    /// The health model of the configured scorecards, compiled once.
    pub fn model(&self) -> &tenure_core::health::HealthModel {
        self.model
            .get_or_init(|| tenure_core::health::HealthModel::new(&self.config.health))
    }
}

impl Default for WebState {
    fn default() -> Self {
        WebState::new(Config::default())
    }
}

/// The caller of a page. Without credentials, a browser is redirected to
/// the login page (see [`FromRequestParts`] below).
#[derive(Debug, Clone)]
pub struct WebUser(pub Principal);

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match Principal::resolve(parts, state).await {
            // A viewer sees the shared views only (docs/CRM.md): other
            // pages send them to the views' hub.
            Ok(p) if !crate::auth::may_open(&p, parts) => {
                if parts.method == axum::http::Method::GET {
                    Err(Redirect::to("/views").into_response())
                } else {
                    Err(WebError(AppError::forbidden(crate::auth::VIEWER_ONLY)).into_response())
                }
            }
            Ok(p) => Ok(WebUser(p)),
            Err(e)
                if e.status == StatusCode::UNAUTHORIZED
                    && !parts.headers.contains_key(header::AUTHORIZATION) =>
            {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let target = format!("/login?next={}", layout::urlencode(next));
                let mut resp = Redirect::to(&target).into_response();
                // A stale cookie is cleared so that the login page starts clean.
                resp.headers_mut().insert(
                    header::SET_COOKIE,
                    HeaderValue::from_static(
                        "tenure_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
                    ),
                );
                Err(resp)
            }
            Err(e) => Err(WebError::from(e).into_response()),
        }
    }
}

const CSS: &str = include_str!("../../assets/web.css");
const JS: &str = include_str!("../../assets/web.js");

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
    )
}

async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        charts::FAVICON,
    )
}

/// The pages and their assets.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/accounts", get(accounts::page))
        .route("/accounts.csv", get(accounts::csv))
        .route("/accounts/{id}", get(account::page))
        .route("/accounts/{id}/engagements", post(account::log_engagement))
        .route("/accounts/{id}/override", post(account::set_override))
        .route("/accounts/{id}/plans", post(plans::create))
        .route("/accounts/{id}/tasks", post(tasks::add_for_account))
        .route("/accounts/{id}/qbr", get(account::qbr))
        .route("/accounts/{id}/card", get(card::page))
        .route("/accounts/{id}/risk/flag", post(account::flag_risk))
        .route("/accounts/{id}/risk/resolve", post(account::resolve_risk))
        .route("/playbooks", get(plays::page))
        .route("/surveys", get(surveys::page))
        .route("/surveys/{name}/send", post(surveys::send))
        .route("/surveys/{name}/schedule", post(surveys::schedule))
        .route("/surveys/schedules/{id}/cancel", post(surveys::cancel))
        .route("/s/{token}", get(respond::show).post(respond::submit))
        .route(
            "/s/{token}/unsubscribe",
            get(respond::unsubscribe_form).post(respond::unsubscribe),
        )
        .route("/plans", get(plans::list))
        .route("/plans/{id}", get(plans::page))
        .route("/plans/{id}/edit", post(plans::edit))
        .route("/plans/{id}/goals", post(plans::add_goal))
        .route("/plans/{id}/milestones", post(plans::add_milestone))
        .route("/plans/{id}/proven-value", post(plans::add_proven))
        .route("/goals/{id}/value", post(plans::set_goal_value))
        .route("/milestones/{id}/status", post(plans::set_milestone))
        .route("/risk", get(risk::page))
        .route("/feedback", get(feedback::page))
        .route("/requests", get(feedback::requests).post(feedback::create))
        .route("/requests.csv", get(feedback::csv))
        .route("/requests/{id}/status", post(feedback::set_status))
        .route("/risk/flags", post(risk::add_flag))
        .route("/risk/{account}/resolve", post(risk::resolve))
        .route("/reviews", get(risk::reviews))
        .route("/reviews/{id}", get(risk::review))
        .route("/reviews/{id}/hold", post(risk::hold))
        .route("/segments", get(segments::page))
        .route("/journey", get(journey::page))
        .route("/cadence", get(cadence::page))
        .route("/settings", get(settings::page))
        .route("/team", get(team::page))
        .route("/views", get(views::hub))
        .route("/views/sales", get(views::sales))
        .route("/views/support", get(views::support))
        .route("/views/product", get(views::product))
        .route("/tasks", get(tasks::page))
        .route("/tasks/{id}/complete", post(tasks::complete))
        .route("/tasks/{id}/snooze", post(tasks::snooze))
        .route("/tasks/{id}/reassign", post(tasks::reassign))
        .route("/tasks/{id}/drop", post(tasks::drop_task))
        .route("/tasks/{id}/reopen", post(tasks::reopen))
        .route("/assets/web.css", get(css))
        .route("/assets/web.js", get(js))
        .route("/favicon.ico", get(favicon))
        .layer(axum::middleware::from_fn(security_headers))
}

/// The Content-Security-Policy of every page: scripts, styles, images and
/// form targets from Tenure itself only (style attributes allowed: the
/// charts' SVG uses them), no plugins, and no framing by another site.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Security headers on every page and asset: the [`CSP`], no MIME
/// sniffing, no framing (for browsers without `frame-ancestors`), and no
/// referrer (a survey link's token never leaves in a `Referer`). A page
/// that sets its own Content-Security-Policy (only the account card,
/// [`card`], which a CRM may frame) keeps it and decides its
/// `X-Frame-Options` itself.
async fn security_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

impl From<tenure_app::Error> for WebError {
    fn from(e: tenure_app::Error) -> WebError {
        WebError(AppError::from(e))
    }
}

impl From<tenure_store::StoreError> for WebError {
    fn from(e: tenure_store::StoreError) -> WebError {
        WebError(AppError::from(e))
    }
}

/// Turns an [`AppError`] from a page into the HTML error page.
impl From<AppError> for WebError {
    fn from(e: AppError) -> WebError {
        WebError(e)
    }
}
