//! Health scores' SQL (docs/HEALTH.md): bulk signal loading, daily snapshots,
//! manual overrides and the audit log, one submodule each:
//!
//! * `signals`: the accounts to score, and their signals on many as-of
//!   dates; `day`: their signals on one date, from the usage rollups;
//! * `snapshots`: stored daily scores and scorecard versions;
//! * `overrides`: manual overrides; `audit`: the audit log;
//! * `fingerprint`: the [`DataFingerprint`] that tells when scores may
//!   have changed.
//!
//! This module holds what they share ([`Shard`], [`SignalsRequest`],
//! [`AccountIndex`], date decoding) and re-exports every public item.
//!
//! **Signals** are loaded for a *shard* of accounts (a run of consecutive
//! accounts in the database's own id order, or all of them) and any number of
//! as-of dates with one query per table, never one per account:
//!
//! * for one date ([`Store::load_signals_on`](crate::Store::load_signals_on),
//!   today's scores), the usage rollups that triggers keep as events are
//!   written (`usage_days`, `usage_users`, migration 0005) feed the core
//!   [`DayEvents`](tenure_core::health::DayEvents);
//! * for many dates ([`Store::load_signals`](crate::Store::load_signals)),
//!   events inside the scorecards' horizon are read through the `events_ts`
//!   index and aggregated in SQL to one row per account, user, event name and
//!   day, which the core [`SignalsBuilder`](tenure_core::health::SignalsBuilder)
//!   takes with a count;
//! * known users (distinct users ever seen) come from `usage_user_first`,
//!   each user's first day;
//! * subscriptions, tickets (those still open on the first date), survey
//!   responses, engagements and payment failures are few and streamed.
//!
//! Rows dated after the last as-of date are filtered in SQL or dropped by the
//! builder, so a score for a past day only sees what existed on that day.
//!
//! **Snapshots** store numbers only; the measure names and weights live once
//! per scorecard version in `health_scorecards`.

pub(crate) mod audit;
mod day;
mod fingerprint;
mod overrides;
mod signals;
mod snapshots;

use std::collections::HashMap;

use jiff::civil::Date;
use sqlx::Row;
use sqlx::any::AnyRow;
use tenure_core::config::CurrencyConfig;
use tenure_core::health::SignalPlan;
use tenure_core::model::Account;

pub use audit::AuditEntry;
pub use fingerprint::DataFingerprint;
pub use overrides::{NewOverride, OverrideRow};
pub(crate) use snapshots::delete_snapshots;
pub use snapshots::{ScorecardMeasure, Snapshot, StoredMeasure, StoredScorecard};

use crate::{Result, StoreError};

/// A run of consecutive accounts in the database's id order: index `i` of
/// the signals is `accounts[i]`. Rows of other accounts are not read.
#[derive(Debug, Clone, Copy)]
pub struct Shard<'a> {
    pub accounts: &'a [Account],
    /// Lowest account id of the shard; `None` for the first shard.
    pub from: Option<&'a str>,
    /// First account id after the shard; `None` for the last shard.
    pub before: Option<&'a str>,
}

impl<'a> Shard<'a> {
    /// Splits accounts listed by
    /// [`Store::health_accounts`](crate::Store::health_accounts) (database
    /// order) into shards of at most `size` accounts.
    pub fn split(accounts: &'a [Account], size: usize) -> Vec<Shard<'a>> {
        let size = size.max(1);
        let n = accounts.len();
        let mut shards = Vec::new();
        let mut start = 0;
        while start < n || (n == 0 && shards.is_empty()) {
            let end = (start + size).min(n);
            shards.push(Shard {
                accounts: &accounts[start..end],
                from: (start > 0).then(|| accounts[start].id.as_str()),
                before: (end < n).then(|| accounts[end].id.as_str()),
            });
            if n == 0 {
                break;
            }
            start = end;
        }
        shards
    }

    /// The shard holding only `accounts[i]`.
    pub fn one(accounts: &'a [Account], i: usize) -> Shard<'a> {
        Shard {
            accounts: &accounts[i..=i],
            from: Some(accounts[i].id.as_str()),
            before: accounts.get(i + 1).map(|a| a.id.as_str()),
        }
    }

    /// The position of each of the shard's accounts, by id.
    pub fn index(&self) -> AccountIndex<'a> {
        self.accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.as_str(), i))
            .collect()
    }

    /// The shard cut into at most `n` runs of about equal size, which
    /// together read exactly the shard's rows.
    pub fn parts(&self, n: usize) -> Vec<Shard<'a>> {
        let len = self.accounts.len();
        let n = n.clamp(1, len.max(1));
        let cut = |k: usize| len * k / n;
        (0..n)
            .map(|k| Shard {
                accounts: &self.accounts[cut(k)..cut(k + 1)],
                from: if k == 0 {
                    self.from
                } else {
                    Some(self.accounts[cut(k)].id.as_str())
                },
                before: if k + 1 == n {
                    self.before
                } else {
                    Some(self.accounts[cut(k + 1)].id.as_str())
                },
            })
            .collect()
    }

    /// `AND account_id >= $k AND account_id < $k+1` for the bounds that are set,
    /// numbering placeholders from `next`; returns the bound values in order.
    fn predicate(&self, next: usize) -> (String, Vec<String>) {
        self.predicate_on("account_id", next)
    }

    /// [`Shard::predicate`] on another column holding account ids.
    fn predicate_on(&self, column: &str, next: usize) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut binds = Vec::new();
        let mut p = next;
        if let Some(from) = self.from {
            sql.push_str(&format!(" AND {column} >= ${p}"));
            binds.push(from.to_string());
            p += 1;
        }
        if let Some(before) = self.before {
            sql.push_str(&format!(" AND {column} < ${p}"));
            binds.push(before.to_string());
        }
        (sql, binds)
    }
}

/// Account positions by id, with a fast hash: every row of the tables read
/// for health looks its account up here.
pub type AccountIndex<'a> = HashMap<&'a str, usize, foldhash::fast::RandomState>;

/// What to load signals for.
#[derive(Debug, Clone, Copy)]
pub struct SignalsRequest<'a> {
    pub plan: &'a SignalPlan,
    pub currency: &'a CurrencyConfig,
    /// As-of dates, any order.
    pub dates: &'a [Date],
    pub shard: Shard<'a>,
    /// Whether payment failures are tracked, see
    /// [`Store::payments_tracked`](crate::Store::payments_tracked).
    pub track_payments: bool,
}

pub(crate) fn decode(msg: String) -> StoreError {
    StoreError::Sql(sqlx::Error::Decode(msg.into()))
}

pub(crate) fn parse_day(s: &str) -> Result<Date> {
    s.parse().map_err(|_| decode(format!("bad date {s:?}")))
}

pub(crate) fn get_day(row: &AnyRow, i: usize) -> Result<Date> {
    let s: String = row.try_get(i)?;
    s.parse()
        .map_err(|_| StoreError::Sql(sqlx::Error::Decode(format!("bad date {s:?}").into())))
}

pub(crate) fn get_opt_day(row: &AnyRow, i: usize) -> Result<Option<Date>> {
    let s: Option<String> = row.try_get(i)?;
    s.map(|s| {
        s.parse()
            .map_err(|_| StoreError::Sql(sqlx::Error::Decode(format!("bad date {s:?}").into())))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_account_once() {
        let accounts: Vec<Account> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|id| Account::bare(id))
            .collect();
        let shards = Shard::split(&accounts, 2);
        let bounds: Vec<(Option<&str>, Option<&str>, usize)> = shards
            .iter()
            .map(|s| (s.from, s.before, s.accounts.len()))
            .collect();
        assert_eq!(
            bounds,
            [
                (None, Some("c"), 2),
                (Some("c"), Some("e"), 2),
                (Some("e"), None, 1)
            ]
        );
        assert_eq!(Shard::split(&accounts, 10).len(), 1);
        assert_eq!(Shard::split(&[], 10).len(), 1);
    }

    #[test]
    fn parts_split_a_shard_without_gaps() {
        let accounts: Vec<Account> = ["a", "b", "c", "d", "e", "f", "g"]
            .iter()
            .map(|id| Account::bare(id))
            .collect();
        let shard = Shard::split(&accounts, 5)[1];
        let one: Vec<_> = shard.parts(1).iter().map(|p| (p.from, p.before)).collect();
        assert_eq!(one, [(Some("f"), None)]);
        let middle = Shard::split(&accounts, 5)[0];
        let parts: Vec<_> = middle
            .parts(2)
            .iter()
            .map(|p| (p.from, p.before, p.accounts.len()))
            .collect();
        assert_eq!(parts, [(None, Some("c"), 2), (Some("c"), Some("f"), 3)]);
        // More parts than accounts: one account each.
        assert_eq!(shard.parts(8).len(), 2);
        assert_eq!(Shard::split(&[], 10)[0].parts(4).len(), 1);
    }
}
