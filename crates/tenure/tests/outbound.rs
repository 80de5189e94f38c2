//! `tenure outbound` as a user runs it: a test webhook that cannot be
//! delivered is logged for retry, an unknown endpoint is bad input, and
//! `[outbound]` mistakes are reported by `tenure config check` with lines;
//! `tenure risk digest` prints the weekly digest, or queues it once with
//! `--send`, and `[risk.digest]` mistakes are reported with their lines.

mod common;

use common::{Env, bad_input, ok, text};

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn a_failed_test_webhook_exits_1_and_stays_in_the_log_for_retry() {
    let env = Env::new();
    env.write(
        "tenure.toml",
        format!(
            "[[outbound.webhooks]]\nname = \"crm\"\nurl = \"http://127.0.0.1:{}/hook\"\nsecret = \"s3cret-value\"\n",
            closed_port()
        ),
    );
    let out = env.run(&["outbound", "test-webhook", "crm"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("could not connect"), "{err}");
    assert!(err.contains("will be retried"), "{err}");
    assert!(!err.contains("s3cret-value"));

    let log: serde_json::Value =
        serde_json::from_str(&ok(&env.run(&["outbound", "log", "--format", "json"]))).unwrap();
    let m = &log["messages"][0];
    assert_eq!(m["kind"], "webhook");
    assert_eq!(m["target"], "crm");
    assert_eq!(m["status"], "failed");
    assert_eq!(m["attempts"], 1);
    assert!(m["next_attempt_at"].is_string());
    let table = ok(&env.run(&["outbound", "log", "--status", "failed"]));
    assert!(
        table.lines().nth(1).unwrap().contains("webhook crm"),
        "{table}"
    );
    let none = ok(&env.run(&["outbound", "log", "--status", "sent"]));
    assert_eq!(none.trim(), "no outbound messages");

    let err = bad_input(&env.run(&["outbound", "test-webhook", "nope"]));
    assert!(err.contains("no webhook endpoint named \"nope\""), "{err}");
    let err = bad_input(&env.run(&["outbound", "test-email", "ana@example.com"]));
    assert!(err.contains("no SMTP server configured"), "{err}");
}

#[test]
fn outbound_config_errors_name_their_lines() {
    let env = Env::new();
    env.write(
        "tenure.toml",
        "[outbound.smtp]\nhost = \"smtp.example.com\"\nsecurity = \"ssl\"\nfrom = \"cs@example.com\"\n\n[[outbound.webhooks]]\nname = \"crm\"\nurl = \"ftp://x\"\nsecret = \"s\"\n",
    );
    let err = bad_input(&env.run(&["config", "check"]));
    assert!(err.contains("line 3: outbound.smtp.security"), "{err}");
    assert!(
        err.contains("line 8: outbound.webhooks \"crm\": url"),
        "{err}"
    );
}

#[test]
fn the_risk_digest_prints_then_queues_once_and_its_config_errors_name_their_lines() {
    let env = Env::new();
    env.write(
        "tenure.toml",
        "[risk]\narr_at_risk_share = 0.1\n\n[risk.digest]\nto = [\"VP@example.com\", \"leaders\"]\nweekday = \"monday\"\n",
    );
    let out = ok(&env.run(&["risk", "digest", "--as-of", "2025-03-03"]));
    assert!(out.starts_with("To: vp@example.com\n"), "{out}");
    assert!(
        out.contains(
            "Subject: Risk board, week to 2025-03-03: 0 accounts at risk, USD 0 ARR at risk\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("Risk board, week of 2025-02-25 to 2025-03-03\n"),
        "{out}"
    );
    assert!(out.contains("Came on the board (0):\n  none\n"), "{out}");
    assert!(out.contains("The board: /risk"), "{out}");
    // Printing queues nothing; --send queues it once.
    let none = ok(&env.run(&["outbound", "log"]));
    assert_eq!(none.trim(), "no outbound messages");
    let sent = ok(&env.run(&["risk", "digest", "--as-of", "2025-03-03", "--send"]));
    assert_eq!(
        sent.trim(),
        "Queued the digest of 2025-03-03 to 1 recipient(s): vp@example.com"
    );
    let again = ok(&env.run(&["risk", "digest", "--as-of", "2025-03-03", "--send"]));
    assert_eq!(again.trim(), "The digest of 2025-03-03 was already queued");
    let log: serde_json::Value =
        serde_json::from_str(&ok(&env.run(&["outbound", "log", "--format", "json"]))).unwrap();
    let messages = log["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{log}");
    assert_eq!(messages[0]["target"], "vp@example.com");
    assert_eq!(messages[0]["source"], "risk:digest:2025-03-03");

    let err = bad_input(&env.run(&["risk", "digest", "--as-of", "2025-02-30"]));
    assert!(err.contains("--as-of"), "{err}");
    env.write(
        "tenure.toml",
        "[risk]\narr_at_risk_share = 0.1\n\n[risk.digest]\nto = [\"not an address\"]\nweekday = \"someday\"\n",
    );
    let err = bad_input(&env.run(&["config", "check"]));
    assert!(
        err.contains("line 5: risk.digest.to: \"not an address\" is not an email address"),
        "{err}"
    );
    assert!(
        err.contains("line 6: risk.digest.weekday must be a day of the week"),
        "{err}"
    );
}
