//! What every page shares: the navigation bar, number and date formats and
//! the HTML error page.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use tenure_store::auth::Role;

use crate::auth::{Principal, Subject};
use crate::error::AppError;

/// The navigation bar and the caller, for the base template.
#[derive(Debug, Clone)]
pub struct Nav {
    /// Which link is the current page: overview, accounts, risk, metrics,
    /// segments, journey, cadence, plans, tasks, team, settings.
    pub active: &'static str,
    /// The user's email or the API key's name.
    pub who: String,
    pub role: &'static str,
    /// The session's CSRF token (empty for API keys, which cannot post forms).
    pub csrf: String,
    /// True for a CSM restricted to their own accounts.
    pub own_only: bool,
    pub can_write: bool,
    pub is_admin: bool,
}

impl Nav {
    pub fn new(p: &Principal, active: &'static str) -> Nav {
        let who = match &p.subject {
            Subject::User { .. } => p.email.clone().unwrap_or_default(),
            Subject::ApiKey { name, .. } => format!("API key {name}"),
        };
        Nav {
            active,
            who,
            role: p.role.as_str(),
            csrf: p.csrf_token.clone().unwrap_or_default(),
            own_only: p.role == Role::Csm && !p.all_accounts,
            can_write: p.role.can_write(),
            is_admin: p.role == Role::Admin,
        }
    }

    /// The label of the accounts link: "My accounts" for a CSM.
    pub fn accounts_label(&self) -> &'static str {
        if self.own_only {
            "My accounts"
        } else {
            "Accounts"
        }
    }

    /// `aria-current` for the link of the current page.
    pub fn current(&self, page: &str) -> &'static str {
        if self.active == page { "page" } else { "false" }
    }
}

/// An error shown as an HTML page with the error's status.
#[derive(Debug)]
pub struct WebError(pub AppError);

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    title: String,
    message: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.0.status;
        let message = self.0.message.clone();
        // The JSON rendering logs internal errors with their chain and sets
        // headers such as Retry-After; keep those and replace the body.
        let json = self.0.into_response();
        let title = status.canonical_reason().unwrap_or("Error").to_string();
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message,
        };
        let body = page
            .render()
            .unwrap_or_else(|_| "<!doctype html><title>Error</title>".to_string());
        let mut resp = (status, Html(body)).into_response();
        for name in [header::RETRY_AFTER] {
            if let Some(v) = json.headers().get(&name) {
                resp.headers_mut().insert(name, v.clone());
            }
        }
        resp
    }
}

/// Renders a template as an HTML response; a rendering failure is an internal error.
pub fn render<T: Template>(t: &T) -> Result<Response, WebError> {
    render_status(t, StatusCode::OK)
}

/// Like [`render`], with a status (422 for a form with errors).
pub fn render_status<T: Template>(t: &T, status: StatusCode) -> Result<Response, WebError> {
    let body = t.render().map_err(|e| WebError(AppError::internal(e)))?;
    let mut resp = (status, Html(body)).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, private"),
    );
    Ok(resp)
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Money in whole currency units with thousands separators: `$12,345` or
/// `12,345 EUR`; large amounts shortened (`$1.2M`) when `short`.
pub fn money(units: f64, currency: &str, short: bool) -> String {
    let sign = if units < 0.0 { "-" } else { "" };
    let a = units.abs();
    let body = if short && a >= 1_000_000.0 {
        format!("{:.1}M", a / 1_000_000.0)
    } else if short && a >= 10_000.0 {
        format!("{:.0}k", a / 1_000.0)
    } else {
        thousands(a.round() as i64)
    };
    match currency {
        "USD" => format!("{sign}${body}"),
        "EUR" => format!("{sign}€{body}"),
        "GBP" => format!("{sign}£{body}"),
        c => format!("{sign}{body} {c}"),
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A fraction as a percentage with one decimal, or an en dash.
pub fn pct(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{:.1}%", v * 100.0),
        _ => "–".to_string(),
    }
}

/// A number with `digits` decimals, or an en dash.
pub fn num(x: Option<f64>, digits: usize) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "–".to_string(),
    }
}

/// A signed change with one decimal (`+3.5`, `-12.0`), or empty.
pub fn delta(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() && v.abs() >= 0.05 => format!("{v:+.1}"),
        Some(v) if v.is_finite() => "0.0".to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_formatted_for_people() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(-1000), "-1,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(money(12345.4, "USD", false), "$12,345");
        assert_eq!(money(1_250_000.0, "USD", true), "$1.2M");
        assert_eq!(money(-50.0, "SEK", false), "-50 SEK");
        assert_eq!(pct(Some(0.9312)), "93.1%");
        assert_eq!(pct(None), "–");
        assert_eq!(delta(Some(-12.04)), "-12.0");
        assert_eq!(urlencode("/accounts?q=a b"), "%2Faccounts%3Fq%3Da%20b");
    }
}
