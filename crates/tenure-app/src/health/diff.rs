//! What changed in an account's score since a day, measure by measure.

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::health::{Band, HealthModel, HealthScore};
use tenure_store::Store;
use tenure_store::health::{Shard, SignalsRequest, Snapshot};

use super::check_rates;
use super::score::{Loaded, ScoringContext, ranks_on, score_signals_ranked};
use crate::{Error, Result};

/// One measure on one side of a [`Diff`].
#[derive(Debug, Clone, PartialEq)]
pub struct DiffMeasure {
    pub name: String,
    pub raw: Option<f64>,
    pub points: Option<f64>,
    pub contribution: f64,
}

/// A score at one day, from a stored snapshot or computed.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffSide {
    pub day: Date,
    /// Where the numbers come from, in words.
    pub source: &'static str,
    pub score: Option<f64>,
    pub band: Option<Band>,
    pub scorecard_version: String,
    pub measures: Vec<DiffMeasure>,
}

impl DiffSide {
    fn computed(score: &HealthScore, source: &'static str) -> DiffSide {
        DiffSide {
            day: score.as_of,
            source,
            score: score.score,
            band: score.band,
            scorecard_version: score.scorecard_version.to_string(),
            measures: score
                .measures
                .iter()
                .map(|m| DiffMeasure {
                    name: m.name.to_string(),
                    raw: m.raw,
                    points: m.normalised,
                    contribution: m.contribution,
                })
                .collect(),
        }
    }

    /// The measure called `name`, if this side has it.
    pub fn measure(&self, name: &str) -> Option<&DiffMeasure> {
        self.measures.iter().find(|m| m.name == name)
    }
}

/// An account's score then and now.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    pub account_id: String,
    pub account_name: String,
    pub then: DiffSide,
    pub now: DiffSide,
    /// Measure names: the current scorecard's in order, then any only in
    /// the earlier one (measures are matched by name).
    pub names: Vec<String>,
}

impl Diff {
    /// Now minus then, when both have a score.
    pub fn score_change(&self) -> Option<f64> {
        self.now.score.zip(self.then.score).map(|(a, b)| a - b)
    }
}

/// Compares the account's score on `today` (computed now) with `since`:
/// the snapshot stored that day (what Tenure said then) or, without one,
/// the score recomputed from the data as it was on that day.
pub async fn diff(
    store: &Store,
    config: &Config,
    account: &str,
    since: Date,
    today: Date,
) -> Result<Diff> {
    if since > today {
        return Err(Error::Invalid("--since is in the future".into()));
    }
    check_rates(store, config).await?;
    let model = HealthModel::new(&config.health);
    let accounts = store.health_accounts().await?;
    let i = accounts
        .iter()
        .position(|a| a.id == account)
        .ok_or_else(|| Error::NotFound(format!("account {account:?}")))?;
    let overrides = store.overrides(Some(account)).await?;
    let track_payments = store.payments_tracked().await?;
    let table = store
        .load_signals(SignalsRequest {
            plan: model.plan(),
            currency: &config.currency,
            dates: &[since, today],
            shard: Shard::one(&accounts, i),
            track_payments,
        })
        .await?;
    // Relative measures place the account among each day's customers.
    let ctx = ScoringContext {
        config,
        model: &model,
        accounts: &accounts,
        track_payments,
    };
    let ranks = [
        ranks_on(store, ctx, since).await?,
        ranks_on(store, ctx, today).await?,
    ];
    // The table's dates are sorted and distinct: `since` first, `today` last.
    let last = table.dates().len() - 1;
    let table = Loaded::Table(Box::new(table));
    let score_on = |d: usize| {
        let r = if d == last { &ranks[1] } else { &ranks[0] };
        score_signals_ranked(
            &model,
            &table.signals(d, 0),
            &accounts[i],
            &overrides,
            r.as_ref(),
        )
    };
    let now = DiffSide::computed(&score_on(last).score, "computed now");
    let then = match store.snapshot(account, since).await? {
        Some(s) => stored_side(store, &s).await?,
        None => DiffSide::computed(&score_on(0).score, "recomputed from data as of that day"),
    };
    let mut names: Vec<String> = now.measures.iter().map(|m| m.name.clone()).collect();
    for m in &then.measures {
        if !names.contains(&m.name) {
            names.push(m.name.clone());
        }
    }
    Ok(Diff {
        account_id: account.to_string(),
        account_name: accounts[i].name.clone(),
        then,
        now,
        names,
    })
}

/// A stored snapshot as a side, with its measures named by its scorecard
/// version.
async fn stored_side(store: &Store, s: &Snapshot) -> Result<DiffSide> {
    let cards = store.scorecards().await?;
    let names = cards
        .get(&s.scorecard_version)
        .map(|c| c.measures.iter().map(|m| m.name.clone()).collect())
        .unwrap_or_else(Vec::new);
    Ok(DiffSide {
        day: s.day,
        source: "stored snapshot",
        score: s.score,
        band: s.band,
        scorecard_version: s.scorecard_version.clone(),
        measures: names
            .into_iter()
            .zip(&s.measures)
            .map(|(name, m)| DiffMeasure {
                name,
                raw: m.raw,
                points: m.points,
                contribution: m.contribution,
            })
            .collect(),
    })
}
