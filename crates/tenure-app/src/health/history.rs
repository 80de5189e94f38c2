//! Stored scores over time: one account's daily snapshots, and the mean
//! score and band mix of groups of accounts.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use tenure_core::health::Band;
use tenure_core::model::{Account, day_number};
use tenure_store::Store;
use tenure_store::health::Snapshot;

use crate::{Error, Result};

/// An account's snapshots from `from` to `to` (either open), oldest first.
/// An account that does not exist is an error; one without snapshots is
/// an empty list.
pub async fn account_history(
    store: &Store,
    account: &str,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Vec<Snapshot>> {
    let snaps = store.account_snapshots(account, from, to).await?;
    if snaps.is_empty() && store.overrides(Some(account)).await?.is_empty() {
        let known = store
            .health_accounts()
            .await?
            .iter()
            .any(|a| a.id == account);
        if !known {
            return Err(Error::NotFound(format!("account {account:?}")));
        }
    }
    Ok(snaps)
}

/// The length of the steps of [`groups`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Day,
    /// Weeks start on Monday.
    Week,
    Month,
}

impl Interval {
    /// A number shared by the days of one interval.
    pub fn key(self, d: Date) -> i32 {
        match self {
            Interval::Day => day_number(d),
            Interval::Week => day_number(d) - i32::from(d.weekday().to_monday_zero_offset()),
            Interval::Month => i32::from(d.year()) * 12 + i32::from(d.month()),
        }
    }
}

/// One group on one day of [`groups`].
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    /// The last snapshot day of its interval.
    pub day: Date,
    pub group: String,
    /// Accounts with a snapshot that day.
    pub accounts: usize,
    /// Mean of the scores of those that have one.
    pub mean_score: Option<f64>,
    pub red: usize,
    pub yellow: usize,
    pub green: usize,
}

/// The group key of an account for `by`: `plan`, `csm` (or `csm_email`),
/// `region`, `industry` or a custom attribute; `(none)` when empty.
pub fn group_of(a: &Account, by: &str) -> String {
    let v = match by {
        "plan" => a.plan.clone(),
        "csm" | "csm_email" => a.csm_email.clone(),
        "region" => a.region.clone(),
        "industry" => a.industry.clone(),
        attr => a.attributes.get(attr).cloned(),
    };
    v.filter(|s| !s.is_empty())
        .unwrap_or_else(|| "(none)".to_string())
}

/// The mean score and band mix of each group, on the last snapshot day of
/// each interval from `from` to `to`.
pub async fn groups(
    store: &Store,
    by: &str,
    from: Date,
    to: Date,
    interval: Interval,
) -> Result<Vec<GroupRow>> {
    let accounts = store.health_accounts().await?;
    let group: HashMap<&str, String> = accounts
        .iter()
        .map(|a| (a.id.as_str(), group_of(a, by)))
        .collect();
    let mut days: BTreeMap<i32, Date> = BTreeMap::new();
    for d in store.snapshot_days(from, to).await? {
        days.insert(interval.key(d), d);
    }
    let mut rows = Vec::new();
    for day in days.values() {
        let mut by_group: BTreeMap<String, (GroupRow, usize, f64)> = BTreeMap::new();
        for (id, score, band) in store.snapshots_on(*day).await? {
            let key = group
                .get(id.as_str())
                .cloned()
                .unwrap_or_else(|| "(none)".into());
            let (row, scored, sum) = by_group.entry(key.clone()).or_insert_with(|| {
                let row = GroupRow {
                    day: *day,
                    group: key,
                    accounts: 0,
                    mean_score: None,
                    red: 0,
                    yellow: 0,
                    green: 0,
                };
                (row, 0, 0.0)
            });
            row.accounts += 1;
            if let Some(s) = score {
                *sum += s;
                *scored += 1;
            }
            match band {
                Some(Band::Red) => row.red += 1,
                Some(Band::Yellow) => row.yellow += 1,
                Some(Band::Green) => row.green += 1,
                None => {}
            }
        }
        for (_, (mut row, scored, sum)) in by_group {
            row.mean_score = (scored > 0).then(|| sum / scored as f64);
            rows.push(row);
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        // 2025-03-31 is a Monday; 2025-04-06 the Sunday after.
        assert_eq!(
            Interval::Week.key(d("2025-03-31")),
            Interval::Week.key(d("2025-04-06"))
        );
        assert_ne!(
            Interval::Week.key(d("2025-04-06")),
            Interval::Week.key(d("2025-04-07"))
        );
    }
}
