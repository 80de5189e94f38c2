//! What the Engage pages (`/segments`, `/journey`, `/cadence`) share: the
//! period form (`?from=&as_of=&csm=`, read by the API's
//! [`query`], so a CSM always gets their own
//! accounts), its checks (a bad date answers 400 with the form and the
//! message), the report of the caller's query from the [`cache`], and the
//! formats of compliance and of the overdue list, which a CSM's landing
//! page shows too.
//!
//! [`cache`]: super::cache

use std::sync::Arc;

use askama::Template;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use tenure_app::clock::today;
use tenure_app::engage::Overdue;
use tenure_app::engage::report::{Report, ReportQuery};
use tenure_core::engage::cadence::Compliance;
use tenure_core::model::add_days;
use tenure_store::api::Scope;

use super::layout::{Nav, money, pct, render_status, thousands, urlencode};
use super::{WebError, WebUser};
use crate::AppState;
use crate::api::engage::{EngageParams, query};
use crate::auth::Principal;

/// The period form of an Engage page, as typed or as shown.
#[derive(Debug, Clone, Default)]
pub struct PeriodForm {
    /// The page the form submits to.
    pub action: &'static str,
    pub from: String,
    pub as_of: String,
    /// The CSM filter (lower case), empty for everyone.
    pub csm: String,
    /// The CSMs a leader can pick; empty for a CSM, who sees their own.
    pub csms: Vec<String>,
    pub error: Option<String>,
    /// Which field the error is about: `from`, `as_of` or empty.
    pub bad: &'static str,
    /// `(label, href)`: the 30, 90 and 365 days ending on the day.
    pub presets: Vec<(&'static str, String)>,
}

impl PeriodForm {
    /// `from=...&as_of=...` (and `&csm=...`): the query of this period, for
    /// links that keep it.
    pub fn query(&self) -> String {
        let mut q = format!(
            "from={}&as_of={}",
            urlencode(&self.from),
            urlencode(&self.as_of)
        );
        if !self.csm.is_empty() {
            q.push_str(&format!("&csm={}", urlencode(&self.csm)));
        }
        q
    }
}

/// The 400 page: the Engage page's title and its form with the message.
#[derive(Template)]
#[template(path = "engage_error.html")]
pub struct EngageErrorPage {
    pub nav: Nav,
    pub title: &'static str,
    pub period: PeriodForm,
}

/// The checked query: the report asked for, or why not.
#[derive(Debug)]
pub enum Asked {
    Query(ReportQuery),
    /// The message, and the field it is about (`from`, `as_of` or empty).
    Bad(String, &'static str),
}

/// Checks the page's query for the caller (`scope`) on `today`: the API's
/// reading of the dates and the CSM, dates between 1970 and ten years
/// ahead, and a period that does not end before it starts.
pub fn check(params: &EngageParams, scope: &Scope, today: Date) -> Asked {
    let q = match query(params, scope, today) {
        Ok(q) => q,
        Err(e) => {
            let (field, label, rest) = if let Some(rest) = e.strip_prefix("as_of: ") {
                ("as_of", "As of", rest)
            } else if let Some(rest) = e.strip_prefix("from: ") {
                ("from", "From", rest)
            } else {
                ("", "The query", e.as_str())
            };
            return Asked::Bad(format!("{label}: {rest}."), field);
        }
    };
    Asked::Query(q)
}

/// The report of the page's query for the caller, and the form showing it;
/// or the response to send instead (the 400 page for a bad query, an
/// error page).
pub async fn load(
    state: &AppState,
    user: &WebUser,
    q: Result<Query<EngageParams>, QueryRejection>,
    action: &'static str,
    title: &'static str,
) -> Result<(Arc<Report>, PeriodForm, Nav), Response> {
    let p = &user.0;
    let nav = Nav::new(p, active(action));
    let csms = match csm_options(state, p).await {
        Ok(c) => c,
        Err(e) => return Err(e.into_response()),
    };
    let (params, asked) = match q {
        Ok(Query(params)) => {
            let asked = check(&params, &p.scope(), today());
            (params, asked)
        }
        Err(e) => (
            EngageParams::default(),
            Asked::Bad(
                format!("The query could not be read ({}).", e.body_text()),
                "",
            ),
        ),
    };
    let q = match asked {
        Asked::Query(q) => q,
        Asked::Bad(message, field) => {
            let typed = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_string();
            let period = PeriodForm {
                action,
                from: typed(&params.from),
                as_of: typed(&params.as_of),
                csm: if nav.own_only {
                    String::new()
                } else {
                    typed(&params.csm).to_ascii_lowercase()
                },
                csms,
                error: Some(message),
                bad: field,
                presets: Vec::new(),
            };
            let page = EngageErrorPage { nav, title, period };
            return Err(match render_status(&page, StatusCode::BAD_REQUEST) {
                Ok(r) => r,
                Err(e) => e.into_response(),
            });
        }
    };
    let report = match state.web.cache.report(state, &q).await {
        Ok(r) => r,
        Err(e) => return Err(WebError::from(e).into_response()),
    };
    let period = PeriodForm {
        action,
        from: report.from.to_string(),
        as_of: report.day.to_string(),
        csm: if nav.own_only {
            String::new()
        } else {
            q.csm.clone().unwrap_or_default().to_ascii_lowercase()
        },
        csms,
        error: None,
        bad: "",
        presets: presets(action, report.day, &q),
    };
    Ok((report, period, nav))
}

/// The nav link of a page's path.
fn active(action: &'static str) -> &'static str {
    action.trim_start_matches('/')
}

/// The CSMs of every account, for a caller who sees them all.
async fn csm_options(state: &AppState, p: &Principal) -> Result<Vec<String>, WebError> {
    match p.scope() {
        Scope::Csm(_) => Ok(Vec::new()),
        scope @ Scope::All => Ok(state.web.cache.view(state, &scope).await?.csms.clone()),
    }
}

/// Links to the 30, 90 and 365 days ending on `day`, with the same CSM.
fn presets(action: &str, day: Date, q: &ReportQuery) -> Vec<(&'static str, String)> {
    let csm = q
        .csm
        .as_deref()
        .map(|c| format!("&csm={}", urlencode(c)))
        .unwrap_or_default();
    [
        ("Last 30 days", 30),
        ("Last 90 days", 90),
        ("Last 365 days", 365),
    ]
    .into_iter()
    .map(|(label, days)| {
        (
            label,
            format!("{action}?from={}&as_of={day}{csm}", add_days(day, 1 - days)),
        )
    })
    .collect()
}

/// The reporting currency's code.
pub fn currency(state: &AppState) -> &str {
    state.web.config.currency.reporting.as_str()
}

/// Compliance as a percentage with a bar.
#[derive(Debug, Clone)]
pub struct Share {
    /// `93.1%` or an en dash when nothing was required.
    pub pct: String,
    /// The bar's width in percent.
    pub width: String,
    /// `good` (90% or more), `fair` (70% or more), `poor`, or `none`.
    pub class: &'static str,
    /// `33 of 184 days on time`.
    pub detail: String,
}

impl Share {
    /// The bar and the percentage, with the detail as a tooltip (numbers
    /// only, nothing to escape).
    pub fn html(&self) -> String {
        format!(
            r#"<span class="share {}" title="{}"><span class="sharebar" aria-hidden="true"><span style="width: {}%"></span></span> <span class="share-pct">{}</span></span>"#,
            self.class, self.detail, self.width, self.pct
        )
    }
}

pub fn share(c: Compliance) -> Share {
    let s = c.share();
    Share {
        pct: pct(s),
        width: format!("{:.1}", s.unwrap_or(0.0) * 100.0),
        class: match s {
            None => "none",
            Some(x) if x >= 0.9 => "good",
            Some(x) if x >= 0.7 => "fair",
            Some(_) => "poor",
        },
        detail: if c.days == 0 {
            "nothing required".into()
        } else {
            format!(
                "{} of {} days on time",
                thousands(i64::from(c.on_time_days)),
                thousands(i64::from(c.days))
            )
        },
    }
}

/// An overdue engagement, formatted.
#[derive(Debug, Clone)]
pub struct OverdueOut {
    pub href: String,
    pub name: String,
    pub id: String,
    pub csm: String,
    pub arr: String,
    pub kind: String,
    pub every: String,
    pub last_done: String,
    pub due: String,
    pub days: String,
}

pub fn overdue_out(o: &Overdue, currency: &str) -> OverdueOut {
    OverdueOut {
        href: format!("/accounts/{}", urlencode(&o.account_id)),
        name: o.account_name.clone(),
        id: o.account_id.clone(),
        csm: o.csm_email.clone().unwrap_or_default(),
        arr: money(o.arr, currency, false),
        kind: o.kind.replace('_', " "),
        every: format!("every {} days", o.every_days),
        last_done: o
            .last_done
            .map_or_else(|| "never".to_string(), |d| d.to_string()),
        due: o.due.to_string(),
        days: thousands(i64::from(o.overdue_days)),
    }
}

/// The top overdue engagements of a CSM's accounts today, for their
/// landing page.
#[derive(Debug, Clone, Default)]
pub struct MyOverdue {
    pub rows: Vec<OverdueOut>,
    /// All of them.
    pub total: String,
    pub compliance: Option<Share>,
    /// Why they could not be shown, when so.
    pub error: Option<String>,
}

/// Rows shown on the landing page.
pub const MY_OVERDUE_ROWS: usize = 5;

/// The caller's overdue engagements today (their own accounts: the
/// report's query is scoped like the pages'). A failure is shown in the
/// panel rather than failing the landing page.
pub async fn my_overdue(state: &AppState, p: &Principal) -> MyOverdue {
    let q = match check(&EngageParams::default(), &p.scope(), today()) {
        Asked::Query(q) => q,
        Asked::Bad(m, _) => {
            return MyOverdue {
                error: Some(m),
                ..MyOverdue::default()
            };
        }
    };
    match state.web.cache.report(state, &q).await {
        Ok(r) => MyOverdue {
            rows: r
                .overdue
                .iter()
                .take(MY_OVERDUE_ROWS)
                .map(|o| overdue_out(o, currency(state)))
                .collect(),
            total: thousands(r.overdue.len() as i64),
            compliance: Some(share(r.compliance)),
            error: None,
        },
        Err(e) => {
            tracing::warn!(error = %e.message, "the overdue engagements could not be computed");
            MyOverdue {
                error: Some("The overdue engagements could not be computed just now.".into()),
                ..MyOverdue::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(from: &str, as_of: &str, csm: &str) -> EngageParams {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        EngageParams {
            from: opt(from),
            as_of: opt(as_of),
            csm: opt(csm),
        }
    }

    fn bad(a: Asked) -> (String, &'static str) {
        match a {
            Asked::Bad(m, f) => (m, f),
            Asked::Query(q) => panic!("accepted: {q:?}"),
        }
    }

    #[test]
    fn dates_are_checked_and_a_csm_gets_their_own_accounts() {
        let today: Date = "2026-03-10".parse().unwrap();
        let all = Scope::All;
        let (m, f) = bad(check(&params("", "2026-13-01", ""), &all, today));
        assert_eq!(f, "as_of");
        assert_eq!(m, "As of: expected a date YYYY-MM-DD, got \"2026-13-01\".");
        let (m, f) = bad(check(&params("2026-03-01", "2026-02-01", ""), &all, today));
        assert_eq!(f, "from");
        assert!(
            m.starts_with("From: the period starts on 2026-03-01 after"),
            "{m}"
        );
        let (m, f) = bad(check(&params("1900-01-01", "", ""), &all, today));
        assert_eq!(f, "from");
        let latest = add_days(today, crate::api::engage::FUTURE_DAYS);
        assert!(
            m.contains(&format!("between 1970-01-01 and {latest}")),
            "{m}"
        );
        assert!(matches!(
            bad(check(&params("", "9999-12-31", ""), &all, today)).1,
            "as_of"
        ));

        let Asked::Query(q) = check(&params("", "", " Ann@X.com "), &all, today) else {
            panic!()
        };
        assert_eq!((q.from.to_string(), q.day), ("2025-12-11".into(), today));
        assert_eq!(q.csm.as_deref(), Some("Ann@X.com"));
        let own = Scope::Csm("bob@x.com".into());
        let Asked::Query(q) = check(&params("", "", "ann@x.com"), &own, today) else {
            panic!()
        };
        assert_eq!(q.csm.as_deref(), Some("bob@x.com"));
    }

    #[test]
    fn compliance_is_a_share_with_a_class() {
        let c = |on, days| {
            share(Compliance {
                on_time_days: on,
                days,
            })
        };
        assert_eq!((c(33, 184).pct, c(33, 184).class), ("17.9%".into(), "poor"));
        assert_eq!(c(33, 184).detail, "33 of 184 days on time");
        assert_eq!(c(9, 10).class, "good");
        assert_eq!((c(0, 0).pct, c(0, 0).class), ("–".into(), "none"));
    }
}
