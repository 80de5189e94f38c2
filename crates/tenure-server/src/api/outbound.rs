//! `GET /api/v1/outbound`: the send log of outbound email and webhook
//! calls (docs/REACT.md, "Outbound"), newest first, with each message's
//! status, attempts, next retry and last error. Admins and leaders only:
//! it names recipients of every account. Message bodies are left out; the
//! log says what was sent where, not what it said. `tenure outbound log
//! --format json` prints the same shape.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tenure_store::auth::Role;
use tenure_store::outbound::{LogQuery, Message, OutboxKind, OutboxStatus};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::extract::ApiQuery;
use crate::auth::Principal;
use crate::error::{AppError, ErrorBody};

/// Messages listed when no limit is asked for.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most messages one answer lists.
pub const MAX_LIMIT: u32 = 1000;

/// Filters of the send log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboundParams {
    /// `queued`, `sent`, `failed` (will be retried) or `dead` (given up).
    pub status: Option<String>,
    /// `email` or `webhook`.
    pub kind: Option<String>,
    /// Only messages about this account.
    pub account_id: Option<String>,
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// The store's query for `params`; a bad value is an error naming it.
pub fn log_query(params: &OutboundParams) -> Result<LogQuery, String> {
    let status = params
        .status
        .as_deref()
        .map(|s| {
            OutboxStatus::parse(s.trim())
                .ok_or_else(|| format!("status: {s:?} is not one of queued, sent, failed, dead"))
        })
        .transpose()?;
    let kind = params
        .kind
        .as_deref()
        .map(|k| {
            OutboxKind::parse(k.trim())
                .ok_or_else(|| format!("kind: {k:?} is not one of email, webhook"))
        })
        .transpose()?;
    let limit = match params.limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(n) => return Err(format!("limit: must be from 1 to {MAX_LIMIT}, got {n}")),
    };
    Ok(LogQuery {
        status,
        kind,
        account_id: params.account_id.clone(),
        source: None,
        limit: Some(limit),
    })
}

/// One message of the send log.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboundMessageOut {
    pub id: String,
    /// `email` or `webhook`.
    pub kind: String,
    /// The recipient's address, or the webhook endpoint's name.
    pub target: String,
    /// Emails only.
    pub subject: Option<String>,
    /// `queued`, `sent`, `failed` or `dead`.
    pub status: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (RFC 3339, UTC); none once sent or dead.
    pub next_attempt_at: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    /// What queued it, such as `playbook:onboarding`.
    pub source: String,
    pub account_id: Option<String>,
}

/// The send log.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboundLogOut {
    pub messages: Vec<OutboundMessageOut>,
}

fn time(micros: i64) -> String {
    Timestamp::from_microsecond(micros).map_or_else(|_| micros.to_string(), |t| t.to_string())
}

/// The JSON of one message.
pub fn message_out(m: &Message) -> OutboundMessageOut {
    OutboundMessageOut {
        id: m.id.clone(),
        kind: m.kind.as_str().to_string(),
        target: m.target.clone(),
        subject: m.subject.clone(),
        status: m.status.as_str().to_string(),
        attempts: m.attempts,
        next_attempt_at: m.next_attempt_at.map(time),
        last_error: m.last_error.clone(),
        created_at: time(m.created_at),
        sent_at: m.sent_at.map(time),
        source: m.source.clone(),
        account_id: m.account_id.clone(),
    }
}

/// The send log of outbound email and webhooks, newest first.
#[utoipa::path(get, path = "/outbound", tag = "outbound",
    params(OutboundParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OutboundLogOut),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin or a leader"),
    ))]
pub async fn get_outbound(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(params): ApiQuery<OutboundParams>,
) -> Result<Json<OutboundLogOut>, AppError> {
    p.require_role(&[Role::Admin, Role::Leader])?;
    let q = log_query(&params).map_err(AppError::bad_request)?;
    let messages = state.store.outbox_log(&q).await?;
    Ok(Json(OutboundLogOut {
        messages: messages.iter().map(message_out).collect(),
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_outbound))
}
