//! Health scores: the pipelines between the store and the core engine
//! (docs/HEALTH.md).
//!
//! - [`score`]: one scoring path ([`score_account`], [`scores`]) for the
//!   CLI, the API and the account page.
//! - [`recompute`](mod@recompute): daily snapshots over a range of days, without
//!   look-ahead; the background job runs it for today.
//! - [`history`](mod@history): stored snapshots of an account and of groups of accounts.
//! - [`overrides`](mod@overrides): setting (checked by
//!   [`tenure_core::health::check_override`]), clearing and listing manual
//!   scores.
//! - [`diff`](mod@diff): what changed in an account's score since a day.
//! - [`backtest`](mod@backtest): how well past scores predicted churn, and
//!   its JSON report ([`backtest::report_json`]).
//! - [`export`](mod@export): every account's health in a shape a CRM
//!   import accepts (`tenure export health`).
//! - [`fit`](mod@fit): the scorecards' weights and cut-points fitted to
//!   history, judged on later dates (`tenure health fit`).

pub mod backtest;
pub mod diff;
pub mod export;
pub mod fit;
pub mod history;
pub mod overrides;
pub mod recompute;
pub mod score;

use std::collections::HashMap;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::health::HealthModel;
use tenure_core::model::{Currency, day_number};
use tenure_store::Store;
use tenure_store::health::OverrideRow;

pub use backtest::{BacktestResult, backtest, monthly_dates};
pub use diff::{Diff, DiffMeasure, DiffSide, diff};
pub use history::{GroupRow, Interval, account_history, groups};
pub use overrides::{OverrideRequest, clear_overrides, list_overrides, set_override};
pub use recompute::{Progress, Quiet, recompute};
pub use score::{
    AccountScore, DayScorer, Scored, Scores, ScoresQuery, ScoringContext, score_account,
    score_by_id, score_signals, score_signals_ranked, scores,
};

use crate::{Error, Result};

/// Every currency of the subscriptions must have a rate before MRR can be
/// compared.
pub async fn check_rates(store: &Store, config: &Config) -> Result<()> {
    for c in store.subscription_currencies().await? {
        let ok = Currency::parse(&c)
            .ok()
            .and_then(|cur| config.currency.rate(cur))
            .is_some();
        if !ok {
            return Err(Error::Invalid(format!(
                "subscriptions use {c} but tenure.toml has no exchange rate for it: add it under [currency.rates]"
            )));
        }
    }
    Ok(())
}

/// Every stored override, by account id.
pub async fn overrides_by_account(store: &Store) -> Result<HashMap<String, Vec<OverrideRow>>> {
    let mut map: HashMap<String, Vec<OverrideRow>> = HashMap::new();
    for o in store.overrides(None).await? {
        map.entry(o.account_id.clone()).or_default().push(o);
    }
    Ok(map)
}

/// Accounts per shard so that the builder's memory stays around a
/// gigabyte whatever the date range: the demo data measured about 220 bytes
/// per account and day of horizon (1.9 GB for 20,000 accounts over 425 days).
/// A single date is loaded by aggregating its windows (`load_signals_on`),
/// whose memory does not grow with the look-back: one shard.
fn shard_size(model: &HealthModel, dates: &[Date]) -> usize {
    let (Some(first), Some(last)) = (dates.iter().min(), dates.iter().max()) else {
        return usize::MAX;
    };
    if first == last {
        return usize::MAX;
    }
    let horizon =
        (day_number(*last) - day_number(*first)) as usize + model.plan().lookback_days() as usize;
    (5_000_000 / horizon.max(1)).max(1_000)
}
