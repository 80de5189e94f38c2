//! `/accounts`: the accounts table with search, filters (health band, plan,
//! CSM, segment, journey stage, renewal window), sorting on every column,
//! pages of 50, and
//! `/accounts.csv`, the current view (every page) as CSV. A CSM lands here
//! after logging in, and sees their most overdue engagements above the
//! table (from the Engage report, [`super::engage::my_overdue`]).
//!
//! An account's segment (with its touch tier) and stage are its open
//! Engage runs, loaded with the rest of the cached portfolio.
//!
//! Rows come from the cached [`View`]: filtering and sorting 10,000 rows in
//! memory takes well under a millisecond. Unknown or malformed query values
//! are ignored rather than rejected, so no URL a person edits gives an error.

use std::cmp::Ordering;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use serde::Deserialize;

use tenure_core::model::{add_days, day_number};

use super::cache::{Placement, Row, View};
use super::engage::{MyOverdue, my_overdue};
use super::layout::{Nav, delta, money, num, render, thousands, urlencode};
use super::{WebError, WebUser};
use crate::AppState;

pub const PER_PAGE: usize = 50;

/// The query string of the accounts page; every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AccountsQuery {
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub band: Option<String>,
    #[serde(default)]
    pub plan: Option<String>,
    #[serde(default)]
    pub csm: Option<String>,
    /// A segment's name, or [`NONE`].
    #[serde(default)]
    pub segment: Option<String>,
    /// A journey stage's name, or [`NONE`].
    #[serde(default)]
    pub stage: Option<String>,
    /// Renews within this many days.
    #[serde(default)]
    pub renewal: Option<String>,
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default)]
    pub dir: Option<String>,
    #[serde(default)]
    pub page: Option<String>,
}

/// The segment or stage filter's value for accounts in none.
pub const NONE: &str = "-";

/// What the table shows for a missing segment or stage.
pub const MISSING: &str = "–";

/// The sortable columns.
pub const COLUMNS: [(&str, &str); 9] = [
    ("name", "Account"),
    ("plan", "Plan"),
    ("csm", "CSM"),
    ("segment", "Segment"),
    ("stage", "Stage"),
    ("arr", "ARR"),
    ("health", "Health"),
    ("delta", "30-day change"),
    ("renewal", "Renewal"),
];

/// The filters and sort, checked.
#[derive(Debug, Clone)]
pub struct Filter {
    pub q: String,
    pub band: String,
    pub plan: String,
    pub csm: String,
    /// A segment's name, [`NONE`], or empty for any.
    pub segment: String,
    /// A stage's name, [`NONE`], or empty for any.
    pub stage: String,
    pub renewal: Option<i32>,
    pub sort: &'static str,
    pub desc: bool,
    pub page: usize,
}

impl Filter {
    pub fn from_query(q: &AccountsQuery) -> Filter {
        let clean = |s: &Option<String>| s.as_deref().unwrap_or("").trim().to_string();
        let sort = q
            .sort
            .as_deref()
            .and_then(|s| COLUMNS.iter().find(|(k, _)| *k == s).map(|(k, _)| *k))
            .unwrap_or("arr");
        let desc = match q.dir.as_deref() {
            Some("asc") => false,
            Some("desc") => true,
            _ => matches!(sort, "arr" | "delta"),
        };
        let band = clean(&q.band);
        Filter {
            q: clean(&q.q).chars().take(200).collect(),
            band: if ["red", "yellow", "green", "none"].contains(&band.as_str()) {
                band
            } else {
                String::new()
            },
            plan: clean(&q.plan),
            csm: clean(&q.csm).to_ascii_lowercase(),
            segment: clean(&q.segment).chars().take(200).collect(),
            stage: clean(&q.stage).chars().take(200).collect(),
            renewal: q
                .renewal
                .as_deref()
                .and_then(|s| s.trim().parse::<i32>().ok())
                .filter(|d| (1..=3660).contains(d)),
            sort,
            desc,
            page: q
                .page
                .as_deref()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .unwrap_or(1)
                .clamp(1, 1_000_000),
        }
    }

    /// The query string of this view, with another sort, direction or page.
    pub fn href(&self, sort: &str, desc: bool, page: usize) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("q", &self.q),
            ("band", &self.band),
            ("plan", &self.plan),
            ("csm", &self.csm),
            ("segment", &self.segment),
            ("stage", &self.stage),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", urlencode(v)));
            }
        }
        if let Some(r) = self.renewal {
            parts.push(format!("renewal={r}"));
        }
        parts.push(format!("sort={sort}"));
        parts.push(format!("dir={}", if desc { "desc" } else { "asc" }));
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        format!("?{}", parts.join("&"))
    }

    fn keeps(&self, v: &View, r: &Row, today: Date) -> bool {
        let a = &v.accounts[r.index];
        if !self.q.is_empty() {
            let q = self.q.to_lowercase();
            if !a.name.to_lowercase().contains(&q) && !a.id.to_lowercase().contains(&q) {
                return false;
            }
        }
        if !self.band.is_empty() && r.health.band.map_or("none", |b| b.as_str()) != self.band {
            return false;
        }
        if !self.plan.is_empty() && a.plan.as_deref() != Some(self.plan.as_str()) {
            return false;
        }
        if !self.csm.is_empty()
            && a.csm_email
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
                != Some(self.csm.as_str())
        {
            return false;
        }
        if !in_filter(r.segment.as_ref(), &self.segment)
            || !in_filter(r.stage.as_ref(), &self.stage)
        {
            return false;
        }
        if let Some(days) = self.renewal {
            let until = add_days(today, days);
            if r.renewal.is_none_or(|d| d > until) {
                return false;
            }
        }
        true
    }

    /// The rows of the view, filtered and sorted (missing values last).
    pub fn apply<'a>(&self, v: &'a View) -> Vec<&'a Row> {
        let mut rows: Vec<&Row> = v
            .rows
            .iter()
            .filter(|r| self.keeps(v, r, v.today))
            .collect();
        let name = |r: &Row| &v.accounts[r.index].name;
        let opt_f = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(x), Some(y)) => Some(x.partial_cmp(&y).unwrap_or(Ordering::Equal)),
            _ => None,
        };
        rows.sort_by(|a, b| {
            let (x, y) = (&v.accounts[a.index], &v.accounts[b.index]);
            // `None` means one side is missing: those go last whatever the direction.
            let ord: Option<Ordering> = match self.sort {
                "name" => Some(x.name.to_lowercase().cmp(&y.name.to_lowercase())),
                "plan" => match (&x.plan, &y.plan) {
                    (Some(p), Some(q)) => Some(p.cmp(q)),
                    _ => None,
                },
                "csm" => match (&x.csm_email, &y.csm_email) {
                    (Some(p), Some(q)) => Some(p.cmp(q)),
                    _ => None,
                },
                "segment" => placement_cmp(a.segment.as_ref(), b.segment.as_ref()),
                "stage" => placement_cmp(a.stage.as_ref(), b.stage.as_ref()),
                "health" => opt_f(a.health.score, b.health.score),
                "delta" => opt_f(a.health.delta30, b.health.delta30),
                "renewal" => match (a.renewal, b.renewal) {
                    (Some(p), Some(q)) => Some(p.cmp(&q)),
                    _ => None,
                },
                _ => Some(a.mrr_minor.cmp(&b.mrr_minor)),
            };
            let missing = |r: &Row, acc: &tenure_core::model::Account| match self.sort {
                "plan" => acc.plan.is_none(),
                "csm" => acc.csm_email.is_none(),
                "segment" => r.segment.is_none(),
                "stage" => r.stage.is_none(),
                "health" => r.health.score.is_none(),
                "delta" => r.health.delta30.is_none(),
                "renewal" => r.renewal.is_none(),
                _ => false,
            };
            let ord = match ord {
                Some(o) => {
                    if self.desc {
                        o.reverse()
                    } else {
                        o
                    }
                }
                None => missing(a, x).cmp(&missing(b, y)),
            };
            ord.then_with(|| name(a).cmp(name(b)))
                .then_with(|| x.id.cmp(&y.id))
        });
        rows
    }
}

/// Whether a segment or stage filter (`want`: a name, [`NONE`] or empty
/// for any) keeps an account placed in `p`.
fn in_filter(p: Option<&Placement>, want: &str) -> bool {
    match (want, p) {
        ("", _) => true,
        (NONE, None) => true,
        (_, None) => false,
        (w, Some(p)) => p.name == w,
    }
}

/// Segments and stages sort in the view's order (the configuration's,
/// journey order for stages), then by name; `None` when one is missing.
fn placement_cmp(a: Option<&Placement>, b: Option<&Placement>) -> Option<Ordering> {
    match (a, b) {
        (Some(p), Some(q)) => Some(p.rank.cmp(&q.rank).then_with(|| p.name.cmp(&q.name))),
        _ => None,
    }
}

/// Days in a stage, in words: `today`, `1 day`, `12 days`.
fn days_in(since: Date, today: Date) -> String {
    match day_number(today) - day_number(since) {
        n if n <= 0 => "today".to_string(),
        1 => "1 day".to_string(),
        n => format!("{} days", thousands(i64::from(n))),
    }
}

/// A table row, formatted.
#[derive(Debug, Clone)]
pub struct RowOut {
    pub id: String,
    pub href: String,
    pub name: String,
    pub plan: String,
    pub csm: String,
    pub arr: String,
    pub score: String,
    pub band: &'static str,
    pub band_label: &'static str,
    pub delta: String,
    pub delta_class: &'static str,
    pub renewal: String,
    /// The segment's name, or [`MISSING`].
    pub segment: String,
    /// The segment's touch tier; empty without one.
    pub tier: String,
    /// The stage's name, or [`MISSING`].
    pub stage: String,
    /// How long in the stage (`12 days`); empty without a stage.
    pub stage_days: String,
    /// `In onboarding since 2025-07-16`; empty without a stage.
    pub stage_title: String,
}

pub fn row_out(v: &View, r: &Row) -> RowOut {
    let a = &v.accounts[r.index];
    let band = r.health.band.map_or("none", |b| b.as_str());
    let d = r.health.delta30;
    RowOut {
        id: a.id.clone(),
        href: format!("/accounts/{}", urlencode(&a.id)),
        name: a.name.clone(),
        plan: a.plan.clone().unwrap_or_default(),
        csm: a.csm_email.clone().unwrap_or_default(),
        arr: money(v.units(r.mrr_minor * 12), v.currency(), false),
        score: num(r.health.score, 0),
        band,
        band_label: band_label(band),
        delta: delta(d),
        delta_class: match d {
            Some(x) if x <= -5.0 => "down",
            Some(x) if x >= 5.0 => "up",
            _ => "",
        },
        renewal: r.renewal.map(|d| d.to_string()).unwrap_or_default(),
        segment: r
            .segment
            .as_ref()
            .map_or_else(|| MISSING.to_string(), |s| s.name.clone()),
        tier: r
            .segment
            .as_ref()
            .and_then(|s| s.tier.clone())
            .unwrap_or_default(),
        stage: r
            .stage
            .as_ref()
            .map_or_else(|| MISSING.to_string(), |s| s.name.clone()),
        stage_days: r
            .stage
            .as_ref()
            .map(|s| days_in(s.since, v.today))
            .unwrap_or_default(),
        stage_title: r
            .stage
            .as_ref()
            .map(|s| format!("In {} since {}", s.name, s.since))
            .unwrap_or_default(),
    }
}

pub fn band_label(band: &str) -> &'static str {
    match band {
        "red" => "Red",
        "yellow" => "Yellow",
        "green" => "Green",
        _ => "Not scored",
    }
}

/// A column header: its link and sort state.
#[derive(Debug, Clone)]
pub struct Header {
    pub key: &'static str,
    pub label: &'static str,
    pub href: String,
    /// `aria-sort`: ascending, descending or none.
    pub aria: &'static str,
    pub numeric: bool,
}

#[derive(Template)]
#[template(path = "accounts.html")]
pub struct AccountsPage {
    pub nav: Nav,
    pub f: Filter,
    pub headers: Vec<Header>,
    pub rows: Vec<RowOut>,
    pub total: String,
    pub total_arr: String,
    pub page: usize,
    pub pages: usize,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub csv_href: String,
    pub plans: Vec<String>,
    pub csms: Vec<String>,
    pub segments: Vec<String>,
    pub stages: Vec<String>,
    /// The value of the segment and stage filters' "None" option.
    pub none: &'static str,
    pub renewal_options: Vec<(String, &'static str)>,
    pub renewal_value: String,
    /// A CSM's overdue engagements (their landing page); `None` for others.
    pub overdue: Option<MyOverdue>,
    /// A CSM's open and overdue tasks (their landing page).
    pub my_tasks: Option<(usize, usize)>,
}

pub async fn page(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    q: Result<Query<AccountsQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let view = state.web.cache.view(&state, &p.scope()).await?;
    let nav = Nav::new(&p, "accounts");
    let mut page = build(&view, nav, &Filter::from_query(&q));
    if page.nav.own_only {
        page.overdue = Some(my_overdue(&state, &p).await);
        let open = state
            .store
            .tasks(&tenure_store::target::TaskQuery {
                scope: p.scope(),
                owner: p.email.clone(),
                account_id: None,
                status: Some(tenure_core::target::tasks::TaskStatus::Open),
            })
            .await?;
        let today = tenure_app::clock::today();
        let overdue = open
            .iter()
            .filter(|t| t.due_on.is_some_and(|d| d < today))
            .count();
        page.my_tasks = Some((open.len(), overdue));
    }
    render(&page)
}

pub fn build(v: &View, nav: Nav, f: &Filter) -> AccountsPage {
    let rows = f.apply(v);
    let pages = rows.len().div_ceil(PER_PAGE).max(1);
    let page = f.page.min(pages);
    let total_arr: i64 = rows.iter().map(|r| r.mrr_minor * 12).sum();
    let headers = COLUMNS
        .iter()
        .map(|(key, label)| {
            let active = f.sort == *key;
            let desc = if active {
                !f.desc
            } else {
                matches!(*key, "arr" | "delta")
            };
            Header {
                key,
                label,
                href: f.href(key, desc, 1),
                aria: match (active, f.desc) {
                    (false, _) => "none",
                    (true, true) => "descending",
                    (true, false) => "ascending",
                },
                numeric: matches!(*key, "arr" | "health" | "delta"),
            }
        })
        .collect();
    let out = rows
        .iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|r| row_out(v, r))
        .collect();
    let csv_href = format!("/accounts.csv{}", f.href(f.sort, f.desc, 1));
    AccountsPage {
        nav,
        headers,
        rows: out,
        total: thousands(rows.len() as i64),
        total_arr: money(v.units(total_arr), v.currency(), true),
        page,
        pages,
        prev: (page > 1).then(|| f.href(f.sort, f.desc, page - 1)),
        next: (page < pages).then(|| f.href(f.sort, f.desc, page + 1)),
        csv_href,
        plans: v.plans.clone(),
        csms: v.csms.clone(),
        segments: v.segments.clone(),
        stages: v.stages.clone(),
        none: NONE,
        renewal_options: [30, 60, 90, 180, 365]
            .iter()
            .map(|d| {
                (
                    d.to_string(),
                    match d {
                        30 => "next 30 days",
                        60 => "next 60 days",
                        90 => "next 90 days",
                        180 => "next 180 days",
                        _ => "next 365 days",
                    },
                )
            })
            .collect(),
        renewal_value: f.renewal.map(|r| r.to_string()).unwrap_or_default(),
        f: f.clone(),
        overdue: None,
        my_tasks: None,
    }
}

fn csv_field(s: &str) -> String {
    // Cells starting with a formula character are prefixed so spreadsheets show them as text.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The current view, every page, as CSV.
pub async fn csv(
    State(state): State<AppState>,
    WebUser(p): WebUser,
    q: Result<Query<AccountsQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let v = state.web.cache.view(&state, &p.scope()).await?;
    let f = Filter::from_query(&q);
    let mut out = String::from(
        "id,name,plan,csm_email,arr,currency,health_score,health_band,health_change_30d,renewal_date,segment,touch_tier,stage,stage_since\n",
    );
    for r in f.apply(&v) {
        let a = &v.accounts[r.index];
        let fields = [
            a.id.clone(),
            a.name.clone(),
            a.plan.clone().unwrap_or_default(),
            a.csm_email.clone().unwrap_or_default(),
            format!("{:.2}", v.units(r.mrr_minor * 12)),
            v.currency().to_string(),
            r.health
                .score
                .map(|s| format!("{s:.1}"))
                .unwrap_or_default(),
            r.health
                .band
                .map(|b| b.as_str().to_string())
                .unwrap_or_default(),
            r.health
                .delta30
                .map(|s| format!("{s:.1}"))
                .unwrap_or_default(),
            r.renewal.map(|d| d.to_string()).unwrap_or_default(),
            r.segment
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            r.segment
                .as_ref()
                .and_then(|s| s.tier.clone())
                .unwrap_or_default(),
            r.stage.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
            r.stage
                .as_ref()
                .map(|s| s.since.to_string())
                .unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|s| csv_field(s)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"accounts.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("plain"), "plain");
    }

    #[test]
    fn bad_query_values_fall_back_to_defaults() {
        let f = Filter::from_query(&AccountsQuery {
            band: Some("purple".into()),
            sort: Some("drop table".into()),
            renewal: Some("-4".into()),
            page: Some("x".into()),
            ..AccountsQuery::default()
        });
        assert_eq!(f.band, "");
        assert_eq!(f.sort, "arr");
        assert!(f.desc);
        assert_eq!(f.renewal, None);
        assert_eq!(f.page, 1);
        assert_eq!(f.href("name", false, 2), "?sort=name&dir=asc&page=2");
    }

    #[test]
    fn segment_and_stage_filters_match_a_name_or_none() {
        let at = |name: &str| Placement {
            name: name.into(),
            tier: None,
            since: "2025-07-16".parse().unwrap(),
            rank: 0,
        };
        let big = at("Big");
        assert!(in_filter(Some(&big), ""));
        assert!(in_filter(None, ""));
        assert!(in_filter(Some(&big), "Big"));
        assert!(!in_filter(Some(&big), "big"));
        assert!(!in_filter(None, "Big"));
        assert!(in_filter(None, NONE));
        assert!(!in_filter(Some(&big), NONE));
        let f = Filter::from_query(&AccountsQuery {
            segment: Some(" Big ".into()),
            stage: Some(NONE.into()),
            ..AccountsQuery::default()
        });
        assert_eq!(
            f.href("stage", true, 1),
            "?segment=Big&stage=-&sort=stage&dir=desc"
        );
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert_eq!(days_in(d("2025-07-16"), d("2025-07-16")), "today");
        assert_eq!(days_in(d("2025-07-16"), d("2025-07-17")), "1 day");
        assert_eq!(days_in(d("2022-07-16"), d("2025-07-16")), "1,096 days");
    }
}
