//! Success plans: templates applied to the accounts they fit (by the daily
//! job, after Engage has decided segments and stages), goals bound to a
//! metric measured each day, what each plan shows (progress, execution,
//! what is next), execution per account, CSM and segment, and time to
//! value.

use std::collections::HashMap;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::engage::period::median;
use tenure_core::target::CSM_ROLE;
use tenure_core::target::plans::{
    Execution, GoalMetric, MilestoneStatus, PlanStatus, execution, met, milestones_from, progress,
    template_for, time_to_value as ttv_days,
};
use tenure_core::target::tasks::{Priority, TaskSource, TaskStatus};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::target::{Goal, Milestone, Plan, PlanDetail, Task, TemplateApplied};

use crate::Result;
use crate::clock::now_micros;
use crate::engage::{AccountEngage, EngageDay};
use crate::ids::new_id;

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
/// day. Returns how many goals were measured.
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
        values.push((g.id.clone(), value, day.day, achieved));
    }
    store.set_goal_values(&values).await?;
    Ok(values.len())
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
    pub proven: Vec<tenure_store::target::ProvenValue>,
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
    let wanted: std::collections::HashSet<&str> =
        details.iter().map(|d| d.plan.account_id.as_str()).collect();
    Ok(store
        .health_accounts_with(false)
        .await?
        .into_iter()
        .filter(|a| wanted.contains(a.id.as_str()))
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

/// Time to value of every account that paid by `day`; `segments` maps
/// accounts to their segment's name (accounts outside every segment are
/// grouped as "no segment").
pub async fn time_to_value(
    store: &Store,
    day: Date,
    segments: &HashMap<String, String>,
) -> Result<TimeToValue> {
    let first_done: HashMap<String, Date> =
        store.first_milestone_days().await?.into_iter().collect();
    let mut accounts: Vec<AccountTtv> = store
        .first_paid_days()
        .await?
        .into_iter()
        .filter(|(_, d)| *d <= day)
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
