//! Checks `[target]`: roles, success-plan templates (whom each is for,
//! its goals and milestones) and KPI targets, each problem at its line.

use std::collections::BTreeMap;

use super::Checker;
use super::engage::{unique, unknown};
use super::raw::{RawCsmTargets, RawGoal, RawMilestone, RawTarget, RawTemplate, S};
use crate::engage::EngageConfig;
use crate::target::kpis::Kpi;
use crate::target::plans::{GOAL_FACTS, GoalMetric, GoalTemplate, MilestoneTemplate, Template};
use crate::target::{DEFAULT_AMBER_WITHIN, DEFAULT_ROLES, TargetConfig};

/// The checked `[target]` section; Engage's segments, tiers and stages are
/// what templates may name.
pub(super) fn check_target(
    ck: &mut Checker,
    raw: RawTarget,
    engage: &EngageConfig,
) -> TargetConfig {
    let roles = check_roles(ck, raw.roles);
    let amber_within = match raw.amber_within {
        None => DEFAULT_AMBER_WITHIN,
        Some(a) if (0.0..=1.0).contains(a.get_ref()) => *a.get_ref(),
        Some(a) => {
            ck.err(
                a.span(),
                format!(
                    "target.amber_within must be from 0 to 1, got {}",
                    a.get_ref()
                ),
            );
            DEFAULT_AMBER_WITHIN
        }
    };
    let templates = unique(ck, raw.templates, "target.templates", |t| t.name.as_ref())
        .into_iter()
        .filter_map(|(name, t)| check_template(ck, name, t, engage, &roles))
        .collect();
    let kpis = raw
        .kpis
        .map(|k| check_kpis(ck, k, "target.kpis"))
        .unwrap_or_default();
    let mut csm_kpis = BTreeMap::new();
    for c in raw.csm {
        let (span, c): (_, RawCsmTargets) = (c.span(), c.into_inner());
        let Some(email) = c.email else {
            ck.err(span, "target.csm: every entry needs an email");
            continue;
        };
        let key = email.get_ref().trim().to_ascii_lowercase();
        if !key.contains('@') {
            ck.err(
                email.span(),
                format!("target.csm: {:?} is not an email address", email.get_ref()),
            );
            continue;
        }
        if csm_kpis.contains_key(&key) {
            ck.err(email.span(), format!("target.csm: {key:?} is listed twice"));
            continue;
        }
        let what = format!("target.csm {key:?}: kpis");
        let targets = c.kpis.map(|k| check_kpis(ck, k, &what)).unwrap_or_default();
        csm_kpis.insert(key, targets);
    }
    TargetConfig {
        roles,
        templates,
        kpis,
        csm_kpis,
        amber_within,
    }
}

fn check_roles(ck: &mut Checker, raw: Option<S<Vec<S<String>>>>) -> Vec<String> {
    let Some(list) = raw else {
        return DEFAULT_ROLES.map(str::to_string).to_vec();
    };
    let span = list.span();
    let mut out: Vec<String> = Vec::new();
    for r in list.into_inner() {
        let name = r.get_ref().trim().to_ascii_lowercase();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            ck.err(
                r.span(),
                format!(
                    "target.roles: {:?} is not a role: use letters, digits and _",
                    r.get_ref()
                ),
            );
        } else if out.contains(&name) {
            ck.err(r.span(), format!("target.roles: {name:?} is listed twice"));
        } else {
            out.push(name);
        }
    }
    if !out.iter().any(|r| r == crate::target::CSM_ROLE) {
        ck.err(
            span,
            "target.roles must include \"csm\" (the account's CSM)",
        );
    }
    out
}

/// Names from a list, each turned into its index by `find`; an unknown
/// name is an error listing the known ones.
pub(super) fn indexes(
    ck: &mut Checker,
    raw: Option<S<Vec<S<String>>>>,
    what: &str,
    known: &[&str],
) -> Vec<usize> {
    let mut out = Vec::new();
    for n in raw.map(S::into_inner).unwrap_or_default() {
        match known.iter().position(|k| *k == n.get_ref().trim()) {
            Some(i) if !out.contains(&i) => out.push(i),
            Some(_) => ck.err(
                n.span(),
                format!("{what}: {:?} is listed twice", n.get_ref()),
            ),
            None => ck.err(
                n.span(),
                format!(
                    "{what}: {}",
                    unknown(
                        what.rsplit(' ').next().unwrap_or(what),
                        n.get_ref(),
                        known.iter().copied()
                    )
                ),
            ),
        }
    }
    out
}

fn check_template(
    ck: &mut Checker,
    name: String,
    raw: S<RawTemplate>,
    engage: &EngageConfig,
    roles: &[String],
) -> Option<Template> {
    let span = raw.span();
    let raw = raw.into_inner();
    let label = format!("target.templates {name:?}");
    let segments: Vec<&str> = engage.segments.0.iter().map(|s| s.name.as_str()).collect();
    let tiers: Vec<&str> = engage.tiers.iter().map(|t| t.name.as_str()).collect();
    let stages: Vec<&str> = engage.journey.0.iter().map(|s| s.name.as_str()).collect();
    let segments = indexes(ck, raw.segments, &format!("{label}: segment"), &segments);
    let tiers = indexes(ck, raw.tiers, &format!("{label}: tier"), &tiers);
    let stages = indexes(ck, raw.stages, &format!("{label}: stage"), &stages);
    let errors_before = ck.errors.len();
    let goals: Vec<GoalTemplate> = unique(ck, raw.goals, &format!("{label}: goals"), |g| {
        g.name.as_ref()
    })
    .into_iter()
    .filter_map(|(g, raw)| check_goal(ck, &label, g, raw))
    .collect();
    let milestones: Vec<MilestoneTemplate> =
        unique(ck, raw.milestones, &format!("{label}: milestones"), |m| {
            m.name.as_ref()
        })
        .into_iter()
        .filter_map(|(m, raw)| check_milestone(ck, &label, m, raw, roles))
        .collect();
    if goals.is_empty() && milestones.is_empty() && ck.errors.len() == errors_before {
        ck.err(
            span,
            format!("{label}: a template needs at least one goal or milestone"),
        );
    }
    (ck.errors.len() == errors_before).then_some(Template {
        name,
        segments,
        tiers,
        stages,
        goals,
        milestones,
    })
}

fn check_goal(
    ck: &mut Checker,
    label: &str,
    name: String,
    raw: S<RawGoal>,
) -> Option<GoalTemplate> {
    let span = raw.span();
    let raw = raw.into_inner();
    let metric = match raw.metric {
        None => Some(None),
        Some(m) => match GoalMetric::parse(m.get_ref()) {
            Some(g) => Some(Some(g)),
            None => {
                ck.err(
                    m.span(),
                    format!(
                        "{label}: goal {name:?}: unknown metric {:?}: expected attrs.NAME or one of {}",
                        m.get_ref(),
                        GOAL_FACTS.join(", ")
                    ),
                );
                None
            }
        },
    };
    let target = match raw.target {
        None => {
            ck.err(span, format!("{label}: goal {name:?}: target is missing"));
            None
        }
        Some(t) if t.get_ref().is_finite() => Some(*t.get_ref()),
        Some(t) => {
            ck.err(
                t.span(),
                format!("{label}: goal {name:?}: target must be a number"),
            );
            None
        }
    };
    Some(GoalTemplate {
        name,
        metric: metric?,
        target: target?,
        at_most: raw.at_most.unwrap_or(false),
    })
}

fn check_milestone(
    ck: &mut Checker,
    label: &str,
    name: String,
    raw: S<RawMilestone>,
    roles: &[String],
) -> Option<MilestoneTemplate> {
    let span = raw.span();
    let raw = raw.into_inner();
    let due_days = match raw.due_days {
        None => {
            ck.err(
                span.clone(),
                format!("{label}: milestone {name:?}: due_days is missing"),
            );
            None
        }
        Some(d) if (0..=730).contains(d.get_ref()) => Some(*d.get_ref() as u32),
        Some(d) => {
            ck.err(
                d.span(),
                format!(
                    "{label}: milestone {name:?}: due_days must be from 0 to 730, got {}",
                    d.get_ref()
                ),
            );
            None
        }
    };
    let owner = match raw.owner {
        None => Some(crate::target::CSM_ROLE.to_string()),
        Some(o) => {
            let role = o.get_ref().trim().to_ascii_lowercase();
            if roles.contains(&role) {
                Some(role)
            } else {
                ck.err(
                    o.span(),
                    format!(
                        "{label}: milestone {name:?}: {}",
                        unknown("role", o.get_ref(), roles.iter().map(String::as_str))
                    ),
                );
                None
            }
        }
    };
    Some(MilestoneTemplate {
        name,
        due_days: due_days?,
        owner: owner?,
    })
}

fn check_kpis(
    ck: &mut Checker,
    raw: S<BTreeMap<S<String>, S<f64>>>,
    what: &str,
) -> BTreeMap<Kpi, f64> {
    let mut out = BTreeMap::new();
    for (k, v) in raw.into_inner() {
        let Some(kpi) = Kpi::parse(k.get_ref().trim()) else {
            ck.err(
                k.span(),
                format!(
                    "{what}: {}",
                    unknown("KPI", k.get_ref(), Kpi::ALL.iter().map(|k| k.name()))
                ),
            );
            continue;
        };
        if !v.get_ref().is_finite() {
            ck.err(v.span(), format!("{what}: {kpi} must be a number"));
            continue;
        }
        out.insert(kpi, *v.get_ref());
    }
    out
}
