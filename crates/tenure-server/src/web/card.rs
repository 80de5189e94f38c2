//! `/accounts/{id}/card`: the compact account card for a CRM's side panel
//! (docs/CRM.md, "The account card in your CRM"): name, ARR, renewal and
//! the days to it, health score and band with its top reasons, segment,
//! tier and journey stage, the risk board, the latest NPS answer, open
//! tasks, CSM and a link to the full account page. Small, without
//! navigation or script, readable from 320 px wide.
//!
//! [`card`] gathers it through what the account page uses (the health
//! panel, the risk panel, the Engage status, the task list) for both this
//! page and `GET /api/v1/accounts/{id}/card` (`crate::api::accounts`).
//! The caller is an API key (bearer) or a session, and sees only the
//! accounts of their scope (404 otherwise); without credentials the card
//! answers 401 rather than a login page a frame could not show.
//!
//! A CRM embeds the card in an iframe: the page allows framing by the
//! origins of `[server] card_frame_ancestors` in `tenure.toml` (its own
//! `frame-ancestors`, and no `X-Frame-Options`), on errors too; without
//! the setting it keeps `frame-ancestors 'none'` like every other page.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tenure_app::target::tasks::{StatusFilter, TaskFilter};
use tenure_core::model::{SurveyKind, day_number, utc_date};
use tenure_store::Kind;
use tenure_store::rows::Record;
use utoipa::ToSchema;

use super::layout::{money, urlencode};
use super::{WebError, account, health};
use crate::AppState;
use crate::auth::Principal;
use crate::error::AppError;

/// Top reasons of the health score shown, at most.
const REASONS: usize = 3;

/// The account card (`/accounts/{id}/card` and its JSON).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountCard {
    pub id: String,
    pub name: String,
    /// The full account page: absolute when `[server] public_url` is set.
    pub url: String,
    /// Annual recurring revenue today (MRR × 12), in `currency` units.
    pub arr: f64,
    pub currency: String,
    /// The next renewal (YYYY-MM-DD), and the days to it (negative: past).
    pub renewal_date: Option<String>,
    pub days_to_renewal: Option<i64>,
    /// Null when the account is not scored.
    pub health: Option<CardHealth>,
    pub segment: Option<String>,
    /// The segment's touch tier.
    pub tier: Option<String>,
    /// The journey stage.
    pub stage: Option<String>,
    pub risk: CardRisk,
    /// The latest NPS answer of the account's contacts.
    pub latest_nps: Option<CardNps>,
    pub open_tasks: u32,
    /// The CSM's email.
    pub csm: Option<String>,
}

/// The health score as the account page's health panel computes it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CardHealth {
    pub score: Option<f64>,
    /// red, yellow, green or none.
    pub band: String,
    pub as_of: String,
    /// The measures holding the score back most, in words, and an
    /// override when one applies.
    pub reasons: Vec<String>,
    /// What changed since the stored score of a week before.
    pub change: Option<String>,
}

/// The account's standing on the risk board today.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CardRisk {
    pub on_board: bool,
    /// The board's reason (empty when not on it).
    pub reason: String,
    /// The open flags' reasons.
    pub open_reasons: Vec<String>,
    /// Since when (YYYY-MM-DD), when on the board.
    pub since: Option<String>,
}

/// An NPS answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CardNps {
    pub score: i64,
    pub date: String,
}

/// The card of an account the caller may see (404 otherwise).
pub async fn card(state: &AppState, p: &Principal, id: &str) -> Result<AccountCard, AppError> {
    let a = account::account(state, p, id).await?;
    let scope = p.scope();
    let view = state.web.cache.view(state, &scope).await?;
    let fresh = state.web.accounts.freshness(state).await?;
    let today = fresh.day;
    let index = view.dataset.account_index(&a.id);
    let mrr_minor = index.map_or(0, |i| view.dataset.mrr_on(i, today));
    let renewal = index.and_then(|i| view.rows.get(i)).and_then(|r| r.renewal);

    let health = health::panel(state, &fresh, &a).await?.map(|h| {
        let mut measures: Vec<&health::MeasureOut> =
            h.measures.iter().filter(|m| m.gap >= 1.0).collect();
        measures.sort_by(|x, y| y.gap.total_cmp(&x.gap));
        let mut reasons: Vec<String> = h.override_note.iter().cloned().collect();
        reasons.extend(measures.iter().take(REASONS).map(|m| {
            format!(
                "{}: {}, {} of 100 points (−{:.0} to the score)",
                m.name, m.raw, m.points, m.gap
            )
        }));
        CardHealth {
            score: h.value,
            band: h.band.to_string(),
            as_of: h.as_of,
            reasons,
            change: h.changes.first().cloned(),
        }
    });

    let status =
        tenure_app::engage::account_status(&state.store, &state.web.config, &a.id, today).await?;
    let (segment, tier) = match status.segment {
        Some((s, t, _)) => (Some(s), Some(t)),
        None => (None, None),
    };

    let r = account::risk_panel(state, p, &a.id, today).await?;
    let risk = CardRisk {
        on_board: r.on_board,
        open_reasons: r.flags.iter().map(|f| f.reason.clone()).collect(),
        since: r.on_board.then_some(r.since),
        reason: r.reason,
    };

    let latest_nps = state
        .store
        .account_records(Kind::SurveyResponses, &a.id)
        .await?
        .into_iter()
        .filter_map(|r| match r {
            Record::SurveyResponse(s) if s.kind == SurveyKind::Nps => Some(s),
            _ => None,
        })
        .max_by_key(|s| s.responded_at)
        .map(|s| CardNps {
            score: s.score,
            date: utc_date(s.responded_at).to_string(),
        });

    let filter = TaskFilter {
        owner: None,
        account_id: Some(a.id.clone()),
        status: StatusFilter::Open,
    };
    let open_tasks = tenure_app::target::tasks::list(&state.store, &scope, &filter, today)
        .await?
        .len() as u32;

    let path = format!("/accounts/{}", urlencode(&a.id));
    Ok(AccountCard {
        url: match &state.web.config.server.public_url {
            Some(base) => format!("{base}{path}"),
            None => path,
        },
        id: a.id,
        name: a.name,
        arr: view.units(mrr_minor * 12),
        currency: view.currency().to_string(),
        renewal_date: renewal.map(|d| d.to_string()),
        days_to_renewal: renewal.map(|d| i64::from(day_number(d) - day_number(today))),
        health,
        segment,
        tier,
        stage: status.stage.map(|(s, _)| s),
        risk,
        latest_nps,
        open_tasks,
        csm: a.csm_email,
    })
}

#[derive(Template)]
#[template(path = "card.html")]
pub struct CardPage {
    pub c: AccountCard,
    pub arr: String,
    pub renewal: String,
    pub band_label: &'static str,
    pub band: String,
    pub score: String,
}

/// `GET /accounts/{id}/card`.
pub async fn page(
    State(state): State<AppState>,
    p: Result<Principal, AppError>,
    Path(id): Path<String>,
) -> Response {
    let ancestors = &state.web.config.server.card_frame_ancestors;
    let mut resp = match render(&state, p, &id).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp(ancestors)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if ancestors.is_empty() {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    resp
}

async fn render(
    state: &AppState,
    p: Result<Principal, AppError>,
    id: &str,
) -> Result<Response, WebError> {
    let c = card(state, &p?, id).await?;
    let band = c.health.as_ref().map_or("none", |h| h.band.as_str());
    let page = CardPage {
        arr: money(c.arr, &c.currency, false),
        renewal: match (&c.renewal_date, c.days_to_renewal) {
            (Some(d), Some(n)) if n >= 0 => format!("{d} (in {n} days)"),
            (Some(d), Some(n)) => format!("{d} ({} days ago)", -n),
            _ => "–".into(),
        },
        band_label: super::accounts::band_label(band),
        band: band.to_string(),
        score: super::layout::num(c.health.as_ref().and_then(|h| h.score), 0),
        c,
    };
    super::layout::render(&page)
}

/// The card's Content-Security-Policy: every page's [`super::CSP`] with
/// `frame-ancestors` the configured origins (checked by the configuration:
/// no quote, space or semicolon), or `'none'`.
pub fn csp(ancestors: &[String]) -> String {
    let base = super::CSP
        .strip_suffix("frame-ancestors 'none'")
        .unwrap_or(super::CSP);
    if ancestors.is_empty() {
        format!("{base}frame-ancestors 'none'")
    } else {
        format!("{base}frame-ancestors {}", ancestors.join(" "))
    }
}
