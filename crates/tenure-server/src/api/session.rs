//! `/api/v1/auth`: log in with email and password (a session cookie for the
//! web pages), log out, and who am I.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::extract::ApiJson;
use crate::auth::{self, Principal, Subject};
use crate::error::{AppError, ErrorBody};

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    pub email: String,
    pub password: String,
}

/// A started session. Send `csrf_token` in the `X-CSRF-Token` header of every
/// request that changes something while using the session cookie.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginOut {
    pub email: String,
    pub role: String,
    pub csrf_token: String,
    pub expires_at: String,
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    /// "user" or "api_key".
    pub kind: String,
    /// The user's email, or the CSM a key acts for.
    pub email: Option<String>,
    /// The key's name, for API keys.
    pub key_name: Option<String>,
    pub role: String,
    /// True when the caller sees every account.
    pub all_accounts: bool,
}

/// Log in: sets the session cookie.
#[utoipa::path(post, path = "/auth/login", tag = "auth",
    request_body = LoginIn,
    responses(
        (status = 200, body = LoginOut),
        (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    client: auth::Client,
    ApiJson(body): ApiJson<LoginIn>,
) -> Result<impl IntoResponse, AppError> {
    let s = auth::login_from(&state, &client.0, &body.email, &body.password).await?;
    Ok((
        AppendHeaders([(header::SET_COOKIE, s.set_cookie)]),
        Json(LoginOut {
            email: s.user.email,
            role: s.user.role.to_string(),
            csrf_token: s.csrf_token,
            expires_at: s.expires_at.to_string(),
        }),
    ))
}

/// Log out: ends the session and clears the cookie.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    _p: Principal,
    headers: HeaderMap,
) -> Result<impl IntoResponse, AppError> {
    let clear = auth::logout(&state, &headers).await?;
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, clear)]),
    ))
}

/// Who is calling, with which role.
#[utoipa::path(get, path = "/auth/me", tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = MeOut), (status = 401, body = ErrorBody)))]
pub async fn me(p: Principal) -> Json<MeOut> {
    let all_accounts = p.scope() == tenure_store::api::Scope::All;
    let (kind, key_name) = match &p.subject {
        Subject::User { .. } => ("user", None),
        Subject::ApiKey { name, .. } => ("api_key", Some(name.clone())),
    };
    Json(MeOut {
        kind: kind.to_string(),
        email: p.email,
        key_name,
        role: p.role.to_string(),
        all_accounts,
    })
}

/// This group's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
}
