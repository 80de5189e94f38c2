//! `/settings`: users, API keys and ingest write keys (admins only),
//! outbound email and webhooks (admins and leaders, who may read the send
//! log as `GET /api/v1/outbound` allows), and the health scorecards in
//! force, read-only from `tenure.toml`. Users and keys are managed with
//! `tenure users` and `tenure keys`.
//!
//! The Outbound section shows the SMTP server and the webhook endpoints
//! of `[outbound]` with whether their secrets are set, never a secret
//! (nor a webhook URL's user info or query, which may carry one), the
//! send log's counts by status and its last messages, without bodies.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use tenure_core::config::{OutboundConfig, SecretSource};
use tenure_core::health::{MeasureKind, Normalisation, Scorecard};
use tenure_store::auth::{KeyKind, Role};
use tenure_store::outbound::{LogQuery, Message, OutboxStatus};

use super::layout::{Nav, render};
use super::{WebError, WebUser};
use crate::AppState;

#[derive(Debug, Clone)]
pub struct UserOut {
    pub email: String,
    pub name: String,
    pub role: &'static str,
    pub scope: &'static str,
    pub status: &'static str,
}

#[derive(Debug, Clone)]
pub struct KeyOut {
    pub name: String,
    pub prefix: String,
    pub role: String,
    pub created: String,
    pub last_used: String,
    pub status: &'static str,
}

#[derive(Debug, Clone)]
pub struct MeasureOut {
    pub name: String,
    pub kind: &'static str,
    pub params: String,
    pub weight: String,
    pub scoring: String,
}

#[derive(Debug, Clone)]
pub struct CardOut {
    pub name: String,
    pub applies: String,
    pub version: String,
    pub measures: Vec<MeasureOut>,
}

/// `[outbound.smtp]` as shown: no password.
#[derive(Debug, Clone)]
pub struct SmtpOut {
    pub host: String,
    pub port: u16,
    pub security: &'static str,
    pub from: String,
    /// Whether it logs in, as whom, and where the password comes from.
    pub auth: String,
}

/// A webhook endpoint as shown: no secret.
#[derive(Debug, Clone)]
pub struct WebhookOut {
    pub name: String,
    /// Without user info or query, which may carry a secret.
    pub url: String,
    /// Where the signing secret comes from and whether it is set.
    pub secret: String,
}

/// A message of the send log as shown: no body.
#[derive(Debug, Clone)]
pub struct MessageOut {
    pub id: String,
    pub kind: &'static str,
    pub target: String,
    pub subject: String,
    pub status: &'static str,
    /// The pill's colour: sent green, failed yellow, dead red.
    pub status_class: &'static str,
    pub attempts: u32,
    pub last_error: String,
    pub next_attempt: String,
    pub source: String,
    pub account_id: String,
    pub created: String,
}

/// The Outbound section.
#[derive(Debug, Clone)]
pub struct OutboundOut {
    pub smtp: Option<SmtpOut>,
    pub webhooks: Vec<WebhookOut>,
    pub retries: String,
    /// Messages by status: queued, sent, failed, dead.
    pub counts: Vec<(&'static str, u64)>,
    pub messages: Vec<MessageOut>,
    /// At most this many messages are listed.
    pub shown: u32,
}

/// Messages of the send log the settings page lists.
pub const LOG_MESSAGES: u32 = 20;

#[derive(Template)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    pub nav: Nav,
    pub users: Vec<UserOut>,
    /// API keys, then ingest write keys: `(title, table id, keys)`.
    pub key_tables: Vec<(&'static str, &'static str, Vec<KeyOut>)>,
    pub yellow_from: String,
    pub green_from: String,
    pub cards: Vec<CardOut>,
    pub currency: String,
    pub version: String,
    /// Admins and leaders only.
    pub outbound: Option<OutboundOut>,
}

fn params(k: &MeasureKind) -> String {
    match k {
        MeasureKind::ActiveUserRatio {
            window_days,
            denominator,
        } => format!("{window_days} days, of {}", denominator.as_str()),
        MeasureKind::EventCount {
            window_days,
            events,
        }
        | MeasureKind::EventTrend {
            window_days,
            events,
        } => format!(
            "{window_days} days, events: {}",
            if events.is_empty() {
                "all".to_string()
            } else {
                events.join(", ")
            }
        ),
        MeasureKind::FeatureAdoption {
            window_days,
            features,
        } => format!("{window_days} days, features: {}", features.join(", ")),
        MeasureKind::SeatUtilisation { window_days }
        | MeasureKind::CsatAverage { window_days }
        | MeasureKind::PaymentFailures { window_days } => format!("{window_days} days"),
        MeasureKind::LatestNps { window_days } => match window_days {
            Some(d) => format!("{d} days"),
            None => "any time".into(),
        },
        MeasureKind::OpenTickets { .. } => "weighted by priority".into(),
        MeasureKind::DaysSinceEngagement | MeasureKind::DaysToRenewal | MeasureKind::ChurnRisk => {
            String::new()
        }
        MeasureKind::CustomAttribute { attribute } => format!("attribute {attribute}"),
    }
}

fn scoring(n: &Normalisation) -> String {
    match n {
        Normalisation::Thresholds(steps) => steps
            .iter()
            .map(|s| format!("≥{} → {}", s.value, s.points))
            .collect::<Vec<_>>()
            .join(", "),
        Normalisation::Linear {
            min,
            max,
            direction,
        } => format!(
            "linear {min} to {max}, {}",
            direction.as_str().replace('_', " ")
        ),
    }
}

fn card(s: &Scorecard) -> CardOut {
    let applies = match &s.matches {
        None => "every account no other scorecard matches".to_string(),
        Some(m) => {
            let mut parts = Vec::new();
            for (k, v) in [
                ("plan", &m.plan),
                ("industry", &m.industry),
                ("region", &m.region),
            ] {
                if !v.is_empty() {
                    parts.push(format!("{k} {}", v.join(" or ")));
                }
            }
            for (k, v) in &m.attributes {
                parts.push(format!("{k} {}", v.join(" or ")));
            }
            parts.join(", ")
        }
    };
    let total: f64 = s.measures.iter().map(|m| m.weight).sum();
    CardOut {
        name: s.name.clone(),
        applies,
        version: s.version(),
        measures: s
            .measures
            .iter()
            .map(|m| MeasureOut {
                name: m.name.clone(),
                kind: m.kind.name(),
                params: params(&m.kind),
                weight: if total > 0.0 {
                    format!("{:.0}%", m.weight / total * 100.0)
                } else {
                    "–".into()
                },
                scoring: scoring(&m.normalisation),
            })
            .collect(),
    }
}

/// Where a secret comes from, and whether it is set; never its value.
fn secret_source(s: &SecretSource) -> String {
    match s {
        SecretSource::Inline(_) => "set in tenure.toml".into(),
        SecretSource::Env(var) => format!(
            "from ${var} ({})",
            if std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
                "set"
            } else {
                "not set in the server's environment"
            }
        ),
    }
}

/// A URL without its user info and query, which may carry a secret.
fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.rsplit_once('@') {
        Some((_, h)) => format!("…@{h}"),
        None => authority.to_string(),
    };
    let path = tail.split(['?', '#']).next().unwrap_or("");
    let query = if tail.contains('?') { "?…" } else { "" };
    format!("{scheme}{host}{path}{query}")
}

fn time(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros).map_or_else(
        |_| micros.to_string(),
        |t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

fn message_out(m: &Message) -> MessageOut {
    MessageOut {
        id: m.id.clone(),
        kind: m.kind.as_str(),
        target: m.target.clone(),
        subject: m.subject.clone().unwrap_or_default(),
        status: m.status.as_str(),
        status_class: match m.status {
            OutboxStatus::Sent => "b-green",
            OutboxStatus::Failed => "b-yellow",
            OutboxStatus::Dead => "b-red",
            OutboxStatus::Queued => "b-none",
        },
        attempts: m.attempts,
        last_error: m.last_error.clone().unwrap_or_default(),
        next_attempt: m.next_attempt_at.map(time).unwrap_or_default(),
        source: m.source.clone(),
        account_id: m.account_id.clone().unwrap_or_default(),
        created: time(m.created_at),
    }
}

/// The Outbound section: the configuration without its secrets, the send
/// log's counts and its last [`LOG_MESSAGES`] messages.
async fn outbound(state: &AppState, o: &OutboundConfig) -> Result<OutboundOut, WebError> {
    let smtp = o.smtp.as_ref().map(|s| SmtpOut {
        host: s.host.clone(),
        port: s.port,
        security: s.security.as_str(),
        from: s.from.clone(),
        auth: match (&s.username, &s.password) {
            (None, _) => "none".into(),
            (Some(u), None) => format!("as {u}, no password"),
            (Some(u), Some(p)) => format!("as {u}, password {}", secret_source(p)),
        },
    });
    let webhooks = o
        .webhooks
        .iter()
        .map(|w| WebhookOut {
            name: w.name.clone(),
            url: redact_url(&w.url),
            secret: secret_source(&w.secret),
        })
        .collect();
    let counts = state
        .store
        .outbox_counts()
        .await?
        .into_iter()
        .map(|(s, n)| (s.as_str(), n))
        .collect();
    let messages = state
        .store
        .outbox_log(&LogQuery {
            limit: Some(LOG_MESSAGES),
            ..LogQuery::default()
        })
        .await?
        .iter()
        .map(message_out)
        .collect();
    Ok(OutboundOut {
        smtp,
        webhooks,
        retries: format!(
            "{} attempts, the first retry after {} s, doubling; each call limited to {} s",
            o.max_attempts, o.backoff_seconds, o.timeout_seconds
        ),
        counts,
        messages,
        shown: LOG_MESSAGES,
    })
}

pub async fn page(
    State(state): State<AppState>,
    WebUser(p): WebUser,
) -> Result<Response, WebError> {
    let fmt_ts = |t: jiff::Timestamp| tenure_core::model::utc_date(t).to_string();
    let (mut users, mut api_keys, mut ingest_keys) = (vec![], vec![], vec![]);
    if p.role == Role::Admin {
        users = state
            .store
            .list_users()
            .await?
            .into_iter()
            .map(|u| UserOut {
                email: u.email,
                name: u.name.unwrap_or_default(),
                role: u.role.as_str(),
                scope: if u.role == Role::Csm && !u.all_accounts {
                    "own accounts"
                } else {
                    "all accounts"
                },
                status: if u.disabled { "disabled" } else { "active" },
            })
            .collect();
        for k in state.store.list_api_keys().await? {
            let out = KeyOut {
                name: k.name.clone(),
                prefix: format!("{}…", k.prefix),
                role: match (k.role, &k.user_email) {
                    (Some(r), Some(e)) => format!("{r} ({e})"),
                    (Some(r), None) => r.to_string(),
                    (None, _) => "write events".into(),
                },
                created: fmt_ts(k.created_at),
                last_used: k.last_used_at.map(fmt_ts).unwrap_or_else(|| "never".into()),
                status: if k.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                },
            };
            match k.kind {
                KeyKind::Api => api_keys.push(out),
                KeyKind::Ingest => ingest_keys.push(out),
            }
        }
    }
    let config = &state.web.config;
    let h = &config.health;
    let cards = h
        .scorecards
        .iter()
        .chain(std::iter::once(&h.default))
        .map(card)
        .collect();
    // Who may read the send log (`GET /api/v1/outbound`): it names
    // recipients of every account.
    let outbound = match p.role {
        Role::Admin | Role::Leader => Some(outbound(&state, &config.outbound).await?),
        Role::Csm | Role::Viewer => None,
    };
    render(&SettingsPage {
        nav: Nav::new(&p, "settings"),
        outbound,
        users,
        key_tables: vec![
            ("API keys", "api-keys", api_keys),
            ("Ingest write keys", "ingest-keys", ingest_keys),
        ],
        yellow_from: format!("{}", h.bands.yellow_from),
        green_from: format!("{}", h.bands.green_from),
        cards,
        currency: config.currency.reporting.as_str().to_string(),
        version: config.scorecard_hash(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_lose_user_info_and_query() {
        for (url, shown) in [
            (
                "https://hooks.example.com/tenure",
                "https://hooks.example.com/tenure",
            ),
            (
                "https://hooks.example.com/tenure?token=s3cret&x=1",
                "https://hooks.example.com/tenure?…",
            ),
            (
                "http://bot:s3cret@hooks.example.com:8080/in#frag",
                "http://…@hooks.example.com:8080/in",
            ),
            ("https://h.example.com/a@b", "https://h.example.com/a@b"),
            ("https://h.example.com?k=s3cret", "https://h.example.com?…"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
