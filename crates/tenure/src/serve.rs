//! `tenure serve`: the HTTP server (web dashboard, JSON API, Segment ingest,
//! Stripe webhooks).

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use tenure_server::{AppState, ServerConfig};

use crate::data::{open_store, redact_url};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TENURE_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Log line format (the level comes from RUST_LOG, default info).
    #[arg(long, env = "TENURE_LOG_FORMAT", value_enum, default_value = "compact")]
    pub log_format: LogFormat,
    /// Mark the session cookie Secure: set this when users reach Tenure over HTTPS.
    #[arg(long, env = "TENURE_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Requests per second allowed to each API key or web session (bursts of 4x).
    #[arg(long, env = "TENURE_RATE_LIMIT", default_value_t = 50)]
    pub rate_limit: u32,
    /// Requests per second allowed to each ingest write key (bursts of 2x).
    #[arg(long, env = "TENURE_INGEST_RATE_LIMIT", default_value_t = 1000)]
    pub ingest_rate_limit: u32,
    /// Seconds between passes of the background jobs (health scores,
    /// stages, playbooks, surveys, outbound messages); 0 runs no jobs on
    /// this server (another server or `tenure run-jobs` runs them).
    /// Several servers may run jobs on one database: a pass runs on one at
    /// a time.
    #[arg(long, env = "TENURE_JOB_INTERVAL", default_value_t = 30)]
    pub job_interval: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Compact,
    Json,
}

/// Installs the log subscriber (once; later calls are ignored).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Compact => builder.compact().try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The server settings: the Stripe secret from `TENURE_STRIPE_WEBHOOK_SECRET`,
/// else from `[server] stripe_webhook_secret` in tenure.toml.
pub fn server_config(file: &tenure_core::config::Config, secure_cookies: bool) -> ServerConfig {
    let secret = std::env::var("TENURE_STRIPE_WEBHOOK_SECRET")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            file.server
                .stripe_webhook_secret
                .as_ref()
                .map(|s| s.expose().to_string())
        });
    ServerConfig {
        stripe_webhook_secret: secret,
        secure_cookies,
        ..ServerConfig::default()
    }
}

pub async fn run(db: &str, config_path: &Path, args: ServeArgs) -> Result<()> {
    init_logging(args.log_format);
    let file = tenure_app::command::load_config(config_path)?;
    let store = open_store(db).await?;
    let mut config = server_config(&file, args.secure_cookies);
    config.rate_limit = tenure_server::limits::RateLimit {
        per_second: f64::from(args.rate_limit.max(1)),
        burst: args.rate_limit.max(1) * 4,
    };
    config.ingest_rate_limit = tenure_server::limits::RateLimit {
        per_second: f64::from(args.ingest_rate_limit.max(1)),
        burst: args.ingest_rate_limit.max(1) * 2,
    };
    if config.stripe_webhook_secret.is_none() {
        tracing::warn!(
            "no Stripe webhook secret (TENURE_STRIPE_WEBHOOK_SECRET or [server] in tenure.toml): /webhooks/stripe answers 503"
        );
    }
    tracing::info!(database = %redact_url(db), "database ready");
    let state = AppState::new(store.clone(), config).with_tenure_config(file.clone());
    let listener = bind(args.addr).await?;
    let jobs = (args.job_interval > 0).then(|| std::time::Duration::from_secs(args.job_interval));
    serve_until_signal(listener, state, jobs).await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Binds the listening socket, naming the address in the error.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr} (use --addr to pick another address)"))
}

/// Serves until SIGINT or SIGTERM, the server running its background jobs
/// every `jobs` (`tenure_server::serve_with_jobs`; `None`: no jobs).
pub async fn serve_until_signal(
    listener: tokio::net::TcpListener,
    state: AppState,
    jobs: Option<std::time::Duration>,
) -> Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    tenure_server::serve_with_jobs(listener, state, jobs, tenure_server::shutdown_signal())
        .await
        .with_context(|| format!("serving on {addr}"))
}
