//! Survival curves from the database (docs/METRICS.md, "Survival"): each
//! account's lifetime read from the metrics dataset's MRR change points,
//! grouped by segment, plan or tier, and core's Kaplan–Meier curves, for
//! `tenure survival`, `/api/v1/survival` and the `/metrics` page.
//!
//! A group must not depend on how the lifetime ended, or churned accounts
//! would fall out of their group (a churned account holds no segment
//! today). So an account's segment and tier are those of the segment run
//! the Engage pass recorded for its *last day as a customer*: the as-of day
//! when it still pays, the day before its churn otherwise. Accounts the
//! pass never placed on that day are "(no segment)". The plan is the `plan`
//! of the account record: the current plan, the last one for a churned
//! account.

use std::collections::HashMap;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::metrics::Dataset;
use tenure_core::survival::{AccountLifetime, Curve, GroupBy, Lifetime, Median, curves_by_group};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::engage::{Dimension, Run};

use crate::Result;

/// What to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SurvivalQuery {
    pub by: GroupBy,
    /// Lifetimes are censored after this day; later data is ignored.
    pub as_of: Date,
}

/// One group's curve.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupCurve {
    pub name: String,
    pub curve: Curve,
    pub median: Median,
}

/// The curves of every group, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct SurvivalReport {
    pub as_of: Date,
    pub by: GroupBy,
    pub groups: Vec<GroupCurve>,
}

/// Where the accounts' groups come from, by index in the dataset.
pub struct Groups<'a> {
    /// Whether the caller may see the account.
    pub visible: &'a dyn Fn(usize) -> bool,
    /// The account's plan.
    pub plan: &'a dyn Fn(usize) -> Option<String>,
    /// The Engage runs recorded (stage runs are ignored), for the segment
    /// and the tier; empty when grouping by neither.
    pub runs: &'a [Run],
}

/// The curves of `dataset`'s visible accounts on `query.as_of`. Accounts
/// without MRR by the day have no lifetime and are left out.
pub fn report(dataset: &Dataset, query: SurvivalQuery, groups: &Groups<'_>) -> SurvivalReport {
    let mut segment_runs: HashMap<&str, Vec<&Run>> = HashMap::new();
    for r in groups.runs {
        if r.dimension == Dimension::Segment {
            segment_runs
                .entry(r.account_id.as_str())
                .or_default()
                .push(r);
        }
    }
    // The segment run open on the account's last day as a customer (the
    // latest entered, should there be more than one).
    let segment_on = |i: usize, l: &AccountLifetime| -> Option<&Run> {
        let day = l.last_day();
        segment_runs
            .get(dataset.account_id(i))?
            .iter()
            .filter(|r| r.entered_on <= day && r.left_on.is_none_or(|left| left > day))
            .max_by_key(|r| r.entered_on)
            .copied()
    };
    let labelled: Vec<(String, Lifetime)> = dataset
        .lifetimes(query.as_of)
        .into_iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let l = l?;
            if !(groups.visible)(i) {
                return None;
            }
            let name = match query.by {
                GroupBy::All => None,
                GroupBy::Plan => (groups.plan)(i),
                GroupBy::Segment => segment_on(i, &l).map(|r| r.name.clone()),
                GroupBy::Tier => segment_on(i, &l).and_then(|r| r.tier.clone()),
            };
            Some((
                name.unwrap_or_else(|| query.by.missing().to_string()),
                l.lifetime,
            ))
        })
        .collect();
    let groups = curves_by_group(labelled.iter().map(|(n, l)| (n.as_str(), *l)))
        .into_iter()
        .map(|(name, curve)| GroupCurve {
            median: curve.median(),
            name,
            curve,
        })
        .collect();
    SurvivalReport {
        as_of: query.as_of,
        by: query.by,
        groups,
    }
}

/// The Engage runs a grouping needs: every recorded run for `segment` and
/// `tier`, none otherwise.
pub async fn runs_for(store: &Store, by: GroupBy) -> Result<Vec<Run>> {
    Ok(match by {
        GroupBy::Segment | GroupBy::Tier => store.engage_runs(None).await?,
        GroupBy::All | GroupBy::Plan => Vec::new(),
    })
}

/// The survival curves on `query.as_of` of the accounts `scope` sees: the
/// accounts and subscriptions loaded as for the cohort table, the plans
/// and CSMs from the accounts, the segment runs when grouping by them.
pub async fn survival(
    store: &Store,
    config: &Config,
    scope: &Scope,
    query: SurvivalQuery,
) -> Result<SurvivalReport> {
    let dataset = crate::metrics::subscriptions_dataset(store, config).await?;
    let accounts: HashMap<String, (Option<String>, Option<String>)> = store
        .health_accounts_with(false)
        .await?
        .into_iter()
        .map(|a| (a.id, (a.plan, a.csm_email)))
        .collect();
    let runs = runs_for(store, query.by).await?;
    let own = match scope {
        Scope::All => None,
        Scope::Csm(email) => Some(email.trim().to_ascii_lowercase()),
    };
    let account = |i: usize| accounts.get(dataset.account_id(i));
    let visible = |i: usize| match &own {
        None => true,
        Some(own) => account(i)
            .and_then(|(_, csm)| csm.as_deref())
            .is_some_and(|c| c.trim().eq_ignore_ascii_case(own)),
    };
    let plan = |i: usize| account(i).and_then(|(plan, _)| plan.clone());
    Ok(report(
        &dataset,
        query,
        &Groups {
            visible: &visible,
            plan: &plan,
            runs: &runs,
        },
    ))
}
