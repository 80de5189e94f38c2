//! Engage (docs/ENGAGE.md): each account's journey stage, segment and touch
//! tier on a day, the runs of days it spent in each (kept in the store),
//! and where each required engagement stands.
//!
//! [`run_day`] is the daily pass the background job runs after the health
//! scores: it builds every account's facts from the same signals the
//! scores read (plus the 30-day windows the facts need), decides stage and
//! segment in core, records the runs that changed and computes cadence.
//! [`rebuild`] does the same over past days (`pass`), so that time in
//! stage, the funnel and compliance have history. [`report`] reads the
//! runs over a period. A rule that cannot be decided on one account's
//! data is reported with that account and never stops the pass.

mod pass;
pub mod report;
pub mod suggest;

use std::collections::HashMap;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::engage::cadence::{Standing, standings};
use tenure_core::engage::period::median;
use tenure_core::model::Account;
use tenure_core::rules::Facts;
use tenure_store::Store;
use tenure_store::engage::{Dimension, Run};

use crate::Result;
use crate::health::{Progress, Quiet};

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

impl AccountEngage {
    /// 12 × MRR on the day, in the reporting currency.
    pub fn arr(&self) -> f64 {
        self.facts.mrr * 12.0
    }
}

/// Every account on one day.
#[derive(Debug, Clone)]
pub struct EngageDay {
    pub day: Date,
    pub accounts: Vec<AccountEngage>,
    /// Account histories (one account's stage or segment runs) this pass
    /// rewrote, or would rewrite when only evaluated.
    pub changes: usize,
    /// Health snapshots written ([`daily`] only).
    pub snapshots: u64,
}

/// Decides every account's stage and segment on `day`, records the runs
/// that changed (a change on the same day replaces that day's run) and
/// computes cadence: the daily pass. Runs recorded after `day` are
/// dropped (the next passes record them again).
pub async fn run_day(store: &Store, config: &Config, day: Date) -> Result<EngageDay> {
    rebuild(store, config, day, day, &Quiet).await
}

/// Rebuilds the runs from `from` to `to` day by day, each day from the
/// data as it was then (scores' 30-day changes read the stored snapshots,
/// so recompute health over the range first): what `tenure health
/// recompute --from` does after the scores. Returns the last day, with
/// cadence. One step of `progress` per day.
pub async fn rebuild(
    store: &Store,
    config: &Config,
    from: Date,
    to: Date,
    progress: &dyn Progress,
) -> Result<EngageDay> {
    let write = pass::Write {
        runs: true,
        snapshots: false,
    };
    pass::pass(store, config, from, to, write, true, progress).await
}

/// Today's health snapshots and Engage pass from one load of the signals
/// and one scoring of every account: what the background job runs. The
/// same as [`crate::health::recompute()`] for `day` followed by
/// [`run_day`] (a test checks it), in about half the time.
pub async fn daily(store: &Store, config: &Config, day: Date) -> Result<EngageDay> {
    let write = pass::Write {
        runs: true,
        snapshots: true,
    };
    pass::pass(store, config, day, day, write, true, &Quiet).await
}

/// What [`run_day`] would decide on `day`, recording nothing: for the
/// commands and pages that show stages, segments and cadence. Entry days
/// come from the runs recorded before `day`; an account whose stage or
/// segment differs from them counts as having entered it on `day`.
pub async fn evaluate(store: &Store, config: &Config, day: Date) -> Result<EngageDay> {
    pass::pass(
        store,
        config,
        day,
        day,
        pass::Write::default(),
        true,
        &Quiet,
    )
    .await
}

/// Every account's facts, stage and segment on `day`, without recording
/// anything or computing cadence.
pub async fn assign(store: &Store, config: &Config, day: Date) -> Result<Vec<AccountEngage>> {
    Ok(pass::pass(
        store,
        config,
        day,
        day,
        pass::Write::default(),
        false,
        &Quiet,
    )
    .await?
    .accounts)
}

/// Where each required engagement stands on `day`, from each account's
/// latest engagement of each kind (by account id): an account comes under
/// a policy when it entered its segment and, for a policy naming a stage,
/// that stage ([`tenure_core::engage::cadence::Policy::since`]).
fn cadence(
    config: &Config,
    day: Date,
    latest: &HashMap<String, Vec<(String, Date)>>,
    accounts: &mut [AccountEngage],
) {
    let policies = &config.engage.cadence;
    if policies.is_empty() {
        return;
    }
    for a in accounts {
        let done = latest
            .get(a.account.id.as_str())
            .map_or(&[][..], Vec::as_slice);
        a.cadence = standings(
            policies,
            (a.tier, a.stage),
            (a.stage_since, a.segment_since),
            done,
            day,
        );
    }
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
                arr: members.iter().map(|a| a.arr()).sum(),
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
    pub median_days: Option<f64>,
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
            let mut days: Vec<i32> = members
                .iter()
                .filter_map(|a| days_in_stage(a, day.day))
                .map(|d| d as i32)
                .collect();
            StageRow {
                name: s.name.clone(),
                target_days: s.target_days,
                accounts: members.len(),
                arr: members.iter().map(|a| a.arr()).sum(),
                over_target: s
                    .target_days
                    .map_or(0, |t| days.iter().filter(|d| **d > t as i32).count()),
                median_days: median(&mut days),
            }
        })
        .collect()
}

/// A required engagement past its due day.
#[derive(Debug, Clone, PartialEq)]
pub struct Overdue {
    /// Index into the configured cadence policies.
    pub policy: usize,
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
                    policy: *p,
                    account_id: a.account.id.clone(),
                    account_name: a.account.name.clone(),
                    csm_email: a.account.csm_email.clone(),
                    arr: a.arr(),
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
    // Cadence applies to an account in a segment only.
    let in_segment = runs
        .iter()
        .any(|r| r.dimension == Dimension::Segment && r.left_on.is_none());
    let done = if in_segment {
        store.account_engagement_days(account_id).await?
    } else {
        Vec::new()
    };
    Ok(account_status_of(config, &runs, &done, day))
}

/// [`account_status`] from the account's runs and its engagements as
/// `(kind, UTC day)` in any order, already read (the account page reads
/// them for its timeline).
pub fn account_status_of(
    config: &Config,
    runs: &[Run],
    done: &[(String, Date)],
    day: Date,
) -> AccountStatus {
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
    if out.segment.is_none() {
        return out;
    }
    let entered = (
        out.stage.as_ref().map(|s| s.1),
        out.segment.as_ref().map(|s| s.2),
    );
    out.cadence = standings(&e.cadence, (tier, stage), entered, done, day)
        .into_iter()
        .map(|(p, s)| (e.cadence[p].kind.clone(), e.cadence[p].every_days, s))
        .collect();
    out
}
