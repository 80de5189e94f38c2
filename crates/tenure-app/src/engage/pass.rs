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
    ChampionContact, EngageConfig, FactInputs, FactSlots, Run as Span, arr_percentiles, facts,
    held, record_day, rewind,
};
use tenure_core::health::{DELTA_TOLERANCE_DAYS, HealthModel, RanksBuilder, score_deltas};
use tenure_core::model::{add_days, date_from_day, day_number};
use tenure_core::rules::Facts;
use tenure_store::Store;
use tenure_store::engage::{Dimension, Run, RunsFrom};
use tenure_store::health::{Shard, SignalsRequest, Snapshot, StoredScorecard};

use super::{AccountEngage, EngageDay};
use crate::clock::now_micros;
use crate::health::recompute::{SnapshotWriter, par_map, snapshot_of};
use crate::health::score::{Loaded, score_signals_ranked, stored_scores};
use crate::health::{Progress, check_rates, overrides_by_account};
use crate::{Error, Result};

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

/// A stage's or a segment's name, and the segment's tier.
type Key = (String, Option<String>);

/// The stages' (or the segments') keys, numbered so that a pass records
/// and compares numbers: the configured ones first, in order (a stage's
/// number is its index), then any other found among the stored runs (a
/// stage or segment since renamed or removed, a segment whose tier
/// changed).
#[derive(Debug, Clone)]
struct Keys {
    all: Vec<Key>,
    configured: usize,
}

impl Keys {
    fn stages(engage: &EngageConfig) -> Keys {
        Keys::of(
            engage
                .journey
                .0
                .iter()
                .map(|s| (s.name.clone(), None))
                .collect(),
        )
    }

    /// A segment is recorded with its tier's name.
    fn segments(engage: &EngageConfig) -> Keys {
        Keys::of(
            engage
                .segments
                .0
                .iter()
                .map(|s| (s.name.clone(), Some(engage.tiers[s.tier].name.clone())))
                .collect(),
        )
    }

    fn of(all: Vec<Key>) -> Keys {
        Keys {
            configured: all.len(),
            all,
        }
    }

    /// The number of a stored key, numbering it if it is new.
    fn number(&mut self, name: &str, tier: Option<&str>) -> u32 {
        let found = self
            .all
            .iter()
            .position(|(n, t)| n == name && t.as_deref() == tier);
        let i = found.unwrap_or_else(|| {
            self.all.push((name.to_string(), tier.map(str::to_string)));
            self.all.len() - 1
        });
        i as u32
    }

    /// The configured stage or segment a key names (by name: a segment
    /// whose tier changed is still that segment).
    fn configured(&self, key: u32) -> Option<usize> {
        let k = key as usize;
        if k < self.configured {
            return Some(k);
        }
        let name = &self.all[k].0;
        self.all[..self.configured]
            .iter()
            .position(|(n, _)| n == name)
    }
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

/// What the pass reads besides the accounts and their signals.
struct Side {
    /// Each account's first day with MRR.
    first_mrr: HashMap<String, Date>,
    /// Each account's runs open on `from` or entered after it, by
    /// dimension ([`dim`]), with the keys they are numbered by.
    stored: HashMap<String, [Vec<Span<u32>>; 2]>,
    keys: [Keys; 2],
    /// Each account's latest engagement of each kind up to the last day
    /// (read only for cadence).
    latest: HashMap<String, Vec<(String, Date)>>,
    /// Each account's contacts that are or were champions.
    champions: HashMap<String, Vec<ChampionContact>>,
    /// Each account's stored band of the day before `from`.
    previous: HashMap<String, &'static str>,
}

/// Which of the reads that only some facts need a pass makes.
#[derive(Debug, Clone, Copy)]
struct SideReads {
    /// Contacts that are or were champions.
    champions: bool,
    /// The bands of the day before the first.
    previous_band: bool,
}

impl SideReads {
    fn of(config: &Config) -> SideReads {
        SideReads {
            champions: config.rules_read("champions")
                || config.rules_read("days_since_champion_lost"),
            previous_band: config.rules_read("previous_band"),
        }
    }
}

async fn read_side(
    store: Store,
    mut keys: [Keys; 2],
    from: Date,
    to: Date,
    cadence: bool,
    reads: SideReads,
) -> Result<Side> {
    let first_mrr = store.first_paid_days().await?.into_iter().collect();
    let mut stored: HashMap<String, [Vec<Span<u32>>; 2]> = HashMap::new();
    for r in store.engage_runs(Some(from)).await? {
        let slot = dim(r.dimension);
        let value = keys[slot].number(&r.name, r.tier.as_deref());
        stored.entry(r.account_id).or_default()[slot].push(Span {
            value,
            entered: r.entered_on,
            left: r.left_on,
        });
    }
    // The contacts and the day before's bands only when a rule reads
    // what they give.
    let mut champions: HashMap<String, Vec<ChampionContact>> = HashMap::new();
    if reads.champions {
        for (account, c) in store.champion_contacts().await? {
            champions.entry(account).or_default().push(c);
        }
    }
    let mut previous = HashMap::new();
    if reads.previous_band {
        for (id, _, band) in store.snapshots_on(add_days(from, -1)).await? {
            if let Some(b) = band {
                previous.insert(id, b.as_str());
            }
        }
    }
    let mut latest: HashMap<String, Vec<(String, Date)>> = HashMap::new();
    if cadence {
        for (account, kind, d) in store.latest_engagement_days(add_days(to, 1)).await? {
            latest.entry(account).or_default().push((kind, d));
        }
    }
    Ok(Side {
        first_mrr,
        stored,
        keys,
        latest,
        champions,
        previous,
    })
}

/// Passes over `from..=to` (in order): decides every account's stage and
/// segment each day, and as `write` says, replaces the runs recorded from
/// `from` on with those rebuilt and stores each day's health snapshots.
/// Returns the last day, with each account's entry days, and with where
/// each required engagement stands if `cadence`.
pub(super) async fn pass(
    store: &Store,
    config: &Config,
    from: Date,
    to: Date,
    write: Write,
    cadence: bool,
    progress: &dyn Progress,
) -> Result<EngageDay> {
    if to < from {
        return Err(Error::Invalid(format!(
            "the range ends ({to}) before it starts ({from})"
        )));
    }
    // What only Engage reads is read on another thread while the accounts
    // and the signals load; exchange rates are checked meanwhile too.
    let engage = &config.engage;
    let side = tokio::spawn(read_side(
        store.clone(),
        [Keys::stages(engage), Keys::segments(engage)],
        from,
        to,
        cadence,
        SideReads::of(config),
    ));
    let rates = tokio::spawn({
        let (store, config) = (store.clone(), config.clone());
        async move { check_rates(&store, &config).await }
    });
    let model = HealthModel::new(&config.health);
    let mut plan = model.plan().clone();
    // The users of the 30 days before cost a load of their own: only when
    // a rule reads their change.
    let slots = FactSlots::add_to(&mut plan, config.rules_read("active_users_change_30d"));
    // The stored churn predictions are read only when a rule reads them
    // (a `churn_risk` measure asks for them through the model's plan).
    plan.needs_churn_risk |= config.rules_read("churn_risk");
    // Custom attributes are loaded only when a rule reads them.
    let attributes = model.reads_attributes() || engage.reads_attributes();
    let accounts = store.health_accounts_with(attributes).await;
    rates.await??;
    let accounts = accounts?;
    if accounts.is_empty() {
        return Ok(EngageDay {
            day: to,
            accounts: Vec::new(),
            changes: 0,
            snapshots: 0,
        });
    }
    let mut writer = if write.snapshots {
        store
            .save_scorecards(
                &StoredScorecard::all_of(&model, &config.health),
                now_micros(),
            )
            .await?;
        Some(SnapshotWriter::new(store))
    } else {
        None
    };
    let track_payments = store.payments_tracked().await?;
    let overrides = overrides_by_account(store).await?;
    // Facts read the 30-day change only: the scores 30 to 33 days back.
    let history = stored_scores(
        store,
        add_days(from, -30 - DELTA_TOLERANCE_DAYS),
        add_days(to, -30),
    )
    .await?;
    let Side {
        first_mrr,
        mut stored,
        keys,
        latest,
        champions,
        previous,
    } = side.await??;
    // The band of the day before each day: stored for the first, the
    // pass's own for the next.
    let mut previous_band: Vec<Option<&'static str>> = accounts
        .iter()
        .map(|a| previous.get(&a.id).copied())
        .collect();
    // Each account's stored runs, and its runs as they stood before `from`
    // (rebuilt from there on).
    let before: Vec<[Vec<Span<u32>>; 2]> = accounts
        .iter()
        .map(|a| stored.remove(&a.id).unwrap_or_default())
        .collect();
    let tracks = |d: Dimension| -> Vec<Vec<Span<u32>>> {
        before
            .iter()
            .map(|b| {
                let mut runs = b[dim(d)].clone();
                rewind(&mut runs, from);
                runs
            })
            .collect()
    };
    let mut stages = tracks(Dimension::Stage);
    let mut segments = tracks(Dimension::Segment);

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
            // A relative scorecard places each account among the day's
            // customers: their ranks first, as the recompute does.
            let ranks = model.is_relative().then(|| {
                let mut b = RanksBuilder::default();
                loaded.add_ranks(&mut b, &model, &accounts, d, day);
                b.finish(&model)
            });
            // Facts need every account's MRR for the ARR percentiles, so
            // they are gathered first and the rules decided after.
            let scored_facts = par_map(&accounts, 0, 500, &|i, account| {
                let signals = loaded.signals(d, i);
                let ov = overrides.get(&account.id).map_or(&[][..], Vec::as_slice);
                let scored = score_signals_ranked(&model, &signals, account, ov, ranks.as_ref());
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
                        previous_band: previous_band[i],
                        champions: champions.get(&account.id).map_or(&[][..], Vec::as_slice),
                    },
                );
                (f, snapshot)
            });
            let (mut decided, snapshots): (Vec<Facts>, Vec<Option<Snapshot>>) =
                scored_facts.into_iter().unzip();
            // Stored while the rules are decided.
            if let Some(w) = &mut writer {
                w.send(snapshots.into_iter().flatten().collect()).await?;
            }
            for (b, f) in previous_band.iter_mut().zip(&decided) {
                *b = f.band;
            }
            let pct = arr_percentiles(&decided.iter().map(|f| f.mrr).collect::<Vec<_>>());
            for (f, p) in decided.iter_mut().zip(pct) {
                f.arr_percentile = p;
            }
            let (stage_runs, segment_runs) = (&stages, &segments);
            // Stages first: segment rules may read the stage.
            let staged = par_map(&decided, 0, 500, &|i, f: &Facts| {
                let mut errors = Vec::new();
                let open_stage = stage_runs[i].last().filter(|r| r.left.is_none());
                let current = open_stage.and_then(|r| keys[0].configured(r.value));
                let of = engage.journey.stage_of(f, current);
                for (k, e) in &of.errors {
                    errors.push(format!("stage {:?}: {e}", engage.journey.0[*k].name));
                }
                // A move waits until the account has settled in its stage;
                // a move into a lost stage does not.
                let stage = match of.stage {
                    Some(s)
                        if !engage.journey.0[s].lost
                            && held(open_stage, Some(&(s as u32)), day, settle) =>
                    {
                        current.or(of.stage)
                    }
                    s => s,
                };
                (stage, errors)
            });
            for (f, (stage, _)) in decided.iter_mut().zip(&staged) {
                f.stage = stage.map(|s| engage.journey.0[s].name.clone());
            }
            let segmented = par_map(&decided, 0, 500, &|i, f: &Facts| {
                let of = engage.segments.segment_of(f);
                let errors: Vec<String> = of
                    .errors
                    .iter()
                    .map(|(k, e)| format!("segment {:?}: {e}", engage.segments.0[*k].name))
                    .collect();
                let open_segment = segment_runs[i].last();
                let segment = match of.segment {
                    Some(s) if held(open_segment, Some(&(s as u32)), day, settle) => open_segment
                        .and_then(|r| keys[1].configured(r.value))
                        .or(of.segment),
                    s => s,
                };
                (segment, errors)
            });
            let day_decided: Vec<Decided> = decided
                .into_iter()
                .zip(staged)
                .zip(segmented)
                .map(|((facts, (stage, mut errors)), (segment, more))| {
                    errors.extend(more);
                    Decided {
                        facts,
                        stage,
                        segment,
                        errors,
                    }
                })
                .collect();
            for (i, x) in day_decided.iter().enumerate() {
                record_day(&mut stages[i], day, x.stage.map(|s| s as u32));
                record_day(&mut segments[i], day, x.segment.map(|s| s as u32));
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
            if !touching.clone().eq(before[i][dim(d)].iter()) {
                let keys = &keys[dim(d)];
                changed.push(RunsFrom {
                    account_id: account.id.clone(),
                    dimension: d,
                    runs: touching
                        .map(|r| {
                            let (name, tier) = &keys.all[r.value as usize];
                            Run {
                                account_id: account.id.clone(),
                                dimension: d,
                                name: name.clone(),
                                tier: tier.clone(),
                                entered_on: r.entered,
                                left_on: r.left,
                            }
                        })
                        .collect(),
                });
            }
        }
        let open = |runs: &[Span<u32>]| runs.last().filter(|r| r.left.is_none()).map(|r| r.entered);
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
    if cadence {
        super::cadence(config, to, &latest, &mut out);
    }
    // What the stage decides: days in it, and engagements overdue.
    for a in &mut out {
        a.facts.days_in_stage = super::days_in_stage(a, to);
        if cadence {
            let late = a.cadence.iter().filter(|(_, s)| s.overdue_days > 0).count();
            a.facts.overdue_engagements = Some(late as i64);
        }
    }
    let snapshots = match writer {
        Some(w) => w.finish().await?,
        None => 0,
    };
    if write.runs && !changed.is_empty() {
        store.replace_engage_runs(from, &changed).await?;
    }
    Ok(EngageDay {
        day: to,
        accounts: out,
        changes: changed.len(),
        snapshots,
    })
}
