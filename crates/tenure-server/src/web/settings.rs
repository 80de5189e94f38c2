//! `/settings`: users, API keys and ingest write keys (admins only), and
//! the health scorecards in force, read-only from `tenure.toml`.
//! Users and keys are managed with `tenure users` and `tenure keys`.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use tenure_core::health::{MeasureKind, Normalisation, Scorecard};
use tenure_store::auth::{KeyKind, Role};

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
        MeasureKind::DaysSinceEngagement | MeasureKind::DaysToRenewal => String::new(),
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
    render(&SettingsPage {
        nav: Nav::new(&p, "settings"),
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
