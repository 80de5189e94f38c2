//! Segment-compatible event ingest: `POST /v1/batch`, `/v1/track`,
//! `/v1/identify`, `/v1/group`, `/v1/page`, `/v1/screen` and `/v1/alias`
//! (plus analytics.js's short forms `/v1/b`, `/v1/t`, ...), accepting the
//! payloads of Segment's HTTP tracking API unchanged, so the official
//! client libraries work by pointing their host at Tenure.
//!
//! - The write key (an ingest key from `tenure keys create --ingest`) is the
//!   basic-auth user name, or the body's `writeKey` (analytics.js).
//! - Bodies may be gzip-compressed (`Content-Encoding: gzip`).
//! - Limits as Segment's: 32 KB per message (400) and 500 KB per request (413).
//! - Timestamps are corrected for the client's clock as Segment does:
//!   `timestamp = receivedAt − (sentAt − timestamp)` when the client sent
//!   `sentAt`.
//! - `messageId`s are remembered: a message sent twice is stored once.
//! - All messages of a request are written in one transaction: a 2xx answer
//!   means they are committed.
//!
//! Mapping: identify → contact (traits email, name, role; the contact's id is
//! the user id; it is created once the user's account and email are known);
//! group → account (traits name, industry, employees, plan) and the user's
//! membership; track → event; page / screen → an event named `page` /
//! `screen` whose properties carry the page's `name` and `category`. A track
//! call's account is `context.groupId`, else the user's last group call; until
//! one is known, the event waits and is attributed when the group call comes.

use std::io::Read;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};
use tenure_store::auth::KeyKind;
use tenure_store::ingest::{Incoming, Message};

use crate::AppState;
use crate::auth::lookup_key;
use crate::error::AppError;

/// Largest message, as Segment: 32 KB.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
/// Largest request (after decompression), as Segment: 500 KB.
pub const MAX_BATCH_BYTES: usize = 500 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/{kind}", post(ingest))
}

/// The message type a path under `/v1/` stands for (`track` for `t`,
/// ...); `None` for the batch endpoint, 404 for any other path.
pub fn path_type(path: &str) -> Result<Option<&'static str>, AppError> {
    Ok(Some(match path {
        "batch" | "b" | "import" => return Ok(None),
        "track" | "t" => "track",
        "identify" | "i" => "identify",
        "group" | "g" => "group",
        "page" | "p" => "page",
        "screen" | "s" => "screen",
        "alias" | "a" => "alias",
        _ => return Err(AppError::not_found("no such route")),
    }))
}

async fn ingest(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, AppError> {
    let single = path_type(&kind)?;
    let limit = if single.is_some() {
        MAX_MESSAGE_BYTES
    } else {
        MAX_BATCH_BYTES
    };
    let too_big = || {
        if single.is_some() {
            AppError::bad_request(format!(
                "the message is larger than {} KB",
                MAX_MESSAGE_BYTES / 1024
            ))
        } else {
            AppError::too_large(format!(
                "the batch is larger than {} KB",
                MAX_BATCH_BYTES / 1024
            ))
        }
    };
    let raw = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_big())?;
    let bytes = decode_body(&headers, raw, limit).map_err(|e| e.unwrap_or_else(too_big))?;
    let doc = parse_document(&bytes)?;

    let write_key = basic_user(&headers).or_else(|| {
        doc.get("writeKey")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let Some(write_key) = write_key.filter(|k| !k.is_empty()) else {
        return Err(AppError::unauthorized(
            "missing write key: send it as the basic-auth user name",
        ));
    };
    let key = lookup_key(&state, &write_key)
        .await?
        .filter(|k| k.kind == KeyKind::Ingest)
        .ok_or_else(|| AppError::unauthorized("the write key is not valid or was revoked"))?;
    state
        .ingest_limiter
        .check(&key.id)
        .map_err(|wait| AppError::rate_limited(wait.as_secs_f64().ceil() as u64))?;

    let received_at = Timestamp::now();
    let items = parse_messages(&doc, single, received_at)?;
    let summary = state.store.ingest(items, received_at).await?;
    tracing::debug!(
        accepted = summary.accepted,
        duplicates = summary.duplicates,
        pending = summary.pending,
        "ingested"
    );
    Ok(Json(json!({"success": true})))
}

/// A request's body (decompressed) as the JSON object it must be.
pub fn parse_document(bytes: &[u8]) -> Result<Map<String, Value>, AppError> {
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| AppError::bad_request(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(doc) = doc else {
        return Err(AppError::bad_request("expected a JSON object"));
    };
    Ok(doc)
}

/// The messages of a request's document, checked and mapped: one message
/// of type `single`, or, for the batch endpoint (`None`), each of its
/// `batch` array, timestamps corrected against `received_at`. The first
/// problem is a 400 naming the message. Aliases are accepted and dropped.
pub fn parse_messages(
    doc: &Map<String, Value>,
    single: Option<&str>,
    received_at: Timestamp,
) -> Result<Vec<Incoming>, AppError> {
    let items = match single {
        Some(t) => vec![parse_message(doc, Some(t), None, received_at, 0)?],
        None => {
            let batch = doc
                .get("batch")
                .and_then(Value::as_array)
                .ok_or_else(|| AppError::bad_request("expected a \"batch\" array"))?;
            let sent_at = doc.get("sentAt");
            let mut items = Vec::with_capacity(batch.len());
            for (i, m) in batch.iter().enumerate() {
                let Value::Object(m) = m else {
                    return Err(AppError::bad_request(format!(
                        "batch[{i}]: expected a JSON object"
                    )));
                };
                if json_len(m) > MAX_MESSAGE_BYTES {
                    return Err(AppError::bad_request(format!(
                        "batch[{i}]: the message is larger than {} KB",
                        MAX_MESSAGE_BYTES / 1024
                    )));
                }
                items.push(parse_message(m, None, sent_at, received_at, i)?);
            }
            items
        }
    };
    Ok(items.into_iter().flatten().collect())
}

/// The length of a message written as compact JSON, counted without
/// building the text.
fn json_len(m: &Map<String, Value>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    // Writing into a counter cannot fail.
    let _ = serde_json::to_writer(&mut c, m);
    c.0
}

/// Decompresses a gzip body; `Err(None)` means "too large".
fn decode_body(headers: &HeaderMap, raw: Bytes, limit: usize) -> Result<Bytes, Option<AppError>> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "" | "identity" => Ok(raw),
        "gzip" | "x-gzip" => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(&raw[..])
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    Some(AppError::bad_request(format!(
                        "the gzip body is corrupt: {e}"
                    )))
                })?;
            if out.len() > limit {
                return Err(None);
            }
            Ok(Bytes::from(out))
        }
        other => Err(Some(AppError::bad_request(format!(
            "unsupported Content-Encoding {other:?}: send gzip or no encoding"
        )))),
    }
}

/// The user name of HTTP basic authentication.
fn basic_user(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(
        text.split_once(':')
            .map_or(text.clone(), |(u, _)| u.to_string()),
    )
}

/// A string or number field as text (Segment ids may be either).
fn id_field(m: &Map<String, Value>, key: &str) -> Option<String> {
    match m.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn str_field(m: Option<&Map<String, Value>>, key: &str) -> Option<String> {
    match m?.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn time_field(m: &Map<String, Value>, key: &str, at: usize) -> Result<Option<Timestamp>, AppError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s.parse::<Timestamp>().map(Some).map_err(|_| {
            AppError::bad_request(format!(
                "message {at}: {key} {s:?} is not an ISO 8601 timestamp"
            ))
        }),
        Some(_) => Err(AppError::bad_request(format!(
            "message {at}: {key} must be an ISO 8601 string"
        ))),
    }
}

/// Segment's clock-skew rule: when the client sent `sentAt`, the event time
/// is `receivedAt − (sentAt − timestamp)`; otherwise `timestamp` as sent, or
/// the time of arrival.
pub fn corrected_timestamp(
    timestamp: Option<Timestamp>,
    sent_at: Option<Timestamp>,
    received_at: Timestamp,
) -> Timestamp {
    match (timestamp, sent_at) {
        (Some(ts), Some(sent)) => {
            let offset: SignedDuration = sent.duration_since(ts);
            received_at.checked_sub(offset).unwrap_or(ts)
        }
        (Some(ts), None) => ts,
        (None, _) => received_at,
    }
}

/// The text fields of a message that go into text columns as they are.
fn texts(m: &Message) -> Vec<&String> {
    match m {
        Message::Identify {
            user_id,
            email,
            name,
            role,
        } => [Some(user_id), email.as_ref(), name.as_ref(), role.as_ref()]
            .into_iter()
            .flatten()
            .collect(),
        Message::Group {
            user_id,
            group_id,
            name,
            industry,
            plan,
            ..
        } => [
            user_id.as_ref(),
            Some(group_id),
            name.as_ref(),
            industry.as_ref(),
            plan.as_ref(),
        ]
        .into_iter()
        .flatten()
        .collect(),
        Message::Track {
            user_id,
            event,
            group_id,
            ..
        } => [Some(user_id), Some(event), group_id.as_ref()]
            .into_iter()
            .flatten()
            .collect(),
    }
}

/// Parses one message; `Ok(None)` for calls Tenure accepts but does not use (alias).
fn parse_message(
    m: &Map<String, Value>,
    path_type: Option<&str>,
    batch_sent_at: Option<&Value>,
    received_at: Timestamp,
    at: usize,
) -> Result<Option<Incoming>, AppError> {
    let bad = |msg: &str| AppError::bad_request(format!("message {at}: {msg}"));
    let ty = match path_type {
        Some(t) => t.to_string(),
        None => m
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("missing \"type\""))?
            .to_ascii_lowercase(),
    };
    let message_id = id_field(m, "messageId");
    let user_id = id_field(m, "userId").or_else(|| id_field(m, "anonymousId"));
    let context = m.get("context").and_then(Value::as_object);
    let message = match ty.as_str() {
        "identify" => {
            let user_id = user_id.ok_or_else(|| bad("identify needs a userId or anonymousId"))?;
            let traits = m.get("traits").and_then(Value::as_object).or_else(|| {
                context
                    .and_then(|c| c.get("traits"))
                    .and_then(Value::as_object)
            });
            let name = str_field(traits, "name").or_else(|| {
                match (
                    str_field(traits, "firstName"),
                    str_field(traits, "lastName"),
                ) {
                    (Some(f), Some(l)) => Some(format!("{f} {l}")),
                    (f, l) => f.or(l),
                }
            });
            Message::Identify {
                user_id,
                email: str_field(traits, "email").map(|e| e.to_ascii_lowercase()),
                name,
                role: str_field(traits, "role").or_else(|| str_field(traits, "title")),
            }
        }
        "group" => {
            let group_id = id_field(m, "groupId").ok_or_else(|| bad("group needs a groupId"))?;
            let traits = m.get("traits").and_then(Value::as_object);
            let employees = match traits.and_then(|t| t.get("employees")) {
                Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
                Some(Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            };
            Message::Group {
                user_id,
                group_id,
                name: str_field(traits, "name"),
                industry: str_field(traits, "industry"),
                employees,
                plan: str_field(traits, "plan"),
            }
        }
        "track" | "page" | "screen" => {
            let user_id = user_id.ok_or_else(|| bad("needs a userId or anonymousId"))?;
            let mut props = match m.get("properties") {
                Some(Value::Object(p)) => p.clone(),
                None | Some(Value::Null) => Map::new(),
                Some(_) => return Err(bad("properties must be an object")),
            };
            let event = if ty == "track" {
                m.get("event")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .ok_or_else(|| bad("track needs an event name"))?
                    .to_string()
            } else {
                for key in ["name", "category"] {
                    if let Some(v) = m.get(key).filter(|v| v.is_string()) {
                        props.insert(key.to_string(), v.clone());
                    }
                }
                ty.clone()
            };
            let timestamp = match time_field(m, "timestamp", at)? {
                Some(t) => Some(t),
                None => time_field(m, "originalTimestamp", at)?,
            };
            let sent_at = match time_field(m, "sentAt", at)? {
                Some(t) => Some(t),
                None => match batch_sent_at {
                    Some(Value::String(s)) => s.parse::<Timestamp>().ok(),
                    _ => None,
                },
            };
            Message::Track {
                user_id,
                event,
                properties: (!props.is_empty()).then(|| Value::Object(props).to_string()),
                timestamp: corrected_timestamp(timestamp, sent_at, received_at),
                group_id: context.and_then(|c| str_field(Some(c), "groupId")),
            }
        }
        "alias" => return Ok(None),
        other => return Err(bad(&format!("unknown type {other:?}"))),
    };
    // PostgreSQL cannot store U+0000 in text; refuse it on every backend
    // rather than answer 500 on one. (Properties are stored as JSON text,
    // where it stays escaped.)
    if message_id
        .iter()
        .chain(texts(&message))
        .any(|t| t.contains('\0'))
    {
        return Err(bad(
            "ids, names and traits must not contain the character U+0000",
        ));
    }
    Ok(Some(Incoming {
        message_id,
        message,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn clock_skew_is_corrected_as_segment_does() {
        // The client's clock is 1 h fast: it stamped the event 10 s before sending.
        let got = corrected_timestamp(
            Some(ts("2025-03-01T11:00:00Z")),
            Some(ts("2025-03-01T11:00:10Z")),
            ts("2025-03-01T10:00:30Z"),
        );
        assert_eq!(got, ts("2025-03-01T10:00:20Z"));
        assert_eq!(
            corrected_timestamp(
                Some(ts("2025-03-01T11:00:00Z")),
                None,
                ts("2025-03-02T00:00:00Z")
            ),
            ts("2025-03-01T11:00:00Z")
        );
        assert_eq!(
            corrected_timestamp(None, None, ts("2025-03-02T00:00:00Z")),
            ts("2025-03-02T00:00:00Z")
        );
    }

    #[test]
    fn basic_auth_user_is_the_write_key() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {}", STANDARD.encode("tnr_abc:"))
                .parse()
                .unwrap(),
        );
        assert_eq!(basic_user(&h).as_deref(), Some("tnr_abc"));
    }
}
