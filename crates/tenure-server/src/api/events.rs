//! `/api/v1/events`: product usage events, by account and time range.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tenure_core::model::{self, Event};
use tenure_store::api::{Created, RecordQuery};
use tenure_store::rows::Record;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::extract::{ApiJson, ApiQuery, Checks, cursor_param, encode_cursor, time_param};
use crate::auth::Principal;
use crate::error::{AppError, ErrorBody};

/// An event to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    /// RFC 3339 timestamp.
    pub timestamp: String,
    pub account_id: String,
    pub user_id: String,
    pub event: String,
    /// A JSON object.
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Value>,
    /// An id for de-duplication: an event with a known message_id is answered 409.
    pub message_id: Option<String>,
}

/// An event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub timestamp: String,
    pub account_id: String,
    pub user_id: String,
    pub event: String,
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Value>,
    pub message_id: Option<String>,
}

/// One page of events, oldest first; `next_cursor` is null on the last page.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<EventOut>,
    pub next_cursor: Option<String>,
}

/// Filters and page of the events listing.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Only events of this account.
    pub account_id: Option<String>,
    /// At or after this time (RFC 3339) or date (start of that UTC day).
    pub from: Option<String>,
    /// Before this time, or through this date (inclusive).
    pub to: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    pub limit: Option<u32>,
}

fn out(e: Event) -> EventOut {
    EventOut {
        timestamp: e.timestamp.to_string(),
        account_id: e.account_id,
        user_id: e.user_id,
        event: e.event,
        properties: e.properties.and_then(|p| serde_json::from_str(&p).ok()),
        message_id: e.message_id,
    }
}

/// List events by time.
#[utoipa::path(get, path = "/events", tag = "events",
    params(EventParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = EventPage),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn list_events(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<EventParams>,
) -> Result<Json<EventPage>, AppError> {
    let page = state
        .store
        .list_events(&RecordQuery {
            scope: p.scope(),
            account_id: q.account_id,
            from: time_param("from", &q.from, false)?,
            to: time_param("to", &q.to, true)?,
            kind: None,
            after: cursor_param(&q.cursor)?,
            limit: q.limit.unwrap_or(50),
        })
        .await?;
    Ok(Json(EventPage {
        items: page.items.into_iter().map(out).collect(),
        next_cursor: page.next.as_ref().map(encode_cursor),
    }))
}

/// Record an event.
#[utoipa::path(post, path = "/events", tag = "events",
    request_body = EventIn,
    security(("bearer" = [])),
    responses(
        (status = 201, body = EventOut),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn create_event(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(e): ApiJson<EventIn>,
) -> Result<(StatusCode, Json<EventOut>), AppError> {
    p.require_write()?;
    let mut ck = Checks::default();
    let timestamp = ck.check("timestamp", model::parse_timestamp(&e.timestamp));
    let account_id = ck.check("account_id", model::parse_id(&e.account_id));
    let user_id = ck.check("user_id", model::parse_id(&e.user_id));
    let event = ck.check("event", model::parse_id(&e.event));
    let properties = match e.properties {
        None | Some(serde_json::Value::Null) => None,
        Some(v @ serde_json::Value::Object(_)) => Some(v.to_string()),
        Some(_) => {
            ck.problem("properties", "expected a JSON object");
            None
        }
    };
    ck.finish(())?;
    let ev = Event {
        timestamp: timestamp.unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        account_id: account_id.unwrap_or_default(),
        user_id: user_id.unwrap_or_default(),
        event: event.unwrap_or_default(),
        properties,
        message_id: e.message_id.filter(|m| !m.is_empty()),
    };
    match state
        .store
        .create_record(&Record::Event(ev.clone()), &p.scope())
        .await?
    {
        Created::Created => Ok((StatusCode::CREATED, Json(out(ev)))),
        Created::AlreadyExists => Err(AppError::conflict(
            "an event with this message_id was already recorded",
        )),
    }
}

/// This group's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_events, create_event))
}
