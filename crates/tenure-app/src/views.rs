//! The shared views (docs/CRM.md, "Shared views"): what sales, support
//! and product teams read of the book, each in the caller's scope, for the
//! `/views` pages, the API and a viewer login that sees nothing else.
//!
//! - [`sales`]: renewals in the next [`RENEWAL_DAYS`] days with ARR, the
//!   latest health score and band, whether the account is on the risk
//!   board and why, and its CSM.
//! - [`support`]: accounts with open urgent tickets, with their health and
//!   CSM.
//! - [`product`]: feature adoption by segment (the share of the segment's
//!   accounts that used each event name in the last [`ADOPTION_DAYS`]
//!   days) and product requests ranked by the ARR asking
//!   ([`crate::feedback::ranking`]).

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::feedback::RankBy;
use tenure_core::model::{Currency, add_days};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::engage::Dimension;

use crate::Result;

/// The sales view's horizon: renewals from today to this many days on.
pub const RENEWAL_DAYS: i32 = 90;
/// The product view's window: events in the last this many days.
pub const ADOPTION_DAYS: i32 = 30;

/// An account as every view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountHealth {
    pub account_id: String,
    pub name: String,
    pub csm_email: Option<String>,
    /// ARR on the day, reporting minor units.
    pub arr: i64,
    /// The latest stored score, and its band (`red`, `yellow`, `green`).
    pub health_score: Option<f64>,
    pub health_band: Option<String>,
    /// On the risk board on the day, and the board's reason.
    pub at_risk: bool,
    pub risk_reason: Option<String>,
}

/// A renewal in the sales view.
#[derive(Debug, Clone, PartialEq)]
pub struct Renewal {
    pub account: AccountHealth,
    pub renewal_date: Date,
    pub days_to_renewal: i32,
}

/// The sales view.
#[derive(Debug, Clone, PartialEq)]
pub struct SalesView {
    pub day: Date,
    pub currency: Currency,
    /// By renewal date, then ARR (largest first).
    pub renewals: Vec<Renewal>,
}

/// An account with open urgent tickets.
#[derive(Debug, Clone, PartialEq)]
pub struct UrgentAccount {
    pub account: AccountHealth,
    pub open_urgent: i64,
    /// The day the oldest open urgent ticket was opened (UTC).
    pub oldest_opened: Date,
}

/// The support view.
#[derive(Debug, Clone, PartialEq)]
pub struct SupportView {
    pub day: Date,
    pub currency: Currency,
    /// Most open urgent tickets first, then ARR.
    pub accounts: Vec<UrgentAccount>,
}

/// One segment's adoption.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentAdoption {
    /// The segment's name; `None` for accounts in no segment.
    pub segment: Option<String>,
    pub accounts: usize,
    /// Event name → accounts of the segment that used it in the window,
    /// by name.
    pub used: BTreeMap<String, usize>,
}

/// The product view.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductView {
    pub day: Date,
    /// The window's first day; the last is `day`.
    pub from: Date,
    /// Every event name used in the window, by name.
    pub events: Vec<String>,
    /// By segment name, accounts in no segment last.
    pub segments: Vec<SegmentAdoption>,
    /// Product requests ranked by the ARR asking.
    pub requests: crate::feedback::Ranking,
}

/// The accounts in scope with their ARR, latest health and risk on `day`.
async fn book(
    store: &Store,
    config: &Config,
    scope: &Scope,
    day: Date,
) -> Result<Vec<AccountHealth>> {
    let mut scores = HashMap::new();
    if let Some(&latest) = store.snapshot_days(add_days(day, -400), day).await?.last() {
        for (id, score, band) in store.snapshots_on(latest).await? {
            scores.insert(id, (score, band));
        }
    }
    let ds = crate::risk::dataset(store, config).await?;
    let board = crate::risk::board_with(store, config, scope, day, &ds).await?;
    let reasons: HashMap<String, String> = board
        .rows
        .into_iter()
        .map(|r| (r.account_id, r.reason))
        .collect();
    Ok(store
        .risk_accounts(scope)
        .await?
        .into_iter()
        .map(|a| {
            let (score, band) = scores.get(&a.id).copied().unwrap_or((None, None));
            let reason = reasons.get(&a.id).cloned();
            AccountHealth {
                arr: ds
                    .account_index(&a.id)
                    .map_or(0, |i| ds.mrr_on(i, day) * 12),
                health_score: score,
                health_band: band.map(|b| b.as_str().to_string()),
                at_risk: reason.is_some(),
                risk_reason: reason,
                csm_email: a.csm_email,
                name: a.name,
                account_id: a.id,
            }
        })
        .collect())
}

/// Renewals from `day` to [`RENEWAL_DAYS`] days on, in scope.
pub async fn sales(store: &Store, config: &Config, scope: &Scope, day: Date) -> Result<SalesView> {
    let renewals = store.health_export_base(None, day).await?.renewals;
    let last = add_days(day, RENEWAL_DAYS);
    let mut rows: Vec<Renewal> = book(store, config, scope, day)
        .await?
        .into_iter()
        .filter_map(|account| {
            let date = *renewals.get(&account.account_id)?;
            (date <= last).then(|| Renewal {
                days_to_renewal: (date - day).get_days(),
                renewal_date: date,
                account,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.renewal_date, -a.account.arr, &a.account.account_id).cmp(&(
            b.renewal_date,
            -b.account.arr,
            &b.account.account_id,
        ))
    });
    Ok(SalesView {
        day,
        currency: config.currency.reporting,
        renewals: rows,
    })
}

/// Accounts in scope with open urgent tickets.
pub async fn support(
    store: &Store,
    config: &Config,
    scope: &Scope,
    day: Date,
) -> Result<SupportView> {
    let urgent: HashMap<String, (i64, i64)> = store
        .open_urgent_tickets()
        .await?
        .into_iter()
        .map(|t| (t.account_id, (t.open, t.oldest_opened_at)))
        .collect();
    let mut rows: Vec<UrgentAccount> = book(store, config, scope, day)
        .await?
        .into_iter()
        .filter_map(|account| {
            let &(open, oldest) = urgent.get(&account.account_id)?;
            let oldest = jiff::Timestamp::from_microsecond(oldest)
                .map(tenure_core::model::utc_date)
                .unwrap_or(day);
            Some(UrgentAccount {
                account,
                open_urgent: open,
                oldest_opened: oldest,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        (-a.open_urgent, -a.account.arr, &a.account.account_id).cmp(&(
            -b.open_urgent,
            -b.account.arr,
            &b.account.account_id,
        ))
    });
    Ok(SupportView {
        day,
        currency: config.currency.reporting,
        accounts: rows,
    })
}

/// Feature adoption by segment over the last [`ADOPTION_DAYS`] days to
/// `day`, and the product requests ranked by ARR, in scope.
pub async fn product(
    store: &Store,
    config: &Config,
    scope: &Scope,
    day: Date,
) -> Result<ProductView> {
    let from = add_days(day, 1 - ADOPTION_DAYS);
    let accounts: Vec<String> = store
        .risk_accounts(scope)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    let mut segment_of: HashMap<String, String> = HashMap::new();
    for r in store.engage_runs(Some(day)).await? {
        if r.dimension == Dimension::Segment
            && r.entered_on <= day
            && r.left_on.is_none_or(|l| l > day)
        {
            segment_of.insert(r.account_id, r.name);
        }
    }
    let mut by_segment: BTreeMap<(bool, String), SegmentAdoption> = BTreeMap::new();
    for id in &accounts {
        let seg = segment_of.get(id).cloned();
        let key = (seg.is_none(), seg.clone().unwrap_or_default());
        by_segment
            .entry(key)
            .or_insert_with(|| SegmentAdoption {
                segment: seg,
                accounts: 0,
                used: BTreeMap::new(),
            })
            .accounts += 1;
    }
    let in_scope: std::collections::HashSet<&str> = accounts.iter().map(String::as_str).collect();
    let mut events = std::collections::BTreeSet::new();
    for (account, event) in store.events_used(from, day).await? {
        if !in_scope.contains(account.as_str()) {
            continue;
        }
        let seg = segment_of.get(&account).cloned();
        let key = (seg.is_none(), seg.unwrap_or_default());
        if let Some(s) = by_segment.get_mut(&key) {
            *s.used.entry(event.clone()).or_default() += 1;
        }
        events.insert(event);
    }
    let requests = crate::feedback::ranking(store, config, scope, RankBy::Arr, None, day).await?;
    Ok(ProductView {
        day,
        from,
        events: events.into_iter().collect(),
        segments: by_segment.into_values().collect(),
        requests,
    })
}
