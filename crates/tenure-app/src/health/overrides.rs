//! Manual scores: set (checked by the core's rules), cleared and listed.
//! Setting or clearing one also rewrites the account's snapshot for the
//! day, so that lists, the overview and the risk board show it at once.

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::health::{HealthModel, OverrideProblem, check_override};
use tenure_store::Store;
use tenure_store::health::{NewOverride, OverrideRow, Snapshot};

use super::score::score_by_id;
use crate::{Error, Result};

/// A manual score as asked for, before the rules are checked.
#[derive(Debug, Clone)]
pub struct OverrideRequest {
    pub account_id: String,
    pub score: f64,
    pub reason: String,
    /// The last day it applies.
    pub until: Date,
    pub author: String,
}

/// The problems of a refused override in one sentence each, with the field
/// named as `field: message`.
pub fn describe(problems: &[OverrideProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.field.as_str(), p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Checks and saves a manual score set on `today`; returns its id. Broken
/// rules are [`Error::Invalid`] naming each field; an unknown account is
/// [`Error::NotFound`].
pub async fn set_override(
    store: &Store,
    config: &Config,
    req: &OverrideRequest,
    today: Date,
    now_micros: i64,
) -> Result<i64> {
    if req.author.trim().is_empty() {
        return Err(Error::Invalid("author: say who sets the override.".into()));
    }
    let checked = check_override(req.score, &req.reason, req.until, today)
        .map_err(|ps| Error::Invalid(describe(&ps)))?;
    let id = store
        .add_override(
            &NewOverride {
                account_id: req.account_id.clone(),
                score: checked.score,
                reason: checked.reason,
                author: req.author.clone(),
                set_on: today,
                until: checked.until,
            },
            now_micros,
        )
        .await?;
    refresh_snapshot(store, config, &req.account_id, today, now_micros).await;
    Ok(id)
}

/// Clears the account's overrides from `today` on; returns how many.
pub async fn clear_overrides(
    store: &Store,
    config: &Config,
    account_id: &str,
    author: &str,
    today: Date,
    now_micros: i64,
) -> Result<usize> {
    let n = store
        .clear_overrides(account_id, author, today, now_micros)
        .await?;
    if n > 0 {
        refresh_snapshot(store, config, account_id, today, now_micros).await;
    }
    Ok(n)
}

/// The stored overrides: those that apply on `today` or later, or every
/// one with `all`.
pub async fn list_overrides(store: &Store, all: bool, today: Date) -> Result<Vec<OverrideRow>> {
    Ok(store
        .overrides(None)
        .await?
        .into_iter()
        .filter(|o| all || o.last_day() >= today)
        .collect())
}

/// Rewrites the account's snapshot for `today` with its score now. The
/// override is saved whatever happens here: a failure only delays lists
/// until the next recompute, so it is logged, not returned.
async fn refresh_snapshot(
    store: &Store,
    config: &Config,
    account_id: &str,
    today: Date,
    now_micros: i64,
) {
    let refresh = async {
        let model = HealthModel::new(&config.health);
        let (_, scored) = score_by_id(store, config, &model, account_id, today).await?;
        let snapshot = Snapshot::of(account_id, &scored.score, scored.override_id());
        store.write_snapshots(&[snapshot], now_micros).await?;
        Ok::<(), Error>(())
    };
    if let Err(e) = refresh.await {
        tracing::warn!(error = %e, "refreshing the snapshot after an override failed");
    }
}
