//! Target (docs/TARGET.md): what good looks like for each customer and
//! each CSM. Success plans give an account goals (customer outcomes with a
//! measurable target, bound to a fact Tenure computes or set by hand),
//! milestones with due dates and owners, and proven value; tasks are the
//! work CSMs do; KPIs measure each CSM's portfolio against targets.
//!
//! Everything here is pure: the application layer loads plans, tasks and
//! facts, and these functions decide.
//!
//! 1. [`plans::template_for`]: the first template whose segments, tiers
//!    and stages match an account; [`plans::milestones_from`] dates its
//!    milestones from a start day.
//! 2. [`plans::GoalMetric::value`] reads a bound goal's current value from
//!    an account's facts ("no data" is `None`, never 0);
//!    [`plans::progress`] is how far a goal is along.
//! 3. [`plans::execution`]: milestones done on time ÷ milestones due, the
//!    plan-execution KPI; [`plans::time_to_value`].
//! 4. [`tasks`]: a task's status, priority and source, the rules a task
//!    written by hand must follow, and the order of *my tasks*.
//! 5. [`kpis`]: the CSM KPIs, their direction, and red / amber / green
//!    against a target.

pub mod kpis;
pub mod plans;
pub mod tasks;

use std::collections::BTreeMap;

use kpis::Kpi;
use plans::Template;

/// The configuration of Target, checked (`[target]` in tenure.toml).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetConfig {
    /// Who a milestone may be owned by; `csm` is the account's CSM.
    pub roles: Vec<String>,
    pub templates: Vec<Template>,
    /// The team's KPI targets.
    pub kpis: BTreeMap<Kpi, f64>,
    /// Per CSM (lower-case email), targets that replace the team's.
    pub csm_kpis: BTreeMap<String, BTreeMap<Kpi, f64>>,
    /// A KPI short of its target by at most this fraction of the target
    /// is amber rather than red.
    pub amber_within: f64,
}

impl TargetConfig {
    /// The target of `kpi` for a CSM (`None`: the team's).
    pub fn target(&self, kpi: Kpi, csm: Option<&str>) -> Option<f64> {
        csm.and_then(|c| self.csm_kpis.get(&c.trim().to_ascii_lowercase()))
            .and_then(|m| m.get(&kpi))
            .or_else(|| self.kpis.get(&kpi))
            .copied()
    }
}

/// The role a milestone owned by the account's CSM names.
pub const CSM_ROLE: &str = "csm";

/// Roles when `target.roles` is not set.
pub const DEFAULT_ROLES: [&str; 4] = ["csm", "customer", "executive_sponsor", "solutions_engineer"];

/// `target.amber_within` when not set.
pub const DEFAULT_AMBER_WITHIN: f64 = 0.1;
