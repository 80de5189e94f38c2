//! Suggested segments (`tenure segments suggest --k N`): k-means over the
//! paying accounts' revenue, size and usage, each cluster described in
//! words and given a CEL rule that picks it, to paste into
//! `[[engage.segments]]`. docs/ENGAGE.md ("Suggested segments") shows the
//! output.
//!
//! 1. **Features** ([`FEATURES`]): revenue (`arr`), size (`employees`,
//!    `seats`) and usage (`active_users_30d`, `events_30d`, `usage_rate`).
//!    The heavy-tailed ones (all but `usage_rate`) are taken as
//!    `ln(1 + x)`, then every feature is standardised to z-scores (mean 0,
//!    standard deviation 1 over the accounts that have it). An account
//!    without a value for a feature gets the feature's mean (z = 0), so it
//!    is pulled neither way on that feature. A feature no account has, or
//!    that is the same for every account, is dropped and reported.
//! 2. **Clusters**: k-means (`linfa-clustering`) with k-means++ starts,
//!    [`RUNS`] runs from one fixed seed, the run with the least inertia
//!    kept: the same accounts always give the same clusters.
//! 3. **Description**: the features whose mean z-score in the cluster is
//!    furthest from 0 (at least [`DISTINGUISHING_Z`], three at most, and
//!    only where the cluster's median lies on the same side of the overall
//!    median), in words with the cluster's median against the overall
//!    median.
//! 4. **Rule**: grown greedily over the raw fields, one threshold at a time
//!    (`>=` or `<`, at a round number: one or two significant figures),
//!    each time the condition that best separates the cluster from the rest
//!    (F1 of the rule against the cluster's membership), while it improves
//!    and up to [`MAX_CONDITIONS`]. A field that can be `null` is guarded
//!    (`seats != null && seats >= 20`), so the rule can be decided on every
//!    account. Its precision and recall are then measured by running the
//!    compiled rule over the same accounts.

use linfa::DatasetBase;
use linfa::prelude::{Fit, Predict};
use linfa_clustering::KMeans;
use ndarray::Array2;

use crate::rules::{Facts, Rule, field_names};

/// The smallest k.
pub const MIN_K: usize = 2;
/// The largest k: more clusters than this are no longer segments a team
/// can name and staff.
pub const MAX_K: usize = 12;
/// k-means runs, each from its own k-means++ start; the best is kept.
pub const RUNS: usize = 10;
/// Conditions a suggested rule has at most.
pub const MAX_CONDITIONS: usize = 3;
/// How far from 0 a cluster's mean z-score must be for the feature to
/// describe the cluster.
pub const DISTINGUISHING_Z: f64 = 0.5;

/// A feature the clusters are built on: a numeric field of [`Facts`].
#[derive(Debug, Clone, Copy)]
pub struct Feature {
    /// The field's name in rules (`crate::rules::FIELDS`).
    pub field: &'static str,
    /// Short name in words.
    pub label: &'static str,
    /// Words for a cluster above and below the rest on it.
    pub high: &'static str,
    pub low: &'static str,
    /// Taken as `ln(1 + x)` before standardising (heavy-tailed counts and
    /// money).
    pub log: bool,
    /// A CEL `int` field (thresholds are whole numbers).
    pub int: bool,
    /// Can be `null`: rules guard it with `field != null`.
    pub nullable: bool,
    value: fn(&Facts) -> Option<f64>,
}

impl Feature {
    /// The account's value, `None` when missing or not a finite number.
    pub fn value(&self, facts: &Facts) -> Option<f64> {
        (self.value)(facts).filter(|v| v.is_finite())
    }
}

fn whole(v: Option<i64>) -> Option<f64> {
    v.map(|x| x as f64)
}

/// The features, revenue then size then usage.
pub const FEATURES: &[Feature] = &[
    Feature {
        field: "arr",
        label: "ARR",
        high: "high ARR",
        low: "low ARR",
        log: true,
        int: false,
        nullable: false,
        value: |f| Some(f.mrr * 12.0),
    },
    Feature {
        field: "employees",
        label: "employees",
        high: "large companies",
        low: "small companies",
        log: true,
        int: true,
        nullable: true,
        value: |f| whole(f.employees),
    },
    Feature {
        field: "seats",
        label: "seats",
        high: "many seats",
        low: "few seats",
        log: true,
        int: true,
        nullable: true,
        value: |f| whole(f.seats),
    },
    Feature {
        field: "active_users_30d",
        label: "active users (30 days)",
        high: "many active users",
        low: "few active users",
        log: true,
        int: true,
        nullable: true,
        value: |f| whole(f.active_users_30d),
    },
    Feature {
        field: "events_30d",
        label: "events (30 days)",
        high: "heavy usage",
        low: "light usage",
        log: true,
        int: true,
        nullable: true,
        value: |f| whole(f.events_30d),
    },
    Feature {
        field: "usage_rate",
        label: "seat usage",
        high: "high seat usage",
        low: "low seat usage",
        log: false,
        int: false,
        nullable: true,
        value: |f| f.usage_rate,
    },
];

/// Why suggestions cannot be made; every case is the caller's input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SuggestError {
    /// k outside `MIN_K..=MAX_K`.
    #[error("--k must be between {MIN_K} and {MAX_K}, got {0}")]
    KOutOfRange(usize),
    /// Fewer paying accounts (or fewer that differ) than clusters.
    #[error(
        "--k {k} asks for more clusters than there are paying accounts that differ ({distinct} of {accounts} paying accounts): use a k of at most {distinct}"
    )]
    TooFewAccounts {
        k: usize,
        accounts: usize,
        distinct: usize,
    },
    /// Every feature is missing or the same for every account.
    #[error(
        "nothing to cluster on: ARR, employees, seats, active users, events and seat usage are each missing or the same for every paying account"
    )]
    NoFeatures,
    /// k-means itself failed (it should not on checked input).
    #[error("k-means failed: {0}")]
    KMeans(String),
}

/// Why a feature was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// No account has a value.
    Missing,
    /// Every account that has a value has the same one.
    Constant,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Missing => "missing for every account",
            DropReason::Constant => "the same for every account",
        }
    }
}

/// A feature used, over all the accounts.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSummary {
    pub feature: Feature,
    /// Mean and standard deviation of the (log-transformed) values the
    /// z-scores are taken from.
    pub mean: f64,
    pub sd: f64,
    /// Median of the raw values present.
    pub median: f64,
    /// Accounts without a value (given the mean).
    pub missing: usize,
}

impl PartialEq for Feature {
    fn eq(&self, other: &Feature) -> bool {
        self.field == other.field
    }
}

/// One feature within a cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterFeature {
    pub field: &'static str,
    /// Median of the cluster's raw values present; `None` when none is.
    pub median: Option<f64>,
    /// Mean z-score of the cluster's accounts (0 is the overall mean).
    pub mean_z: f64,
}

/// A feature that sets the cluster apart.
#[derive(Debug, Clone, PartialEq)]
pub struct Distinction {
    pub field: &'static str,
    /// Above the rest (true) or below.
    pub high: bool,
    pub mean_z: f64,
    /// In words: `high ARR (median 84,000 vs 12,000 overall)`.
    pub text: String,
}

/// One condition of a suggested rule: `field >= threshold` or
/// `field < threshold`; a missing value never satisfies it.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: &'static str,
    pub at_least: bool,
    pub threshold: f64,
}

/// A suggested segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// `cluster 1`, `cluster 2`, ... in the order of [`Suggestion::clusters`].
    pub name: String,
    /// Indices of its accounts in the input, ascending.
    pub members: Vec<usize>,
    /// Its share of the accounts, 0–1.
    pub share: f64,
    pub arr_total: f64,
    pub arr_median: f64,
    /// Each used feature, in the order of [`Suggestion::features`].
    pub features: Vec<ClusterFeature>,
    /// The features that set it apart, most distinct first.
    pub distinguishing: Vec<Distinction>,
    /// The distinctions joined in one phrase.
    pub description: String,
    pub conditions: Vec<Condition>,
    /// The CEL rule, ready for `rule = "..."`; it compiles.
    pub rule: String,
    /// Share of the accounts the rule picks that are in the cluster, and
    /// share of the cluster the rule picks (on the same accounts).
    pub precision: f64,
    pub recall: f64,
}

/// The suggestion for k clusters.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub k: usize,
    /// Paying accounts clustered.
    pub accounts: usize,
    pub features: Vec<FeatureSummary>,
    pub dropped: Vec<(Feature, DropReason)>,
    /// By median ARR, largest first.
    pub clusters: Vec<Cluster>,
}

/// Clusters `accounts` (one per paying account) into `k` suggested
/// segments.
pub fn suggest(accounts: &[Facts], k: usize) -> Result<Suggestion, SuggestError> {
    if !(MIN_K..=MAX_K).contains(&k) {
        return Err(SuggestError::KOutOfRange(k));
    }
    let n = accounts.len();
    if n < k {
        return Err(SuggestError::TooFewAccounts {
            k,
            accounts: n,
            distinct: n,
        });
    }
    // Raw values, account by account, for every feature.
    let raw: Vec<Vec<Option<f64>>> = FEATURES
        .iter()
        .map(|f| accounts.iter().map(|a| f.value(a)).collect())
        .collect();
    let mut features = Vec::new();
    let mut used = Vec::new();
    let mut dropped = Vec::new();
    for (fi, f) in FEATURES.iter().enumerate() {
        let t: Vec<f64> = raw[fi].iter().flatten().map(|&v| transform(f, v)).collect();
        if t.is_empty() {
            dropped.push((*f, DropReason::Missing));
            continue;
        }
        let mean = t.iter().sum::<f64>() / t.len() as f64;
        let sd = (t.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / t.len() as f64).sqrt();
        if sd <= 1e-9 * mean.abs().max(1.0) {
            dropped.push((*f, DropReason::Constant));
            continue;
        }
        let mut present: Vec<f64> = raw[fi].iter().flatten().copied().collect();
        features.push(FeatureSummary {
            feature: *f,
            mean,
            sd,
            median: median(&mut present).unwrap_or(mean),
            missing: n - t.len(),
        });
        used.push(fi);
    }
    if used.is_empty() {
        return Err(SuggestError::NoFeatures);
    }
    let d = used.len();
    let mut z = Array2::<f64>::zeros((n, d));
    for (j, (&fi, s)) in used.iter().zip(&features).enumerate() {
        for i in 0..n {
            if let Some(v) = raw[fi][i] {
                z[[i, j]] = (transform(&s.feature, v) - s.mean) / s.sd;
            }
        }
    }
    let distinct = distinct_rows(&z);
    if distinct < k {
        return Err(SuggestError::TooFewAccounts {
            k,
            accounts: n,
            distinct,
        });
    }
    let labels = kmeans(&z, k)?;

    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        if let Some(g) = groups.get_mut(l) {
            g.push(i);
        }
    }
    groups.retain(|g| !g.is_empty());
    let arr = &raw[0];
    let mut clusters: Vec<Cluster> = groups
        .into_iter()
        .map(|members| describe(&members, n, &raw, &used, &features, &z, arr))
        .collect();
    clusters.sort_by(|a, b| {
        b.arr_median
            .total_cmp(&a.arr_median)
            .then(b.arr_total.total_cmp(&a.arr_total))
            .then(a.members.cmp(&b.members))
    });
    for (i, c) in clusters.iter_mut().enumerate() {
        c.name = format!("cluster {}", i + 1);
        let mut member = vec![false; n];
        for &m in &c.members {
            member[m] = true;
        }
        c.conditions = grow_rule(&member, &raw, &used);
        c.rule = rule_text(&c.conditions);
        let (precision, recall) = fit(&c.rule, accounts, &member);
        c.precision = precision;
        c.recall = recall;
    }
    Ok(Suggestion {
        k,
        accounts: n,
        features,
        dropped,
        clusters,
    })
}

fn transform(f: &Feature, v: f64) -> f64 {
    if f.log { v.max(0.0).ln_1p() } else { v }
}

/// The median of `values` (sorted in place); `None` when empty.
fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let m = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[m]
    } else {
        (values[m - 1] + values[m]) / 2.0
    })
}

/// How many rows differ from each other.
fn distinct_rows(z: &Array2<f64>) -> usize {
    let mut rows: Vec<Vec<u64>> = z
        .rows()
        .into_iter()
        .map(|r| r.iter().map(|x| x.to_bits()).collect())
        .collect();
    rows.sort_unstable();
    rows.dedup();
    rows.len()
}

/// Each row's cluster: k-means++ starts, [`RUNS`] runs, linfa's fixed seed.
fn kmeans(z: &Array2<f64>, k: usize) -> Result<Vec<usize>, SuggestError> {
    let data = DatasetBase::from(z.clone());
    let model = KMeans::params(k)
        .n_runs(RUNS)
        .max_n_iterations(300)
        .tolerance(1e-6)
        .fit(&data)
        .map_err(|e| SuggestError::KMeans(e.to_string()))?;
    Ok(model.predict(z).to_vec())
}

fn describe(
    members: &[usize],
    n: usize,
    raw: &[Vec<Option<f64>>],
    used: &[usize],
    features: &[FeatureSummary],
    z: &Array2<f64>,
    arr: &[Option<f64>],
) -> Cluster {
    let mut arrs: Vec<f64> = members.iter().filter_map(|&i| arr[i]).collect();
    let arr_total = arrs.iter().sum();
    let arr_median = median(&mut arrs).unwrap_or(0.0);
    let cf: Vec<ClusterFeature> = used
        .iter()
        .enumerate()
        .map(|(j, &fi)| {
            let mut vals: Vec<f64> = members.iter().filter_map(|&i| raw[fi][i]).collect();
            let mean_z = members.iter().map(|&i| z[[i, j]]).sum::<f64>() / members.len() as f64;
            ClusterFeature {
                field: FEATURES[fi].field,
                median: median(&mut vals),
                mean_z,
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..cf.len()).collect();
    order.sort_by(|&a, &b| cf[b].mean_z.abs().total_cmp(&cf[a].mean_z.abs()));
    let distinguishing: Vec<Distinction> = order
        .into_iter()
        .filter(|&j| {
            // Far from the mean, and the median on the same side as the
            // mean z (so "high" never reads "median 5 vs 5 overall").
            let m = features[j].median;
            cf[j].mean_z.abs() >= DISTINGUISHING_Z
                && cf[j]
                    .median
                    .is_some_and(|c| if cf[j].mean_z > 0.0 { c > m } else { c < m })
        })
        .take(3)
        .map(|j| {
            let f = &features[j].feature;
            let high = cf[j].mean_z > 0.0;
            let words = if high { f.high } else { f.low };
            let text = format!(
                "{words} (median {} vs {} overall)",
                show(f, cf[j].median.unwrap_or(features[j].median)),
                show(f, features[j].median)
            );
            Distinction {
                field: f.field,
                high,
                mean_z: cf[j].mean_z,
                text,
            }
        })
        .collect();
    let description = if distinguishing.is_empty() {
        // Nothing stands out: say where it sits on the feature that comes
        // closest.
        let j = (0..cf.len())
            .max_by(|&a, &b| cf[a].mean_z.abs().total_cmp(&cf[b].mean_z.abs()))
            .unwrap_or(0);
        let f = &features[j].feature;
        format!(
            "close to the overall medians (nearest difference: {} median {} vs {} overall)",
            f.label,
            show(f, cf[j].median.unwrap_or(features[j].median)),
            show(f, features[j].median)
        )
    } else {
        distinguishing
            .iter()
            .map(|d| d.text.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Cluster {
        name: String::new(),
        members: members.to_vec(),
        share: members.len() as f64 / n as f64,
        arr_total,
        arr_median,
        features: cf,
        distinguishing,
        description,
        conditions: Vec::new(),
        rule: String::new(),
        precision: 0.0,
        recall: 0.0,
    }
}

/// A value in words: seat usage as a percentage, others as numbers with
/// thousands separators.
pub fn show(f: &Feature, v: f64) -> String {
    if f.field == "usage_rate" {
        return format!("{:.0}%", v * 100.0);
    }
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        let whole = format!("{:.0}", v.abs());
        let mut out = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if v < 0.0 { format!("-{out}") } else { out }
    } else {
        format!("{v:.1}")
    }
}

/// `v` rounded to `digits` significant figures.
fn round_sig(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let e = v.abs().log10().floor() as i32 - (digits - 1);
    if e >= 0 {
        let m = 10f64.powi(e);
        (v / m).round() * m
    } else {
        let m = 10f64.powi(-e);
        (v * m).round() / m
    }
}

/// Round thresholds for one feature: the values at fixed quantiles of the
/// accounts, each at one significant figure, then at two (so that rounder
/// thresholds are tried first and win ties).
fn thresholds(f: &Feature, values: &[Option<f64>]) -> Vec<f64> {
    let mut present: Vec<f64> = values.iter().flatten().copied().collect();
    present.sort_by(f64::total_cmp);
    let mut out: Vec<f64> = Vec::new();
    if present.is_empty() {
        return out;
    }
    const STEPS: usize = 50;
    for digits in [1, 2] {
        for q in 1..STEPS {
            let v = present[q * (present.len() - 1) / STEPS];
            let mut t = round_sig(v, digits);
            if f.int {
                t = t.round();
            }
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

fn holds(c: &Condition, v: Option<f64>) -> bool {
    match v {
        Some(v) if c.at_least => v >= c.threshold,
        Some(v) => v < c.threshold,
        None => false,
    }
}

/// F1 of a selection against the membership.
fn f1(tp: usize, selected: usize, size: usize) -> f64 {
    if tp == 0 {
        return 0.0;
    }
    2.0 * tp as f64 / (selected + size) as f64
}

/// The conditions, grown greedily (see the module docs).
fn grow_rule(member: &[bool], raw: &[Vec<Option<f64>>], used: &[usize]) -> Vec<Condition> {
    let size = member.iter().filter(|&&m| m).count();
    let cands: Vec<(usize, Vec<f64>)> = used
        .iter()
        .map(|&fi| (fi, thresholds(&FEATURES[fi], &raw[fi])))
        .collect();
    let mut selected = vec![true; member.len()];
    let mut best = f1(size, member.len(), size);
    let mut conditions: Vec<Condition> = Vec::new();
    while conditions.len() < MAX_CONDITIONS {
        let mut step: Option<(f64, Condition)> = None;
        for (fi, ts) in &cands {
            let field = FEATURES[*fi].field;
            for at_least in [true, false] {
                if conditions
                    .iter()
                    .any(|c| c.field == field && c.at_least == at_least)
                {
                    continue;
                }
                for &threshold in ts {
                    let c = Condition {
                        field,
                        at_least,
                        threshold,
                    };
                    let (mut tp, mut sel) = (0, 0);
                    for (i, v) in raw[*fi].iter().enumerate() {
                        if selected[i] && holds(&c, *v) {
                            sel += 1;
                            tp += usize::from(member[i]);
                        }
                    }
                    let score = f1(tp, sel, size);
                    if step.as_ref().is_none_or(|(s, _)| score > *s) {
                        step = Some((score, c));
                    }
                }
            }
        }
        match step {
            Some((score, c)) if score > best + 0.005 => {
                let fi = FEATURES.iter().position(|f| f.field == c.field);
                if let Some(fi) = fi {
                    for (i, s) in selected.iter_mut().enumerate() {
                        *s = *s && holds(&c, raw[fi][i]);
                    }
                }
                best = score;
                conditions.push(c);
            }
            _ => break,
        }
    }
    conditions
}

/// A threshold as a CEL literal: a whole number without a decimal point
/// (CEL compares ints with doubles), otherwise at most six decimals.
fn literal(t: f64) -> String {
    let s = format!("{t:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// The conditions as one CEL expression; a nullable field is guarded once,
/// before its first comparison.
pub fn rule_text(conditions: &[Condition]) -> String {
    if conditions.is_empty() {
        return "true".into();
    }
    let mut parts: Vec<String> = Vec::new();
    let mut guarded: Vec<&str> = Vec::new();
    for c in conditions {
        let nullable = FEATURES.iter().any(|f| f.field == c.field && f.nullable);
        if nullable && !guarded.contains(&c.field) {
            parts.push(format!("{} != null", c.field));
            guarded.push(c.field);
        }
        let op = if c.at_least { ">=" } else { "<" };
        parts.push(format!("{} {op} {}", c.field, literal(c.threshold)));
    }
    parts.join(" && ")
}

/// Precision and recall of `rule` against the membership, by running the
/// compiled rule over the accounts; an account it cannot decide on counts
/// as not picked. A rule that does not compile picks nothing.
fn fit(rule: &str, accounts: &[Facts], member: &[bool]) -> (f64, f64) {
    let Ok(rule) = Rule::compile(rule, &|f| field_names().any(|n| n == f)) else {
        return (0.0, 0.0);
    };
    let (mut tp, mut sel) = (0usize, 0usize);
    for (a, &m) in accounts.iter().zip(member) {
        if rule.matches(a) == Ok(true) {
            sel += 1;
            tp += usize::from(m);
        }
    }
    let size = member.iter().filter(|&&m| m).count();
    let precision = if sel == 0 {
        0.0
    } else {
        tp as f64 / sel as f64
    };
    let recall = if size == 0 {
        0.0
    } else {
        tp as f64 / size as f64
    };
    (precision, recall)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three well-separated groups: small and quiet (40 accounts), large
    /// and quiet (20), small and busy (30). Employees are missing for all,
    /// seats the same for all, seat usage missing for all.
    fn groups() -> (Vec<Facts>, Vec<usize>) {
        let mut out = Vec::new();
        let mut truth = Vec::new();
        let specs = [
            (0, 40, 500.0, 4.0),
            (1, 20, 12_500.0, 5.0),
            (2, 30, 700.0, 60.0),
        ];
        for (group, count, mrr, users) in specs {
            for i in 0..count {
                let jitter = ((i * 37) % 11) as f64 / 10.0 - 0.5; // -0.5..=0.5
                let active = (users * (1.0 + jitter / 2.0)).round() as i64;
                out.push(Facts {
                    id: format!("g{group}-{i}"),
                    mrr: mrr * (1.0 + jitter / 5.0),
                    paying: true,
                    seats: Some(10),
                    active_users_30d: Some(active),
                    events_30d: Some(active * 20 + (i as i64 % 7)),
                    ..Facts::default()
                });
                truth.push(group);
            }
        }
        (out, truth)
    }

    fn compiles(rule: &str) -> bool {
        Rule::compile(rule, &|f| field_names().any(|n| n == f)).is_ok()
    }

    #[test]
    fn three_groups_are_recovered_up_to_label_order() {
        let (facts, truth) = groups();
        let s = suggest(&facts, 3).unwrap();
        assert_eq!(s.clusters.len(), 3);
        let mut seen = Vec::new();
        for c in &s.clusters {
            let group = truth[c.members[0]];
            assert!(c.members.iter().all(|&i| truth[i] == group), "{c:#?}");
            assert_eq!(
                c.members.len(),
                truth.iter().filter(|&&g| g == group).count()
            );
            seen.push(group);
        }
        // By median ARR, largest first: large, small and busy, small and quiet.
        assert_eq!(seen, [1, 2, 0]);
        assert_eq!(s.accounts, 90);
        assert!((s.clusters.iter().map(|c| c.share).sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn descriptions_name_the_distinguishing_features() {
        let (facts, _) = groups();
        let s = suggest(&facts, 3).unwrap();
        let first = |c: &Cluster| (c.distinguishing[0].field, c.distinguishing[0].high);
        assert_eq!(first(&s.clusters[0]), ("arr", true));
        assert!(
            s.clusters[0]
                .description
                .starts_with("high ARR (median 150,000 vs ")
        );
        let busy = &s.clusters[1];
        assert!(
            busy.distinguishing
                .iter()
                .any(|d| d.field == "active_users_30d" && d.high),
            "{busy:#?}"
        );
        assert!(busy.description.contains("many active users"));
        let quiet = &s.clusters[2];
        assert!(quiet.distinguishing.iter().all(|d| !d.high), "{quiet:#?}");
        assert!(quiet.description.contains("few active users"));
    }

    #[test]
    fn rules_compile_and_pick_their_cluster() {
        let (facts, _) = groups();
        let s = suggest(&facts, 3).unwrap();
        for c in &s.clusters {
            assert!(compiles(&c.rule), "{}", c.rule);
            assert!(!c.conditions.is_empty() && c.conditions.len() <= MAX_CONDITIONS);
            assert!(c.precision >= 0.9 && c.recall >= 0.9, "{}: {c:#?}", c.rule);
        }
        assert!(
            s.clusters[0].rule.starts_with("arr >= "),
            "{}",
            s.clusters[0].rule
        );
        assert!(
            s.clusters[1]
                .rule
                .contains("active_users_30d != null && active_users_30d >= "),
            "{}",
            s.clusters[1].rule
        );
    }

    #[test]
    fn the_same_accounts_give_the_same_suggestion() {
        let (facts, _) = groups();
        for k in [2, 3, 5] {
            assert_eq!(suggest(&facts, k).unwrap(), suggest(&facts, k).unwrap());
        }
    }

    #[test]
    fn missing_and_constant_features_are_dropped() {
        let (facts, _) = groups();
        let s = suggest(&facts, 3).unwrap();
        let used: Vec<&str> = s.features.iter().map(|f| f.feature.field).collect();
        assert_eq!(used, ["arr", "active_users_30d", "events_30d"]);
        let dropped: Vec<(&str, DropReason)> =
            s.dropped.iter().map(|(f, r)| (f.field, *r)).collect();
        assert_eq!(
            dropped,
            [
                ("employees", DropReason::Missing),
                ("seats", DropReason::Constant),
                ("usage_rate", DropReason::Missing)
            ]
        );
    }

    #[test]
    fn an_account_missing_a_feature_gets_its_mean() {
        let (mut facts, _) = groups();
        facts[0].active_users_30d = None;
        let s = suggest(&facts, 3).unwrap();
        assert_eq!(s.features[1].missing, 1);
        assert_eq!(
            s.clusters.iter().map(|c| c.members.len()).sum::<usize>(),
            90
        );
        // The guarded rules are decided on it too, never an error.
        for c in &s.clusters {
            let rule = Rule::compile(&c.rule, &|f| field_names().any(|n| n == f)).unwrap();
            assert!(rule.matches(&facts[0]).is_ok(), "{}", c.rule);
        }
    }

    #[test]
    fn k_out_of_range_or_above_the_accounts_is_refused() {
        let (facts, _) = groups();
        assert_eq!(suggest(&facts, 1), Err(SuggestError::KOutOfRange(1)));
        assert_eq!(suggest(&facts, 13), Err(SuggestError::KOutOfRange(13)));
        let e = suggest(&facts[..3], 4).unwrap_err();
        assert_eq!(
            e,
            SuggestError::TooFewAccounts {
                k: 4,
                accounts: 3,
                distinct: 3
            }
        );
        assert!(e.to_string().contains("use a k of at most 3"), "{e}");
        // Five accounts, but only two that differ.
        let mut same = vec![facts[0].clone(); 4];
        same.push(facts[50].clone());
        assert!(matches!(
            suggest(&same, 3),
            Err(SuggestError::TooFewAccounts { distinct: 2, .. })
        ));
        assert_eq!(suggest(&same, 2).unwrap().clusters.len(), 2);
    }

    #[test]
    fn nothing_varies_nothing_to_cluster() {
        let one = Facts {
            mrr: 100.0,
            paying: true,
            seats: Some(3),
            ..Facts::default()
        };
        assert_eq!(suggest(&vec![one; 5], 2), Err(SuggestError::NoFeatures));
    }

    #[test]
    fn rule_text_guards_nullable_fields_once() {
        let c = |field, at_least, threshold| Condition {
            field,
            at_least,
            threshold,
        };
        let rule = rule_text(&[
            c("arr", true, 50_000.0),
            c("usage_rate", true, 0.44000000000000006),
            c("usage_rate", false, 0.9),
        ]);
        assert_eq!(
            rule,
            "arr >= 50000 && usage_rate != null && usage_rate >= 0.44 && usage_rate < 0.9"
        );
        assert!(compiles(&rule));
        assert_eq!(rule_text(&[]), "true");
    }

    #[test]
    fn round_numbers_and_words() {
        assert_eq!(round_sig(48_321.0, 1), 50_000.0);
        assert_eq!(round_sig(48_321.0, 2), 48_000.0);
        assert_eq!(literal(round_sig(0.4371, 2)), "0.44");
        let arr = &FEATURES[0];
        assert_eq!(show(arr, 84_000.0), "84,000");
        assert_eq!(show(arr, 1_234_567.4), "1,234,567");
        assert_eq!(show(arr, 12.5), "12.5");
        assert_eq!(show(&FEATURES[5], 0.42), "42%");
    }
}
