//! Tenure's HTTP surface.
//!
//! [`router`] builds the whole application from an [`AppState`] without
//! binding a socket, so tests drive it in process; [`serve`] binds it and
//! shuts down gracefully. Route groups, one module each:
//!
//! - [`ops`]: `/healthz`, `/readyz`, Prometheus `/metrics`.
//! - [`api`]: the JSON API under `/api/v1/` (bearer API keys or a session
//!   cookie), described by the OpenAPI document at `/api/openapi.json` and
//!   browsable at `/api/docs` ([`openapi`]).
//! - [`ingest`]: Segment-compatible event ingest under `/v1/`.
//! - [`webhooks`]: Stripe-format billing webhooks at `/webhooks/stripe`.
//! - [`web`]: the dashboard's HTML pages (`/`, `/accounts`, `/metrics`, ...).
//!
//! Cross-cutting: [`auth`] (keys, passwords, sessions, roles, CSRF),
//! [`error`] (the one error type), [`limits`] (rate limits) and
//! [`telemetry`] (request logs and metrics).

pub mod api;
pub mod auth;
pub mod error;
pub mod ingest;
pub mod limits;
pub mod openapi;
pub mod ops;
pub mod telemetry;
pub mod web;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tenure_store::Store;

pub use error::AppError;

use crate::limits::{RateLimit, RateLimiter};
use crate::telemetry::Telemetry;

/// Settings of the server. Its `Debug` hides secrets.
#[derive(Clone)]
pub struct ServerConfig {
    /// Secret of the Stripe webhook endpoint (`whsec_...`); webhooks are
    /// refused while it is not set.
    pub stripe_webhook_secret: Option<String>,
    /// Accepted clock difference for Stripe signatures.
    pub webhook_tolerance: Duration,
    /// Per caller of the API and the pages (API key or session).
    pub rate_limit: RateLimit,
    /// Per ingest write key: tracking libraries send many small batches.
    pub ingest_rate_limit: RateLimit,
    /// Largest JSON API request body.
    pub max_body_bytes: usize,
    /// How long a web session lasts.
    pub session_ttl: Duration,
    /// Mark the session cookie `Secure` (serve over HTTPS, directly or behind a proxy).
    pub secure_cookies: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            stripe_webhook_secret: None,
            webhook_tolerance: Duration::from_secs(300),
            rate_limit: RateLimit::default(),
            ingest_rate_limit: RateLimit {
                per_second: 1000.0,
                burst: 2000,
            },
            max_body_bytes: 1024 * 1024,
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            secure_cookies: false,
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field(
                "stripe_webhook_secret",
                &self.stripe_webhook_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("webhook_tolerance", &self.webhook_tolerance)
            .field("rate_limit", &self.rate_limit)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("session_ttl", &self.session_ttl)
            .field("secure_cookies", &self.secure_cookies)
            .finish()
    }
}

/// What every handler can reach. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) ingest_limiter: Arc<RateLimiter>,
    /// Password attempts per email: a small budget against guessing.
    pub(crate) login_limiter: Arc<RateLimiter>,
    /// Password attempts per client address, whatever the email: against
    /// trying one password on many emails.
    pub(crate) login_address_limiter: Arc<RateLimiter>,
    /// Emails locked after repeated failed logins.
    pub(crate) lockout: Arc<limits::Lockout>,
    pub(crate) telemetry: Arc<Telemetry>,
    /// The dashboard's configuration and aggregate cache.
    pub web: Arc<web::WebState>,
}

impl AppState {
    pub fn new(store: Store, config: ServerConfig) -> AppState {
        AppState {
            store,
            limiter: Arc::new(RateLimiter::new(config.rate_limit)),
            ingest_limiter: Arc::new(RateLimiter::new(config.ingest_rate_limit)),
            login_limiter: Arc::new(RateLimiter::new(RateLimit {
                per_second: 1.0 / 6.0,
                burst: 10,
            })),
            login_address_limiter: Arc::new(RateLimiter::new(RateLimit {
                per_second: 1.0,
                burst: 60,
            })),
            lockout: Arc::new(limits::Lockout::default()),
            config: Arc::new(config),
            telemetry: Arc::new(Telemetry::default()),
            web: Arc::new(web::WebState::default()),
        }
    }

    /// Uses `config` (tenure.toml: currency, scorecards) for the dashboard.
    pub fn with_tenure_config(mut self, config: tenure_core::config::Config) -> AppState {
        self.web = Arc::new(web::WebState::new(config));
        self
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let (api, doc) = openapi::api_router().split_for_parts();
    let doc = Arc::new(doc);
    Router::new()
        .merge(api)
        .merge(openapi::docs_router(doc))
        .merge(ops::router())
        .merge(ingest::router())
        .merge(webhooks::router())
        .merge(web::router())
        .fallback(error::not_found_fallback)
        .method_not_allowed_fallback(error::method_not_allowed_fallback)
        // JSON API bodies; the ingest and webhook handlers read their bodies
        // themselves with their own limits and JSON errors.
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            telemetry::track,
        ))
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` completes, then
/// stops accepting connections and waits for in-flight requests to finish.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// [`serve_on`] with the background jobs (`tenure_app::jobs`: today's
/// health scores, and the pipelines that follow them) running beside the
/// server on the configuration of `state`, every `interval` (usually
/// [`SERVE_INTERVAL`](tenure_app::jobs::SERVE_INTERVAL)); the jobs stop
/// when the server has. `None` serves without jobs (another process runs
/// them: `tenure run-jobs`, or another server).
pub async fn serve_with_jobs(
    listener: tokio::net::TcpListener,
    state: AppState,
    interval: Option<std::time::Duration>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let Some(interval) = interval else {
        tracing::info!("background jobs are off on this server (--job-interval 0)");
        return serve_on(listener, state, shutdown).await;
    };
    let (stop_jobs, jobs_stopped) = tokio::sync::oneshot::channel::<()>();
    let jobs = tokio::spawn(tenure_app::jobs::run_forever(
        state.store.clone(),
        (*state.web.config).clone(),
        interval,
        async {
            let _ = jobs_stopped.await;
        },
    ));
    let served = serve_on(listener, state, shutdown).await;
    let _ = stop_jobs.send(());
    let _ = jobs.await;
    served
}

/// Binds `addr` and serves until `shutdown` completes (see [`serve_on`]).
pub async fn serve(
    state: AppState,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    serve_on(listener, state, shutdown).await
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM: the shutdown signal for [`serve`].
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
