//! The engage pass over a range of days: every account's facts on each
//! day from the data as it was then (no look-ahead), its stage and
//! segment decided in core (a move waits until the account has been
//! `settle_days` in its stage or segment), folded into runs. The daily job passes over
//! one day; `tenure health recompute --from` over many, which rebuilds the
//! history those days hold.

use std::collections::HashMap;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::engage::{
    EngageConfig, FactInputs, FactSlots, Run as Span, arr_percentiles, facts, held, record_day,
    rewind,
};
use tenure_core::health::{DELTA_TOLERANCE_DAYS, HealthModel, score_deltas};
use tenure_core::model::{add_days, date_from_day, day_number};
use tenure_core::rules::Facts;
use tenure_store::Store;
use tenure_store::engage::{Dimension, Run, RunsFrom};
use tenure_store::health::{Shard, SignalsRequest, Snapshot, StoredScorecard};

use super::{AccountEngage, EngageDay};
use crate::clock::now_micros;
use crate::health::recompute::{par_map, snapshot_of};
use crate::health::score::{Loaded, stored_scores};
use crate::health::{Progress, check_rates, overrides_by_account, score_signals};
use crate::{Error, Result};

/// A stage's or a segment's name, and the segment's tier.
type Key = (String, Option<String>);

/// Signals of this many account-days are held at once (about what a
/// recompute holds); longer ranges are loaded in parts.
const ACCOUNT_DAYS: usize = 5_000_000;

/// What a pass writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Write {
    /// The stage and segment runs it rebuilt.
    pub runs: bool,
    /// Each day's health snapshots, from the scores the facts read (the
    /// daily job's one load of the signals).
    pub snapshots: bool,
}

/// How a stage is recorded.
fn stage_key(engage: &EngageConfig, s: usize) -> Key {
    (engage.journey.0[s].name.clone(), None)
}

/// How a segment is recorded: its name and its tier's.
fn segment_key(engage: &EngageConfig, s: usize) -> Key {
    let seg = &engage.segments.0[s];
    (seg.name.clone(), Some(engage.tiers[seg.tier].name.clone()))
}

/// The slot of a dimension in an account's stored runs.
fn dim(d: Dimension) -> usize {
    match d {
        Dimension::Stage => 0,
        Dimension::Segment => 1,
    }
}

/// What one account got on one day.
struct Decided {
    facts: Facts,
    stage: Option<usize>,
    segment: Option<usize>,
    errors: Vec<String>,
}

/// Passes over `from..=to` (in order): decides every account's stage and
/// segment each day, and as `write` says, replaces the runs recorded from
/// `from` on with those rebuilt and stores each day's health snapshots. Returns the last day, with each account's
/// entry days and cadence.
pub(super) async fn pass(
    store: &Store,
    config: &Config,
    from: Date,
    to: Date,
    write: Write,
    progress: &dyn Progress,
) -> Result<EngageDay> {
    if to < from {
        return Err(Error::Invalid(format!(
            "the range ends ({to}) before it starts ({from})"
        )));
    }
    check_rates(store, config).await?;
    let model = HealthModel::new(&config.health);
    let mut plan = model.plan().clone();
    let slots = FactSlots::add_to(&mut plan);
    let accounts = store.health_accounts().await?;
    if accounts.is_empty() {
        return Ok(EngageDay {
            day: to,
            accounts: Vec::new(),
            changes: 0,
            snapshots: 0,
        });
    }
    if write.snapshots {
        store
            .save_scorecards(
                &StoredScorecard::all_of(&model, &config.health),
                now_micros(),
            )
            .await?;
    }
    let mut snapshots_written = 0;
    let track_payments = store.payments_tracked().await?;
    let overrides = overrides_by_account(store).await?;
    // Facts read the 30-day change only: the scores 30 to 33 days back.
    let history = stored_scores(
        store,
        add_days(from, -30 - DELTA_TOLERANCE_DAYS),
        add_days(to, -30),
    )
    .await?;
    let first_mrr: HashMap<String, Date> = store.first_paid_days().await?.into_iter().collect();

    // Each account's runs open on `from` or entered after it: as they
    // stood before `from` once rewound, and as recorded, to rewrite only
    // what changed.
    let mut stored: HashMap<String, [Vec<Run>; 2]> = HashMap::new();
    for r in store.engage_runs(Some(from)).await? {
        let slot = dim(r.dimension);
        stored.entry(r.account_id.clone()).or_default()[slot].push(r);
    }
    let stored_of = |id: &str, d: Dimension| -> &[Run] {
        stored
            .get(id)
            .map_or(&[][..], |both| both[dim(d)].as_slice())
    };
    let tracks = |d: Dimension| -> Vec<Vec<Span<Key>>> {
        accounts
            .iter()
            .map(|a| {
                let mut runs: Vec<Span<Key>> = stored_of(&a.id, d)
                    .iter()
                    .map(|r| Span {
                        value: (r.name.clone(), r.tier.clone()),
                        entered: r.entered_on,
                        left: r.left_on,
                    })
                    .collect();
                rewind(&mut runs, from);
                runs
            })
            .collect()
    };
    let mut stages = tracks(Dimension::Stage);
    let mut segments = tracks(Dimension::Segment);

    let engage = &config.engage;
    let settle = engage.settle_days;
    let dates: Vec<Date> = (day_number(from)..=day_number(to))
        .map(date_from_day)
        .collect();
    let horizon = plan.lookback_days() as usize;
    let per_load = (ACCOUNT_DAYS / accounts.len())
        .saturating_sub(horizon)
        .max(1);
    progress.start(dates.len() as u64);
    let mut last: Vec<Decided> = Vec::new();
    for part in dates.chunks(per_load) {
        let loaded = Loaded::load(
            store,
            SignalsRequest {
                plan: &plan,
                currency: &config.currency,
                dates: part,
                shard: Shard::split(&accounts, usize::MAX)[0],
                track_payments,
            },
        )
        .await?;
        for (d, &day) in part.iter().enumerate() {
            // Facts need every account's MRR for the ARR percentiles, so
            // they are gathered first and the rules decided after.
            let scored_facts = par_map(&accounts, 0, 500, &|i, account| {
                let signals = loaded.signals(d, i);
                let ov = overrides.get(&account.id).map_or(&[][..], Vec::as_slice);
                let scored = score_signals(&model, &signals, account, ov);
                let trend = score_deltas(
                    history.get(&account.id).map_or(&[][..], Vec::as_slice),
                    day,
                    scored.score.score,
                )
                .d30;
                let snapshot = if write.snapshots {
                    snapshot_of(account, &scored, day)
                } else {
                    None
                };
                let f = facts(
                    slots,
                    FactInputs {
                        account,
                        signals: &signals,
                        score: Some(&scored.score),
                        trend_30d: trend,
                        first_mrr: first_mrr.get(&account.id).copied(),
                        arr_percentile: None,
                    },
                );
                (f, snapshot)
            });
            let (mut decided, snapshots): (Vec<Facts>, Vec<Option<Snapshot>>) =
                scored_facts.into_iter().unzip();
            if write.snapshots {
                let day_snapshots: Vec<Snapshot> = snapshots.into_iter().flatten().collect();
                snapshots_written += store.write_snapshots(&day_snapshots, now_micros()).await?;
            }
            let pct = arr_percentiles(&decided.iter().map(|f| f.mrr).collect::<Vec<_>>());
            for (f, p) in decided.iter_mut().zip(pct) {
                f.arr_percentile = p;
            }
            let (stage_runs, segment_runs) = (&stages, &segments);
            let day_decided: Vec<Decided> = par_map(&decided, 0, 500, &|i, f: &Facts| {
                let mut f = f.clone();
                let mut errors = Vec::new();
                let open_stage = stage_runs[i].last().filter(|r| r.left.is_none());
                let current = open_stage.and_then(|r| engage.journey.index(&r.value.0));
                let of = engage.journey.stage_of(&f, current);
                for (k, e) in &of.errors {
                    errors.push(format!("stage {:?}: {e}", engage.journey.0[*k].name));
                }
                // A move waits until the account has settled in its stage;
                // a move into a lost stage does not.
                let stage = match of.stage {
                    Some(s)
                        if !engage.journey.0[s].lost
                            && held(open_stage, Some(&stage_key(engage, s)), day, settle) =>
                    {
                        current.or(of.stage)
                    }
                    s => s,
                };
                f.stage = stage.map(|s| engage.journey.0[s].name.clone());
                let of = engage.segments.segment_of(&f);
                for (k, e) in &of.errors {
                    errors.push(format!("segment {:?}: {e}", engage.segments.0[*k].name));
                }
                let open_segment = segment_runs[i].last();
                let segment = match of.segment {
                    Some(s) if held(open_segment, Some(&segment_key(engage, s)), day, settle) => {
                        open_segment
                            .and_then(|r| engage.segments.index(&r.value.0))
                            .or(of.segment)
                    }
                    s => s,
                };
                Decided {
                    facts: f,
                    stage,
                    segment,
                    errors,
                }
            });
            for (i, x) in day_decided.iter().enumerate() {
                record_day(&mut stages[i], day, x.stage.map(|s| stage_key(engage, s)));
                record_day(
                    &mut segments[i],
                    day,
                    x.segment.map(|s| segment_key(engage, s)),
                );
            }
            last = day_decided;
            progress.step();
        }
    }

    let mut changed = Vec::new();
    let mut out: Vec<AccountEngage> = Vec::with_capacity(accounts.len());
    for (i, (account, x)) in accounts.into_iter().zip(last).enumerate() {
        for (d, runs) in [
            (Dimension::Stage, &stages[i]),
            (Dimension::Segment, &segments[i]),
        ] {
            // Stored runs are all open on `from` or later (see the load).
            let touching = runs.iter().filter(|r| r.left.is_none_or(|l| l >= from));
            let before = stored_of(&account.id, d);
            let same = touching.clone().count() == before.len()
                && touching.clone().zip(before).all(|(r, b)| {
                    r.value.0 == b.name
                        && r.value.1 == b.tier
                        && r.entered == b.entered_on
                        && r.left == b.left_on
                });
            if !same {
                changed.push(RunsFrom {
                    account_id: account.id.clone(),
                    dimension: d,
                    runs: touching
                        .map(|r| Run {
                            account_id: account.id.clone(),
                            dimension: d,
                            name: r.value.0.clone(),
                            tier: r.value.1.clone(),
                            entered_on: r.entered,
                            left_on: r.left,
                        })
                        .collect(),
                });
            }
        }
        let open = |runs: &[Span<Key>]| runs.last().filter(|r| r.left.is_none()).map(|r| r.entered);
        out.push(AccountEngage {
            stage_since: open(&stages[i]),
            segment_since: open(&segments[i]),
            account,
            facts: x.facts,
            stage: x.stage,
            segment: x.segment,
            tier: x.segment.map(|s| engage.segments.0[s].tier),
            cadence: Vec::new(),
            errors: x.errors,
        });
    }
    if write.runs && !changed.is_empty() {
        store.replace_engage_runs(from, &changed).await?;
    }
    Ok(EngageDay {
        day: to,
        accounts: out,
        changes: changed.len(),
        snapshots: snapshots_written,
    })
}
