//! Target's SQL (docs/TARGET.md): success plans (tables `success_plans`,
//! `plan_templates`, `plan_goals`, `plan_milestones`, `proven_value`) and
//! tasks (`tasks`), migration 0010. What a plan holds and when a task is
//! due is the application layer's decision; this module stores it, each
//! change in one transaction, and keeps a CSM to their own accounts.

use jiff::civil::Date;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use tenure_core::model::Engagement;
use tenure_core::target::plans::{MilestoneStatus, PlanStatus};
use tenure_core::target::tasks::{Priority, TaskSource, TaskStatus};

use crate::api::{Scope, Where, account_visible, checked_values, scoped};
use crate::bulk::write_rows;
use crate::health::{get_day, get_opt_day, parse_day};
use crate::rows::{Record, table_spec};
use crate::scan::{Bind, bind_all};
use crate::{Kind, Result, Store, StoreError};

/// A success plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub status: PlanStatus,
    pub started_on: Date,
    pub closed_on: Option<Date>,
    /// The templates applied to it, in the order they were.
    pub templates: Vec<String>,
}

/// A goal of a plan: a customer outcome with a measurable target.
#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    pub id: String,
    pub plan_id: String,
    pub account_id: String,
    pub name: String,
    /// What the value is read from (`None`: set by hand).
    pub metric: Option<String>,
    pub target: f64,
    pub at_most: bool,
    pub value: Option<f64>,
    /// The day `value` was set, or measured different from before.
    pub measured_on: Option<Date>,
    /// The first day the target was met.
    pub achieved_on: Option<Date>,
    pub template: Option<String>,
    pub position: i64,
}

/// A milestone of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Milestone {
    pub id: String,
    pub plan_id: String,
    pub account_id: String,
    pub name: String,
    pub due_on: Date,
    pub owner_role: String,
    pub owner_email: Option<String>,
    pub status: MilestoneStatus,
    pub done_on: Option<Date>,
    pub template: Option<String>,
    pub position: i64,
}

/// Value delivered to the customer, with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvenValue {
    pub id: String,
    pub plan_id: String,
    pub account_id: String,
    pub title: String,
    pub evidence: Option<String>,
    pub delivered_on: Date,
    /// The customer confirmed it.
    pub confirmed: bool,
}

/// A plan with everything it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanDetail {
    pub plan: Plan,
    pub goals: Vec<Goal>,
    pub milestones: Vec<Milestone>,
    pub proven: Vec<ProvenValue>,
}

/// A task.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: String,
    pub account_id: String,
    pub title: String,
    pub owner_email: Option<String>,
    pub due_on: Option<Date>,
    pub status: TaskStatus,
    pub priority: Priority,
    pub source: TaskSource,
    /// The milestone (or play, or review) behind it.
    pub source_id: Option<String>,
    pub notes: Option<String>,
    /// The engagement kind completing it logs.
    pub log_kind: Option<String>,
    /// The engagement it logged when completed.
    pub engagement_id: Option<String>,
    /// Microseconds since the epoch.
    pub created_at: i64,
    pub completed_on: Option<Date>,
}

/// A template applied to a plan: the plan itself when it is new, and
/// what the template adds.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateApplied {
    /// `Some` for a plan to create.
    pub new_plan: Option<Plan>,
    pub plan_id: String,
    pub template: String,
    pub applied_on: Date,
    pub goals: Vec<Goal>,
    pub milestones: Vec<Milestone>,
    pub tasks: Vec<Task>,
}

/// Plans and their items to write at once ([`Store::write_plan_items`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanItems {
    pub plans: Vec<Plan>,
    pub goals: Vec<Goal>,
    pub milestones: Vec<Milestone>,
    pub proven: Vec<ProvenValue>,
    pub tasks: Vec<Task>,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub scope: Scope,
    /// Tasks owned by this address (case-insensitive).
    pub owner: Option<String>,
    pub account_id: Option<String>,
    pub status: Option<TaskStatus>,
}

/// A change to a task; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TaskPatch {
    pub title: Option<String>,
    pub due_on: Option<Option<Date>>,
    pub priority: Option<Priority>,
    pub notes: Option<Option<String>>,
    pub owner_email: Option<Option<String>>,
    /// Reopen or drop; completing goes through [`Store::complete_task`].
    pub status: Option<TaskStatus>,
}

/// A change to a milestone; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MilestonePatch {
    pub name: Option<String>,
    pub due_on: Option<Date>,
    pub owner_email: Option<Option<String>>,
    /// With the day it was done, for `done`.
    pub status: Option<(MilestoneStatus, Option<Date>)>,
}

/// A change to a goal; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct GoalPatch {
    pub name: Option<String>,
    pub target: Option<f64>,
    pub at_most: Option<bool>,
    /// A value set by hand, measured on a day (goals without a metric).
    pub value: Option<(Option<f64>, Date)>,
}

fn not_found(what: &str, id: &str) -> StoreError {
    StoreError::NotFound(format!("{what} {id:?}"))
}

fn bool_of(v: i64) -> bool {
    v != 0
}

fn plan_status(s: &str) -> Result<PlanStatus> {
    PlanStatus::parse(s).ok_or_else(|| crate::health::decode(format!("bad plan status {s:?}")))
}

fn milestone_status(s: &str) -> Result<MilestoneStatus> {
    MilestoneStatus::parse(s)
        .ok_or_else(|| crate::health::decode(format!("bad milestone status {s:?}")))
}

const PLAN_COLUMNS: &str = "id, account_id, name, status, started_on, closed_on";
const GOAL_COLUMNS: &str = "id, plan_id, account_id, name, metric, target, at_most, value, \
     measured_on, achieved_on, template, position";
const MILESTONE_COLUMNS: &str = "id, plan_id, account_id, name, due_on, owner_role, owner_email, \
     status, done_on, template, position";
const PROVEN_COLUMNS: &str = "id, plan_id, account_id, title, evidence, delivered_on, confirmed";
const TASK_COLUMNS: &str = "id, account_id, title, owner_email, due_on, status, priority, source, \
     source_id, notes, log_kind, engagement_id, created_at, completed_on";

fn plan_row(row: &AnyRow) -> Result<Plan> {
    let status: String = row.try_get(3)?;
    Ok(Plan {
        id: row.try_get(0)?,
        account_id: row.try_get(1)?,
        name: row.try_get(2)?,
        status: plan_status(&status)?,
        started_on: get_day(row, 4)?,
        closed_on: get_opt_day(row, 5)?,
        templates: Vec::new(),
    })
}

fn goal_row(row: &AnyRow) -> Result<Goal> {
    Ok(Goal {
        id: row.try_get(0)?,
        plan_id: row.try_get(1)?,
        account_id: row.try_get(2)?,
        name: row.try_get(3)?,
        metric: row.try_get(4)?,
        target: row.try_get(5)?,
        at_most: bool_of(row.try_get(6)?),
        value: row.try_get(7)?,
        measured_on: get_opt_day(row, 8)?,
        achieved_on: get_opt_day(row, 9)?,
        template: row.try_get(10)?,
        position: row.try_get(11)?,
    })
}

fn milestone_row(row: &AnyRow) -> Result<Milestone> {
    let status: String = row.try_get(7)?;
    Ok(Milestone {
        id: row.try_get(0)?,
        plan_id: row.try_get(1)?,
        account_id: row.try_get(2)?,
        name: row.try_get(3)?,
        due_on: get_day(row, 4)?,
        owner_role: row.try_get(5)?,
        owner_email: row.try_get(6)?,
        status: milestone_status(&status)?,
        done_on: get_opt_day(row, 8)?,
        template: row.try_get(9)?,
        position: row.try_get(10)?,
    })
}

fn proven_row(row: &AnyRow) -> Result<ProvenValue> {
    Ok(ProvenValue {
        id: row.try_get(0)?,
        plan_id: row.try_get(1)?,
        account_id: row.try_get(2)?,
        title: row.try_get(3)?,
        evidence: row.try_get(4)?,
        delivered_on: get_day(row, 5)?,
        confirmed: bool_of(row.try_get(6)?),
    })
}

fn task_row(row: &AnyRow) -> Result<Task> {
    let text = |i: usize| -> Result<String> { Ok(row.try_get::<String, _>(i)?) };
    let bad = |what: &str, s: &str| crate::health::decode(format!("bad task {what} {s:?}"));
    let (status, priority, source) = (text(5)?, text(6)?, text(7)?);
    Ok(Task {
        id: row.try_get(0)?,
        account_id: row.try_get(1)?,
        title: row.try_get(2)?,
        owner_email: row.try_get(3)?,
        due_on: get_opt_day(row, 4)?,
        status: TaskStatus::parse(&status).ok_or_else(|| bad("status", &status))?,
        priority: Priority::parse(&priority).ok_or_else(|| bad("priority", &priority))?,
        source: TaskSource::parse(&source).ok_or_else(|| bad("source", &source))?,
        source_id: row.try_get(8)?,
        notes: row.try_get(9)?,
        log_kind: row.try_get(10)?,
        engagement_id: row.try_get(11)?,
        created_at: row.try_get(12)?,
        completed_on: get_opt_day(row, 13)?,
    })
}

async fn insert_plan(conn: &mut AnyConnection, p: &Plan, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO success_plans \
         (id, account_id, name, status, started_on, closed_on, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(p.id.as_str())
    .bind(p.account_id.as_str())
    .bind(p.name.as_str())
    .bind(p.status.as_str())
    .bind(p.started_on.to_string())
    .bind(p.closed_on.map(|d| d.to_string()))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_goal(conn: &mut AnyConnection, g: &Goal) -> Result<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO plan_goals ({GOAL_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11)"
    )))
    .bind(g.id.as_str())
    .bind(g.plan_id.as_str())
    .bind(g.account_id.as_str())
    .bind(g.name.as_str())
    .bind(g.metric.as_deref())
    .bind(g.target)
    .bind(i64::from(g.at_most))
    .bind(g.measured_on.map(|d| d.to_string()))
    .bind(g.achieved_on.map(|d| d.to_string()))
    .bind(g.template.as_deref())
    .bind(g.position)
    .execute(&mut *conn)
    .await?;
    set_value(conn, &g.id, g.value).await?;
    Ok(())
}

async fn insert_milestone(conn: &mut AnyConnection, m: &Milestone) -> Result<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO plan_milestones ({MILESTONE_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )))
    .bind(m.id.as_str())
    .bind(m.plan_id.as_str())
    .bind(m.account_id.as_str())
    .bind(m.name.as_str())
    .bind(m.due_on.to_string())
    .bind(m.owner_role.as_str())
    .bind(m.owner_email.as_deref())
    .bind(m.status.as_str())
    .bind(m.done_on.map(|d| d.to_string()))
    .bind(m.template.as_deref())
    .bind(m.position)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Inserts a task in a transaction another module holds (a playbook's).
pub(crate) async fn insert_task_in(conn: &mut AnyConnection, t: &Task) -> Result<()> {
    insert_task(conn, t).await
}

async fn insert_task(conn: &mut AnyConnection, t: &Task) -> Result<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO tasks ({TASK_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    )))
    .bind(t.id.as_str())
    .bind(t.account_id.as_str())
    .bind(t.title.as_str())
    .bind(t.owner_email.as_deref())
    .bind(t.due_on.map(|d| d.to_string()))
    .bind(t.status.as_str())
    .bind(t.priority.as_str())
    .bind(t.source.as_str())
    .bind(t.source_id.as_deref())
    .bind(t.notes.as_deref())
    .bind(t.log_kind.as_deref())
    .bind(t.engagement_id.as_deref())
    .bind(t.created_at)
    .bind(t.completed_on.map(|d| d.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_proven(conn: &mut AnyConnection, p: &ProvenValue, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO proven_value \
         (id, plan_id, account_id, title, evidence, delivered_on, confirmed, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(p.id.as_str())
    .bind(p.plan_id.as_str())
    .bind(p.account_id.as_str())
    .bind(p.title.as_str())
    .bind(p.evidence.as_deref())
    .bind(p.delivered_on.to_string())
    .bind(i64::from(p.confirmed))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One task as it stands in the transaction.
async fn read_task(conn: &mut AnyConnection, id: &str) -> Result<Task> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    task_row(&row)
}

/// Sets a milestone's status (with its done day, kept only for `done`)
/// and its tasks' to match ([`TaskStatus::of_milestone`]); a task already
/// in that status is left as it is.
async fn set_milestone_status(
    conn: &mut AnyConnection,
    id: &str,
    status: MilestoneStatus,
    done_on: Option<Date>,
) -> Result<()> {
    let done_on = done_on
        .filter(|_| status == MilestoneStatus::Done)
        .map(|d| d.to_string());
    sqlx::query("UPDATE plan_milestones SET status = $1, done_on = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(done_on.clone())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE tasks SET status = $1, completed_on = $2 \
         WHERE source = 'milestone' AND source_id = $3 AND status <> $1",
    )
    .bind(TaskStatus::of_milestone(status).as_str())
    .bind(done_on)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets one column of one row; `table` and `column` are this module's
/// names, never the caller's input.
async fn set_column<'q, T>(
    conn: &mut AnyConnection,
    table: &str,
    column: &str,
    id: &'q str,
    value: T,
) -> Result<()>
where
    T: 'q + Send + sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE {table} SET {column} = $1 WHERE id = $2"
    )))
    .bind(value)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets a goal's value. A missing value is written as a literal NULL and
/// a value always bound as a number: PostgreSQL through SQLx's Any driver
/// refused a statement whose float parameter was first bound as NULL and
/// then as a number ("incorrect binary data format").
async fn set_value(conn: &mut AnyConnection, id: &str, value: Option<f64>) -> Result<()> {
    match value {
        Some(v) => sqlx::query("UPDATE plan_goals SET value = $1 WHERE id = $2").bind(v),
        None => sqlx::query("UPDATE plan_goals SET value = NULL WHERE id = $1"),
    }
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The position after a plan's last goal or milestone (`table`).
async fn next_position(conn: &mut AnyConnection, table: &str, plan_id: &str) -> Result<i64> {
    let sql = format!("SELECT COALESCE(MAX(position), -1) + 1 FROM {table} WHERE plan_id = $1");
    Ok(sqlx::query(AssertSqlSafe(sql))
        .bind(plan_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?)
}

/// The account a row of `table` belongs to, if the row exists and its
/// account is in scope.
async fn owning_account(
    conn: &mut AnyConnection,
    table: &str,
    id: &str,
    scope: &Scope,
) -> Result<Option<String>> {
    let (cond, bind) = scoped(scope, "account_id", 2);
    let sql = format!("SELECT account_id FROM {table} WHERE id = $1{cond}");
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(id);
    if let Some(b) = bind {
        q = q.bind(b);
    }
    Ok(q.fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<String, _>(0))
        .transpose()?)
}

impl Store {
    /// Applies templates to plans, creating the plans that are new, with
    /// their goals, milestones and milestone tasks: all in one transaction.
    pub async fn apply_templates(&self, applied: &[TemplateApplied], now: i64) -> Result<()> {
        if applied.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for a in applied {
            if let Some(p) = &a.new_plan {
                insert_plan(&mut tx, p, now).await?;
            }
            sqlx::query(
                "INSERT INTO plan_templates (plan_id, template, applied_on) VALUES ($1, $2, $3)",
            )
            .bind(a.plan_id.as_str())
            .bind(a.template.as_str())
            .bind(a.applied_on.to_string())
            .execute(&mut *tx)
            .await?;
            for g in &a.goals {
                insert_goal(&mut tx, g).await?;
            }
            for m in &a.milestones {
                insert_milestone(&mut tx, m).await?;
            }
            for t in &a.tasks {
                insert_task(&mut tx, t).await?;
            }
        }
        tx.commit().await
    }

    /// Creates a plan by hand (no template) for an account in scope.
    pub async fn create_plan(&self, plan: &Plan, scope: &Scope, now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if !account_visible(&mut tx, &plan.account_id, scope).await? {
            return Err(not_found("account", &plan.account_id));
        }
        insert_plan(&mut tx, plan, now).await?;
        tx.commit().await
    }

    /// Every plan (active ones only when `active`), with the templates
    /// applied to each, by account then start.
    pub async fn plans(&self, scope: &Scope, active: bool) -> Result<Vec<Plan>> {
        self.plans_of(scope, active, None).await
    }

    /// [`Store::plans`], of one account only when `account_id` is given.
    async fn plans_of(
        &self,
        scope: &Scope,
        active: bool,
        account_id: Option<&str>,
    ) -> Result<Vec<Plan>> {
        let (mut cond, bind) = scoped(scope, "account_id", 1);
        if account_id.is_some() {
            cond.push_str(&format!(
                " AND account_id = ${}",
                1 + usize::from(bind.is_some())
            ));
        }
        let status = if active { " AND status = 'active'" } else { "" };
        let sql = format!(
            "SELECT {PLAN_COLUMNS} FROM success_plans WHERE 1 = 1{cond}{status} \
             ORDER BY account_id, started_on, id"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(b) = &bind {
            q = q.bind(b.as_str());
        }
        if let Some(a) = account_id {
            q = q.bind(a);
        }
        let mut plans: Vec<Plan> = q
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(plan_row)
            .collect::<Result<_>>()?;
        let sql = format!(
            "SELECT plan_id, template FROM plan_templates \
             WHERE plan_id IN (SELECT id FROM success_plans WHERE 1 = 1{cond}) \
             ORDER BY plan_id, applied_on, template"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(b) = &bind {
            q = q.bind(b.as_str());
        }
        if let Some(a) = account_id {
            q = q.bind(a);
        }
        let mut applied: std::collections::HashMap<String, Vec<String>> = Default::default();
        for r in q.fetch_all(&self.pool).await? {
            applied
                .entry(r.try_get(0)?)
                .or_default()
                .push(r.try_get(1)?);
        }
        for p in &mut plans {
            p.templates = applied.remove(&p.id).unwrap_or_default();
        }
        Ok(plans)
    }

    /// Plans with their goals, milestones and proven value: every plan in
    /// scope, or one account's (`account_id`), or one plan (`plan_id`).
    pub async fn plan_details(
        &self,
        scope: &Scope,
        account_id: Option<&str>,
        plan_id: Option<&str>,
    ) -> Result<Vec<PlanDetail>> {
        let mut plans = self.plans_of(scope, false, account_id).await?;
        plans.retain(|p| {
            account_id.is_none_or(|a| p.account_id == a) && plan_id.is_none_or(|id| p.id == id)
        });
        if plans.is_empty() {
            return Ok(Vec::new());
        }
        // One account's items (a plan's, or an account's), or every item in
        // scope.
        let filter = account_id.or(plan_id.and(plans.first().map(|p| p.account_id.as_str())));
        let mut w = Where::default();
        if let Some(a) = filter {
            // Through the items' index by plan: they have none by account.
            w.add(
                "account_id = ? AND plan_id IN (SELECT id FROM success_plans WHERE account_id = ?)",
                vec![Bind::Text(a.to_string()), Bind::Text(a.to_string())],
            );
        }
        w.scope(scope, "account_id");
        let read = |table: &str, columns: &str, order: &str| {
            let sql = format!("SELECT {columns} FROM {table}{} ORDER BY {order}", w.sql());
            bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds).fetch_all(&self.pool)
        };
        let goals = read("plan_goals", GOAL_COLUMNS, "plan_id, position, id").await?;
        let milestones = read(
            "plan_milestones",
            MILESTONE_COLUMNS,
            "plan_id, due_on, position, id",
        )
        .await?;
        let proven = read("proven_value", PROVEN_COLUMNS, "plan_id, delivered_on, id").await?;
        let mut out: Vec<PlanDetail> = plans
            .into_iter()
            .map(|plan| PlanDetail {
                plan,
                goals: Vec::new(),
                milestones: Vec::new(),
                proven: Vec::new(),
            })
            .collect();
        let index: std::collections::HashMap<String, usize> = out
            .iter()
            .enumerate()
            .map(|(i, d)| (d.plan.id.clone(), i))
            .collect();
        for r in &goals {
            let g = goal_row(r)?;
            if let Some(&i) = index.get(&g.plan_id) {
                out[i].goals.push(g);
            }
        }
        for r in &milestones {
            let m = milestone_row(r)?;
            if let Some(&i) = index.get(&m.plan_id) {
                out[i].milestones.push(m);
            }
        }
        for r in &proven {
            let p = proven_row(r)?;
            if let Some(&i) = index.get(&p.plan_id) {
                out[i].proven.push(p);
            }
        }
        Ok(out)
    }

    /// Renames a plan or changes its status (closing it on `day`).
    pub async fn update_plan(
        &self,
        id: &str,
        name: Option<&str>,
        status: Option<PlanStatus>,
        day: Date,
        scope: &Scope,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if owning_account(&mut tx, "success_plans", id, scope)
            .await?
            .is_none()
        {
            return Err(not_found("plan", id));
        }
        if let Some(n) = name {
            sqlx::query("UPDATE success_plans SET name = $1, updated_at = $2 WHERE id = $3")
                .bind(n)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(s) = status {
            let closed = (s != PlanStatus::Active).then(|| day.to_string());
            sqlx::query(
                "UPDATE success_plans SET status = $1, closed_on = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(s.as_str())
            .bind(closed)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// The account of a plan in scope.
    pub async fn plan_account(&self, plan_id: &str, scope: &Scope) -> Result<String> {
        let mut conn = self.pool.acquire().await?;
        owning_account(&mut conn, "success_plans", plan_id, scope)
            .await?
            .ok_or_else(|| not_found("plan", plan_id))
    }

    /// Adds a goal to a plan in scope, after its other goals (its
    /// `account_id` and `position` are the store's).
    pub async fn add_goal(&self, goal: &Goal, scope: &Scope) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let account = owning_account(&mut tx, "success_plans", &goal.plan_id, scope)
            .await?
            .ok_or_else(|| not_found("plan", &goal.plan_id))?;
        let g = Goal {
            account_id: account,
            position: next_position(&mut tx, "plan_goals", &goal.plan_id).await?,
            ..goal.clone()
        };
        insert_goal(&mut tx, &g).await?;
        tx.commit().await
    }

    /// Adds a milestone to a plan in scope (after its others), and its task
    /// when given.
    pub async fn add_milestone(
        &self,
        m: &Milestone,
        task: Option<&Task>,
        scope: &Scope,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let account = owning_account(&mut tx, "success_plans", &m.plan_id, scope)
            .await?
            .ok_or_else(|| not_found("plan", &m.plan_id))?;
        let m = Milestone {
            account_id: account.clone(),
            position: next_position(&mut tx, "plan_milestones", &m.plan_id).await?,
            ..m.clone()
        };
        insert_milestone(&mut tx, &m).await?;
        if let Some(t) = task {
            insert_task(
                &mut tx,
                &Task {
                    account_id: account,
                    ..t.clone()
                },
            )
            .await?;
        }
        tx.commit().await
    }

    /// Records value delivered on a plan in scope.
    pub async fn add_proven_value(&self, p: &ProvenValue, scope: &Scope, now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let account = owning_account(&mut tx, "success_plans", &p.plan_id, scope)
            .await?
            .ok_or_else(|| not_found("plan", &p.plan_id))?;
        let p = ProvenValue {
            account_id: account,
            ..p.clone()
        };
        insert_proven(&mut tx, &p, now).await?;
        tx.commit().await
    }

    /// Writes plans and what they hold, all in one transaction (an import):
    /// nothing is written if one row fails.
    pub async fn write_plan_items(&self, items: &PlanItems, now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for p in &items.plans {
            insert_plan(&mut tx, p, now).await?;
        }
        for g in &items.goals {
            insert_goal(&mut tx, g).await?;
        }
        for m in &items.milestones {
            insert_milestone(&mut tx, m).await?;
        }
        for p in &items.proven {
            insert_proven(&mut tx, p, now).await?;
        }
        for t in &items.tasks {
            insert_task(&mut tx, t).await?;
        }
        tx.commit().await
    }

    /// One goal in scope.
    pub async fn goal(&self, id: &str, scope: &Scope) -> Result<Goal> {
        let mut w = Where::default();
        w.add("id = ?", vec![Bind::Text(id.to_string())]);
        w.scope(scope, "account_id");
        let sql = format!("SELECT {GOAL_COLUMNS} FROM plan_goals{}", w.sql());
        match bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds)
            .fetch_optional(&self.pool)
            .await?
        {
            Some(r) => goal_row(&r),
            None => Err(not_found("goal", id)),
        }
    }

    /// Changes a goal in scope.
    pub async fn update_goal(&self, id: &str, patch: &GoalPatch, scope: &Scope) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if owning_account(&mut tx, "plan_goals", id, scope)
            .await?
            .is_none()
        {
            return Err(not_found("goal", id));
        }
        if let Some(n) = &patch.name {
            set_column(&mut tx, "plan_goals", "name", id, n.as_str()).await?;
        }
        if let Some(t) = patch.target {
            set_column(&mut tx, "plan_goals", "target", id, t).await?;
        }
        if let Some(a) = patch.at_most {
            set_column(&mut tx, "plan_goals", "at_most", id, i64::from(a)).await?;
        }
        if let Some((v, day)) = patch.value {
            set_value(&mut tx, id, v).await?;
            set_column(&mut tx, "plan_goals", "measured_on", id, day.to_string()).await?;
        }
        // The first day the (new) target was met.
        let row = sqlx::query(
            "SELECT value, target, at_most, measured_on, achieved_on FROM plan_goals WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let (value, target, at_most): (Option<f64>, f64, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let measured = get_opt_day(&row, 3)?;
        let achieved = get_opt_day(&row, 4)?;
        let met = tenure_core::target::plans::met(value, target, bool_of(at_most));
        let new_achieved = if met { achieved.or(measured) } else { None };
        if new_achieved != achieved {
            set_column(
                &mut tx,
                "plan_goals",
                "achieved_on",
                id,
                new_achieved.map(|d| d.to_string()),
            )
            .await?;
        }
        tx.commit().await
    }

    /// Changes a milestone in scope; marking it done also completes its
    /// open tasks, and reopening it reopens them.
    pub async fn update_milestone(
        &self,
        id: &str,
        patch: &MilestonePatch,
        scope: &Scope,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if owning_account(&mut tx, "plan_milestones", id, scope)
            .await?
            .is_none()
        {
            return Err(not_found("milestone", id));
        }
        if let Some(n) = &patch.name {
            set_column(&mut tx, "plan_milestones", "name", id, n.as_str()).await?;
        }
        if let Some(d) = patch.due_on {
            set_column(&mut tx, "plan_milestones", "due_on", id, d.to_string()).await?;
            sqlx::query(
                "UPDATE tasks SET due_on = $1 WHERE source = 'milestone' AND source_id = $2 \
                 AND status = 'open'",
            )
            .bind(d.to_string())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(o) = &patch.owner_email {
            set_column(&mut tx, "plan_milestones", "owner_email", id, o.as_deref()).await?;
        }
        if let Some((status, done_on)) = patch.status {
            set_milestone_status(&mut tx, id, status, done_on).await?;
        }
        tx.commit().await
    }

    /// Deletes a goal, milestone (with its tasks) or proven-value record
    /// in scope: `table` is one of `plan_goals`, `plan_milestones`,
    /// `proven_value`.
    pub async fn delete_plan_item(&self, table: PlanItem, id: &str, scope: &Scope) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let t = table.table();
        if owning_account(&mut tx, t, id, scope).await?.is_none() {
            return Err(not_found(table.noun(), id));
        }
        if table == PlanItem::Milestone {
            sqlx::query("DELETE FROM tasks WHERE source = 'milestone' AND source_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {t} WHERE id = $1")))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Sets many milestones' status and done day in one transaction (a
    /// demo's history, an import), with their tasks as
    /// [`Store::update_milestone`] does.
    pub async fn set_milestone_outcomes(
        &self,
        outcomes: &[(String, MilestoneStatus, Option<Date>)],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for (id, status, done_on) in outcomes {
            set_milestone_status(&mut tx, id, *status, *done_on).await?;
        }
        tx.commit().await
    }

    /// Every milestone (for execution, time to value and the KPIs), read
    /// in bulk.
    pub async fn milestones(&self) -> Result<Vec<Milestone>> {
        let sql = format!(
            "SELECT {MILESTONE_COLUMNS} FROM plan_milestones ORDER BY account_id, due_on, id"
        );
        let mut out = Vec::new();
        self.scan(&sql, &[], |row| {
            let status = row.text(7)?;
            out.push(Milestone {
                id: row.text(0)?.to_string(),
                plan_id: row.text(1)?.to_string(),
                account_id: row.text(2)?.to_string(),
                name: row.text(3)?.to_string(),
                due_on: parse_day(row.text(4)?)?,
                owner_role: row.text(5)?.to_string(),
                owner_email: row.opt_text(6)?.map(str::to_string),
                status: milestone_status(status)?,
                done_on: row.opt_text(8)?.map(parse_day).transpose()?,
                template: row.opt_text(9)?.map(str::to_string),
                position: row.int(10)?,
            });
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Each account's first day a milestone was done: what time to value
    /// counts to.
    pub async fn first_milestone_days(&self) -> Result<Vec<(String, Date)>> {
        let mut out = Vec::new();
        self.scan(
            "SELECT account_id, MIN(done_on) FROM plan_milestones \
             WHERE status = 'done' AND done_on IS NOT NULL GROUP BY account_id ORDER BY account_id",
            &[],
            |row| {
                out.push((row.text(0)?.to_string(), parse_day(row.text(1)?)?));
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }

    /// Every goal bound to a metric on an active plan: what the daily pass
    /// measures.
    pub async fn measured_goals(&self) -> Result<Vec<Goal>> {
        let sql = format!(
            "SELECT {GOAL_COLUMNS} FROM plan_goals WHERE metric IS NOT NULL \
             AND plan_id IN (SELECT id FROM success_plans WHERE status = 'active') \
             ORDER BY account_id, plan_id, position"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(goal_row).collect()
    }

    /// Stores measured goal values: `(goal id, value, day, achieved on)`.
    pub async fn set_goal_values(
        &self,
        values: &[(String, Option<f64>, Date, Option<Date>)],
    ) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for (id, v, day, achieved) in values {
            set_value(&mut tx, id, *v).await?;
            sqlx::query("UPDATE plan_goals SET measured_on = $1, achieved_on = $2 WHERE id = $3")
                .bind(day.to_string())
                .bind(achieved.map(|d| d.to_string()))
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// Creates a task for an account in scope.
    pub async fn create_task(&self, task: &Task, scope: &Scope) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if !account_visible(&mut tx, &task.account_id, scope).await? {
            return Err(not_found("account", &task.account_id));
        }
        insert_task(&mut tx, task).await?;
        tx.commit().await
    }

    /// One task in scope.
    pub async fn task(&self, id: &str, scope: &Scope) -> Result<Task> {
        let (cond, bind) = scoped(scope, "account_id", 2);
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1{cond}");
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(id);
        if let Some(b) = bind {
            q = q.bind(b);
        }
        match q.fetch_optional(&self.pool).await? {
            Some(r) => task_row(&r),
            None => Err(not_found("task", id)),
        }
    }

    /// Tasks matching `q`, by due day (none last), then priority.
    pub async fn tasks(&self, q: &TaskQuery) -> Result<Vec<Task>> {
        let mut w = Where::default();
        if let Some(o) = &q.owner {
            w.add(
                "LOWER(owner_email) = ?",
                vec![Bind::Text(o.trim().to_ascii_lowercase())],
            );
        }
        if let Some(a) = &q.account_id {
            w.add("account_id = ?", vec![Bind::Text(a.clone())]);
        }
        if let Some(s) = q.status {
            w.add("status = ?", vec![Bind::Text(s.as_str().to_string())]);
        }
        w.scope(&q.scope, "account_id");
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks{} \
             ORDER BY CASE WHEN due_on IS NULL THEN 1 ELSE 0 END, due_on, id",
            w.sql()
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(task_row).collect()
    }

    /// Changes a task in scope.
    pub async fn update_task(&self, id: &str, patch: &TaskPatch, scope: &Scope) -> Result<Task> {
        let mut tx = self.begin_write().await?;
        if owning_account(&mut tx, "tasks", id, scope).await?.is_none() {
            return Err(not_found("task", id));
        }
        if let Some(t) = &patch.title {
            set_column(&mut tx, "tasks", "title", id, t.as_str()).await?;
        }
        if let Some(d) = patch.due_on {
            set_column(&mut tx, "tasks", "due_on", id, d.map(|d| d.to_string())).await?;
        }
        if let Some(p) = patch.priority {
            set_column(&mut tx, "tasks", "priority", id, p.as_str()).await?;
        }
        if let Some(n) = &patch.notes {
            set_column(&mut tx, "tasks", "notes", id, n.as_deref()).await?;
        }
        if let Some(o) = &patch.owner_email {
            set_column(&mut tx, "tasks", "owner_email", id, o.as_deref()).await?;
        }
        if let Some(s) = patch.status {
            sqlx::query("UPDATE tasks SET status = $1, completed_on = NULL WHERE id = $2")
                .bind(s.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let task = read_task(&mut tx, id).await?;
        tx.commit().await?;
        Ok(task)
    }

    /// Completes a task in scope on `day`, in one transaction: logs
    /// `engagement` when given, and marks the task's milestone done.
    pub async fn complete_task(
        &self,
        id: &str,
        day: Date,
        engagement: Option<&Engagement>,
        scope: &Scope,
    ) -> Result<Task> {
        let mut tx = self.begin_write().await?;
        if owning_account(&mut tx, "tasks", id, scope).await?.is_none() {
            return Err(not_found("task", id));
        }
        // Checked inside the transaction, so that a form sent twice logs
        // one engagement.
        let status: String = sqlx::query("SELECT status FROM tasks WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if status != TaskStatus::Open.as_str() {
            return Err(crate::api::invalid(
                "status",
                format!("the task is {status}, not open: reopen it first"),
            ));
        }
        if let Some(e) = engagement {
            let rec = Record::Engagement(e.clone());
            let values = [checked_values(&rec)?];
            write_rows(
                &mut tx,
                Kind::Engagements,
                &values,
                table_spec(Kind::Engagements).columns,
            )
            .await?;
        }
        sqlx::query(
            "UPDATE tasks SET status = 'done', completed_on = $1, engagement_id = $2 WHERE id = $3",
        )
        .bind(day.to_string())
        .bind(engagement.map(|e| e.id.as_str()))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE plan_milestones SET status = 'done', done_on = $1 \
             WHERE id = (SELECT source_id FROM tasks WHERE id = $2 AND source = 'milestone') \
             AND status <> 'done'",
        )
        .bind(day.to_string())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let task = read_task(&mut tx, id).await?;
        tx.commit().await?;
        Ok(task)
    }

    /// Every open task's owner and due day, read in bulk (for the KPIs).
    pub async fn open_task_dues(&self) -> Result<Vec<(String, Option<String>, Option<Date>)>> {
        let mut out = Vec::new();
        self.scan(
            "SELECT account_id, owner_email, due_on FROM tasks WHERE status = 'open' ORDER BY account_id",
            &[],
            |row| {
                out.push((
                    row.text(0)?.to_string(),
                    row.opt_text(1)?.map(str::to_string),
                    row.opt_text(2)?.map(parse_day).transpose()?,
                ));
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }
}

/// The items of a plan that can be deleted one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanItem {
    Goal,
    Milestone,
    ProvenValue,
}

impl PlanItem {
    fn table(self) -> &'static str {
        match self {
            PlanItem::Goal => "plan_goals",
            PlanItem::Milestone => "plan_milestones",
            PlanItem::ProvenValue => "proven_value",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            PlanItem::Goal => "goal",
            PlanItem::Milestone => "milestone",
            PlanItem::ProvenValue => "proven value",
        }
    }
}
