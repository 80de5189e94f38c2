//! Daily snapshots: every customer's score for each day of a range, each
//! from the data as it was on that day (no look-ahead), stored through the
//! store.

use jiff::civil::Date;
use std::borrow::Cow;
use tenure_core::config::Config;

use tenure_core::health::{AccountSignals, DayRanks, HealthModel, RanksBuilder};
use tenure_core::model::{Account, date_from_day, day_number};
use tenure_store::Store;
use tenure_store::health::{Shard, SignalsRequest, Snapshot, StoredScorecard};

use super::score::{Loaded, Scored, score_signals_ranked};
use super::{check_rates, overrides_by_account, shard_size};
use crate::Result;
use crate::clock::now_micros;

/// Reports how far a long computation got. Every method has a default
/// that does nothing.
pub trait Progress: Sync {
    /// The number of steps to come.
    fn start(&self, _steps: u64) {}
    /// One step is done.
    fn step(&self) {}
}

/// No progress shown.
pub struct Quiet;

impl Progress for Quiet {}

/// Accounts scored at a time by [`recompute`] before their snapshots go to
/// the [`SnapshotWriter`].
const SCORE_PART: usize = 25_000;

/// Computes and stores one snapshot per customer (paying or in trial, or
/// with an override that applies) and day from `from` to `to`; returns how
/// many were written. One step of `progress` per shard and day.
pub async fn recompute(
    store: &Store,
    config: &Config,
    from: Date,
    to: Date,
    progress: &dyn Progress,
) -> Result<u64> {
    // Exchange rates are checked while the accounts load (both read
    // whole tables).
    let rates = tokio::spawn({
        let (store, config) = (store.clone(), config.clone());
        async move { check_rates(&store, &config).await }
    });
    let model = HealthModel::new(&config.health);
    let accounts = store.health_accounts_with(model.reads_attributes()).await;
    rates.await??;
    let accounts = accounts?;
    store
        .save_scorecards(
            &StoredScorecard::all_of(&model, &config.health),
            now_micros(),
        )
        .await?;
    let track_payments = store.payments_tracked().await?;
    let overrides = overrides_by_account(store).await?;
    let dates: Vec<Date> = (day_number(from)..=day_number(to))
        .map(date_from_day)
        .collect();
    let shards = Shard::split(&accounts, shard_size(&model, &dates));
    // One shard's signals on every date (loaded once or twice: see below).
    let load = |shard| {
        Loaded::load(
            store,
            SignalsRequest {
                plan: model.plan(),
                currency: &config.currency,
                dates: &dates,
                shard,
                track_payments,
            },
        )
    };
    // Relative measures place each account among the day's customers: in
    // one shard, from the loaded table; over several, from a first pass
    // over the shards that keeps only their values.
    let relative = model.is_relative();
    let two_passes = relative && shards.len() > 1;
    let passes = if two_passes { 2 } else { 1 };
    progress.start((passes * shards.len() * dates.len()) as u64);
    let mut all_ranks: Option<Vec<DayRanks>> = None;
    if two_passes {
        let mut builders = vec![RanksBuilder::default(); dates.len()];
        for shard in &shards {
            let table = load(*shard).await?;
            for (d, day) in dates.iter().enumerate() {
                table.add_ranks(&mut builders[d], &model, shard.accounts, d, *day);
                progress.step();
            }
        }
        all_ranks = Some(builders.into_iter().map(|b| b.finish(&model)).collect());
    }
    let mut writer = SnapshotWriter::new(store);
    let mut batch: Vec<Snapshot> = Vec::new();
    for shard in &shards {
        let table = load(*shard).await?;
        for (d, day) in dates.iter().enumerate() {
            // With ranks to build from this shard, the day's signals are
            // assembled once (on every core) for both the ranks and the
            // scores.
            let assembled: Option<Vec<AccountSignals>> =
                (relative && all_ranks.is_none()).then(|| {
                    par_map(shard.accounts, 0, 2_000, &|i, _| {
                        table.signals(d, i).into_owned()
                    })
                });
            let local;
            let ranks: Option<&DayRanks> = match (&all_ranks, &assembled) {
                (Some(r), _) => Some(&r[d]),
                (None, Some(day_signals)) => {
                    let mut b = RanksBuilder::default();
                    for (account, signals) in shard.accounts.iter().zip(day_signals) {
                        if account.is_customer_on(signals.mrr, *day) {
                            b.add(&model, model.scorecard_index(account), account, signals);
                        }
                    }
                    local = b.finish(&model);
                    Some(&local)
                }
                (None, None) => None,
            };
            let snapshot = |i: usize, account: &Account| {
                let ov = overrides.get(&account.id).map_or(&[][..], Vec::as_slice);
                let signals = match &assembled {
                    Some(v) => Cow::Borrowed(&v[i]),
                    None => table.signals(d, i),
                };
                // Accounts neither paying nor in trial are scored only for
                // an override that may apply.
                if ov.is_empty() && !account.is_customer_on(signals.mrr, *day) {
                    return None;
                }
                let scored = score_signals_ranked(&model, &signals, account, ov, ranks);
                snapshot_of(account, &scored, *day)
            };
            for (c, part) in shard.accounts.chunks(SCORE_PART).enumerate() {
                batch.extend(
                    par_map(part, c * SCORE_PART, 2_000, &snapshot)
                        .into_iter()
                        .flatten(),
                );
                if batch.len() >= 10_000 {
                    writer.send(std::mem::take(&mut batch)).await?;
                }
            }
            progress.step();
        }
    }
    writer.send(batch).await?;
    writer.finish().await
}

/// The snapshot an account's score gives on `day`: customers (paying or
/// in trial) and accounts with an override that applies have one.
pub(crate) fn snapshot_of(account: &Account, scored: &Scored, day: Date) -> Option<Snapshot> {
    (account.is_customer_on(scored.mrr, day) || scored.override_row.is_some())
        .then(|| Snapshot::of(&account.id, &scored.score, scored.override_id()))
}

/// `f(first + i, item)` for every item, in order, on one thread per core
/// (at least `min_per_thread` items each): for pure per-account work such
/// as scoring, while the part before is being stored.
pub(crate) fn par_map<T: Sync, R: Send>(
    items: &[T],
    first: usize,
    min_per_thread: usize,
    f: &(dyn Fn(usize, &T) -> R + Sync),
) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_run = items.len().div_ceil(cores).max(min_per_thread).max(1);
    let mut out = Vec::with_capacity(items.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per_run)
            .enumerate()
            .map(|(k, run)| {
                let start = first + k * per_run;
                scope.spawn(move || {
                    run.iter()
                        .enumerate()
                        .map(|(j, x)| f(start + j, x))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            out.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
    });
    out
}

/// Stores batches of snapshots in the background while the next batch is
/// scored; one write at a time, so at most two batches are held.
pub(crate) struct SnapshotWriter {
    store: Store,
    now: i64,
    pending: Option<tokio::task::JoinHandle<Result<u64>>>,
    written: u64,
}

impl SnapshotWriter {
    pub(crate) fn new(store: &Store) -> Self {
        SnapshotWriter {
            store: store.clone(),
            now: now_micros(),
            pending: None,
            written: 0,
        }
    }

    /// Waits for the write before, then starts writing `batch`.
    pub(crate) async fn send(&mut self, batch: Vec<Snapshot>) -> Result<()> {
        self.wait().await?;
        if batch.is_empty() {
            return Ok(());
        }
        let (store, now) = (self.store.clone(), self.now);
        self.pending = Some(tokio::spawn(async move {
            Ok(store.write_snapshots(&batch, now).await?)
        }));
        Ok(())
    }

    async fn wait(&mut self) -> Result<()> {
        if let Some(h) = self.pending.take() {
            self.written += h.await??;
        }
        Ok(())
    }

    /// The number of snapshots written, once the last write is done.
    pub(crate) async fn finish(mut self) -> Result<u64> {
        self.wait().await?;
        Ok(self.written)
    }
}
