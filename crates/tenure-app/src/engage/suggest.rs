//! Suggested segments (`tenure segments suggest`): every paying account's
//! facts on a day, as the daily pass builds them ([`super::assign`]),
//! clustered in core (`tenure_core::engage::suggest`). Nothing is recorded.

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::engage::suggest::{SuggestError, Suggestion, suggest as cluster};
use tenure_store::Store;

use crate::{Error, Result};

/// The suggestion for one day, and which account each index of
/// [`tenure_core::engage::suggest::Cluster::members`] is.
#[derive(Debug, Clone)]
pub struct Suggested {
    pub day: Date,
    pub suggestion: Suggestion,
    /// Account ids, in the order the clusters' members index.
    pub account_ids: Vec<String>,
}

/// Clusters the accounts paying on `day` into `k` suggested segments. A k
/// outside 2..=12, or above the paying accounts that differ, is
/// [`Error::Invalid`].
pub async fn suggest(store: &Store, config: &Config, day: Date, k: usize) -> Result<Suggested> {
    if !(tenure_core::engage::suggest::MIN_K..=tenure_core::engage::suggest::MAX_K).contains(&k) {
        return Err(invalid(SuggestError::KOutOfRange(k)));
    }
    let facts: Vec<_> = super::assign(store, config, day)
        .await?
        .into_iter()
        .map(|a| a.facts)
        .filter(|f| f.paying)
        .collect();
    let account_ids = facts.iter().map(|f| f.id.clone()).collect();
    // k-means and the rule search take a while on large portfolios: off the
    // async threads.
    let suggestion = tokio::task::spawn_blocking(move || cluster(&facts, k))
        .await?
        .map_err(invalid)?;
    Ok(Suggested {
        day,
        suggestion,
        account_ids,
    })
}

fn invalid(e: SuggestError) -> Error {
    match e {
        SuggestError::KMeans(m) => Error::Internal(format!("k-means failed: {m}")),
        e => Error::Invalid(e.to_string()),
    }
}
