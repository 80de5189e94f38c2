//! Extractors with JSON errors, cursors, and value checks shared by the
//! route groups.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tenure_core::model::{self, ValueError};
use tenure_store::api::{Cursor, KeyValue};

use crate::error::AppError;

/// A JSON body; a bad one is answered with a JSON error (400, 413, 415→400, 422).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

fn json_rejection(e: JsonRejection) -> AppError {
    match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::too_large("the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            AppError::bad_request("expected a JSON body with Content-Type: application/json")
        }
        StatusCode::UNPROCESSABLE_ENTITY => AppError::invalid(e.body_text()),
        _ => AppError::bad_request(e.body_text()),
    }
}

/// Query parameters; bad ones are answered with a JSON 400.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(query_rejection(e)),
        }
    }
}

fn query_rejection(e: QueryRejection) -> AppError {
    AppError::bad_request(e.body_text())
}

/// Encodes a page cursor as an opaque base64url string.
pub fn encode_cursor(c: &Cursor) -> String {
    let key = match &c.key {
        None => Value::Null,
        Some(KeyValue::Int(i)) => Value::from(*i),
        Some(KeyValue::Text(s)) => Value::from(s.as_str()),
    };
    URL_SAFE_NO_PAD.encode(serde_json::json!([key, c.id]).to_string())
}

/// Decodes a cursor from [`encode_cursor`].
pub fn decode_cursor(s: &str) -> Result<Cursor, AppError> {
    let bad = || {
        AppError::bad_request("the cursor is not valid: pass next_cursor from the previous page")
    };
    let bytes = URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let Some([key, Value::String(id)]) = v.as_array().map(Vec::as_slice) else {
        return Err(bad());
    };
    let key = match key {
        Value::Null => None,
        Value::String(s) => Some(KeyValue::Text(s.clone())),
        Value::Number(n) => Some(KeyValue::Int(n.as_i64().ok_or_else(bad)?)),
        _ => return Err(bad()),
    };
    Ok(Cursor {
        key,
        id: id.clone(),
    })
}

/// Parses an optional cursor parameter.
pub fn cursor_param(s: &Option<String>) -> Result<Option<Cursor>, AppError> {
    s.as_deref()
        .filter(|s| !s.is_empty())
        .map(decode_cursor)
        .transpose()
}

/// Parses a `from` / `to` bound: an RFC 3339 timestamp, or a date meaning the
/// start of that UTC day (for `to`, with `end_of_day`, the start of the next
/// day, so that the date is included).
pub fn time_param(
    name: &str,
    s: &Option<String>,
    end_of_day: bool,
) -> Result<Option<Timestamp>, AppError> {
    let Some(s) = s.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if s.len() == 10 {
        let d = model::parse_date(s).map_err(|e| AppError::bad_request(format!("{name}: {e}")))?;
        let d = if end_of_day {
            d.tomorrow()
                .map_err(|_| AppError::bad_request(format!("{name}: date out of range")))?
        } else {
            d
        };
        let ts = d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|_| AppError::bad_request(format!("{name}: date out of range")))?
            .timestamp();
        return Ok(Some(ts));
    }
    model::parse_timestamp(s)
        .map(Some)
        .map_err(|e| AppError::bad_request(format!("{name}: {e}")))
}

/// Collects the problems of a request body, field by field, into one 422.
#[derive(Debug, Default)]
pub struct Checks {
    problems: Vec<String>,
}

impl Checks {
    /// Parses a value, recording a problem under `field` on failure.
    pub fn check<T>(&mut self, field: &str, r: Result<T, ValueError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.problems.push(format!("{field}: {e}"));
                None
            }
        }
    }

    /// Parses an optional value.
    pub fn opt<T>(
        &mut self,
        field: &str,
        v: &Option<String>,
        parse: impl Fn(&str) -> Result<T, ValueError>,
    ) -> Option<T> {
        v.as_deref().and_then(|s| self.check(field, parse(s)))
    }

    pub fn problem(&mut self, field: &str, message: impl Into<String>) {
        self.problems.push(format!("{field}: {}", message.into()));
    }

    /// Ok when nothing was wrong, else a 422 listing every problem.
    pub fn finish<T>(self, value: T) -> Result<T, AppError> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(AppError::invalid(self.problems.join("; ")))
        }
    }
}

/// The id of a created record: the one given, else a new random one.
pub fn new_id(given: Option<String>, prefix: &str) -> String {
    given
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("{prefix}_{}", crate::auth::random_token(12)))
}

/// For PUT: the path's id, which a body id (if any) must equal.
pub fn path_id(path: String, body: Option<String>) -> Result<String, AppError> {
    match body {
        Some(b) if b.trim() != path => Err(AppError::bad_request(format!(
            "the body's id {b:?} differs from the id in the path {path:?}"
        ))),
        _ => Ok(path),
    }
}

/// An email address, lower-cased.
pub fn email(s: &str) -> Result<String, ValueError> {
    let t = s.trim();
    match t.split_once('@') {
        Some((a, b)) if !a.is_empty() && b.contains('.') && !t.contains(' ') => {
            Ok(t.to_ascii_lowercase())
        }
        _ => Err(ValueError(format!("expected an email address, got {s:?}"))),
    }
}

/// A JSON number or string holding a decimal amount, as text.
pub fn amount_text(v: &Value) -> Result<String, ValueError> {
    match v {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) => Ok(s.clone()),
        other => Err(ValueError(format!(
            "expected an amount such as 1200.50, got {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for c in [
            Cursor {
                key: None,
                id: "a".into(),
            },
            Cursor {
                key: Some(KeyValue::Int(-1)),
                id: "b".into(),
            },
            Cursor {
                key: Some(KeyValue::Text("Acme, Inc.".into())),
                id: "c".into(),
            },
        ] {
            assert_eq!(decode_cursor(&encode_cursor(&c)).unwrap(), c);
        }
        assert!(decode_cursor("!!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("[1]")).is_err());
    }

    #[test]
    fn a_date_bound_covers_the_whole_day() {
        let to = time_param("to", &Some("2025-03-01".into()), true)
            .unwrap()
            .unwrap();
        assert_eq!(to.to_string(), "2025-03-02T00:00:00Z");
        let from = time_param("from", &Some("2025-03-01T10:00:00+01:00".into()), false)
            .unwrap()
            .unwrap();
        assert_eq!(from.to_string(), "2025-03-01T09:00:00Z");
    }
}
