//! What the account page keeps between requests, so that opening an
//! account does not read every account: the day's [`DayScorer`] (every
//! account's health signals of today and the day's ranks, from which the
//! page's live score is computed exactly as `tenure health score` computes
//! it) and each account's 13 weeks of product use ([`WeeklyUse`]).
//!
//! Both are kept while nothing changed: the [`Freshness`] read on each
//! request (the day, the store's [`DataFingerprint`] and the writes made
//! through the pages and the API, [`Cache::writes`](super::cache::Cache::writes))
//! must equal the one they were computed under. A logged engagement, an
//! override, a new event, an import or a billing webhook changes it, and the
//! next request computes them again; requests that arrive while the
//! scorer loads wait for that one load. Requests that arrive together share
//! one read of the fingerprint, as long as it began after they arrived.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use jiff::civil::Date;
use tenure_app::clock::today;
use tenure_app::health::DayScorer;
use tenure_store::health::DataFingerprint;
use tenure_store::web::UseSummary;

use crate::AppState;
use crate::error::AppError;

/// Accounts whose weekly use is kept at most; past it the kept ones are
/// dropped and computed again as they are opened.
const MAX_USES: usize = 100_000;

/// What kept values were computed under; equal means still current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freshness {
    /// Today (UTC) when read.
    pub day: Date,
    data: DataFingerprint,
    writes: u64,
}

/// One account's product use over the 13 weeks to a day, as its page shows
/// it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyUse {
    /// Distinct active users of each week; week `k` ends on the day minus
    /// `7 × (12 − k)` days.
    pub weeks: [usize; 13],
    /// The most used events of the last 30 days (at most three), most
    /// used first (ties by name): `(event, count, distinct users)`.
    pub top: Vec<(String, i64, usize)>,
}

/// The weekly active users and the top events of the last 30 days from
/// the account's [`UseSummary`].
pub fn weekly_use(summary: UseSummary) -> WeeklyUse {
    let mut weeks = [0; 13];
    for (back, users) in summary.weekly_users {
        if let Ok(back @ 0..=12) = usize::try_from(back) {
            weeks[12 - back] = usize::try_from(users).unwrap_or(0);
        }
    }
    let mut top = summary.events;
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(3);
    WeeklyUse {
        weeks,
        top: top
            .into_iter()
            .map(|(e, n, users)| (e, n, usize::try_from(users).unwrap_or(0)))
            .collect(),
    }
}

#[derive(Default)]
struct Uses {
    under: Option<Freshness>,
    by_account: HashMap<String, Arc<WeeklyUse>>,
}

/// The account page's kept scores and weekly use (see the module).
#[derive(Default)]
pub struct AccountCache {
    /// Held while loading, so that concurrent requests wait for one load.
    scorer: tokio::sync::Mutex<Option<(Freshness, Arc<DayScorer>)>>,
    uses: Mutex<Uses>,
    /// The latest fingerprint read, with when it began; held while
    /// reading, so that requests waiting for it can share the next read.
    fingerprint: tokio::sync::Mutex<Option<(Instant, DataFingerprint)>>,
}

impl std::fmt::Debug for AccountCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountCache").finish_non_exhaustive()
    }
}

impl AccountCache {
    /// The [`Freshness`] now: one small query (the data fingerprint),
    /// unless a read that began after this call did is at hand: requests
    /// that arrive while one reads wait, and share the next read.
    pub async fn freshness(&self, state: &AppState) -> Result<Freshness, AppError> {
        // The writes are read first: a write between the two reads then
        // shows in the fingerprint or on the next request.
        let writes = state.web.cache.writes();
        let arrived = Instant::now();
        let mut last = self.fingerprint.lock().await;
        let data = match last.as_ref() {
            // Began after this call: it sees every change committed before.
            Some((began, data)) if *began > arrived => data.clone(),
            _ => {
                let began = Instant::now();
                let data = state.store.data_fingerprint().await?;
                *last = Some((began, data.clone()));
                data
            }
        };
        drop(last);
        Ok(Freshness {
            day: today(),
            data,
            writes,
        })
    }

    /// Every account's signals of `fresh.day` with the day's ranks, loaded
    /// once under `fresh`.
    pub async fn scorer(
        &self,
        state: &AppState,
        fresh: &Freshness,
    ) -> Result<Arc<DayScorer>, AppError> {
        let mut kept = self.scorer.lock().await;
        if let Some((under, scorer)) = kept.as_ref()
            && under == fresh
        {
            return Ok(scorer.clone());
        }
        let scorer = Arc::new(
            DayScorer::load(
                &state.store,
                &state.web.config,
                state.web.model(),
                fresh.day,
            )
            .await?,
        );
        *kept = Some((fresh.clone(), scorer.clone()));
        Ok(scorer)
    }

    /// The account's [`WeeklyUse`] to `fresh.day`, counted from its events
    /// unless kept under `fresh`.
    pub async fn weekly_use(
        &self,
        state: &AppState,
        fresh: &Freshness,
        account_id: &str,
    ) -> Result<Arc<WeeklyUse>, AppError> {
        {
            let uses = self.uses.lock().expect("account cache lock");
            if uses.under.as_ref() == Some(fresh)
                && let Some(u) = uses.by_account.get(account_id)
            {
                return Ok(u.clone());
            }
        }
        let summary = state
            .store
            .account_use_summary(account_id, fresh.day)
            .await?;
        let computed = Arc::new(weekly_use(summary));
        let mut uses = self.uses.lock().expect("account cache lock");
        if uses.under.as_ref() != Some(fresh) || uses.by_account.len() >= MAX_USES {
            uses.by_account.clear();
            uses.under = Some(fresh.clone());
        }
        uses.by_account
            .insert(account_id.to_string(), computed.clone());
        Ok(computed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_count_back_from_the_day_and_the_top_three_events_win_ties_by_name() {
        let w = weekly_use(UseSummary {
            // 13 weeks back is outside the chart.
            weekly_users: vec![(0, 2), (1, 1), (4, 1), (13, 9)],
            events: vec![
                ("login".into(), 4, 1),
                ("report".into(), 5, 1),
                ("export".into(), 4, 3),
                ("invite".into(), 1, 1),
            ],
        });
        assert_eq!(w.weeks, [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2]);
        assert_eq!(
            w.top,
            vec![
                ("report".to_string(), 5, 1),
                ("export".to_string(), 4, 3),
                ("login".to_string(), 4, 1),
            ]
        );
    }
}
