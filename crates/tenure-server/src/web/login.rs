//! `/login` and `/logout`: the password form and the end of a session.
//!
//! After logging in, a CSM lands on their accounts and everyone else on the
//! overview, unless the login page was reached from another page (`next`).

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tenure_store::auth::Role;

use super::WebError;
use super::layout::{render, render_status};
use crate::AppState;
use crate::auth::{self, CsrfForm};

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub next: String,
    pub email: String,
    pub message: Option<String>,
    pub error: Option<String>,
    pub email_error: Option<String>,
    pub password_error: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    out: Option<String>,
}

/// Only a local path may be a redirect target (no `//host` or scheme).
fn safe_next(next: Option<&str>) -> Option<String> {
    let n = next?.trim();
    (n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.len() < 2000)
        .then(|| n.to_string())
}

pub async fn form(q: Result<Query<LoginQuery>, QueryRejection>) -> Result<Response, WebError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    render(&LoginPage {
        next: safe_next(q.next.as_deref()).unwrap_or_default(),
        email: String::new(),
        message: q.out.map(|_| "You are logged out.".to_string()),
        error: None,
        email_error: None,
        password_error: None,
    })
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn submit(
    State(state): State<AppState>,
    client: auth::Client,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Ok(Form(f)) = form else {
        return Ok(Redirect::to("/login").into_response());
    };
    let mut page = LoginPage {
        next: safe_next(Some(&f.next)).unwrap_or_default(),
        email: f.email.trim().to_string(),
        message: None,
        error: None,
        email_error: None,
        password_error: None,
    };
    if page.email.is_empty()
        || !page.email.contains('@')
        || page.email.len() > 320
        || page.email.chars().any(char::is_control)
    {
        page.email_error = Some("Enter the email address you sign in with.".into());
    }
    // Safe to show again: control characters are dropped.
    page.email.retain(|c| !c.is_control());
    if f.password.is_empty() {
        page.password_error = Some("Enter your password.".into());
    } else if f.password.len() > 1024 {
        page.password_error = Some("That password is too long.".into());
    }
    if page.email_error.is_some() || page.password_error.is_some() {
        return render_status(&page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    match auth::login_from(&state, &client.0, &page.email, &f.password).await {
        Ok(session) => {
            let target = safe_next(Some(&f.next)).unwrap_or_else(|| {
                if session.user.role == Role::Csm {
                    "/accounts".to_string()
                } else {
                    "/".to_string()
                }
            });
            let mut resp = Redirect::to(&target).into_response();
            resp.headers_mut()
                .insert(header::SET_COOKIE, session.set_cookie);
            Ok(resp)
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            page.error = Some("Wrong email or password.".into());
            render_status(&page, StatusCode::UNAUTHORIZED)
        }
        Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => {
            let minutes = e.retry_after.unwrap_or(60).div_ceil(60);
            page.error = Some(if e.message.contains("locked") {
                format!(
                    "Too many failed logins for this email: it is locked for {minutes} more minute(s)."
                )
            } else {
                format!("Too many attempts: wait {minutes} minute(s) before trying again.")
            });
            render_status(&page, StatusCode::TOO_MANY_REQUESTS)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    _form: CsrfForm<Empty>,
) -> Result<Response, WebError> {
    let cookie = auth::logout(&state, &headers).await?;
    let mut resp = Redirect::to("/login?out=1").into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(
            safe_next(Some("/accounts?q=a")).as_deref(),
            Some("/accounts?q=a")
        );
        assert_eq!(safe_next(Some("//evil.example")), None);
        assert_eq!(safe_next(Some("https://evil.example")), None);
        assert_eq!(safe_next(Some("/\\evil")), None);
        assert_eq!(safe_next(None), None);
    }
}
