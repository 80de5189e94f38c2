//! Outbound delivery (docs/REACT.md, "Outbound"): email over SMTP and
//! signed webhook calls, queued in the store's outbox and sent by the
//! background job, with retries and a send log.
//!
//! Callers (playbooks, the `tenure outbound` commands) queue a message with
//! [`queue_email`] or [`queue_webhook`] (or their `_in` forms, inside the
//! caller's own write transaction), and return at once: nothing waits on
//! the network. [`deliver_due`] then sends whatever is due, a few messages
//! at a time so that one slow or failing endpoint never holds up the others.
//! A failed attempt is retried after the configured backoff, doubled after
//! each failure, until `max_attempts`; then the message is `dead`, and it
//! stays in the log with its last error.
//!
//! Webhooks carry `X-Tenure-Timestamp` (Unix seconds) and
//! `X-Tenure-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`
//! keyed with the endpoint's secret, and `X-Tenure-Delivery` (the message
//! id, the same on every retry). Secrets are read from the configuration,
//! or from the environment when it names a variable, only when sending;
//! they are never stored, logged or put in an error. Logs name a message
//! by its id, kind and target, never by its body.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::Sha256;
use tenure_core::config::{
    Config, OutboundConfig, SecretSource, SmtpConfig, SmtpSecurity, WebhookEndpoint,
};
use tenure_store::outbound::{Attempt, Message, NewMessage, OutboxKind};
use tenure_store::{Store, WriteTx};

use crate::clock::now_micros;
use crate::ids::new_id;
use crate::{Error, Result};

const MICROS: i64 = 1_000_000;
/// Messages claimed per round of [`deliver_due`].
const BATCH: u32 = 100;
/// Rounds per call, so that one call ends even under a steady inflow.
const MAX_ROUNDS: usize = 20;
/// Messages in flight at once.
const CONCURRENCY: usize = 8;
/// Response text kept in an error message, at most.
const ERROR_SNIPPET: usize = 200;

/// What one [`deliver_due`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliverySummary {
    /// Attempts made.
    pub attempted: u64,
    pub sent: u64,
    /// Failed and to be tried again later.
    pub retrying: u64,
    /// Failed for the last time.
    pub dead: u64,
    /// Emails left waiting because no SMTP server is configured: they are
    /// not tried (nor given up on) until one is.
    pub waiting_for_smtp: u64,
}

/// Queues an email to `to` (an address, or `Name <address>`), sent by the
/// next [`deliver_due`]. `source` says what sent it (`playbook:NAME`);
/// returns the message id. A bad address is [`Error::Invalid`].
pub async fn queue_email(
    store: &Store,
    to: &str,
    subject: &str,
    body: &str,
    source: &str,
    account_id: Option<&str>,
) -> Result<String> {
    let m = email_message(to, subject, body, source, account_id)?;
    store.enqueue(&m, now_micros()).await?;
    Ok(m.id)
}

/// [`queue_email`] in the caller's write transaction: the email is sent
/// only if the transaction commits.
pub async fn queue_email_in(
    tx: &mut WriteTx,
    to: &str,
    subject: &str,
    body: &str,
    source: &str,
    account_id: Option<&str>,
) -> Result<String> {
    let m = email_message(to, subject, body, source, account_id)?;
    tenure_store::outbound::enqueue(tx, &m, now_micros()).await?;
    Ok(m.id)
}

/// Queues a call of the webhook endpoint named `endpoint` in
/// `[[outbound.webhooks]]` with `payload` as its JSON body; returns the
/// message id. An endpoint that is not configured is [`Error::Invalid`].
pub async fn queue_webhook(
    store: &Store,
    config: &Config,
    endpoint: &str,
    payload: &serde_json::Value,
    source: &str,
    account_id: Option<&str>,
) -> Result<String> {
    let m = webhook_message(&config.outbound, endpoint, payload, source, account_id)?;
    store.enqueue(&m, now_micros()).await?;
    Ok(m.id)
}

/// [`queue_webhook`] in the caller's write transaction.
pub async fn queue_webhook_in(
    tx: &mut WriteTx,
    config: &Config,
    endpoint: &str,
    payload: &serde_json::Value,
    source: &str,
    account_id: Option<&str>,
) -> Result<String> {
    let m = webhook_message(&config.outbound, endpoint, payload, source, account_id)?;
    tenure_store::outbound::enqueue(tx, &m, now_micros()).await?;
    Ok(m.id)
}

/// The message [`queue_email`] queues, built and checked (a bad address
/// or a subject of more than one line is [`Error::Invalid`]) without
/// queueing it: for callers that queue many at once
/// (`tenure_store::outbound::enqueue_many`).
pub(crate) fn email_message(
    to: &str,
    subject: &str,
    body: &str,
    source: &str,
    account_id: Option<&str>,
) -> Result<NewMessage> {
    let to = to.trim();
    to.parse::<Mailbox>()
        .map_err(|e| Error::Invalid(format!("{to:?} is not an email address: {e}")))?;
    if subject.contains(['\r', '\n']) {
        return Err(Error::Invalid("an email subject is one line".into()));
    }
    Ok(NewMessage {
        id: new_id("out"),
        kind: OutboxKind::Email,
        target: to.to_string(),
        subject: Some(subject.to_string()),
        body: body.to_string(),
        source: source.to_string(),
        account_id: account_id.map(str::to_string),
    })
}

fn webhook_message(
    config: &OutboundConfig,
    endpoint: &str,
    payload: &serde_json::Value,
    source: &str,
    account_id: Option<&str>,
) -> Result<NewMessage> {
    if config.webhook(endpoint).is_none() {
        let known: Vec<&str> = config.webhooks.iter().map(|w| w.name.as_str()).collect();
        return Err(Error::Invalid(format!(
            "no webhook endpoint named {endpoint:?} in [[outbound.webhooks]] (configured: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    Ok(NewMessage {
        id: new_id("out"),
        kind: OutboxKind::Webhook,
        target: endpoint.to_string(),
        subject: None,
        body: payload.to_string(),
        source: source.to_string(),
        account_id: account_id.map(str::to_string),
    })
}

/// The signature header's value for `body` sent at `timestamp` (Unix
/// seconds): `sha256=` and the hex HMAC-SHA256 of `"{timestamp}.{body}"`.
pub fn signature(secret: &[u8], timestamp: i64, body: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Sends every message due at `now` (microseconds): each attempt recorded,
/// failures retried later with exponential backoff, dead after the last
/// allowed attempt. Emails wait untried while no SMTP server is configured
/// (counted in [`DeliverySummary::waiting_for_smtp`]). Returns what was done; only a failure of the store is
/// an error.
pub async fn deliver_due(store: &Store, config: &Config, now: i64) -> Result<DeliverySummary> {
    let senders = Arc::new(Senders::new(&config.outbound));
    let mut summary = DeliverySummary::default();
    // A claim outlives any attempt, so a sender that dies leaves its
    // messages to be retried once it lapses.
    let lease = (config.outbound.timeout_seconds as i64 * 3 + 60) * MICROS;
    // Without an SMTP server an email could only fail: it waits, untried,
    // until one is configured.
    let emails = config.outbound.smtp.is_some();
    if !emails {
        summary.waiting_for_smtp = store.waiting_emails().await?;
    }
    for _ in 0..MAX_ROUNDS {
        let claimed = store.claim_due_of(now, now + lease, BATCH, emails).await?;
        if claimed.is_empty() {
            break;
        }
        let limit = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
        let mut running = tokio::task::JoinSet::new();
        for m in claimed {
            let (store, senders, limit) = (store.clone(), Arc::clone(&senders), Arc::clone(&limit));
            running.spawn(async move {
                let _permit = limit.acquire_owned().await;
                attempt(&store, &senders, &m, now).await
            });
        }
        while let Some(done) = running.join_next().await {
            summary.attempted += 1;
            match done?? {
                Attempt::Sent => summary.sent += 1,
                Attempt::Retry { .. } => summary.retrying += 1,
                Attempt::Dead { .. } => summary.dead += 1,
            }
        }
    }
    Ok(summary)
}

/// Sends message `id` now, whether due or not (for `tenure outbound
/// test-email` and `test-webhook`); returns it as it then stands. One that
/// is already sent, dead, or being sent by another process is left alone.
pub async fn deliver_now(store: &Store, config: &Config, id: &str, now: i64) -> Result<Message> {
    let lease = (config.outbound.timeout_seconds as i64 * 3 + 60) * MICROS;
    let Some(m) = store.claim_message(id, now, now + lease).await? else {
        return Ok(store.outbox_message(id).await?);
    };
    let senders = Senders::new(&config.outbound);
    attempt(store, &senders, &m, now).await?;
    Ok(store.outbox_message(id).await?)
}

/// One attempt on a claimed message, logged and recorded.
async fn attempt(store: &Store, senders: &Senders, m: &Message, now: i64) -> Result<Attempt> {
    let result = match senders.send(m).await {
        Ok(()) => Attempt::Sent,
        Err(failure) => failure.next(&senders.outbound, m, now),
    };
    log_attempt(m, &result);
    // A survey email's link is its token, the only credential of the
    // answer page: once the email is sent (or dead) the outbox keeps the
    // body without it.
    let redacted = match result {
        Attempt::Sent | Attempt::Dead { .. } if m.source.starts_with(SURVEY_SOURCE) => {
            Some(crate::surveys::redact_tokens(&m.body))
        }
        _ => None,
    };
    store
        .record_attempt_with_body(&m.id, &result, now, redacted.as_deref())
        .await?;
    Ok(result)
}

/// The `source` prefix of survey emails (`survey:NAME`).
pub const SURVEY_SOURCE: &str = "survey:";

fn log_attempt(m: &Message, result: &Attempt) {
    let (id, kind, target, attempt) = (&m.id, m.kind.as_str(), &m.target, m.attempts + 1);
    match result {
        Attempt::Sent => tracing::info!(id, kind, target, attempt, "outbound message sent"),
        Attempt::Retry { error, .. } => {
            tracing::warn!(
                id,
                kind,
                target,
                attempt,
                error,
                "outbound message failed; will retry"
            )
        }
        Attempt::Dead { error } => {
            tracing::error!(id, kind, target, attempt, error, "outbound message dead")
        }
    }
}

/// Why an attempt failed: worth retrying, or never going to work.
enum Failure {
    Retry(String),
    Permanent(String),
}

impl Failure {
    /// The result to record for message `m` whose attempt at `now` failed.
    fn next(self, config: &OutboundConfig, m: &Message, now: i64) -> Attempt {
        let attempts = m.attempts + 1;
        match self {
            Failure::Retry(error) if attempts < config.max_attempts => {
                let wait = i64::try_from(config.backoff_after(attempts)).unwrap_or(i64::MAX / 2);
                Attempt::Retry {
                    at: now.saturating_add(wait.saturating_mul(MICROS)),
                    error,
                }
            }
            Failure::Retry(error) => Attempt::Dead {
                error: format!("{error} (gave up after {attempts} attempts)"),
            },
            Failure::Permanent(error) => Attempt::Dead { error },
        }
    }
}

/// The SMTP transport and the HTTP client, made once per delivery run.
struct Senders {
    outbound: OutboundConfig,
    smtp: Option<std::result::Result<(AsyncSmtpTransport<Tokio1Executor>, Mailbox), String>>,
    http: std::result::Result<reqwest::Client, String>,
}

impl Senders {
    fn new(config: &OutboundConfig) -> Senders {
        let timeout = Duration::from_secs(config.timeout_seconds);
        Senders {
            outbound: config.clone(),
            smtp: config.smtp.as_ref().map(|s| smtp_transport(s, timeout)),
            http: http_client(timeout),
        }
    }

    async fn send(&self, m: &Message) -> std::result::Result<(), Failure> {
        match m.kind {
            OutboxKind::Email => self.send_email(m).await,
            OutboxKind::Webhook => self.call_webhook(m).await,
        }
    }

    async fn send_email(&self, m: &Message) -> std::result::Result<(), Failure> {
        let (transport, from) = match &self.smtp {
            None => {
                return Err(Failure::Retry(
                    "no SMTP server configured ([outbound.smtp] in tenure.toml)".into(),
                ));
            }
            Some(Err(e)) => return Err(Failure::Retry(e.clone())),
            Some(Ok(t)) => t,
        };
        let to: Mailbox = m
            .target
            .parse()
            .map_err(|e| Failure::Permanent(format!("bad recipient {:?}: {e}", m.target)))?;
        let email = lettre::Message::builder()
            .from(from.clone())
            .to(to)
            .subject(m.subject.clone().unwrap_or_default())
            .message_id(Some(format!("<{}@tenure>", m.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone())
            .map_err(|e| Failure::Permanent(format!("building the email: {e}")))?;
        match transport.send(email).await {
            Ok(_) => Ok(()),
            // A 5xx reply (no such mailbox, refused): the same message
            // will be refused again.
            Err(e) if e.is_permanent() => Err(Failure::Permanent(format!("SMTP: {e}"))),
            Err(e) => Err(Failure::Retry(format!("SMTP: {}", smtp_error(&e)))),
        }
    }

    async fn call_webhook(&self, m: &Message) -> std::result::Result<(), Failure> {
        let Some(endpoint) = self.outbound.webhook(&m.target) else {
            return Err(Failure::Retry(format!(
                "no webhook endpoint named {:?} in [[outbound.webhooks]]",
                m.target
            )));
        };
        let client = self.http.as_ref().map_err(|e| Failure::Retry(e.clone()))?;
        let secret = resolve(&endpoint.secret).map_err(Failure::Retry)?;
        let timestamp = now_micros() / MICROS;
        let response = client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("user-agent", concat!("tenure/", env!("CARGO_PKG_VERSION")))
            .header("x-tenure-delivery", m.id.as_str())
            .header("x-tenure-timestamp", timestamp.to_string())
            .header(
                "x-tenure-signature",
                signature(secret.as_bytes(), timestamp, &m.body),
            )
            .body(m.body.clone())
            .send()
            .await
            .map_err(|e| Failure::Retry(http_error(endpoint, e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        let snippet: String = text.trim().chars().take(ERROR_SNIPPET).collect();
        Err(Failure::Retry(if snippet.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {snippet}")
        }))
    }
}

fn smtp_transport(
    s: &SmtpConfig,
    timeout: Duration,
) -> std::result::Result<(AsyncSmtpTransport<Tokio1Executor>, Mailbox), String> {
    let from: Mailbox = s
        .from
        .parse()
        .map_err(|e| format!("outbound.smtp.from {:?}: {e}", s.from))?;
    let builder = match (s.security, &s.ca_file) {
        (SmtpSecurity::None, _) => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            &s.host,
        )),
        (SmtpSecurity::StartTls, None) => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
        }
        (SmtpSecurity::Tls, None) => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host),
        // The system's roots and the extra ones of `ca_file`.
        (security, Some(path)) => {
            let tls = tls_with_roots(&s.host, path)?;
            Ok(
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host).tls(
                    if security == SmtpSecurity::Tls {
                        Tls::Wrapper(tls)
                    } else {
                        Tls::Required(tls)
                    },
                ),
            )
        }
    }
    .map_err(|e| format!("SMTP server {}: {e}", s.host))?;
    let mut builder = builder.port(s.port).timeout(Some(timeout));
    if let Some(user) = &s.username {
        let password = match &s.password {
            Some(p) => resolve(p)?,
            None => String::new(),
        };
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok((builder.build(), from))
}

/// TLS parameters for `host` that also trust the certificates of the PEM
/// file `path` (`outbound.smtp.ca_file`).
fn tls_with_roots(host: &str, path: &str) -> std::result::Result<TlsParameters, String> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("outbound.smtp.ca_file {path:?} cannot be read: {e}"))?;
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        return Err(format!(
            "outbound.smtp.ca_file {path:?} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ));
    }
    let cert = Certificate::from_pem(&pem)
        .map_err(|e| format!("outbound.smtp.ca_file {path:?} holds no PEM certificate: {e}"))?;
    TlsParameters::builder(host.to_string())
        .add_root_certificate(cert)
        .build_rustls()
        .map_err(|e| format!("SMTP server {host}: TLS with outbound.smtp.ca_file {path:?}: {e}"))
}

fn http_client(timeout: Duration) -> std::result::Result<reqwest::Client, String> {
    // reqwest is built without a default crypto provider (no aws-lc);
    // ring is the one Tenure links. Installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("building the HTTP client: {e}"))
}

/// A secret's value; a missing environment variable is an error naming it.
fn resolve(source: &SecretSource) -> std::result::Result<String, String> {
    match source {
        SecretSource::Inline(s) => Ok(s.expose().to_string()),
        SecretSource::Env(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(v),
            _ => Err(format!("the environment variable {var} is not set")),
        },
    }
}

/// An HTTP failure in words, without the URL (it may carry a token).
fn http_error(endpoint: &WebhookEndpoint, e: reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let e = e.without_url();
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        source = s.source();
    }
    format!("webhook {:?} {what}: {detail}", endpoint.name)
}

/// An SMTP failure with its causes (connection refused, timed out).
fn smtp_error(e: &lettre::transport::smtp::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out = format!("{out}: {s_text}");
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_documented_hmac() {
        // The example of docs/REACT.md: checked with Python's hmac module.
        let s = signature(b"whsec_test", 1_700_000_000, r#"{"hello":"world"}"#);
        assert_eq!(
            s,
            "sha256=f592bbf3951cfc94e560eecfb5d9dd4da6b0fff2e626235f8ab4b54860925d0b"
        );
        assert_ne!(
            s,
            signature(b"whsec_test", 1_700_000_001, r#"{"hello":"world"}"#)
        );
        assert_ne!(
            s,
            signature(b"other", 1_700_000_000, r#"{"hello":"world"}"#)
        );
    }

    #[test]
    fn retries_back_off_exponentially_then_die() {
        let config = OutboundConfig {
            max_attempts: 3,
            backoff_seconds: 30,
            ..OutboundConfig::default()
        };
        let mut m = Message {
            id: "out_1".into(),
            kind: OutboxKind::Webhook,
            target: "crm".into(),
            subject: None,
            body: "{}".into(),
            status: tenure_store::outbound::OutboxStatus::Queued,
            attempts: 0,
            next_attempt_at: Some(0),
            last_error: None,
            created_at: 0,
            sent_at: None,
            source: "test".into(),
            account_id: None,
        };
        let retry = |m: &Message| Failure::Retry("boom".into()).next(&config, m, 0);
        assert_eq!(
            retry(&m),
            Attempt::Retry {
                at: 30 * MICROS,
                error: "boom".into()
            }
        );
        m.attempts = 1;
        assert_eq!(
            retry(&m),
            Attempt::Retry {
                at: 60 * MICROS,
                error: "boom".into()
            }
        );
        m.attempts = 2;
        assert!(matches!(retry(&m), Attempt::Dead { .. }));
    }
}
