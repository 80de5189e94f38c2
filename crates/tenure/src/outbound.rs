//! `tenure outbound`: the send log of outbound email and webhooks, sending
//! what is due now, and a test message to check the settings of
//! `[outbound]` (docs/REACT.md). The work is in `tenure_app::outbound`;
//! `--format json` prints the API's shape (`GET /api/v1/outbound`).

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use jiff::Timestamp;
use tenure_app::clock::now_micros;
use tenure_app::command::load_config;
use tenure_app::outbound::{deliver_due, deliver_now, queue_email, queue_webhook};
use tenure_server::api::outbound::{OutboundLogOut, OutboundParams, log_query, message_out};
use tenure_store::outbound::{Message, OutboxStatus};

use crate::BadInput;
use crate::data::{Format, open_store, print_json};

#[derive(Debug, Args)]
pub struct OutboundArgs {
    #[command(subcommand)]
    pub command: OutboundCommand,
}

#[derive(Debug, Subcommand)]
pub enum OutboundCommand {
    /// The send log, newest first: status, attempts, next retry, last error.
    Log(LogArgs),
    /// Send every email and webhook call that is due, now.
    SendDue,
    /// Send a test email to TO through [outbound.smtp] and report the result.
    TestEmail {
        /// The recipient's address.
        to: String,
    },
    /// Call the webhook endpoint NAME of [[outbound.webhooks]] with a signed
    /// test payload and report the result.
    TestWebhook {
        /// The endpoint's name in tenure.toml.
        name: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Queued,
    Sent,
    Failed,
    Dead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Email,
    Webhook,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// Only messages about this account.
    #[arg(long)]
    pub account: Option<String>,
    /// At most this many (1 to 1000).
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub async fn run(db: &str, config_path: &Path, args: OutboundArgs) -> Result<()> {
    let config = load_config(config_path)?;
    let store = open_store(db).await?;
    match args.command {
        OutboundCommand::Log(a) => {
            let params = OutboundParams {
                status: a.status.map(|s| format!("{s:?}").to_ascii_lowercase()),
                kind: a.kind.map(|k| format!("{k:?}").to_ascii_lowercase()),
                account_id: a.account,
                limit: Some(a.limit),
            };
            let q = log_query(&params).map_err(|m| BadInput(format!("--{m}")))?;
            let messages = store.outbox_log(&q).await?;
            match a.format {
                Format::Json => print_json(&OutboundLogOut {
                    messages: messages.iter().map(message_out).collect(),
                }),
                Format::Table => print_table(&messages),
            }
        }
        OutboundCommand::SendDue => {
            let d = deliver_due(&store, &config, now_micros()).await?;
            println!(
                "outbound: {} attempted, {} sent, {} to retry, {} dead",
                d.attempted, d.sent, d.retrying, d.dead
            );
            print_waiting_for_smtp(&d);
            Ok(())
        }
        OutboundCommand::TestEmail { to } => {
            if config.outbound.smtp.is_none() {
                return Err(BadInput(
                    "no SMTP server configured: add [outbound.smtp] to tenure.toml".into(),
                )
                .into());
            }
            let id = queue_email(
                &store,
                &to,
                "Tenure test email",
                "This is a test email from Tenure: outbound email works.\n",
                "test",
                None,
            )
            .await?;
            report(deliver_now(&store, &config, &id, now_micros()).await?)
        }
        OutboundCommand::TestWebhook { name } => {
            let payload = serde_json::json!({
                "event": "test",
                "message": "A test call from Tenure: the signature verifies with your secret.",
            });
            let id = queue_webhook(&store, &config, &name, &payload, "test", None).await?;
            report(deliver_now(&store, &config, &id, now_micros()).await?)
        }
    }
}

/// Prints how a test message went; a failure is an error (exit 1).
fn report(m: Message) -> Result<()> {
    match m.status {
        OutboxStatus::Sent => {
            println!("sent {} to {} ({})", m.kind.as_str(), m.target, m.id);
            Ok(())
        }
        _ => anyhow::bail!(
            "sending {} to {} failed: {} ({} is {} and will be retried by the background job \
             until it is sent or dead)",
            m.kind.as_str(),
            m.target,
            m.last_error.as_deref().unwrap_or("unknown error"),
            m.id,
            m.status.as_str()
        ),
    }
}

/// A time in microseconds as `YYYY-MM-DD HH:MM:SS` (UTC), `-` when there
/// is none; the command-line tables' time columns.
pub(crate) fn time(micros: Option<i64>) -> String {
    micros
        .and_then(|t| Timestamp::from_microsecond(t).ok())
        .map_or_else(
            || "-".to_string(),
            |t| t.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        )
}

fn print_table(messages: &[Message]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if messages.is_empty() {
        writeln!(out, "no outbound messages")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<22} {:<7} {:<28} {:<6} {:>8} {:<19} {:<19} {:<20} last error",
        "id", "kind", "to", "status", "attempts", "created (UTC)", "next retry (UTC)", "source"
    )?;
    for m in messages {
        let error: String = m
            .last_error
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(80)
            .collect();
        writeln!(
            out,
            "{:<22} {:<7} {:<28} {:<6} {:>8} {:<19} {:<19} {:<20} {}",
            m.id,
            m.kind.as_str(),
            m.target,
            m.status.as_str(),
            m.attempts,
            time(Some(m.created_at)),
            time(m.next_attempt_at),
            m.source,
            error
        )?;
    }
    Ok(())
}

/// Says how many emails wait for an SMTP server, if any (`send-due` and
/// `run-jobs --once`).
pub fn print_waiting_for_smtp(d: &tenure_app::outbound::DeliverySummary) {
    if d.waiting_for_smtp > 0 {
        println!(
            "{} emails wait: no SMTP server is configured ([outbound.smtp] in tenure.toml)",
            d.waiting_for_smtp
        );
    }
}
