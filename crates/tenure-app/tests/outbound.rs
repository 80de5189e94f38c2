//! Outbound delivery against real receivers: an SMTP server (Python's
//! `aiosmtpd`, started here) and webhook endpoints served by axum in this
//! process, which check the signature the way docs/REACT.md tells
//! receivers to. Time is passed to `deliver_due`, so retries are tested
//! without waiting for their backoff. Runs on SQLite, or on PostgreSQL when
//! `TEST_DATABASE_URL` is set.
//!
//! `aiosmtpd` comes from `$TENURE_TEST_PYTHON`, the virtual environment
//! `scripts/test.sh` makes in `target/smtp-venv`, or `python3`; the SMTP
//! tests fail, saying so, when none of them has it.

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
        let mut child = Command::new(python_with_aiosmtpd())
            .args(["-c", SMTP_SERVER])
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
        summary(0, 0, 0, 0)
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
