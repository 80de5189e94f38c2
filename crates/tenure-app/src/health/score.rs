//! Scoring accounts on a day: the one path behind `tenure health`, the
//! API's health routes and the account page's live score.

use std::borrow::Cow;
use std::collections::HashMap;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::health::{
    AccountSignals, DayRanks, HealthModel, HealthScore, Override, RanksBuilder, SignalsTable,
};
use tenure_core::model::{Account, add_days};
use tenure_store::Store;
use tenure_store::health::{OverrideRow, Shard, SignalsRequest};

use super::{check_rates, overrides_by_account, shard_size};
use crate::{Error, Result};

/// A score with what it was computed from.
#[derive(Debug, Clone)]
pub struct Scored {
    pub score: HealthScore,
    /// The account's MRR on the day, in the reporting currency.
    pub mrr: f64,
    /// The stored override the score applied, if any.
    pub override_row: Option<OverrideRow>,
}

impl Scored {
    /// The id of the override the score applied.
    pub fn override_id(&self) -> Option<i64> {
        self.override_row.as_ref().map(|o| o.id)
    }
}

/// Scores an account from its signals, applying the first of its stored
/// overrides that holds on the day. Relative measures have no data: see
/// [`score_signals_ranked`].
pub fn score_signals(
    model: &HealthModel,
    signals: &AccountSignals,
    account: &Account,
    overrides: &[OverrideRow],
) -> Scored {
    score_signals_ranked(model, signals, account, overrides, None)
}

/// [`score_signals`] with the day's ranks of every customer, which the
/// relative measures (`percentile`) place the account among.
pub fn score_signals_ranked(
    model: &HealthModel,
    signals: &AccountSignals,
    account: &Account,
    overrides: &[OverrideRow],
    ranks: Option<&DayRanks>,
) -> Scored {
    let active: Vec<(Override, &OverrideRow)> = overrides
        .iter()
        .filter_map(|o| Some((o.to_override()?, o)))
        .collect();
    let plain: Vec<Override> = active.iter().map(|(o, _)| o.clone()).collect();
    let score = model.score_ranked(
        model.scorecard_index(account),
        signals,
        ranks.map(|r| (account, r)),
        &plain,
    );
    let override_row = score.override_applied.as_ref().and_then(|applied| {
        active
            .iter()
            .find(|(o, _)| o == applied)
            .map(|(_, row)| (*row).clone())
    });
    Scored {
        score,
        mrr: signals.mrr,
        override_row,
    }
}

/// Signals loaded for a shard: a table over many dates, or one day's
/// signals aggregated from the usage rollups (faster for a single day).
pub(crate) enum Loaded {
    Table(Box<SignalsTable>),
    Day(Vec<AccountSignals>),
}

impl Loaded {
    pub(crate) async fn load(store: &Store, req: SignalsRequest<'_>) -> Result<Loaded> {
        Ok(if req.dates.len() == 1 {
            Loaded::Day(store.load_signals_on(req).await?)
        } else {
            Loaded::Table(Box::new(store.load_signals(req).await?))
        })
    }

    /// Adds the shard's customers on the `date`-th date (`day`) to the
    /// day's ranks: the accounts relative measures compare with.
    pub(crate) fn add_ranks(
        &self,
        ranks: &mut RanksBuilder,
        model: &HealthModel,
        accounts: &[Account],
        date: usize,
        day: Date,
    ) {
        for (i, account) in accounts.iter().enumerate() {
            let signals = self.signals(date, i);
            if account.is_customer_on(signals.mrr, day) {
                ranks.add(model, model.scorecard_index(account), account, &signals);
            }
        }
    }

    /// The signals of the shard's `i`-th account on the `date`-th date
    /// (one day's are borrowed, a table's assembled).
    pub(crate) fn signals(&self, date: usize, i: usize) -> Cow<'_, AccountSignals> {
        match self {
            Loaded::Table(t) => Cow::Owned(t.signals(date, i)),
            Loaded::Day(v) => Cow::Borrowed(&v[i]),
        }
    }
}

/// What [`score_account`] needs besides the account: the configuration,
/// its compiled model, every account in the store's order (a shard is cut
/// from it) and whether payment failures are tracked.
#[derive(Clone, Copy)]
pub struct ScoringContext<'a> {
    pub config: &'a Config,
    pub model: &'a HealthModel,
    /// [`Store::health_accounts`], in that order.
    pub accounts: &'a [Account],
    /// [`Store::payments_tracked`].
    pub track_payments: bool,
}

/// The ranks of every customer on `day`, for the relative measures of
/// `model`; `None` when it has none. Loads every account's signals of
/// that one day.
pub(crate) async fn ranks_on(
    store: &Store,
    ctx: ScoringContext<'_>,
    day: Date,
) -> Result<Option<DayRanks>> {
    if !ctx.model.is_relative() {
        return Ok(None);
    }
    let mut ranks = RanksBuilder::default();
    for shard in Shard::split(ctx.accounts, usize::MAX) {
        let loaded = Loaded::load(
            store,
            SignalsRequest {
                plan: ctx.model.plan(),
                currency: &ctx.config.currency,
                dates: std::slice::from_ref(&day),
                shard,
                track_payments: ctx.track_payments,
            },
        )
        .await?;
        loaded.add_ranks(&mut ranks, ctx.model, shard.accounts, 0, day);
    }
    Ok(Some(ranks.finish(ctx.model)))
}

/// Scores the `i`-th account of `ctx.accounts` on `as_of` from the data as
/// it is now, with its stored overrides. With relative measures, every
/// customer's signals of the day are loaded to place it among them.
pub async fn score_account(
    store: &Store,
    ctx: ScoringContext<'_>,
    i: usize,
    as_of: Date,
    overrides: &[OverrideRow],
) -> Result<Scored> {
    let ranks = ranks_on(store, ctx, as_of).await?;
    let loaded = Loaded::load(
        store,
        SignalsRequest {
            plan: ctx.model.plan(),
            currency: &ctx.config.currency,
            dates: std::slice::from_ref(&as_of),
            shard: Shard::one(ctx.accounts, i),
            track_payments: ctx.track_payments,
        },
    )
    .await?;
    Ok(score_signals_ranked(
        ctx.model,
        &loaded.signals(0, 0),
        &ctx.accounts[i],
        overrides,
        ranks.as_ref(),
    ))
}

/// Every account's signals on one day, with the day's ranks for the
/// relative measures: what [`score_account`] loads for one account (the
/// ranks read every account's signals anyway), loaded once for all of them
/// so that any account is then scored without reading the database. The
/// account page keeps one until the data or the day changes.
#[derive(Debug)]
pub struct DayScorer {
    as_of: Date,
    /// [`Store::health_accounts`], in that order.
    accounts: Vec<Account>,
    /// Account id → its index in `accounts` and `signals`.
    index: HashMap<String, usize>,
    signals: Vec<AccountSignals>,
    ranks: Option<DayRanks>,
}

impl DayScorer {
    /// Loads every account's signals on `as_of` from the data as it is now
    /// (the usage rollups, one read), and the day's ranks when `model` has
    /// relative measures.
    pub async fn load(
        store: &Store,
        config: &Config,
        model: &HealthModel,
        as_of: Date,
    ) -> Result<DayScorer> {
        let accounts = store.health_accounts_with(model.reads_attributes()).await?;
        let track_payments = store.payments_tracked().await?;
        let mut signals = Vec::with_capacity(accounts.len());
        let mut ranks = model.is_relative().then(RanksBuilder::default);
        for shard in Shard::split(&accounts, usize::MAX) {
            let loaded = store
                .load_signals_on(SignalsRequest {
                    plan: model.plan(),
                    currency: &config.currency,
                    dates: std::slice::from_ref(&as_of),
                    shard,
                    track_payments,
                })
                .await?;
            let loaded = Loaded::Day(loaded);
            if let Some(r) = ranks.as_mut() {
                loaded.add_ranks(r, model, shard.accounts, 0, as_of);
            }
            if let Loaded::Day(v) = loaded {
                signals.extend(v);
            }
        }
        let index = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i))
            .collect();
        Ok(DayScorer {
            as_of,
            accounts,
            index,
            signals,
            ranks: ranks.map(|r| r.finish(model)),
        })
    }

    /// The day the signals are of.
    pub fn as_of(&self) -> Date {
        self.as_of
    }

    /// The account `account_id` scored as [`score_account`] scores it, with
    /// its stored `overrides`; `None` when it was not in the store when
    /// loaded. `model` must be the one the scorer was loaded with.
    pub fn score(
        &self,
        model: &HealthModel,
        account_id: &str,
        overrides: &[OverrideRow],
    ) -> Option<Scored> {
        let &i = self.index.get(account_id)?;
        Some(score_signals_ranked(
            model,
            &self.signals[i],
            &self.accounts[i],
            overrides,
            self.ranks.as_ref(),
        ))
    }
}

/// Scores the account `account_id` on `as_of` from the data as it is now,
/// with its stored overrides, loading what [`score_account`] needs; an
/// unknown account is [`Error::NotFound`].
pub async fn score_by_id(
    store: &Store,
    config: &Config,
    model: &HealthModel,
    account_id: &str,
    as_of: Date,
) -> Result<(Account, Scored)> {
    check_rates(store, config).await?;
    let accounts = store.health_accounts_with(model.reads_attributes()).await?;
    let i = accounts
        .iter()
        .position(|a| a.id == account_id)
        .ok_or_else(|| Error::NotFound(format!("account {account_id:?}")))?;
    let ctx = ScoringContext {
        config,
        model,
        accounts: &accounts,
        track_payments: store.payments_tracked().await?,
    };
    let overrides = store.overrides(Some(account_id)).await?;
    let scored = score_account(store, ctx, i, as_of, &overrides).await?;
    Ok((accounts[i].clone(), scored))
}

/// Which accounts [`scores`] lists.
#[derive(Debug, Clone, Default)]
pub struct ScoresQuery {
    /// Only this account.
    pub account: Option<String>,
    /// Also accounts neither paying nor in trial on the day.
    pub all: bool,
}

/// An account's score on a day with its trend.
#[derive(Debug, Clone)]
pub struct AccountScore {
    pub account: Account,
    pub scored: Scored,
    /// Change against the stored score about 7 and 30 days earlier.
    pub d7: Option<f64>,
    pub d30: Option<f64>,
}

/// The scores of [`scores`].
#[derive(Debug, Clone)]
pub struct Scores {
    pub as_of: Date,
    /// The configuration's health version (every scorecard's).
    pub config_version: String,
    /// Worst first; accounts without a score last.
    pub accounts: Vec<AccountScore>,
}

/// Scores accounts on `as_of` (customers only, unless `query.all` or one
/// account is asked for), with their 7- and 30-day changes against the
/// stored snapshots.
pub async fn scores(
    store: &Store,
    config: &Config,
    as_of: Date,
    query: &ScoresQuery,
) -> Result<Scores> {
    check_rates(store, config).await?;
    let model = HealthModel::new(&config.health);
    let accounts = store.health_accounts().await?;
    let track_payments = store.payments_tracked().await?;
    let overrides = overrides_by_account(store).await?;
    let shards = match &query.account {
        Some(id) => {
            let i = accounts
                .iter()
                .position(|a| &a.id == id)
                .ok_or_else(|| Error::NotFound(format!("account {id:?}")))?;
            vec![(i, Shard::one(&accounts, i))]
        }
        None => {
            let mut offset = 0;
            Shard::split(&accounts, shard_size(&model, &[as_of]))
                .into_iter()
                .map(|s| {
                    let first = offset;
                    offset += s.accounts.len();
                    (first, s)
                })
                .collect()
        }
    };
    let history = score_history(store, as_of, as_of).await?;
    // The day's ranks for relative measures: from the loaded shard when it
    // holds every account, else loaded apart.
    let whole = query.account.is_none() && shards.len() == 1;
    let mut ranks = if whole {
        None
    } else {
        let ctx = ScoringContext {
            config,
            model: &model,
            accounts: &accounts,
            track_payments,
        };
        ranks_on(store, ctx, as_of).await?
    };
    let mut out = Vec::new();
    for (offset, shard) in shards {
        let loaded = Loaded::load(
            store,
            SignalsRequest {
                plan: model.plan(),
                currency: &config.currency,
                dates: &[as_of],
                shard,
                track_payments,
            },
        )
        .await?;
        if whole && model.is_relative() {
            let mut b = RanksBuilder::default();
            loaded.add_ranks(&mut b, &model, shard.accounts, 0, as_of);
            ranks = Some(b.finish(&model));
        }
        for (i, account) in shard.accounts.iter().enumerate() {
            let ov = overrides.get(&account.id).map_or(&[][..], Vec::as_slice);
            let scored =
                score_signals_ranked(&model, &loaded.signals(0, i), account, ov, ranks.as_ref());
            if query.account.is_none() && !query.all && !account.is_customer_on(scored.mrr, as_of) {
                continue;
            }
            let deltas = tenure_core::health::score_deltas(
                history.get(&account.id).map_or(&[][..], Vec::as_slice),
                as_of,
                scored.score.score,
            );
            out.push(AccountScore {
                account: accounts[offset + i].clone(),
                scored,
                d7: deltas.d7,
                d30: deltas.d30,
            });
        }
    }
    out.sort_by(|a, b| {
        let key = |s: &AccountScore| s.scored.score.score.unwrap_or(f64::INFINITY);
        key(a)
            .total_cmp(&key(b))
            .then_with(|| a.account.id.cmp(&b.account.id))
    });
    Ok(Scores {
        as_of,
        config_version: model.version().to_string(),
        accounts: out,
    })
}

/// Stored scores from 33 days before `from` to 7 days before `to`, by
/// account: what the 7- and 30-day changes of scores on those days read.
pub(crate) async fn score_history(
    store: &Store,
    from: Date,
    to: Date,
) -> Result<HashMap<String, Vec<(Date, f64)>>> {
    stored_scores(store, add_days(from, -33), add_days(to, -7)).await
}

/// Stored scores from `first` to `last`, by account.
pub(crate) async fn stored_scores(
    store: &Store,
    first: Date,
    last: Date,
) -> Result<HashMap<String, Vec<(Date, f64)>>> {
    let mut history: HashMap<String, Vec<(Date, f64)>> = HashMap::new();
    for (id, day, score) in store.snapshot_scores(first, last).await? {
        if let Some(s) = score {
            history.entry(id).or_default().push((day, s));
        }
    }
    Ok(history)
}
