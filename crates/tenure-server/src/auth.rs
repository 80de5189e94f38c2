//! Who is calling: API keys, passwords, web sessions, roles and CSRF.
//!
//! - **API keys** are 32 random bytes from the operating system, shown once as
//!   `tnr_<base64url>`. Only their SHA-256 is stored, plus a short prefix for
//!   listings. A fast hash is enough here, unlike for passwords: a key has 256
//!   bits of entropy, so no dictionary or brute-force attack on a stolen hash
//!   can succeed, and a fast hash lets every request find its key by an
//!   indexed lookup.
//! - **Passwords** are hashed with argon2 (default parameters, random salt).
//! - **Sessions** (for the web pages): [`login`] checks a password and stores a
//!   new session; the browser gets a random token in an `HttpOnly`,
//!   `SameSite=Lax` cookie (only its hash is stored) and the page gets the
//!   session's CSRF token (synchronizer-token pattern). A cookie-authenticated
//!   request that changes something must carry that token: in the
//!   `X-CSRF-Token` header for the JSON API, or in a `csrf_token` form field
//!   through the [`CsrfForm`] extractor for web forms.
//! - [`Principal`] is the extractor every protected handler takes: it accepts
//!   `Authorization: Bearer KEY` or the session cookie, applies the per-caller
//!   rate limit and yields the caller's role and account scope.

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use rand::RngExt;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tenure_store::api::Scope;
use tenure_store::auth::{ApiKey, KeyKind, Role, User};

use crate::AppState;
use crate::error::AppError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tenure_session";
/// The header that carries the CSRF token of a cookie session.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// What every API key starts with, so that secret scanners can spot one.
pub const KEY_PREFIX: &str = "tnr_";

/// `n` random bytes from the operating system's generator, base64url.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill(&mut bytes[..]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Hex SHA-256, the stored form of keys and session tokens.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A newly generated API key: the secret (shown once) and what is stored.
#[derive(Clone)]
pub struct GeneratedKey {
    pub secret: String,
    pub hash: String,
    pub prefix: String,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Generates an API key: `tnr_` and 32 random bytes in base64url.
pub fn generate_key() -> GeneratedKey {
    let secret = format!("{KEY_PREFIX}{}", random_token(32));
    GeneratedKey {
        hash: sha256_hex(&secret),
        prefix: secret.chars().take(KEY_PREFIX.len() + 8).collect(),
        secret,
    }
}

/// Hashes a password with argon2 and a random salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String, AppError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))
}

/// True when `password` matches the stored argon2 hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// The client's address (the connection's IP), for the per-address rate
/// limits of the login and the survey page; `local` when unknown (a
/// request made in a test without a socket).
pub struct Client(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Client(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or_else(|| "local".to_string(), |c| c.0.ip().to_string()),
        ))
    }
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A user logged in through a session cookie.
    User { id: String },
    /// An API key, by its id.
    ApiKey { id: String, name: String },
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub subject: Subject,
    pub role: Role,
    /// The user's email (for a CSM key: the CSM it acts for).
    pub email: Option<String>,
    /// A CSM allowed to see every account.
    pub all_accounts: bool,
    /// The session's CSRF token, for cookie sessions.
    pub csrf_token: Option<String>,
}

impl Principal {
    fn from_user(user: &User, csrf_token: Option<String>) -> Principal {
        Principal {
            subject: Subject::User {
                id: user.id.clone(),
            },
            role: user.role,
            email: Some(user.email.clone()),
            all_accounts: user.all_accounts,
            csrf_token,
        }
    }

    fn from_key(key: &ApiKey, role: Role) -> Principal {
        Principal {
            subject: Subject::ApiKey {
                id: key.id.clone(),
                name: key.name.clone(),
            },
            role,
            email: key.user_email.clone(),
            all_accounts: key.all_accounts,
            csrf_token: None,
        }
    }

    /// Who did it, for audit trails: the user's email, else the key.
    pub fn author(&self) -> String {
        match (&self.email, &self.subject) {
            (Some(e), _) => e.clone(),
            (None, Subject::ApiKey { name, .. }) => format!("API key {name}"),
            (None, Subject::User { id }) => format!("user {id}"),
        }
    }

    /// The accounts this caller may see.
    pub fn scope(&self) -> Scope {
        if self.role == Role::Csm && !self.all_accounts {
            Scope::Csm(self.email.clone().unwrap_or_default())
        } else {
            Scope::All
        }
    }

    /// Fails with 403 unless the caller has one of `roles`.
    pub fn require_role(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "the {} role may not do this",
                self.role
            )))
        }
    }

    /// Fails with 403 for read-only callers (viewers).
    pub fn require_write(&self) -> Result<(), AppError> {
        if self.role.can_write() {
            Ok(())
        } else {
            Err(AppError::forbidden("the viewer role is read-only"))
        }
    }

    fn limit_key(&self) -> String {
        match &self.subject {
            Subject::User { id } => format!("user:{id}"),
            Subject::ApiKey { id, .. } => format!("key:{id}"),
        }
    }
}

/// The bearer token of a request, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The value of a cookie, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Applies the caller's rate limit.
pub(crate) fn rate_limit(state: &AppState, key: &str) -> Result<(), AppError> {
    state
        .limiter
        .check(key)
        .map_err(|wait| AppError::rate_limited(wait.as_secs_f64().ceil() as u64))
}

/// Finds the live key with this secret.
pub async fn lookup_key(state: &AppState, secret: &str) -> Result<Option<ApiKey>, AppError> {
    if !secret.starts_with(KEY_PREFIX) || secret.len() > 200 {
        return Ok(None);
    }
    let key = state.store.api_key_by_hash(&sha256_hex(secret)).await?;
    if let Some(k) = &key {
        // Recording every use would make each read a write; once a minute is enough.
        let now = Timestamp::now();
        let stale = k
            .last_used_at
            .is_none_or(|t| now.duration_since(t).as_secs() >= 60);
        if stale {
            state.store.touch_api_key(&k.id, now).await?;
        }
    }
    Ok(key)
}

/// Authenticates a request's parts: bearer key first, then the session cookie.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<Principal, AppError> {
    if let Some(token) = bearer(&parts.headers) {
        let key = lookup_key(state, token)
            .await?
            .ok_or_else(|| AppError::unauthorized("the API key is not valid or was revoked"))?;
        let role = match (key.kind, key.role) {
            (KeyKind::Api, Some(role)) => role,
            _ => {
                return Err(AppError::forbidden(
                    "this is an ingest (write) key: it can only send events to /v1/*",
                ));
            }
        };
        let p = Principal::from_key(&key, role);
        rate_limit(state, &p.limit_key())?;
        return Ok(p);
    }
    if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
        let session = state
            .store
            .session(&sha256_hex(token), Timestamp::now())
            .await?
            .ok_or_else(|| AppError::unauthorized("the session has expired: log in again"))?;
        let p = Principal::from_user(&session.user, Some(session.csrf_token));
        rate_limit(state, &p.limit_key())?;
        return Ok(p);
    }
    Err(AppError::unauthorized(
        "missing credentials: send Authorization: Bearer <API key>",
    ))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Constant-time string comparison for tokens.
pub fn tokens_match(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The routes a viewer may open (docs/CRM.md, "Shared views"): the shared
/// views, the account card, and their own session. Everything else answers
/// 403 to a viewer's API call; a viewer's browser is sent to `/views`.
pub const VIEWER_ROUTES: &[&str] = &[
    "/views",
    "/views/sales",
    "/views/support",
    "/views/product",
    "/accounts/{id}/card",
    "/logout",
    "/api/v1/views/sales",
    "/api/v1/views/support",
    "/api/v1/views/product",
    "/api/v1/accounts/{id}/card",
    "/api/v1/auth/me",
    "/api/v1/auth/logout",
];

/// The message of the 403 a viewer gets outside [`VIEWER_ROUTES`].
pub const VIEWER_ONLY: &str = "the viewer role sees only the shared views (/views, /api/v1/views/sales, /support, /product) and account cards";

/// Whether the caller may open the route `parts` matched: every role but
/// the viewer may open any; a viewer only [`VIEWER_ROUTES`].
pub fn may_open(p: &Principal, parts: &Parts) -> bool {
    if p.role != Role::Viewer {
        return true;
    }
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| parts.uri.path(), |m| m.as_str());
    VIEWER_ROUTES.contains(&route)
}

impl Principal {
    /// The caller of a request, authenticated and its CSRF token checked
    /// (for a cookie session's unsafe methods), whatever the route.
    pub async fn resolve(parts: &Parts, state: &AppState) -> Result<Principal, AppError> {
        let p = authenticate(parts, state).await?;
        if let Some(expected) = &p.csrf_token
            && !is_safe(&parts.method)
        {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !tokens_match(sent, expected) {
                return Err(AppError::forbidden(
                    "missing or wrong CSRF token: send the session's token in the X-CSRF-Token header",
                ));
            }
        }
        Ok(p)
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = AppError;

    /// [`Principal::resolve`], then 403 for a viewer outside
    /// [`VIEWER_ROUTES`].
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let p = Principal::resolve(parts, state).await?;
        if !may_open(&p, parts) {
            return Err(AppError::forbidden(VIEWER_ONLY));
        }
        Ok(p)
    }
}

/// A web form posted by a logged-in user, checked against the session's
/// CSRF token (a `csrf_token` field in the form). Use it for every form that
/// changes something.
#[derive(Debug)]
pub struct CsrfForm<T> {
    pub principal: Principal,
    pub form: T,
}

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf_token: String,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let (mut parts, body) = req.into_parts();
        // Only a session may post forms: a bearer key has no CSRF token.
        let token = cookie(&parts.headers, SESSION_COOKIE)
            .ok_or_else(|| AppError::unauthorized("log in first"))?;
        let session = state
            .store
            .session(&sha256_hex(token), Timestamp::now())
            .await?
            .ok_or_else(|| AppError::unauthorized("the session has expired: log in again"))?;
        let principal = Principal::from_user(&session.user, Some(session.csrf_token.clone()));
        rate_limit(state, &principal.limit_key())?;
        let bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
            .await
            .map_err(|_| AppError::too_large("the form is too large"))?;
        let field: CsrfField = serde_urlencoded_field(&bytes)?;
        if !tokens_match(&field.csrf_token, &session.csrf_token) {
            return Err(AppError::forbidden(
                "the form's CSRF token is missing or out of date: reload the page",
            ));
        }
        let req = Request::from_parts(
            {
                parts.headers.remove(header::CONTENT_LENGTH);
                parts
            },
            axum::body::Body::from(bytes),
        );
        let Form(form) = Form::<T>::from_request(req, state)
            .await
            .map_err(|e| AppError::invalid(e.body_text()))?;
        Ok(CsrfForm { principal, form })
    }
}

fn serde_urlencoded_field(bytes: &[u8]) -> Result<CsrfField, AppError> {
    let mut token = String::new();
    for (k, v) in form_pairs(bytes) {
        if k == "csrf_token" {
            token = v;
        }
    }
    Ok(CsrfField { csrf_token: token })
}

/// Decodes `application/x-www-form-urlencoded` pairs.
fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    fn hex_val(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    fn decode(s: &str) -> String {
        let s = s.replace('+', " ");
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%'
                && i + 2 < b.len()
                && let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2]))
            {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(bytes)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// A new web session: the cookie to set and the CSRF token for the pages.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub user: User,
    /// The `Set-Cookie` header value.
    pub set_cookie: HeaderValue,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// An argon2 hash of a random password, verified against when the email is
/// unknown so that both cases take the same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Vj3ioHzQnNUD4h9D1rCCaL0S0ZyLkc3TF9EK2hDG6Nw";

/// Checks an email and password and starts a session. Failures are rate
/// limited per email and answered with one message whatever was wrong.
pub async fn login(state: &AppState, email: &str, password: &str) -> Result<NewSession, AppError> {
    login_from(state, "local", email, password).await
}

/// [`login`] from the client at `address`: attempts are limited per
/// address and per email, and an email is locked for 15 minutes after 10
/// failed attempts in a row (429 with `Retry-After`, the right password
/// included).
pub async fn login_from(
    state: &AppState,
    address: &str,
    email: &str,
    password: &str,
) -> Result<NewSession, AppError> {
    let email = email.trim().to_ascii_lowercase();
    let wait = |d: Duration| AppError::rate_limited(d.as_secs_f64().ceil() as u64);
    state.lockout.check(&email).map_err(|d| {
        let mut e = wait(d);
        e.message = "too many failed logins for this email: it is locked for 15 minutes".into();
        e
    })?;
    state.login_address_limiter.check(address).map_err(wait)?;
    state.login_limiter.check(&email).map_err(wait)?;
    let candidate = state.store.login_candidate(&email).await?;
    let (hash, user) = match candidate {
        Some((user, hash)) => (hash, Some(user)),
        None => (DUMMY_HASH.to_string(), None),
    };
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(AppError::internal)?;
    let user = match (ok, user) {
        (true, Some(user)) => user,
        _ => {
            if state.lockout.failed(&email) {
                tracing::warn!("an email was locked after repeated failed logins");
            }
            return Err(AppError::unauthorized("wrong email or password"));
        }
    };
    state.lockout.succeeded(&email);
    let token = random_token(32);
    let csrf_token = random_token(32);
    let now = Timestamp::now();
    let ttl = state.config.session_ttl;
    let expires_at = now
        .checked_add(jiff::SignedDuration::try_from(ttl).unwrap_or(jiff::SignedDuration::ZERO))
        .unwrap_or(now);
    state
        .store
        .create_session(&sha256_hex(&token), &user.id, &csrf_token, now, expires_at)
        .await?;
    Ok(NewSession {
        user,
        set_cookie: session_cookie(&token, ttl, state.config.secure_cookies)?,
        csrf_token,
        expires_at,
    })
}

fn session_cookie(token: &str, ttl: Duration, secure: bool) -> Result<HeaderValue, AppError> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        ttl.as_secs()
    ))
    .map_err(AppError::internal)
}

/// Ends the request's session (if any) and returns the `Set-Cookie` value that clears it.
pub async fn logout(state: &AppState, headers: &HeaderMap) -> Result<HeaderValue, AppError> {
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        state.store.delete_session(&sha256_hex(token)).await?;
    }
    Ok(HeaderValue::from_static(
        "tenure_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_random_and_hashed() {
        let a = generate_key();
        let b = generate_key();
        assert!(a.secret.starts_with("tnr_"));
        assert_eq!(a.secret.len(), 4 + 43);
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.hash, sha256_hex(&a.secret));
        assert!(a.secret.starts_with(&a.prefix));
        assert!(
            !format!("{a:?}").contains(&a.secret),
            "Debug must not show the secret"
        );
    }

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn form_pairs_are_decoded() {
        let p = form_pairs(b"a=1&csrf_token=x%2By+z&b");
        assert_eq!(p[1], ("csrf_token".to_string(), "x+y z".to_string()));
    }
}
