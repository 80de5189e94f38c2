//! Outbound delivery against real receivers: an SMTP server (Python's
//! `aiosmtpd`, started here) and webhook endpoints served by axum in this
//! process, which check the signature the way docs/REACT.md tells
//! receivers to. Time is passed to `deliver_due`, so retries are tested
//! without waiting for their backoff. Runs on SQLite, or on PostgreSQL when
//! `TEST_DATABASE_URL` is set.
//!
//! `aiosmtpd` comes from `$TENURE_TEST_PYTHON`, the virtual environment
//! `scripts/test.sh` makes in `target/smtp-venv`, or `python3`; the SMTP
//! tests fail, saying so, when none of them has it. The TLS test makes its
//! certificates with the `openssl` command at test time.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tenure_app::clock::now_micros;
use tenure_app::outbound::{DeliverySummary, deliver_due, queue_email, queue_webhook};
use tenure_core::config::{Config, parse_config};
use tenure_store::Store;
use tenure_store::outbound::{LogQuery, Message, OutboxKind, OutboxStatus};
use tenure_store::testing::test_db;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const SECOND: i64 = 1_000_000;

fn config(toml: &str) -> Config {
    parse_config(toml).unwrap_or_else(|e| panic!("test config: {e:?}"))
}

async fn message(store: &Store, id: &str) -> Message {
    store.outbox_message(id).await.unwrap()
}

fn summary(attempted: u64, sent: u64, retrying: u64, dead: u64) -> DeliverySummary {
    DeliverySummary {
        attempted,
        sent,
        retrying,
        dead,
        waiting_for_smtp: 0,
    }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// ---------------------------------------------------------------- SMTP

const SMTP_SERVER: &str = r#"
import asyncio, json, sys
from aiosmtpd.smtp import SMTP, AuthResult

class Handler:
    async def handle_DATA(self, server, session, envelope):
        login = session.auth_data.login.decode() if session.authenticated else None
        print(json.dumps({
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "login": login,
            "data": envelope.content.decode("utf-8", "replace"),
        }), flush=True)
        return "250 Message accepted for delivery"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"tenure" and auth_data.password == b"smtp-password"
    return AuthResult(success=ok, auth_data=auth_data if ok else None)

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Handler(), hostname="localhost", authenticator=authenticator,
                     auth_require_tls=False),
        "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"#;

/// A Python interpreter that has `aiosmtpd`.
fn python_with_aiosmtpd() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let candidates: Vec<PathBuf> = std::env::var_os("TENURE_TEST_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([root.join("target/smtp-venv/bin/python"), "python3".into()])
        .collect();
    for python in &candidates {
        let ok = std::process::Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return python.clone();
        }
    }
    panic!(
        "no Python with aiosmtpd among {candidates:?}: run scripts/test.sh once (it makes \
         target/smtp-venv), or `pip install aiosmtpd`, or set TENURE_TEST_PYTHON"
    );
}

struct SmtpServer {
    port: u16,
    lines: Lines<BufReader<ChildStdout>>,
    _child: Child,
}

impl SmtpServer {
    async fn start() -> SmtpServer {
        SmtpServer::run(SMTP_SERVER, &[]).await
    }

    /// Runs a server script with its arguments; it prints its port first.
    async fn run(script: &str, args: &[&str]) -> SmtpServer {
        let mut child = Command::new(python_with_aiosmtpd())
            .args(["-c", script])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting the SMTP server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the SMTP server did not start in 20 s")
            .unwrap()
            .expect("the SMTP server exited")
            .trim()
            .parse()
            .unwrap();
        SmtpServer {
            port,
            lines,
            _child: child,
        }
    }

    /// The next message the server received.
    async fn received(&mut self) -> serde_json::Value {
        let line = tokio::time::timeout(Duration::from_secs(20), self.lines.next_line())
            .await
            .expect("no message reached the SMTP server")
            .unwrap()
            .expect("the SMTP server exited");
        serde_json::from_str(&line).unwrap()
    }
}

#[tokio::test]
async fn an_email_reaches_a_real_smtp_server_with_its_headers_and_body() {
    let mut server = SmtpServer::start().await;
    let db = test_db().await;
    let config = config(&format!(
        r#"
[outbound.smtp]
host = "127.0.0.1"
port = {}
security = "none"
username = "tenure"
password = "smtp-password"
from = "Customer Success <cs@tenure.example>"
"#,
        server.port
    ));
    let body =
        "Hello Ana,\r\n\r\nYour onboarding call is booked for Tuesday.\r\n\r\nThe CS team\r\n";
    let id = queue_email(
        &db.store,
        "Ana Lima <ana@customer.example>",
        "Welcome aboard",
        body,
        "playbook:onboarding",
        None,
    )
    .await
    .unwrap();
    let queued = message(&db.store, &id).await;
    assert_eq!((queued.status, queued.attempts), (OutboxStatus::Queued, 0));

    let done = deliver_due(&db.store, &config, now_micros()).await.unwrap();
    assert_eq!(done, summary(1, 1, 0, 0));

    let got = server.received().await;
    assert_eq!(got["from"], "cs@tenure.example");
    assert_eq!(got["to"], serde_json::json!(["ana@customer.example"]));
    assert_eq!(got["login"], "tenure", "the transport authenticated");
    let data = got["data"].as_str().unwrap();
    let (headers, received_body) = data.split_once("\r\n\r\n").unwrap();
    let header = |name: &str| {
        headers
            .split("\r\n")
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} header in {headers}"))
    };
    assert_eq!(header("Subject"), "Welcome aboard");
    assert_eq!(header("From"), "\"Customer Success\" <cs@tenure.example>");
    assert_eq!(header("To"), "\"Ana Lima\" <ana@customer.example>");
    assert_eq!(header("Message-ID"), format!("<{id}@tenure>"));
    assert!(header("Content-Type").starts_with("text/plain"));
    assert_eq!(
        received_body.trim_end(),
        body.trim_end(),
        "the body arrives unchanged"
    );

    let sent = message(&db.store, &id).await;
    assert_eq!((sent.status, sent.attempts), (OutboxStatus::Sent, 1));
    assert!(sent.sent_at.is_some() && sent.next_attempt_at.is_none());
    assert_eq!(sent.source, "playbook:onboarding");
    // Nothing is left to send.
    let again = deliver_due(&db.store, &config, now_micros() + 3600 * SECOND).await;
    assert_eq!(again.unwrap(), summary(0, 0, 0, 0));
}

#[tokio::test]
async fn an_unreachable_smtp_server_is_retried_with_backoff_then_dead() {
    let db = test_db().await;
    let config = config(&format!(
        r#"
[outbound]
max_attempts = 3
backoff_seconds = 30

[outbound.smtp]
host = "127.0.0.1"
port = {}
security = "none"
from = "cs@tenure.example"
"#,
        closed_port()
    ));
    let id = queue_email(
        &db.store,
        "ana@customer.example",
        "Hi",
        "Hello",
        "test",
        None,
    )
    .await
    .unwrap();
    let t0 = now_micros();

    assert_eq!(
        deliver_due(&db.store, &config, t0).await.unwrap(),
        summary(1, 0, 1, 0)
    );
    let m = message(&db.store, &id).await;
    assert_eq!((m.status, m.attempts), (OutboxStatus::Failed, 1));
    assert_eq!(m.next_attempt_at, Some(t0 + 30 * SECOND), "first backoff");
    let error = m.last_error.clone().unwrap();
    assert!(error.starts_with("SMTP:"), "{error}");
    assert!(error.to_lowercase().contains("refused"), "{error}");

    // Not due before its backoff has passed.
    let early = deliver_due(&db.store, &config, t0 + 29 * SECOND).await;
    assert_eq!(early.unwrap(), summary(0, 0, 0, 0));

    let t1 = t0 + 30 * SECOND;
    assert_eq!(
        deliver_due(&db.store, &config, t1).await.unwrap(),
        summary(1, 0, 1, 0)
    );
    let m = message(&db.store, &id).await;
    assert_eq!(m.attempts, 2);
    assert_eq!(m.next_attempt_at, Some(t1 + 60 * SECOND), "doubled");

    let t2 = t1 + 60 * SECOND;
    assert_eq!(
        deliver_due(&db.store, &config, t2).await.unwrap(),
        summary(1, 0, 0, 1)
    );
    let m = message(&db.store, &id).await;
    assert_eq!((m.status, m.attempts), (OutboxStatus::Dead, 3));
    assert_eq!(m.next_attempt_at, None);
    assert!(
        m.last_error
            .as_deref()
            .unwrap()
            .contains("gave up after 3 attempts"),
        "{:?}",
        m.last_error
    );
    // Still in the log, filtered by status and kind.
    let dead = db
        .store
        .outbox_log(&LogQuery {
            status: Some(OutboxStatus::Dead),
            kind: Some(OutboxKind::Email),
            ..LogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, id);
    let sent = db
        .store
        .outbox_log(&LogQuery {
            status: Some(OutboxStatus::Sent),
            ..LogQuery::default()
        })
        .await
        .unwrap();
    assert!(sent.is_empty());
}

#[tokio::test]
async fn a_bad_recipient_is_refused_when_queued() {
    let db = test_db().await;
    let err = queue_email(&db.store, "not an address", "Hi", "x", "test", None)
        .await
        .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    assert!(
        db.store
            .outbox_log(&LogQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
}

// ------------------------------------------------------------- webhooks

const SECRET: &str = "whsec_flaky_secret";

#[derive(Debug, Clone)]
struct Hit {
    endpoint: String,
    delivery: String,
    /// The signature matched and the timestamp was recent.
    verified: bool,
    body: String,
}

#[derive(Clone, Default)]
struct Receiver {
    hits: Arc<Mutex<Vec<Hit>>>,
}

/// Checks a request the way docs/REACT.md tells receivers to: the HMAC of
/// `"{timestamp}.{body}"` with the shared secret, compared in constant
/// time, and a timestamp within five minutes.
fn verify(headers: &HeaderMap, body: &str, secret: &str) -> bool {
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    let (Some(ts), Some(sig)) = (get("x-tenure-timestamp"), get("x-tenure-signature")) else {
        return false;
    };
    let Ok(ts) = ts.parse::<i64>() else {
        return false;
    };
    if (now_micros() / SECOND - ts).abs() > 300 {
        return false;
    }
    let Some(Ok(sig)) = sig.strip_prefix("sha256=").map(hex::decode) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    mac.verify_slice(&sig).is_ok()
}

async fn hook(
    State(r): State<Receiver>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let verified = verify(&headers, &body, SECRET);
    let delivery = headers
        .get("x-tenure-delivery")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut hits = r.hits.lock().unwrap();
    hits.push(Hit {
        endpoint: endpoint.clone(),
        delivery,
        verified,
        body,
    });
    if !verified {
        return StatusCode::UNAUTHORIZED;
    }
    let seen = hits.iter().filter(|h| h.endpoint == endpoint).count();
    match endpoint.as_str() {
        // Fails twice, then accepts.
        "flaky" if seen <= 2 => StatusCode::INTERNAL_SERVER_ERROR,
        "flaky" => StatusCode::OK,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn start_receiver() -> (String, Receiver) {
    let receiver = Receiver::default();
    let app = Router::new()
        .route("/hooks/{endpoint}", post(hook))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, receiver)
}

#[tokio::test]
async fn a_signed_webhook_succeeds_on_the_third_attempt_and_a_failing_endpoint_blocks_nothing() {
    let (base, receiver) = start_receiver().await;
    let db = test_db().await;
    let config = config(&format!(
        r#"
[outbound]
max_attempts = 4
backoff_seconds = 10

[[outbound.webhooks]]
name = "flaky"
url = "{base}/hooks/flaky"
secret = "{SECRET}"

[[outbound.webhooks]]
name = "down"
url = "{base}/hooks/down"
secret = "{SECRET}"

[[outbound.webhooks]]
name = "refused"
url = "http://127.0.0.1:{}/hooks"
secret = "{SECRET}"

[[outbound.webhooks]]
name = "nokey"
url = "{base}/hooks/nokey"
secret_env = "TENURE_TEST_OUTBOUND_UNSET_SECRET"
"#,
        closed_port()
    ));
    let payload =
        serde_json::json!({"event": "playbook.fired", "account": {"id": "acc_1", "name": "Acme"}});
    let flaky = queue_webhook(&db.store, &config, "flaky", &payload, "playbook:risk", None)
        .await
        .unwrap();
    let mut others = Vec::new();
    for name in ["down", "refused", "nokey"] {
        others.push(
            queue_webhook(&db.store, &config, name, &payload, "playbook:risk", None)
                .await
                .unwrap(),
        );
    }

    let t0 = now_micros();
    assert_eq!(
        deliver_due(&db.store, &config, t0).await.unwrap(),
        summary(4, 0, 4, 0)
    );
    let m = message(&db.store, &flaky).await;
    assert_eq!((m.status, m.attempts), (OutboxStatus::Failed, 1));
    assert_eq!(m.next_attempt_at, Some(t0 + 10 * SECOND));
    assert!(
        m.last_error.as_deref().unwrap().starts_with("HTTP 500"),
        "{:?}",
        m.last_error
    );
    let refused = message(&db.store, &others[1]).await;
    assert!(
        refused
            .last_error
            .as_deref()
            .unwrap()
            .contains("could not connect"),
        "{:?}",
        refused.last_error
    );
    let nokey = message(&db.store, &others[2]).await;
    assert_eq!(
        nokey.last_error.as_deref(),
        Some("the environment variable TENURE_TEST_OUTBOUND_UNSET_SECRET is not set")
    );

    let t1 = t0 + 10 * SECOND;
    assert_eq!(
        deliver_due(&db.store, &config, t1).await.unwrap(),
        summary(4, 0, 4, 0)
    );
    let t2 = t1 + 20 * SECOND;
    assert_eq!(
        deliver_due(&db.store, &config, t2).await.unwrap(),
        summary(4, 1, 3, 0)
    );
    let m = message(&db.store, &flaky).await;
    assert_eq!((m.status, m.attempts), (OutboxStatus::Sent, 3));
    assert_eq!(m.next_attempt_at, None);

    // The failing endpoints go on until their last attempt.
    let t3 = t2 + 40 * SECOND;
    assert_eq!(
        deliver_due(&db.store, &config, t3).await.unwrap(),
        summary(3, 0, 0, 3)
    );
    for id in &others {
        let m = message(&db.store, id).await;
        assert_eq!((m.status, m.attempts), (OutboxStatus::Dead, 4), "{m:?}");
    }

    // What the receivers saw: every request signed, the same delivery id
    // on each retry, the payload as queued. The endpoint without its
    // secret was never called.
    let hits = receiver.hits.lock().unwrap().clone();
    assert!(hits.iter().all(|h| h.verified), "{hits:#?}");
    let flaky_hits: Vec<&Hit> = hits.iter().filter(|h| h.endpoint == "flaky").collect();
    assert_eq!(flaky_hits.len(), 3);
    assert!(flaky_hits.iter().all(|h| h.delivery == flaky));
    let body: serde_json::Value = serde_json::from_str(&flaky_hits[0].body).unwrap();
    assert_eq!(body, payload);
    assert_eq!(hits.iter().filter(|h| h.endpoint == "down").count(), 4);
    assert_eq!(hits.iter().filter(|h| h.endpoint == "nokey").count(), 0);

    // The log lists webhooks, newest first, and never holds the secret.
    let log = db
        .store
        .outbox_log(&LogQuery {
            kind: Some(OutboxKind::Webhook),
            ..LogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|m| !format!("{m:?}").contains(SECRET)));
}

#[tokio::test]
async fn a_wrong_secret_fails_verification_at_the_receiver() {
    let (base, receiver) = start_receiver().await;
    let db = test_db().await;
    let config = config(&format!(
        "[[outbound.webhooks]]\nname = \"flaky\"\nurl = \"{base}/hooks/flaky\"\nsecret = \"not-the-secret\"\n"
    ));
    let id = queue_webhook(
        &db.store,
        &config,
        "flaky",
        &serde_json::json!({"a": 1}),
        "test",
        None,
    )
    .await
    .unwrap();
    deliver_due(&db.store, &config, now_micros()).await.unwrap();
    let hits = receiver.hits.lock().unwrap().clone();
    assert_eq!(hits.len(), 1);
    assert!(
        !hits[0].verified,
        "a signature with the wrong key must not verify"
    );
    let m = message(&db.store, &id).await;
    assert!(
        m.last_error.as_deref().unwrap().starts_with("HTTP 401"),
        "{m:?}"
    );
}

#[tokio::test]
async fn an_unknown_endpoint_is_bad_input() {
    let db = test_db().await;
    let err = queue_webhook(
        &db.store,
        &Config::default(),
        "crm",
        &serde_json::json!({}),
        "test",
        None,
    )
    .await
    .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    assert!(
        err.to_string()
            .contains("no webhook endpoint named \"crm\""),
        "{err}"
    );
}

/// Without `[outbound.smtp]` an email is not tried, so it neither fails
/// nor dies: it waits, counted, until an SMTP server is configured.
#[tokio::test]
async fn emails_wait_untried_while_no_smtp_server_is_configured() {
    let db = test_db().await;
    let id = queue_email(&db.store, "ana@customer.example", "Hi", "x", "test", None)
        .await
        .unwrap();
    let config = Config::default();
    for hour in 0..3 {
        let at = now_micros() + hour * 3600 * SECOND;
        let done = deliver_due(&db.store, &config, at).await.unwrap();
        assert_eq!(
            done,
            DeliverySummary {
                waiting_for_smtp: 1,
                ..summary(0, 0, 0, 0)
            }
        );
    }
    let m = message(&db.store, &id).await;
    assert_eq!((m.status, m.attempts), (OutboxStatus::Queued, 0), "{m:?}");
    // The same email is claimed once senders can send email.
    let now = now_micros();
    let claimed = db
        .store
        .claim_due(now, now + 60 * SECOND, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(db.store.waiting_emails().await.unwrap(), 1);
}

#[tokio::test]
async fn a_claimed_message_is_not_sent_twice_until_its_claim_lapses() {
    let db = test_db().await;
    let id = queue_email(&db.store, "ana@customer.example", "Hi", "x", "test", None)
        .await
        .unwrap();
    let now = now_micros();
    let (a, b) = tokio::join!(
        db.store.claim_due(now, now + 60 * SECOND, 10),
        db.store.claim_due(now, now + 60 * SECOND, 10),
    );
    let claimed: Vec<Message> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    assert_eq!(claimed.len(), 1, "one of the two senders gets it");
    assert_eq!(claimed[0].id, id);
    // Nobody else gets it while the claim holds; after it lapses (the
    // sender stopped half-way), it is due again.
    let config = Config::default();
    assert_eq!(
        deliver_due(&db.store, &config, now + 30 * SECOND)
            .await
            .unwrap(),
        DeliverySummary {
            waiting_for_smtp: 1,
            ..summary(0, 0, 0, 0)
        }
    );
    let again = db
        .store
        .claim_due(now + 61 * SECOND, now + 121 * SECOND, 10)
        .await;
    assert_eq!(again.unwrap().len(), 1);
}

#[tokio::test]
async fn the_background_job_delivers_what_is_queued() {
    let (base, receiver) = start_receiver().await;
    let db = test_db().await;
    let config = config(&format!(
        "[[outbound.webhooks]]\nname = \"flaky\"\nurl = \"{base}/hooks/flaky\"\nsecret = \"{SECRET}\"\n"
    ));
    let id = queue_webhook(
        &db.store,
        &config,
        "flaky",
        &serde_json::json!({"n": 1}),
        "test",
        None,
    )
    .await
    .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let job = tokio::spawn(tenure_app::jobs::run_forever(
        db.store.clone(),
        config,
        Duration::from_millis(50),
        async {
            let _ = stop_rx.await;
        },
    ));
    // The first tick calls the endpoint (which answers 500 at first); the
    // retry waits for its backoff, so one call is what the job makes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while message(&db.store, &id).await.attempts == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job sent nothing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(());
    job.await.unwrap();
    let m = message(&db.store, &id).await;
    assert_eq!((m.status, m.attempts), (OutboxStatus::Failed, 1));
    let hits = receiver.hits.lock().unwrap().clone();
    assert_eq!(hits.len(), 1);
    assert!(hits[0].verified);
}

// ------------------------------------------------------------------ TLS

/// An SMTP server over TLS: `starttls` (the server offers STARTTLS and
/// requires it before mail) or `tls` (TLS from the first byte); it prints
/// each message with the TLS version it came over.
const TLS_SMTP_SERVER: &str = r#"
import asyncio, json, ssl, sys
from aiosmtpd.smtp import SMTP

class Handler:
    async def handle_DATA(self, server, session, envelope):
        tls = server.transport.get_extra_info("ssl_object")
        print(json.dumps({
            "to": envelope.rcpt_tos,
            "tls": tls.version() if tls else None,
            "data": envelope.content.decode("utf-8", "replace"),
        }), flush=True)
        return "250 Message accepted for delivery"

async def main():
    mode, cert, key = sys.argv[1:4]
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    loop = asyncio.get_running_loop()
    if mode == "starttls":
        server = await loop.create_server(
            lambda: SMTP(Handler(), hostname="localhost", tls_context=ctx, require_starttls=True),
            "127.0.0.1", 0)
    else:
        server = await loop.create_server(
            lambda: SMTP(Handler(), hostname="localhost"), "127.0.0.1", 0, ssl=ctx)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"#;

/// A folder under the system's temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!("tenure-{what}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("the TLS test needs the openssl command: {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A throwaway certificate authority (`ca.pem`) and a server certificate
/// it signed for 127.0.0.1 and localhost (`server.pem`, `server.key`).
fn certificates(dir: &std::path::Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"]);
    ca.extend(["-subj", "/CN=Tenure test CA"]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\n\
         keyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
}

#[tokio::test]
async fn email_goes_over_starttls_and_tls_trusting_the_configured_ca_file() {
    let dir = TempDir::new("tls");
    certificates(dir.path());
    let ca = dir.path().join("ca.pem");
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    for mode in ["starttls", "tls"] {
        let mut server = SmtpServer::run(
            TLS_SMTP_SERVER,
            &[mode, cert.to_str().unwrap(), key.to_str().unwrap()],
        )
        .await;
        let smtp = |ca_file: &str| {
            config(&format!(
                "[outbound]\nmax_attempts = 2\n\n[outbound.smtp]\nhost = \"127.0.0.1\"\nport = {}\n\
                 security = \"{mode}\"\nfrom = \"cs@tenure.example\"\n{ca_file}",
                server.port
            ))
        };
        let db = test_db().await;
        let body = format!("Sent over {mode}.\r\n");
        let id = queue_email(
            &db.store,
            "ana@customer.example",
            "Over TLS",
            &body,
            "test",
            None,
        )
        .await
        .unwrap();
        // Without the CA, the self-signed chain is refused, and retried.
        let t0 = now_micros();
        assert_eq!(
            deliver_due(&db.store, &smtp(""), t0).await.unwrap(),
            summary(1, 0, 1, 0),
            "{mode}"
        );
        let m = message(&db.store, &id).await;
        let error = m.last_error.unwrap_or_default();
        assert!(
            error.to_lowercase().contains("certificate"),
            "{mode}: {error}"
        );
        // With it, the email arrives encrypted.
        let trusted = smtp(&format!("ca_file = {:?}\n", ca.to_str().unwrap()));
        assert_eq!(
            deliver_due(&db.store, &trusted, t0 + 3600 * SECOND)
                .await
                .unwrap(),
            summary(1, 1, 0, 0),
            "{mode}"
        );
        let got = server.received().await;
        assert_eq!(got["to"], serde_json::json!(["ana@customer.example"]));
        let tls = got["tls"].as_str().unwrap_or_default();
        assert!(tls.starts_with("TLSv1."), "{mode}: {got}");
        let data = got["data"].as_str().unwrap();
        assert!(data.contains("Subject: Over TLS"), "{data}");
        assert!(
            data.ends_with(&body) || data.trim_end().ends_with(body.trim_end()),
            "{data}"
        );
        let m = message(&db.store, &id).await;
        assert_eq!((m.status, m.attempts), (OutboxStatus::Sent, 2), "{mode}");
    }
}

#[tokio::test]
async fn an_unreadable_ca_file_is_an_error_on_the_message_naming_the_file() {
    let db = test_db().await;
    let dir = TempDir::new("ca-file");
    let not_pem = dir.path().join("not-a-cert.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    for (path, says) in [
        (dir.path().join("missing.pem"), "cannot be read"),
        (not_pem, "holds no PEM certificate"),
    ] {
        let c = config(&format!(
            "[outbound.smtp]\nhost = \"127.0.0.1\"\nport = {}\nfrom = \"cs@tenure.example\"\nca_file = {:?}\n",
            closed_port(),
            path.to_str().unwrap()
        ));
        let id = queue_email(
            &db.store,
            "ana@customer.example",
            "Hi",
            "Hello",
            "test",
            None,
        )
        .await
        .unwrap();
        deliver_due(&db.store, &c, now_micros()).await.unwrap();
        let m = message(&db.store, &id).await;
        assert_eq!(m.status, OutboxStatus::Failed);
        let error = m.last_error.unwrap_or_default();
        assert!(error.contains("outbound.smtp.ca_file"), "{error}");
        assert!(error.contains(says), "{error}");
        assert!(error.contains(path.to_str().unwrap()), "{error}");
    }
}

// --------------------------------------------------------- risk digest

#[tokio::test]
async fn the_weekly_risk_digest_reaches_a_real_smtp_server() {
    use tenure_core::health::Band;
    use tenure_core::model::{Account, Currency, Money, Subscription};
    use tenure_store::api::Scope;
    use tenure_store::health::Snapshot;
    use tenure_store::rows::Record;

    let mut server = SmtpServer::start().await;
    let db = test_db().await;
    let store = &db.store;
    let config = config(&format!(
        r#"
[risk]
accounts_at_risk = 5

[risk.digest]
to = ["vp@example.com"]
weekday = "tuesday"

[outbound.smtp]
host = "127.0.0.1"
port = {}
security = "none"
from = "Tenure <cs@tenure.example>"
"#,
        server.port
    ));
    let mut a = Account::bare("acme");
    a.name = "Acme Ltd".into();
    a.csm_email = Some("ana@example.com".into());
    store
        .create_record(&Record::Account(a), &Scope::All)
        .await
        .unwrap();
    let sub = Subscription {
        id: "s-acme".into(),
        account_id: "acme".into(),
        mrr: Money::new(250_000, Currency::USD),
        plan: None,
        seats: None,
        start_date: "2025-01-01".parse().unwrap(),
        end_date: None,
        renewal_date: None,
    };
    store
        .create_record(&Record::Subscription(sub), &Scope::All)
        .await
        .unwrap();
    // Tuesday 2025-03-04: Acme is red.
    let day: jiff::civil::Date = "2025-03-04".parse().unwrap();
    let snapshot = Snapshot {
        account_id: "acme".into(),
        day,
        score: Some(22.0),
        band: Some(Band::Red),
        computed: None,
        override_id: None,
        scorecard_version: "test".into(),
        measures: Vec::new(),
    };
    store.write_snapshots(&[snapshot], 0).await.unwrap();
    let pass = tenure_app::risk::daily(store, &config, day).await.unwrap();
    assert_eq!(pass.digest.len(), 1);

    let done = deliver_due(store, &config, now_micros()).await.unwrap();
    assert_eq!(done, summary(1, 1, 0, 0));
    let got = server.received().await;
    assert_eq!(got["to"], serde_json::json!(["vp@example.com"]));
    let data = got["data"].as_str().unwrap();
    let (headers, body) = data.split_once("\r\n\r\n").unwrap();
    // Long lines arrive folded (headers) and quoted-printable (the body).
    let headers = headers.replace("\r\n ", " ");
    assert!(headers.contains("Content-Transfer-Encoding: quoted-printable"));
    let body = quoted_printable(body);
    assert!(
        headers.contains(
            "Subject: Risk board, week to 2025-03-04: 1 account at risk, USD 30,000 ARR at risk"
        ),
        "{headers}"
    );
    let body = body.replace("\r\n", "\n");
    for line in [
        "Risk board, week of 2025-02-26 to 2025-03-04\n",
        "Today: 1 account at risk, USD 30,000 ARR at risk (100.0% of USD 30,000 total ARR).\n",
        "No measure was recorded a week ago to compare with.\n",
        "Came on the board (1):\n  - Acme Ltd (acme): USD 30,000 ARR, owner ana@example.com, since 2025-03-04: Red health band\n",
        "Left the board (0):\n  none\n",
        "Reviews opened (0):\n  none\n",
        "The board: /risk",
    ] {
        assert!(body.contains(line), "{line:?} not in\n{body}");
    }
    let sent = store.outbox_message(&pass.digest[0]).await.unwrap();
    assert_eq!(sent.status, OutboxStatus::Sent);
    assert_eq!(sent.source, "risk:digest:2025-03-04");
}

/// Decodes a quoted-printable body: soft line breaks joined, `=XX` bytes.
fn quoted_printable(s: &str) -> String {
    let joined = s.replace("=\r\n", "");
    let b = joined.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// A survey email as the daily sends write it: the body with the link of
/// `token`, from `survey:NPS`.
fn survey_email(config: &Config, token: &str) -> String {
    let survey = tenure_core::config::parse_config(
        "[[surveys]]\nname = \"NPS\"\nkind = \"nps\"\nquestion = \"How likely?\"\nevery_days = 90\n",
    )
    .unwrap()
    .surveys
    .surveys
    .remove(0);
    tenure_app::surveys::email_body(
        config,
        &survey,
        Some("Ana"),
        token,
        "2026-01-31".parse().unwrap(),
    )
}

#[tokio::test]
async fn a_survey_email_keeps_no_token_once_sent() {
    let mut server = SmtpServer::start().await;
    let db = test_db().await;
    let config = config(&format!(
        r#"
[server]
public_url = "https://cs.example.com"

[outbound.smtp]
host = "127.0.0.1"
port = {}
security = "none"
from = "cs@tenure.example"
"#,
        server.port
    ));
    let token = "ab".repeat(32);
    let body = survey_email(&config, &token);
    assert!(body.contains(&format!("https://cs.example.com/s/{token}?score=10")));
    let survey = queue_email(
        &db.store,
        "ana@customer.example",
        "Quick question",
        &body,
        "survey:NPS",
        None,
    )
    .await
    .unwrap();
    let other = queue_email(
        &db.store,
        "bo@customer.example",
        "Hi",
        &body,
        "playbook:x",
        None,
    )
    .await
    .unwrap();
    assert!(
        message(&db.store, &survey).await.body.contains(&token),
        "kept until sent"
    );
    let done = deliver_due(&db.store, &config, now_micros()).await.unwrap();
    assert_eq!(done, summary(2, 2, 0, 0));
    // The contact got the link.
    let mut data = String::new();
    for _ in 0..2 {
        data.push_str(server.received().await["data"].as_str().unwrap());
    }
    // (Long lines arrive quoted-printable, with soft line breaks.)
    let unfolded = data.replace("=\r\n", "");
    assert!(unfolded.contains(&token), "{data}");
    // The outbox no longer has it; the rest of the email is as it was.
    let sent = message(&db.store, &survey).await;
    assert_eq!(sent.status, OutboxStatus::Sent);
    assert!(!sent.body.contains(&token), "{}", sent.body);
    assert!(
        sent.body
            .contains("https://cs.example.com/s/[redacted]?score=10")
    );
    assert!(
        sent.body
            .contains("https://cs.example.com/s/[redacted]/unsubscribe")
    );
    assert!(sent.body.starts_with("Hello Ana,"));
    assert_eq!(
        sent.body,
        tenure_app::surveys::redact_tokens(&body),
        "only the tokens change"
    );
    // Other emails keep their body.
    assert_eq!(message(&db.store, &other).await.body, body);
}

#[tokio::test]
async fn a_dead_survey_email_keeps_no_token_and_a_retried_one_keeps_it() {
    let db = test_db().await;
    let config = config(&format!(
        r#"
[server]
public_url = "https://cs.example.com"

[outbound]
max_attempts = 2
backoff_seconds = 30

[outbound.smtp]
host = "127.0.0.1"
port = {}
security = "none"
from = "cs@tenure.example"
"#,
        closed_port()
    ));
    let token = "0f".repeat(32);
    let body = survey_email(&config, &token);
    let id = queue_email(
        &db.store,
        "ana@customer.example",
        "Quick question",
        &body,
        "survey:NPS",
        None,
    )
    .await
    .unwrap();
    let t0 = now_micros();
    assert_eq!(
        deliver_due(&db.store, &config, t0).await.unwrap(),
        summary(1, 0, 1, 0)
    );
    let m = message(&db.store, &id).await;
    assert_eq!(m.status, OutboxStatus::Failed);
    assert!(m.body.contains(&token), "a retry still needs the link");
    assert_eq!(
        deliver_due(&db.store, &config, t0 + 30 * SECOND)
            .await
            .unwrap(),
        summary(1, 0, 0, 1)
    );
    let m = message(&db.store, &id).await;
    assert_eq!(m.status, OutboxStatus::Dead);
    assert!(!m.body.contains(&token), "{}", m.body);
    assert!(m.body.contains("/s/[redacted]"));
    // A short hex run after /s/ is not a token and is left alone.
    assert_eq!(
        tenure_app::surveys::redact_tokens("see /s/abc and /s/"),
        "see /s/abc and /s/"
    );
}
