//! The one error type of every handler, rendered as
//! `{"error": {"code": "...", "message": "..."}}` with its HTTP status.
//!
//! Messages of client errors say what to fix. Unexpected errors (database
//! down, a bug) are logged with their whole chain and answered with a
//! generic message: their details never reach the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tenure_store::StoreError;
use utoipa::ToSchema;

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable machine-readable `code` and a message for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// One of bad_request, unauthorized, forbidden, not_found, conflict,
    /// payload_too_large, invalid, rate_limited, invalid_signature,
    /// not_configured, internal.
    pub code: String,
    pub message: String,
}

/// An error answer.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait, for 429.
    pub retry_after: Option<u64>,
    /// The cause of an internal error: logged, never sent.
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AppError {
        AppError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            source: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn conflict(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::CONFLICT, "conflict", message)
    }
    pub fn too_large(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }
    pub fn invalid(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
    }
    pub fn rate_limited(retry_after: u64) -> AppError {
        AppError {
            retry_after: Some(retry_after.max(1)),
            ..AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests: slow down and retry after the time in the Retry-After header",
            )
        }
    }
    /// An unexpected failure: logged with its chain, answered with a generic 500.
    pub fn internal(source: impl std::error::Error + Send + Sync + 'static) -> AppError {
        AppError {
            source: Some(Box::new(source)),
            ..AppError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; the server log has the details",
            )
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::NotFound(what) => AppError::not_found(format!("{what} not found")),
            StoreError::Invalid(problems) => AppError::invalid(
                problems
                    .iter()
                    .map(|p| match &p.column {
                        Some(c) => format!("{c}: {}", p.message),
                        None => p.message.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            other => AppError::internal(other),
        }
    }
}

impl From<tenure_app::Error> for AppError {
    fn from(e: tenure_app::Error) -> AppError {
        match e {
            tenure_app::Error::Invalid(message) => AppError::invalid(message),
            tenure_app::Error::NotFound(what) => AppError::not_found(format!("{what} not found")),
            tenure_app::Error::Store(e) => e.into(),
            e @ tenure_app::Error::Internal(_) => AppError::internal(e),
        }
    }
}

/// The error chain as one line, for the log.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Some(src) = &self.source {
            tracing::error!(error = %chain(src.as_ref()), "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tenure\""),
            );
        }
        resp
    }
}

/// The answer for a path no route matches.
pub async fn not_found_fallback() -> AppError {
    AppError::not_found("no such route")
}

/// The answer for a method a route does not have.
pub async fn method_not_allowed_fallback() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}
