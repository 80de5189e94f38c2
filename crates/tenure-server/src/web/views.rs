//! `/views`: the shared read-only views (docs/CRM.md, "Shared views") for
//! the sales, support and product teams, and their hub. Every role may
//! open them, in its scope; a viewer sees nothing else but account cards,
//! so each account links to its card for a viewer and to its page for
//! the others. The data is `tenure_app::views`, as the API's
//! `/api/v1/views/...` serves it.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use tenure_app::clock::today;
use tenure_store::auth::Role;

use super::layout::{Nav, money, pct, render};
use super::{WebError, WebUser};
use crate::AppState;
use crate::api::views::{ViewAccount, product_out, sales_out, support_out};

/// An account's cells, as every view shows them.
pub struct AccountCells {
    pub href: String,
    pub name: String,
    pub csm: String,
    pub arr: String,
    pub score: String,
    /// red, yellow, green or none.
    pub band: String,
    pub risk: String,
}

fn cells(a: &ViewAccount, currency: &str, viewer: bool) -> AccountCells {
    let id = super::layout::urlencode(&a.account_id);
    AccountCells {
        href: if viewer {
            format!("/accounts/{id}/card")
        } else {
            format!("/accounts/{id}")
        },
        name: a.name.clone(),
        csm: a.csm.clone().unwrap_or_else(|| "–".into()),
        arr: money(a.arr, currency, false),
        score: a
            .health_score
            .map_or_else(|| "–".into(), |s| format!("{s:.0}")),
        band: a.health_band.clone().unwrap_or_else(|| "none".into()),
        risk: if a.at_risk {
            a.risk_reason.clone().unwrap_or_default()
        } else {
            String::new()
        },
    }
}

/// A row of the sales view.
pub struct SalesRow {
    pub account: AccountCells,
    pub renewal: String,
    pub days: i32,
}

/// A row of the support view.
pub struct SupportRow {
    pub account: AccountCells,
    pub open: i64,
    pub oldest: String,
}

/// A segment's row of the adoption table.
pub struct AdoptionRow {
    pub segment: String,
    pub accounts: usize,
    /// One cell per event name, as a percentage.
    pub shares: Vec<String>,
}

/// A request row of the product view.
pub struct RequestRow {
    pub title: String,
    pub status: String,
    pub accounts: usize,
    pub arr: String,
    pub arr_at_risk: String,
}

#[derive(Template)]
#[template(path = "views.html")]
struct ViewsPage {
    nav: Nav,
    /// hub, sales, support or product.
    view: &'static str,
    day: String,
    sales: Vec<SalesRow>,
    support: Vec<SupportRow>,
    events: Vec<String>,
    adoption: Vec<AdoptionRow>,
    requests: Vec<RequestRow>,
    window: String,
}

impl ViewsPage {
    fn new(u: &WebUser, view: &'static str) -> ViewsPage {
        ViewsPage {
            nav: Nav::new(&u.0, "views"),
            view,
            day: today().to_string(),
            sales: Vec::new(),
            support: Vec::new(),
            events: Vec::new(),
            adoption: Vec::new(),
            requests: Vec::new(),
            window: String::new(),
        }
    }
}

fn is_viewer(u: &WebUser) -> bool {
    u.0.role == Role::Viewer
}

/// `/views`: the three views, one line each.
pub async fn hub(u: WebUser) -> Result<Response, WebError> {
    render(&ViewsPage::new(&u, "hub"))
}

/// `/views/sales`: renewals in the next 90 days.
pub async fn sales(State(state): State<AppState>, u: WebUser) -> Result<Response, WebError> {
    let day = today();
    let v = tenure_app::views::sales(&state.store, &state.web.config, &u.0.scope(), day).await?;
    let out = sales_out(&v);
    let mut page = ViewsPage::new(&u, "sales");
    page.day = out.as_of.clone();
    page.sales = out
        .renewals
        .iter()
        .map(|r| SalesRow {
            account: cells(&r.account, &out.currency, is_viewer(&u)),
            renewal: r.renewal_date.clone(),
            days: r.days_to_renewal,
        })
        .collect();
    render(&page)
}

/// `/views/support`: accounts with open urgent tickets.
pub async fn support(State(state): State<AppState>, u: WebUser) -> Result<Response, WebError> {
    let v =
        tenure_app::views::support(&state.store, &state.web.config, &u.0.scope(), today()).await?;
    let out = support_out(&v);
    let mut page = ViewsPage::new(&u, "support");
    page.day = out.as_of.clone();
    page.support = out
        .accounts
        .iter()
        .map(|a| SupportRow {
            account: cells(&a.account, &out.currency, is_viewer(&u)),
            open: a.open_urgent_tickets,
            oldest: a.oldest_opened.clone(),
        })
        .collect();
    render(&page)
}

/// `/views/product`: adoption by segment and requests by ARR.
pub async fn product(State(state): State<AppState>, u: WebUser) -> Result<Response, WebError> {
    let v =
        tenure_app::views::product(&state.store, &state.web.config, &u.0.scope(), today()).await?;
    let out = product_out(&v);
    let mut page = ViewsPage::new(&u, "product");
    page.day = out.as_of.clone();
    page.window = format!("{} to {}", out.from, out.as_of);
    page.events = v.events.clone();
    page.adoption = out
        .segments
        .iter()
        .map(|s| AdoptionRow {
            segment: s.segment.clone().unwrap_or_else(|| "(no segment)".into()),
            accounts: s.accounts,
            shares: s.adoption.iter().map(|a| pct(Some(a.share))).collect(),
        })
        .collect();
    page.requests = out
        .requests
        .iter()
        .map(|r| RequestRow {
            title: r.title.clone(),
            status: r.status.clone(),
            accounts: r.accounts,
            arr: money(r.arr, &out.currency, false),
            arr_at_risk: money(r.arr_at_risk, &out.currency, false),
        })
        .collect();
    render(&page)
}
