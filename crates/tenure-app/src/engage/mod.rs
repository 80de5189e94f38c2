//! Engage (docs/ENGAGE.md): each account's journey stage, segment and touch
//! tier on a day, the runs of days it spent in each (kept in the store),
//! and where each required engagement stands.
//!
//! [`run_day`] is the daily pass the background job runs after the health
//! scores: it builds every account's facts from the same signals the
//! scores read (plus the 30-day windows the facts need), decides stage and
//! segment in core, records the runs that changed and computes cadence.
//! A rule that cannot be decided on one account's data is reported with
//! that account and never stops the pass.

use std::collections::HashMap;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::engage::cadence::{Standing, standing};
use tenure_core::engage::{FactInputs, FactSlots, arr_percentiles, facts};
use tenure_core::health::{HealthModel, score_deltas};
use tenure_core::model::Account;
use tenure_core::rules::Facts;
use tenure_store::Store;
use tenure_store::engage::{Dimension, Run, RunChange};
use tenure_store::health::{Shard, SignalsRequest};

use crate::Result;
use crate::health::score::score_history;
use crate::health::{check_rates, overrides_by_account, score_signals};

/// One account on one day.
#[derive(Debug, Clone)]
pub struct AccountEngage {
    pub account: Account,
    pub facts: Facts,
    /// Index into the configured stages.
    pub stage: Option<usize>,
    /// Index into the configured segments.
    pub segment: Option<usize>,
    /// The segment's tier, an index into the configured tiers.
    pub tier: Option<usize>,
    /// The day the account entered its current stage and segment.
    pub stage_since: Option<Date>,
    pub segment_since: Option<Date>,
    /// Where each policy that applies stands: `(policy index, standing)`.
    pub cadence: Vec<(usize, Standing)>,
    /// Rules that could not be decided on this account, in words.
    pub errors: Vec<String>,
}

/// Every account on one day.
#[derive(Debug, Clone)]
pub struct EngageDay {
    pub day: Date,
    pub accounts: Vec<AccountEngage>,
    /// Runs opened or closed by this pass (or that would be, when only
    /// evaluated).
    pub changes: usize,
}

/// Decides every account's stage and segment on `day`, records the runs
/// that changed (a change on the same day replaces that day's run) and
/// computes cadence: the daily pass. `day` must not be earlier than the
/// days already recorded.
pub async fn run_day(store: &Store, config: &Config, day: Date) -> Result<EngageDay> {
    day_of(store, config, day, true).await
}

/// What [`run_day`] would decide on `day`, recording nothing: for the
/// commands and pages that show stages, segments and cadence. An account
/// whose stage or segment differs from its open run counts as having
/// entered it on `day`.
pub async fn evaluate(store: &Store, config: &Config, day: Date) -> Result<EngageDay> {
    day_of(store, config, day, false).await
}

async fn day_of(store: &Store, config: &Config, day: Date, record: bool) -> Result<EngageDay> {
    let mut accounts = assign(store, config, day).await?;
    let open = store.engage_runs(true).await?;
    let mut open_by: HashMap<(&str, Dimension), &Run> = HashMap::new();
    for r in &open {
        open_by.insert((r.account_id.as_str(), r.dimension), r);
    }
    let engage = &config.engage;
    let mut changes = Vec::new();
    for a in &mut accounts {
        let stage = a.stage.map(|i| (engage.journey.0[i].name.clone(), None));
        let segment = a.segment.map(|i| {
            let s = &engage.segments.0[i];
            (s.name.clone(), Some(engage.tiers[s.tier].name.clone()))
        });
        let id = a.account.id.as_str();
        a.stage_since = fold(
            &mut changes,
            id,
            Dimension::Stage,
            stage,
            open_by.get(&(id, Dimension::Stage)).copied(),
            day,
        );
        a.segment_since = fold(
            &mut changes,
            id,
            Dimension::Segment,
            segment,
            open_by.get(&(id, Dimension::Segment)).copied(),
            day,
        );
    }
    let n = changes.len();
    if record && !changes.is_empty() {
        store.apply_run_changes(&changes).await?;
    }
    cadence(store, config, day, &mut accounts).await?;
    Ok(EngageDay {
        day,
        accounts,
        changes: n,
    })
}

/// The change that brings an account's open run of a dimension to today's
/// assignment (`name`, `tier`), and the day it entered it.
fn fold(
    changes: &mut Vec<RunChange>,
    account_id: &str,
    dimension: Dimension,
    today: Option<(String, Option<String>)>,
    open: Option<&Run>,
    day: Date,
) -> Option<Date> {
    if let Some(run) = open {
        if let Some((name, tier)) = &today
            && *name == run.name
            && *tier == run.tier
        {
            return Some(run.entered_on);
        }
        if run.entered_on < day {
            changes.push(RunChange::Close {
                account_id: account_id.to_string(),
                dimension,
                entered_on: run.entered_on,
                left_on: day,
            });
        }
    }
    let (name, tier) = today?;
    changes.push(RunChange::Open(Run {
        account_id: account_id.to_string(),
        dimension,
        name,
        tier,
        entered_on: day,
        left_on: None,
    }));
    Some(day)
}

/// Every account's facts, stage and segment on `day`, without recording
/// anything.
pub async fn assign(store: &Store, config: &Config, day: Date) -> Result<Vec<AccountEngage>> {
    check_rates(store, config).await?;
    let model = HealthModel::new(&config.health);
    let mut plan = model.plan().clone();
    let slots = FactSlots::add_to(&mut plan);
    let accounts = store.health_accounts().await?;
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let signals = store
        .load_signals_on(SignalsRequest {
            plan: &plan,
            currency: &config.currency,
            dates: &[day],
            shard: Shard::split(&accounts, usize::MAX)[0],
            track_payments: store.payments_tracked().await?,
        })
        .await?;
    let overrides = overrides_by_account(store).await?;
    let history = score_history(store, day).await?;
    let mut first_mrr: HashMap<String, Date> = HashMap::new();
    for (id, start, _) in store.paying_spans().await? {
        let e = first_mrr.entry(id).or_insert(start);
        *e = (*e).min(start);
    }
    let percentiles = arr_percentiles(&signals.iter().map(|s| s.mrr).collect::<Vec<_>>());
    let engage = &config.engage;
    let mut out = Vec::with_capacity(accounts.len());
    for ((account, s), pct) in accounts.iter().zip(&signals).zip(percentiles) {
        let ov = overrides.get(&account.id).map_or(&[][..], Vec::as_slice);
        let scored = score_signals(&model, s, account, ov);
        let trend = score_deltas(
            history.get(&account.id).map_or(&[][..], Vec::as_slice),
            day,
            scored.score.score,
        )
        .d30;
        let mut f = facts(
            slots,
            FactInputs {
                account,
                signals: s,
                score: Some(&scored.score),
                trend_30d: trend,
                first_mrr: first_mrr.get(&account.id).copied(),
                arr_percentile: pct,
            },
        );
        let mut errors = Vec::new();
        let stage = engage.journey.stage_of(&f);
        for (i, e) in &stage.errors {
            errors.push(format!("stage {:?}: {e}", engage.journey.0[*i].name));
        }
        f.stage = stage.stage.map(|i| engage.journey.0[i].name.clone());
        let segment = engage.segments.segment_of(&f);
        for (i, e) in &segment.errors {
            errors.push(format!("segment {:?}: {e}", engage.segments.0[*i].name));
        }
        out.push(AccountEngage {
            account: account.clone(),
            facts: f,
            stage: stage.stage,
            segment: segment.segment,
            tier: segment.segment.map(|i| engage.segments.0[i].tier),
            stage_since: None,
            segment_since: None,
            cadence: Vec::new(),
            errors,
        });
    }
    Ok(out)
}

/// Where each required engagement stands on `day`: an account comes under
/// a policy on the later of the days it entered its stage and its segment.
async fn cadence(
    store: &Store,
    config: &Config,
    day: Date,
    accounts: &mut [AccountEngage],
) -> Result<()> {
    let policies = &config.engage.cadence;
    if policies.is_empty() {
        return Ok(());
    }
    let mut done: HashMap<(String, String), Vec<Date>> = HashMap::new();
    for (account, kind, d) in store.engagement_days().await? {
        done.entry((account, kind)).or_default().push(d);
    }
    for a in accounts {
        let since = match (a.stage_since, a.segment_since) {
            (Some(x), Some(y)) => x.max(y),
            (x, y) => match x.or(y) {
                Some(d) => d,
                None => continue,
            },
        };
        for (i, p) in policies.iter().enumerate() {
            if p.applies(a.tier, a.stage) {
                let key = (a.account.id.clone(), p.kind.clone());
                let list = done.get(&key).map_or(&[][..], Vec::as_slice);
                a.cadence
                    .push((i, standing(p.every_days, since, list, day)));
            }
        }
    }
    Ok(())
}

/// One segment on a day: its accounts, ARR and mean health.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRow {
    pub name: String,
    pub tier: String,
    pub persona: Option<String>,
    pub accounts: usize,
    /// In the reporting currency.
    pub arr: f64,
    pub mean_health: Option<f64>,
}

/// Every configured segment on the day, in order.
pub fn segment_rows(config: &Config, day: &EngageDay) -> Vec<SegmentRow> {
    let e = &config.engage;
    e.segments
        .0
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let members: Vec<&AccountEngage> = day
                .accounts
                .iter()
                .filter(|a| a.segment == Some(i))
                .collect();
            SegmentRow {
                name: s.name.clone(),
                tier: e.tiers[s.tier].name.clone(),
                persona: s.persona.clone(),
                accounts: members.len(),
                arr: members.iter().map(|a| a.facts.mrr * 12.0).sum(),
                mean_health: tenure_core::health::mean_score(
                    members.iter().map(|a| a.facts.health),
                ),
            }
        })
        .collect()
}

/// One journey stage on a day.
#[derive(Debug, Clone, PartialEq)]
pub struct StageRow {
    pub name: String,
    pub target_days: Option<u32>,
    pub accounts: usize,
    pub arr: f64,
    /// Median days the accounts have been in the stage.
    pub median_days: Option<i64>,
    /// Accounts there longer than `target_days`: friction.
    pub over_target: usize,
}

/// Days an account has been in its stage on the day.
pub fn days_in_stage(a: &AccountEngage, day: Date) -> Option<i64> {
    a.stage_since
        .map(|s| i64::from(tenure_core::model::day_number(day) - tenure_core::model::day_number(s)))
}

/// Every configured stage on the day, in journey order.
pub fn stage_rows(config: &Config, day: &EngageDay) -> Vec<StageRow> {
    config
        .engage
        .journey
        .0
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let members: Vec<&AccountEngage> =
                day.accounts.iter().filter(|a| a.stage == Some(i)).collect();
            let mut days: Vec<i64> = members
                .iter()
                .filter_map(|a| days_in_stage(a, day.day))
                .collect();
            days.sort_unstable();
            StageRow {
                name: s.name.clone(),
                target_days: s.target_days,
                accounts: members.len(),
                arr: members.iter().map(|a| a.facts.mrr * 12.0).sum(),
                median_days: (!days.is_empty()).then(|| days[days.len() / 2]),
                over_target: s
                    .target_days
                    .map_or(0, |t| days.iter().filter(|d| **d > i64::from(t)).count()),
            }
        })
        .collect()
}

/// A required engagement past its due day.
#[derive(Debug, Clone, PartialEq)]
pub struct Overdue {
    pub account_id: String,
    pub account_name: String,
    pub csm_email: Option<String>,
    pub arr: f64,
    pub segment: Option<String>,
    pub stage: Option<String>,
    pub kind: String,
    pub every_days: u32,
    pub last_done: Option<Date>,
    pub due: Date,
    pub overdue_days: i32,
}

/// Every overdue engagement on the day, most overdue first, then by ARR.
pub fn overdue(config: &Config, day: &EngageDay) -> Vec<Overdue> {
    let e = &config.engage;
    let mut out: Vec<Overdue> = day
        .accounts
        .iter()
        .flat_map(|a| {
            a.cadence
                .iter()
                .filter(|(_, s)| s.overdue_days > 0)
                .map(move |(p, s)| Overdue {
                    account_id: a.account.id.clone(),
                    account_name: a.account.name.clone(),
                    csm_email: a.account.csm_email.clone(),
                    arr: a.facts.mrr * 12.0,
                    segment: a.segment.map(|i| e.segments.0[i].name.clone()),
                    stage: a.stage.map(|i| e.journey.0[i].name.clone()),
                    kind: e.cadence[*p].kind.clone(),
                    every_days: e.cadence[*p].every_days,
                    last_done: s.last_done,
                    due: s.due,
                    overdue_days: s.overdue_days,
                })
        })
        .collect();
    out.sort_by(|x, y| {
        y.overdue_days
            .cmp(&x.overdue_days)
            .then(y.arr.total_cmp(&x.arr))
            .then_with(|| x.account_id.cmp(&y.account_id))
    });
    out
}

/// Where one account stands, from the runs the daily pass recorded: for
/// the account page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccountStatus {
    /// The open stage run: name and the day it was entered.
    pub stage: Option<(String, Date)>,
    /// The open segment run: name, tier and the day it was entered.
    pub segment: Option<(String, String, Date)>,
    /// Each policy that applies: its kind, interval and standing on the day.
    pub cadence: Vec<(String, u32, Standing)>,
}

/// The account's stage, segment and required engagements on `day`, from
/// its open runs and its engagements (nothing is decided anew).
pub async fn account_status(
    store: &Store,
    config: &Config,
    account_id: &str,
    day: Date,
) -> Result<AccountStatus> {
    let runs = store.account_engage_runs(account_id).await?;
    let open = |d: Dimension| {
        runs.iter()
            .find(|r| r.dimension == d && r.left_on.is_none())
    };
    let mut out = AccountStatus {
        stage: open(Dimension::Stage).map(|r| (r.name.clone(), r.entered_on)),
        segment: open(Dimension::Segment).map(|r| {
            (
                r.name.clone(),
                r.tier.clone().unwrap_or_default(),
                r.entered_on,
            )
        }),
        cadence: Vec::new(),
    };
    let e = &config.engage;
    let stage = out.stage.as_ref().and_then(|(n, _)| e.journey.index(n));
    let tier = out
        .segment
        .as_ref()
        .and_then(|(_, t, _)| e.tiers.iter().position(|x| &x.name == t));
    let since = [
        out.stage.as_ref().map(|s| s.1),
        out.segment.as_ref().map(|s| s.2),
    ]
    .into_iter()
    .flatten()
    .max();
    let Some(since) = since else {
        return Ok(out);
    };
    let done = store.account_engagement_days(account_id).await?;
    for p in e.cadence.iter().filter(|p| p.applies(tier, stage)) {
        let days: Vec<Date> = done
            .iter()
            .filter(|(k, _)| *k == p.kind)
            .map(|(_, d)| *d)
            .collect();
        out.cadence.push((
            p.kind.clone(),
            p.every_days,
            standing(p.every_days, since, &days, day),
        ));
    }
    Ok(out)
}
