//! Success plans: templates applied to the accounts they fit (by the daily
//! job, after Engage has decided segments and stages), goals bound to a
//! metric measured each day, what each plan shows (progress, execution,
//! what is next), execution per account, CSM and segment, and time to
//! value.

use std::collections::HashMap;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::engage::period::median;
use tenure_core::model::{Account, add_days};
use tenure_core::target::CSM_ROLE;
use tenure_core::target::plans::{
    Execution, GoalMetric, MilestoneStatus, PlanStatus, check_day, check_evidence, check_name,
    execution, met, milestones_from, progress, template_for, time_to_value as ttv_days,
};
use tenure_core::target::tasks::{Priority, TaskSource, TaskStatus};
use tenure_store::Kind;
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::rows::Record;
use tenure_store::target::{
    Goal, GoalPatch, Milestone, MilestonePatch, Plan, PlanDetail, PlanItem, ProvenValue, Task,
    TemplateApplied,
};

use crate::clock::now_micros;
use crate::engage::{AccountEngage, EngageDay};
use crate::ids::new_id;
use crate::{Error, Result};

/// What [`apply_templates`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    pub plans_created: usize,
    /// Templates applied, to new plans or to existing ones.
    pub templates: usize,
    /// Tasks created for milestones the CSM owns.
    pub tasks: usize,
}

/// When a plan from a template starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// On the day the template is applied (the daily job).
    Today,
    /// On the day the account came under the template: the later of its
    /// stage's and segment's entry days (a demo or an import of history).
    Entered,
}

/// Applies the plan templates to every account on `day`: an account that a
/// template fits and that has no active plan gets one from it; an account
/// whose active plan has not had the template yet (it moved stage) gets
/// the template's goals and milestones added. Milestones are due from the
/// start; those the CSM owns become the CSM's tasks.
pub async fn apply_templates(
    store: &Store,
    config: &Config,
    day: &EngageDay,
    start: Start,
) -> Result<Applied> {
    let templates = &config.target.templates;
    if templates.is_empty() {
        return Ok(Applied::default());
    }
    let mut active: HashMap<String, Plan> = HashMap::new();
    for p in store.plans(&Scope::All, true).await? {
        // The latest active plan of an account is the one templates go to.
        active.insert(p.account_id.clone(), p);
    }
    let mut out = Applied::default();
    let mut applied = Vec::new();
    for a in &day.accounts {
        let Some(t) = template_for(templates, a.segment, a.tier, a.stage) else {
            continue;
        };
        let template = &templates[t];
        let existing = active.get(&a.account.id);
        if existing.is_some_and(|p| p.templates.contains(&template.name)) {
            continue;
        }
        let from = match start {
            Start::Today => day.day,
            Start::Entered => [a.stage_since, a.segment_since]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(day.day),
        };
        let (plan_id, new_plan) = match existing {
            Some(p) => (p.id.clone(), None),
            None => {
                let id = new_id("pln");
                let plan = Plan {
                    id: id.clone(),
                    account_id: a.account.id.clone(),
                    name: format!("{} success plan", a.account.name),
                    status: PlanStatus::Active,
                    started_on: from,
                    closed_on: None,
                    templates: Vec::new(),
                };
                out.plans_created += 1;
                (id, Some(plan))
            }
        };
        let position = existing.map_or(0, |p| p.templates.len() as i64 * 100);
        let goals = template
            .goals
            .iter()
            .enumerate()
            .map(|(i, g)| Goal {
                id: new_id("gol"),
                plan_id: plan_id.clone(),
                account_id: a.account.id.clone(),
                name: g.name.clone(),
                metric: g.metric.as_ref().map(GoalMetric::name),
                target: g.target,
                at_most: g.at_most,
                value: None,
                measured_on: None,
                achieved_on: None,
                template: Some(template.name.clone()),
                position: position + i as i64,
            })
            .collect();
        let mut tasks = Vec::new();
        let milestones: Vec<Milestone> = milestones_from(template, from)
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                let csm = (m.owner_role == CSM_ROLE)
                    .then(|| a.account.csm_email.clone())
                    .flatten();
                let milestone = Milestone {
                    id: new_id("mst"),
                    plan_id: plan_id.clone(),
                    account_id: a.account.id.clone(),
                    name: m.name,
                    due_on: m.due,
                    owner_role: m.owner_role,
                    owner_email: csm.clone(),
                    status: MilestoneStatus::Open,
                    done_on: None,
                    template: Some(template.name.clone()),
                    position: position + i as i64,
                };
                if milestone.owner_role == CSM_ROLE {
                    tasks.push(milestone_task(&milestone, from));
                }
                milestone
            })
            .collect();
        out.templates += 1;
        out.tasks += tasks.len();
        applied.push(TemplateApplied {
            new_plan,
            plan_id,
            template: template.name.clone(),
            applied_on: from,
            goals,
            milestones,
            tasks,
        });
    }
    store.apply_templates(&applied, now_micros()).await?;
    Ok(out)
}

/// The CSM's task for a milestone they own: done when the milestone is.
pub fn milestone_task(m: &Milestone, created: Date) -> Task {
    Task {
        id: new_id("tsk"),
        account_id: m.account_id.clone(),
        title: m.name.clone(),
        owner_email: m.owner_email.clone(),
        due_on: Some(m.due_on),
        status: TaskStatus::Open,
        priority: Priority::Normal,
        source: TaskSource::Milestone,
        source_id: Some(m.id.clone()),
        notes: None,
        log_kind: None,
        engagement_id: None,
        created_at: created_micros(created),
        completed_on: None,
    }
}

/// Midnight UTC of a day, in microseconds: when a task made for that day
/// counts as created.
fn created_micros(day: Date) -> i64 {
    i64::from(tenure_core::model::day_number(day)) * tenure_core::model::MICROS_PER_DAY
}

/// Measures every goal bound to a metric on an active plan from the
/// accounts' facts on the day; a goal met for the first time records the
/// day. Only goals whose value changed are written (their `measured_on`
/// is the day the value was last measured different). Returns how many
/// goals were measured.
pub async fn measure_goals(store: &Store, day: &EngageDay) -> Result<usize> {
    let goals = store.measured_goals().await?;
    if goals.is_empty() {
        return Ok(0);
    }
    let by_id: HashMap<&str, &AccountEngage> = day
        .accounts
        .iter()
        .map(|a| (a.account.id.as_str(), a))
        .collect();
    let mut values = Vec::with_capacity(goals.len());
    for g in &goals {
        let metric = g.metric.as_deref().and_then(GoalMetric::parse);
        let value = match (metric, by_id.get(g.account_id.as_str())) {
            (Some(m), Some(a)) => m.value(&a.facts),
            _ => None,
        };
        let achieved = g
            .achieved_on
            .or_else(|| met(value, g.target, g.at_most).then_some(day.day));
        if value != g.value || achieved != g.achieved_on || g.measured_on.is_none() {
            values.push((g.id.clone(), value, day.day, achieved));
        }
    }
    store.set_goal_values(&values).await?;
    Ok(goals.len())
}

/// The job's step after Engage: templates applied and goals measured.
pub async fn daily(store: &Store, config: &Config, day: &EngageDay) -> Result<Applied> {
    let applied = apply_templates(store, config, day, Start::Today).await?;
    measure_goals(store, day).await?;
    Ok(applied)
}

/// One goal as a plan shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalView {
    pub goal: Goal,
    /// 0..=1; `None` without data.
    pub progress: Option<f64>,
    pub met: bool,
}

/// A plan as the pages, the commands and the API show it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanView {
    pub plan: Plan,
    pub account_name: String,
    pub csm_email: Option<String>,
    pub goals: Vec<GoalView>,
    pub milestones: Vec<Milestone>,
    pub proven: Vec<ProvenValue>,
    /// Milestones due up to the day, and how they went.
    pub execution: Execution,
    /// Open milestones past their due day.
    pub overdue: usize,
    /// The next open milestone, if any (index into `milestones`).
    pub next: Option<usize>,
}

/// Plans as of `day`: every plan in scope, one account's, or one plan.
pub async fn plan_views(
    store: &Store,
    scope: &Scope,
    day: Date,
    account_id: Option<&str>,
    plan_id: Option<&str>,
) -> Result<Vec<PlanView>> {
    let details = store.plan_details(scope, account_id, plan_id).await?;
    let accounts = account_names(store, &details).await?;
    Ok(details
        .into_iter()
        .map(|d| view(d, &accounts, day))
        .collect())
}

/// `(name, CSM)` of the accounts the plans belong to.
async fn account_names(
    store: &Store,
    details: &[PlanDetail],
) -> Result<HashMap<String, (String, Option<String>)>> {
    if details.is_empty() {
        return Ok(HashMap::new());
    }
    let wanted: std::collections::BTreeSet<&str> =
        details.iter().map(|d| d.plan.account_id.as_str()).collect();
    let wanted: Vec<&str> = wanted.into_iter().collect();
    Ok(store
        .accounts_by_id(&wanted)
        .await?
        .into_iter()
        .map(|a| (a.id, (a.name, a.csm_email)))
        .collect())
}

fn view(
    d: PlanDetail,
    accounts: &HashMap<String, (String, Option<String>)>,
    day: Date,
) -> PlanView {
    let (account_name, csm_email) = accounts
        .get(&d.plan.account_id)
        .cloned()
        .unwrap_or_else(|| (d.plan.account_id.clone(), None));
    let execution = execution(
        d.milestones.iter().map(|m| (m.due_on, m.status, m.done_on)),
        Date::MIN,
        day,
    );
    let overdue = d
        .milestones
        .iter()
        .filter(|m| m.status == MilestoneStatus::Open && m.due_on < day)
        .count();
    let next = d
        .milestones
        .iter()
        .enumerate()
        .filter(|(_, m)| m.status == MilestoneStatus::Open)
        .min_by_key(|(_, m)| m.due_on)
        .map(|(i, _)| i);
    let goals = d
        .goals
        .into_iter()
        .map(|g| GoalView {
            progress: progress(g.value, g.target, g.at_most),
            met: met(g.value, g.target, g.at_most),
            goal: g,
        })
        .collect();
    PlanView {
        plan: d.plan,
        account_name,
        csm_email,
        goals,
        milestones: d.milestones,
        proven: d.proven,
        execution,
        overdue,
        next,
    }
}

/// Execution of each account's milestones due over `from..=to`.
pub async fn execution_by_account(
    store: &Store,
    from: Date,
    to: Date,
) -> Result<HashMap<String, Execution>> {
    let mut by: HashMap<String, Vec<(Date, MilestoneStatus, Option<Date>)>> = HashMap::new();
    for m in store.milestones().await? {
        by.entry(m.account_id)
            .or_default()
            .push((m.due_on, m.status, m.done_on));
    }
    Ok(by
        .into_iter()
        .map(|(a, ms)| (a, execution(ms, from, to)))
        .collect())
}

/// One account's time to value.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountTtv {
    pub account_id: String,
    pub first_mrr: Date,
    /// The first milestone done, up to the day.
    pub first_value: Option<Date>,
    pub days: Option<i64>,
}

/// Time to value for a group of accounts.
#[derive(Debug, Clone, PartialEq)]
pub struct TtvGroup {
    pub name: String,
    /// Accounts that started paying (by the day).
    pub accounts: usize,
    /// Of those, accounts that reached value.
    pub reached: usize,
    pub median_days: Option<f64>,
}

/// Time to value on a day (docs/METRICS.md): per account that has paid,
/// and the median per segment (the account's segment on the day) and per
/// cohort (the month of first MRR).
#[derive(Debug, Clone, PartialEq)]
pub struct TimeToValue {
    pub day: Date,
    pub accounts: Vec<AccountTtv>,
    pub median_days: Option<f64>,
    pub by_segment: Vec<TtvGroup>,
    pub by_cohort: Vec<TtvGroup>,
}

/// Each account's segment on `day`, from the recorded segment runs.
pub async fn segments_on(store: &Store, day: Date) -> Result<HashMap<String, String>> {
    Ok(store
        .engage_runs(Some(day))
        .await?
        .into_iter()
        .filter(|r| {
            r.dimension == tenure_store::engage::Dimension::Segment
                && r.entered_on <= day
                && r.left_on.is_none_or(|l| l > day)
        })
        .map(|r| (r.account_id, r.name))
        .collect())
}

/// Time to value on `day` of the accounts in scope, grouped by their
/// recorded segment.
pub async fn time_to_value_for(store: &Store, scope: &Scope, day: Date) -> Result<TimeToValue> {
    let segments = segments_on(store, day).await?;
    let only = match scope {
        Scope::All => None,
        Scope::Csm(email) => {
            let email = email.trim().to_ascii_lowercase();
            Some(
                store
                    .health_accounts_with(false)
                    .await?
                    .into_iter()
                    .filter(|a| {
                        a.csm_email
                            .as_deref()
                            .is_some_and(|c| c.trim().eq_ignore_ascii_case(&email))
                    })
                    .map(|a| a.id)
                    .collect(),
            )
        }
    };
    time_to_value(store, day, &segments, only.as_ref()).await
}

/// Time to value of every account that paid by `day` (of `only`, when
/// given); `segments` maps accounts to their segment's name (accounts
/// outside every segment are grouped as "no segment").
pub async fn time_to_value(
    store: &Store,
    day: Date,
    segments: &HashMap<String, String>,
    only: Option<&std::collections::HashSet<String>>,
) -> Result<TimeToValue> {
    let first_done: HashMap<String, Date> =
        store.first_milestone_days().await?.into_iter().collect();
    let mut accounts: Vec<AccountTtv> = store
        .first_paid_days()
        .await?
        .into_iter()
        .filter(|(a, d)| *d <= day && only.is_none_or(|o| o.contains(a)))
        .map(|(account_id, first_mrr)| {
            let first_value = first_done.get(&account_id).copied().filter(|d| *d <= day);
            AccountTtv {
                days: first_value.map(|v| ttv_days(first_mrr, v)),
                account_id,
                first_mrr,
                first_value,
            }
        })
        .collect();
    accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    let group = |key: &dyn Fn(&AccountTtv) -> String| -> Vec<TtvGroup> {
        let mut groups: std::collections::BTreeMap<String, Vec<&AccountTtv>> = Default::default();
        for a in &accounts {
            groups.entry(key(a)).or_default().push(a);
        }
        groups
            .into_iter()
            .map(|(name, members)| summarise(name, &members))
            .collect()
    };
    let by_segment = group(&|a| {
        segments
            .get(&a.account_id)
            .cloned()
            .unwrap_or_else(|| "no segment".to_string())
    });
    let by_cohort = group(&|a| format!("{:04}-{:02}", a.first_mrr.year(), a.first_mrr.month()));
    let all: Vec<&AccountTtv> = accounts.iter().collect();
    Ok(TimeToValue {
        day,
        median_days: summarise(String::new(), &all).median_days,
        accounts,
        by_segment,
        by_cohort,
    })
}

fn summarise(name: String, members: &[&AccountTtv]) -> TtvGroup {
    let mut days: Vec<i32> = members
        .iter()
        .filter_map(|a| a.days)
        .map(|d| d as i32)
        .collect();
    TtvGroup {
        name,
        accounts: members.len(),
        reached: days.len(),
        median_days: median(&mut days),
    }
}

/// `field: problem` as the caller's error.
fn invalid(field: &str, problem: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{field}: {problem}"))
}

fn name_of(field: &str, text: &str) -> Result<String> {
    check_name(text).map_err(|e| invalid(field, format!("the {field} {e}")))
}

/// The account, if it exists and is in scope.
async fn account(store: &Store, scope: &Scope, account_id: &str) -> Result<Account> {
    match store.get_record(Kind::Accounts, account_id, scope).await? {
        Record::Account(a) => Ok(a),
        _ => Err(Error::NotFound(format!("account {account_id:?}"))),
    }
}

/// Creates a plan by hand for an account in scope, starting on `start`.
pub async fn create_plan(
    store: &Store,
    scope: &Scope,
    account_id: &str,
    name: &str,
    start: Date,
    today: Date,
) -> Result<Plan> {
    let name = name_of("name", name)?;
    let start = check_day(start, today, true).map_err(|e| invalid("start", e))?;
    account(store, scope, account_id).await?;
    let plan = Plan {
        id: new_id("pln"),
        account_id: account_id.to_string(),
        name,
        status: PlanStatus::Active,
        started_on: start,
        closed_on: None,
        templates: Vec::new(),
    };
    store.create_plan(&plan, scope, now_micros()).await?;
    Ok(plan)
}

/// Renames a plan or changes its status (`active`, `completed`,
/// `cancelled`; closing it on `today`).
pub async fn edit_plan(
    store: &Store,
    scope: &Scope,
    plan_id: &str,
    name: Option<&str>,
    status: Option<&str>,
    today: Date,
) -> Result<()> {
    let name = name.map(|n| name_of("name", n)).transpose()?;
    let status = status
        .map(|s| {
            PlanStatus::parse(s).ok_or_else(|| {
                invalid(
                    "status",
                    format!("unknown status {s:?}: expected active, completed or cancelled"),
                )
            })
        })
        .transpose()?;
    store
        .update_plan(plan_id, name.as_deref(), status, today, scope, now_micros())
        .await?;
    Ok(())
}

/// A goal written by hand.
#[derive(Debug, Clone, Default)]
pub struct GoalDraft<'a> {
    pub name: &'a str,
    /// Empty: the value is set by hand.
    pub metric: &'a str,
    pub target: f64,
    pub at_most: bool,
}

/// Adds a goal to a plan in scope. A goal bound to a metric is measured by
/// the next daily pass.
pub async fn add_goal(
    store: &Store,
    scope: &Scope,
    plan_id: &str,
    draft: &GoalDraft<'_>,
) -> Result<Goal> {
    let name = name_of("name", draft.name)?;
    let metric = match draft.metric.trim() {
        "" => None,
        m => Some(GoalMetric::parse(m).ok_or_else(|| {
            invalid(
                "metric",
                format!(
                    "unknown metric {m:?}: expected attrs.NAME or one of {}",
                    tenure_core::target::plans::GOAL_FACTS.join(", ")
                ),
            )
        })?),
    };
    if !draft.target.is_finite() {
        return Err(invalid("target", "the target must be a number"));
    }
    let goal = Goal {
        id: new_id("gol"),
        plan_id: plan_id.to_string(),
        account_id: String::new(),
        name,
        metric: metric.as_ref().map(GoalMetric::name),
        target: draft.target,
        at_most: draft.at_most,
        value: None,
        measured_on: None,
        achieved_on: None,
        template: None,
        position: 1_000_000,
    };
    store.add_goal(&goal, scope).await?;
    Ok(goal)
}

/// Changes a goal: its name, target, direction, or (for a goal without a
/// metric) its value, measured on `today`.
pub async fn edit_goal(
    store: &Store,
    scope: &Scope,
    goal_id: &str,
    name: Option<&str>,
    target: Option<f64>,
    value: Option<Option<f64>>,
    today: Date,
) -> Result<()> {
    let name = name.map(|n| name_of("name", n)).transpose()?;
    if target.is_some_and(|t| !t.is_finite()) {
        return Err(invalid("target", "the target must be a number"));
    }
    if value.flatten().is_some_and(|v| !v.is_finite()) {
        return Err(invalid("value", "the value must be a number"));
    }
    if value.is_some()
        && let Some(m) = store.goal(goal_id, scope).await?.metric
    {
        return Err(invalid(
            "value",
            format!("the goal is measured from {m}; its value updates itself each day"),
        ));
    }
    let patch = GoalPatch {
        name,
        target,
        at_most: None,
        value: value.map(|v| (v, today)),
    };
    store.update_goal(goal_id, &patch, scope).await?;
    Ok(())
}

/// A milestone written by hand.
#[derive(Debug, Clone, Default)]
pub struct MilestoneDraft<'a> {
    pub name: &'a str,
    pub due: Option<Date>,
    /// One of the configured roles; empty: the CSM.
    pub owner_role: &'a str,
    /// Empty: the account's CSM for the `csm` role.
    pub owner_email: &'a str,
}

/// Adds a milestone to a plan in scope; one the CSM owns becomes their
/// task.
pub async fn add_milestone(
    store: &Store,
    config: &Config,
    scope: &Scope,
    plan_id: &str,
    draft: &MilestoneDraft<'_>,
    today: Date,
) -> Result<Milestone> {
    let name = name_of("name", draft.name)?;
    let due = draft
        .due
        .ok_or_else(|| invalid("due", "the due day is missing"))?;
    let due = check_day(due, today, true).map_err(|e| invalid("due", e))?;
    let role = match draft.owner_role.trim() {
        "" => CSM_ROLE.to_string(),
        r => r.to_ascii_lowercase(),
    };
    if !config.target.roles.contains(&role) {
        return Err(invalid(
            "owner_role",
            format!(
                "unknown role {role:?}: expected one of {}",
                config.target.roles.join(", ")
            ),
        ));
    }
    let email = draft.owner_email.trim();
    if !email.is_empty() && !email.contains('@') {
        return Err(invalid(
            "owner_email",
            format!("{email:?} is not an email address"),
        ));
    }
    let account_id = store.plan_account(plan_id, scope).await?;
    let csm = account(store, scope, &account_id).await?.csm_email;
    let owner_email = if email.is_empty() {
        (role == CSM_ROLE).then_some(csm).flatten()
    } else {
        Some(email.to_ascii_lowercase())
    };
    let m = Milestone {
        id: new_id("mst"),
        plan_id: plan_id.to_string(),
        account_id,
        name,
        due_on: due,
        owner_role: role,
        owner_email,
        status: MilestoneStatus::Open,
        done_on: None,
        template: None,
        position: 1_000_000,
    };
    let task = (m.owner_role == CSM_ROLE).then(|| milestone_task(&m, today));
    store.add_milestone(&m, task.as_ref(), scope).await?;
    Ok(m)
}

/// Sets a milestone's status (`open`, `done` on `done_on` or today,
/// `missed`, `dropped`), and optionally moves its due day.
pub async fn edit_milestone(
    store: &Store,
    scope: &Scope,
    milestone_id: &str,
    status: Option<&str>,
    done_on: Option<Date>,
    due: Option<Date>,
    today: Date,
) -> Result<()> {
    let status = status
        .map(|s| {
            MilestoneStatus::parse(s).ok_or_else(|| {
                invalid(
                    "status",
                    format!("unknown status {s:?}: expected open, done, missed or dropped"),
                )
            })
        })
        .transpose()?;
    let done_on = done_on
        .map(|d| check_day(d, today, false).map_err(|e| invalid("done_on", e)))
        .transpose()?;
    let due = due
        .map(|d| check_day(d, today, true).map_err(|e| invalid("due", e)))
        .transpose()?;
    let patch = MilestonePatch {
        name: None,
        due_on: due,
        owner_email: None,
        status: status.map(|s| (s, Some(done_on.unwrap_or(today)))),
    };
    store.update_milestone(milestone_id, &patch, scope).await?;
    Ok(())
}

/// Value delivered, as written by hand.
#[derive(Debug, Clone, Default)]
pub struct ProvenDraft<'a> {
    pub title: &'a str,
    /// Text or a link; empty for none.
    pub evidence: &'a str,
    pub delivered_on: Option<Date>,
    /// The customer confirmed it.
    pub confirmed: bool,
}

/// Records value delivered on a plan in scope (on `today` unless said).
pub async fn add_proven_value(
    store: &Store,
    scope: &Scope,
    plan_id: &str,
    draft: &ProvenDraft<'_>,
    today: Date,
) -> Result<ProvenValue> {
    let title = name_of("title", draft.title)?;
    let evidence = check_evidence(draft.evidence)
        .map_err(|e| invalid("evidence", format!("the evidence {e}")))?;
    let delivered_on = check_day(draft.delivered_on.unwrap_or(today), today, false)
        .map_err(|e| invalid("delivered_on", e))?;
    let confirmed = draft.confirmed;
    let p = ProvenValue {
        id: new_id("val"),
        plan_id: plan_id.to_string(),
        account_id: String::new(),
        title,
        evidence,
        delivered_on,
        confirmed,
    };
    store.add_proven_value(&p, scope, now_micros()).await?;
    Ok(p)
}

/// Deletes a goal, a milestone (with its task) or a proven-value record.
pub async fn delete_item(store: &Store, scope: &Scope, item: PlanItem, id: &str) -> Result<()> {
    Ok(store.delete_plan_item(item, id, scope).await?)
}

/// The onboarding plans a demo's accounts had when they started paying,
/// before the days whose stages and segments were recorded
/// (`history_from`): for each account that paid first before then, the
/// template its tier gets in the first journey stage, from its first
/// paying day, completed when the last milestone fell due; milestones
/// done as core's demo simulation decides from today's health band (not
/// done by then: missed). These give time to value for the older cohorts.
async fn earlier_onboarding(
    store: &Store,
    config: &Config,
    seed: u64,
    history_from: Date,
    day: &EngageDay,
) -> Result<usize> {
    use tenure_core::demo::plans::{MilestoneOutcome, milestone_outcome};
    let first_paid: HashMap<String, Date> = store.first_paid_days().await?.into_iter().collect();
    let mut items = tenure_store::target::PlanItems::default();
    for a in &day.accounts {
        let Some(&start) = first_paid.get(&a.account.id) else {
            continue;
        };
        if start >= history_from || a.segment.is_none() {
            continue;
        }
        let Some(t) = template_for(&config.target.templates, a.segment, a.tier, Some(0)) else {
            continue;
        };
        let template = &config.target.templates[t];
        let Some(last_due) = template.milestones.iter().map(|m| m.due_days).max() else {
            continue;
        };
        let closed = add_days(start, last_due as i32).min(history_from);
        let plan_id = new_id("pln");
        items.plans.push(Plan {
            id: plan_id.clone(),
            account_id: a.account.id.clone(),
            name: format!("{} onboarding", a.account.name),
            status: PlanStatus::Completed,
            started_on: start,
            closed_on: Some(closed),
            templates: Vec::new(),
        });
        for (i, m) in milestones_from(template, start).into_iter().enumerate() {
            let key = format!("{}/{}/{}", a.account.id, m.name, m.due);
            let (status, done_on) =
                match milestone_outcome(seed, &key, start, m.due, closed, a.facts.band) {
                    MilestoneOutcome::Done(d) => (MilestoneStatus::Done, Some(d)),
                    MilestoneOutcome::Open | MilestoneOutcome::Missed => {
                        (MilestoneStatus::Missed, None)
                    }
                };
            items.milestones.push(Milestone {
                id: new_id("mst"),
                plan_id: plan_id.clone(),
                account_id: a.account.id.clone(),
                name: m.name,
                due_on: m.due,
                owner_role: m.owner_role,
                owner_email: None,
                status,
                done_on,
                template: Some(template.name.clone()),
                position: i as i64,
            });
        }
    }
    let n = items.plans.len();
    store.write_plan_items(&items, now_micros()).await?;
    Ok(n)
}

/// What [`demo_history`] recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DemoPlans {
    pub applied: Applied,
    /// Completed onboarding plans of accounts that started paying before
    /// the recorded history.
    pub earlier: usize,
    pub done: usize,
    pub missed: usize,
    pub values: usize,
    pub tasks: usize,
}

/// A demo's plans as if the job and the CSMs had worked them: templates
/// applied from when each account came under them, milestones done (on
/// time or late), missed or still open as core's demo simulation decides
/// from the account's health, value recorded, follow-up tasks written,
/// and goals measured on the day.
pub async fn demo_history(
    store: &Store,
    config: &Config,
    seed: u64,
    history_from: Date,
    day: &EngageDay,
) -> Result<DemoPlans> {
    use tenure_core::demo::plans::{MilestoneOutcome, follow_up, milestone_outcome, proven_value};
    let earlier = earlier_onboarding(store, config, seed, history_from, day).await?;
    let applied = apply_templates(store, config, day, Start::Entered).await?;
    let bands: HashMap<&str, Option<&str>> = day
        .accounts
        .iter()
        .map(|a| (a.account.id.as_str(), a.facts.band))
        .collect();
    let band = |id: &str| bands.get(id).copied().flatten();
    let today = day.day;
    let mut out = DemoPlans {
        applied,
        earlier,
        ..DemoPlans::default()
    };
    let mut outcomes = Vec::new();
    let views = plan_views(store, &Scope::All, today, None, None).await?;
    for v in &views {
        let account = v.plan.account_id.as_str();
        // Completed (earlier) plans were worked when they were made.
        let active = v.plan.status == PlanStatus::Active;
        for m in v.milestones.iter().filter(|_| active) {
            // Keyed by what is stable between runs (ids are random).
            let key = format!("{account}/{}/{}", m.name, m.due_on);
            match milestone_outcome(
                seed,
                &key,
                v.plan.started_on,
                m.due_on,
                today,
                band(account),
            ) {
                MilestoneOutcome::Open => {}
                MilestoneOutcome::Done(d) => {
                    out.done += 1;
                    outcomes.push((m.id.clone(), MilestoneStatus::Done, Some(d)));
                }
                MilestoneOutcome::Missed => {
                    out.missed += 1;
                    outcomes.push((m.id.clone(), MilestoneStatus::Missed, None));
                }
            }
        }
        let until = v.plan.closed_on.unwrap_or(today);
        let key = format!("{account}/{}", v.plan.started_on);
        for value in proven_value(seed, &key, v.plan.started_on, until, band(account)) {
            let p = ProvenValue {
                id: new_id("val"),
                plan_id: v.plan.id.clone(),
                account_id: account.to_string(),
                title: value.title.to_string(),
                evidence: Some(value.evidence.to_string()),
                delivered_on: value.delivered_on,
                confirmed: value.confirmed,
            };
            store
                .add_proven_value(&p, &Scope::All, now_micros())
                .await?;
            out.values += 1;
        }
    }
    store.set_milestone_outcomes(&outcomes).await?;
    for a in &day.accounts {
        if let Some((title, due)) = follow_up(seed, &a.account.id, today, a.facts.band) {
            let task = Task {
                id: new_id("tsk"),
                account_id: a.account.id.clone(),
                title: title.to_string(),
                owner_email: a.account.csm_email.clone(),
                due_on: Some(due),
                status: TaskStatus::Open,
                priority: Priority::High,
                source: TaskSource::Manual,
                source_id: None,
                notes: None,
                log_kind: Some("call".to_string()).filter(|k| config.engagement_kinds.contains(k)),
                engagement_id: None,
                created_at: created_micros(add_days(due, -7).min(today)),
                completed_on: None,
            };
            store.create_task(&task, &Scope::All).await?;
            out.tasks += 1;
        }
    }
    measure_goals(store, day).await?;
    Ok(out)
}
