//! Engage over a period: what the segments, journey and cadence pages,
//! commands and API routes show. The day's stage, segment and cadence of
//! every account ([`super::evaluate`]) plus the runs recorded before it:
//! the funnel, friction, compliance and churn by segment (core's
//! [`tenure_core::engage::period`]).

use std::collections::{HashMap, HashSet};

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::engage::cadence::Compliance;
use tenure_core::engage::period::{Churn, FunnelStage, funnel, kept, segment_churn};
use tenure_core::engage::{Run as Span, record_day, rewind};
use tenure_core::model::add_days;
use tenure_store::Store;
use tenure_store::engage::Dimension;

use super::{
    EngageDay, Overdue, SegmentRow, StageRow, days_in_stage, evaluate, overdue, segment_rows,
    stage_rows,
};
use crate::{Error, Result};

/// Days back churn by segment looks.
pub const CHURN_DAYS: i32 = 90;

/// Days of the period when none is given.
pub const PERIOD_DAYS: i32 = 90;

/// What is asked: the day, the period before it, and whose accounts.
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    /// The last day of the period.
    pub day: Date,
    /// The first day of the period.
    pub from: Date,
    /// Only this CSM's accounts (their email, any case).
    pub csm: Option<String>,
}

impl ReportQuery {
    /// The [`PERIOD_DAYS`] days ending on `day`.
    pub fn last_days(day: Date, csm: Option<String>) -> ReportQuery {
        ReportQuery {
            day,
            from: add_days(day, 1 - PERIOD_DAYS),
            csm,
        }
    }
}

/// A segment on the day, and the churn of the accounts it held
/// [`CHURN_DAYS`] before.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentReport {
    pub row: SegmentRow,
    pub churn: Churn,
    /// Compliance of its accounts with the cadence over the period.
    pub compliance: Compliance,
}

/// A stage on the day and its funnel over the period.
#[derive(Debug, Clone, PartialEq)]
pub struct StageReport {
    pub row: StageRow,
    pub funnel: FunnelStage,
}

/// Friction: a stage and segment where accounts stay past the stage's
/// target.
#[derive(Debug, Clone, PartialEq)]
pub struct Friction {
    pub stage: String,
    pub target_days: u32,
    /// `None`: accounts in no segment.
    pub segment: Option<String>,
    /// Accounts of the segment in the stage, and those past the target.
    pub accounts: usize,
    pub over_target: usize,
    pub arr_over_target: f64,
}

/// An account in its stage past the target.
#[derive(Debug, Clone, PartialEq)]
pub struct Stuck {
    pub account_id: String,
    pub account_name: String,
    pub csm_email: Option<String>,
    pub stage: String,
    pub segment: Option<String>,
    pub days_in_stage: i64,
    pub target_days: u32,
    pub arr: f64,
}

/// Compliance of a group over the period.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplianceRow {
    /// The CSM's email, the segment's name, the account's id, or the
    /// policy in words (`high / adoption / business_review every 60 days`).
    pub key: String,
    /// The account's name, for rows per account.
    pub label: Option<String>,
    pub compliance: Compliance,
    /// Accounts with a required engagement in the period.
    pub accounts: usize,
    /// Engagements overdue on the day.
    pub overdue: usize,
}

/// Everything the Engage surfaces show.
#[derive(Debug, Clone)]
pub struct Report {
    pub day: Date,
    pub from: Date,
    pub accounts: usize,
    pub segments: Vec<SegmentReport>,
    pub stages: Vec<StageReport>,
    pub friction: Vec<Friction>,
    /// Longest past target first.
    pub stuck: Vec<Stuck>,
    pub compliance: Compliance,
    pub by_csm: Vec<ComplianceRow>,
    pub by_segment: Vec<ComplianceRow>,
    pub by_policy: Vec<ComplianceRow>,
    /// Least compliant first.
    pub by_account: Vec<ComplianceRow>,
    pub overdue: Vec<Overdue>,
    /// `(account id, rule error)` of rules not decided on the day.
    pub errors: Vec<(String, String)>,
}

/// The report for `q`: the day evaluated as the daily pass would, the
/// period read from the runs recorded before the day.
pub async fn report(store: &Store, config: &Config, q: &ReportQuery) -> Result<Report> {
    if q.from > q.day {
        return Err(Error::Invalid(format!(
            "the period starts ({}) after it ends ({})",
            q.from, q.day
        )));
    }
    let mut day = evaluate(store, config, q.day).await?;
    if let Some(csm) = &q.csm {
        let csm = csm.trim();
        day.accounts.retain(|a| {
            a.account
                .csm_email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(csm))
        });
    }
    let e = &config.engage;
    let stage_index: HashMap<&str, usize> = e
        .journey
        .0
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let segment_index: HashMap<&str, usize> = e
        .segments
        .0
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    // Each account's runs up to the day, by configured index (runs of
    // stages or segments no longer configured are left out), with the
    // day's assignment folded in.
    let position: HashMap<&str, usize> = day
        .accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.account.id.as_str(), i))
        .collect();
    let n = day.accounts.len();
    let mut stages: Vec<Vec<Span<usize>>> = vec![Vec::new(); n];
    let mut segments: Vec<Vec<Span<usize>>> = vec![Vec::new(); n];
    let then = add_days(q.day, -CHURN_DAYS);
    for r in store.engage_runs(Some(q.from.min(then))).await? {
        let Some(&i) = position.get(r.account_id.as_str()) else {
            continue;
        };
        let (index, list) = match r.dimension {
            Dimension::Stage => (stage_index.get(r.name.as_str()), &mut stages[i]),
            Dimension::Segment => (segment_index.get(r.name.as_str()), &mut segments[i]),
        };
        if let Some(&value) = index {
            list.push(Span {
                value,
                entered: r.entered_on,
                left: r.left_on,
            });
        }
    }
    for (i, a) in day.accounts.iter().enumerate() {
        for (list, value) in [(&mut stages[i], a.stage), (&mut segments[i], a.segment)] {
            rewind(list, q.day);
            record_day(list, q.day, value);
        }
    }
    let mut done: HashMap<(String, String), Vec<Date>> = HashMap::new();
    // The latest engagement before the period, then those in it.
    let before = store.latest_engagement_days(q.from).await?;
    let during = store.engagement_days(q.from, q.day).await?;
    for (account, kind, d) in before.into_iter().chain(during) {
        if position.contains_key(account.as_str()) {
            done.entry((account, kind)).or_default().push(d);
        }
    }

    let funnel = funnel(&e.journey, stages.iter().map(Vec::as_slice), q.from, q.day);
    let churn = segment_churn(
        e.segments.0.len(),
        day.accounts
            .iter()
            .zip(&segments)
            .map(|(a, runs)| (runs.as_slice(), a.facts.churned)),
        then,
    );

    // Compliance per account, then grouped.
    let overdue_list = overdue(config, &day);
    let mut overdue_by: HashMap<&str, usize> = HashMap::new();
    for o in &overdue_list {
        *overdue_by.entry(o.account_id.as_str()).or_default() += 1;
    }
    let mut groups = Groups::default();
    for (i, a) in day.accounts.iter().enumerate() {
        let id = a.account.id.as_str();
        let list = kept(
            e,
            &stages[i],
            &segments[i],
            |k| {
                done.get(&(id.to_string(), k.to_string()))
                    .map_or(&[][..], Vec::as_slice)
            },
            q.from,
            q.day,
        );
        if list.is_empty() {
            continue;
        }
        let late = overdue_by.get(id).copied().unwrap_or(0);
        let csm = a.account.csm_email.as_deref().unwrap_or("(no CSM)");
        let mut total = Compliance::default();
        for k in &list {
            total.add(k.compliance);
            let seg = &e.segments.0[k.segment].name;
            groups.add(Group::Segment, seg, None, k.compliance, id);
            groups.add(
                Group::Policy,
                &policy_label(config, k.policy),
                None,
                k.compliance,
                id,
            );
        }
        groups.add(Group::Csm, csm, None, total, id);
        groups.add(Group::Account, id, Some(&a.account.name), total, id);
        groups.overdue(Group::Csm, csm, late);
        groups.overdue(Group::Account, id, late);
        if let Some(s) = a.segment {
            groups.overdue(Group::Segment, &e.segments.0[s].name, late);
        }
    }
    for o in &overdue_list {
        groups.overdue(Group::Policy, &policy_label(config, o.policy), 1);
    }

    let segments_out: Vec<SegmentReport> = segment_rows(config, &day)
        .into_iter()
        .zip(churn)
        .map(|(row, churn)| {
            let compliance = groups.total(Group::Segment, &row.name);
            SegmentReport {
                row,
                churn,
                compliance,
            }
        })
        .collect();
    let (friction, stuck) = friction(config, &day);
    let by_account = {
        let mut rows = groups.rows(Group::Account);
        rows.sort_by(|x, y| {
            let share = |r: &ComplianceRow| r.compliance.share().unwrap_or(1.0);
            share(x)
                .total_cmp(&share(y))
                .then_with(|| x.key.cmp(&y.key))
        });
        rows
    };
    let mut all = Compliance::default();
    for r in &by_account {
        all.add(r.compliance);
    }
    let errors = day
        .accounts
        .iter()
        .flat_map(|a| a.errors.iter().map(|e| (a.account.id.clone(), e.clone())))
        .collect();
    Ok(Report {
        day: q.day,
        from: q.from,
        accounts: day.accounts.len(),
        stages: stage_rows(config, &day)
            .into_iter()
            .zip(funnel)
            .map(|(row, funnel)| StageReport { row, funnel })
            .collect(),
        segments: segments_out,
        friction,
        stuck,
        compliance: all,
        by_csm: groups.rows(Group::Csm),
        by_segment: groups.rows(Group::Segment),
        by_policy: groups.rows(Group::Policy),
        by_account,
        overdue: overdue_list,
        errors,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Group {
    Csm,
    Segment,
    Policy,
    Account,
}

/// Compliance summed per group, with the accounts seen and the overdue
/// count.
#[derive(Default)]
struct Groups {
    rows: HashMap<(Group, String), GroupSum>,
}

/// A group's label, compliance, accounts and overdue engagements.
type GroupSum = (Option<String>, Compliance, HashSet<String>, usize);

impl Groups {
    fn add(&mut self, g: Group, key: &str, label: Option<&str>, c: Compliance, account: &str) {
        let e = self.rows.entry((g, key.to_string())).or_insert_with(|| {
            (
                label.map(str::to_string),
                Compliance::default(),
                HashSet::new(),
                0,
            )
        });
        e.1.add(c);
        if !e.2.contains(account) {
            e.2.insert(account.to_string());
        }
    }

    fn overdue(&mut self, g: Group, key: &str, n: usize) {
        if let Some(e) = self.rows.get_mut(&(g, key.to_string())) {
            e.3 += n;
        }
    }

    fn total(&self, g: Group, key: &str) -> Compliance {
        self.rows
            .get(&(g, key.to_string()))
            .map_or_else(Compliance::default, |e| e.1)
    }

    /// The group's rows by key.
    fn rows(&self, g: Group) -> Vec<ComplianceRow> {
        let mut out: Vec<ComplianceRow> = self
            .rows
            .iter()
            .filter(|((x, _), _)| *x == g)
            .map(|((_, key), (label, c, accounts, overdue))| ComplianceRow {
                key: key.clone(),
                label: label.clone(),
                compliance: *c,
                accounts: accounts.len(),
                overdue: *overdue,
            })
            .collect();
        out.sort_by(|x, y| x.key.cmp(&y.key));
        out
    }
}

/// Friction per stage (with a target) and segment, and the accounts
/// stuck, longest past the target first.
fn friction(config: &Config, day: &EngageDay) -> (Vec<Friction>, Vec<Stuck>) {
    let e = &config.engage;
    let mut groups: HashMap<(usize, Option<usize>), Friction> = HashMap::new();
    let mut stuck = Vec::new();
    for a in &day.accounts {
        let Some(s) = a.stage else { continue };
        let stage = &e.journey.0[s];
        let Some(target) = stage.target_days else {
            continue;
        };
        let segment = a.segment.map(|i| e.segments.0[i].name.clone());
        let f = groups.entry((s, a.segment)).or_insert_with(|| Friction {
            stage: stage.name.clone(),
            target_days: target,
            segment: segment.clone(),
            accounts: 0,
            over_target: 0,
            arr_over_target: 0.0,
        });
        f.accounts += 1;
        let days = days_in_stage(a, day.day).unwrap_or(0);
        if days > i64::from(target) {
            f.over_target += 1;
            f.arr_over_target += a.arr();
            stuck.push(Stuck {
                account_id: a.account.id.clone(),
                account_name: a.account.name.clone(),
                csm_email: a.account.csm_email.clone(),
                stage: stage.name.clone(),
                segment,
                days_in_stage: days,
                target_days: target,
                arr: a.arr(),
            });
        }
    }
    let mut rows: Vec<((usize, Option<usize>), Friction)> = groups.into_iter().collect();
    rows.sort_by_key(|(k, _)| (k.0, k.1.map_or(usize::MAX, |s| s)));
    stuck.sort_by(|x, y| {
        (y.days_in_stage - i64::from(y.target_days))
            .cmp(&(x.days_in_stage - i64::from(x.target_days)))
            .then(y.arr.total_cmp(&x.arr))
            .then_with(|| x.account_id.cmp(&y.account_id))
    });
    (rows.into_iter().map(|(_, f)| f).collect(), stuck)
}

/// A cadence policy in words: `high / adoption / business_review every 60
/// days`.
pub fn policy_label(config: &Config, policy: usize) -> String {
    let e = &config.engage;
    let p = &e.cadence[policy];
    format!(
        "{} / {} / {} every {} days",
        e.tiers[p.tier].name,
        p.stage
            .map_or("any stage", |s| e.journey.0[s].name.as_str()),
        p.kind,
        p.every_days
    )
}
