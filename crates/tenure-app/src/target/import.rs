//! Success plans from a CSV file (`tenure plans import`): goals,
//! milestones and proven value of existing or new plans, one row each,
//! checked with the rules every surface applies and written all or nothing
//! in one transaction. Every problem names the file, line and column.
//!
//! Columns (a header row; any order): `account_id`, `plan` (the plan's
//! name: an account's plan of that name, else a new active one), `item`
//! (`goal`, `milestone` or `value`), `name`, and as the item needs:
//! `target`, `metric`, `at_most`, `value` (goals); `due`, `owner_role`,
//! `owner_email`, `status`, `done_on` (milestones); `evidence`,
//! `delivered_on`, `confirmed` (proven value).

use std::collections::HashMap;
use std::io::Read;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::model::parse_date;
use tenure_core::target::CSM_ROLE;
use tenure_core::target::plans::{
    GoalMetric, MilestoneStatus, PlanStatus, check_day, check_evidence, check_name, met,
};
use tenure_core::target::tasks::TaskStatus;
use tenure_store::api::Scope;
use tenure_store::import::Problem;
use tenure_store::target::{Goal, Milestone, Plan, PlanItems, ProvenValue};
use tenure_store::{Store, StoreError};

use super::plans::milestone_task;
use crate::Result;
use crate::clock::now_micros;
use crate::ids::new_id;

/// Every column the file may have.
const COLUMNS: [&str; 16] = [
    "account_id",
    "plan",
    "item",
    "name",
    "target",
    "metric",
    "at_most",
    "value",
    "due",
    "owner_role",
    "owner_email",
    "status",
    "done_on",
    "evidence",
    "delivered_on",
    "confirmed",
];

/// What an import wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Imported {
    pub plans: usize,
    pub goals: usize,
    pub milestones: usize,
    pub values: usize,
}

/// Reads, checks and writes a plans file named `file` (for messages), as
/// of `today`. Up to 20 problems are reported; on any, nothing is written.
pub async fn import_plans(
    store: &Store,
    config: &Config,
    file: &str,
    reader: impl Read,
    today: Date,
) -> Result<Imported> {
    let accounts: HashMap<String, Option<String>> = store
        .health_accounts_with(false)
        .await?
        .into_iter()
        .map(|a| (a.id, a.csm_email))
        .collect();
    let mut plans: HashMap<(String, String), String> = HashMap::new();
    for p in store.plans(&Scope::All, false).await? {
        // An active plan of the name wins over a closed one.
        let key = (p.account_id.clone(), p.name.clone());
        if p.status == PlanStatus::Active || !plans.contains_key(&key) {
            plans.insert(key, p.id);
        }
    }
    let mut ctx = Ctx {
        file,
        config,
        today,
        accounts: &accounts,
        plans,
        problems: Vec::new(),
        items: PlanItems::default(),
        out: Imported::default(),
        position: HashMap::new(),
    };
    let mut csv = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let header: Vec<String> = match csv.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_ascii_lowercase()).collect(),
        Err(e) => {
            ctx.problem(1, None, format!("cannot read the header: {e}"));
            return Err(ctx.refused());
        }
    };
    for c in &header {
        if !COLUMNS.contains(&c.as_str()) {
            ctx.problem(
                1,
                Some(c),
                format!("unknown column; expected {}", COLUMNS.join(", ")),
            );
        }
    }
    for required in ["account_id", "plan", "item", "name"] {
        if !header.iter().any(|c| c == required) {
            ctx.problem(1, Some(required), "the column is missing".into());
        }
    }
    if !ctx.problems.is_empty() {
        return Err(ctx.refused());
    }
    for (n, record) in csv.records().enumerate() {
        let line = n as u64 + 2;
        match record {
            Ok(r) => {
                let row: HashMap<&str, &str> = header
                    .iter()
                    .map(String::as_str)
                    .zip(r.iter().map(str::trim))
                    .collect();
                ctx.row(line, &row);
            }
            Err(e) => ctx.problem(line, None, format!("cannot read the row: {e}")),
        }
        if ctx.problems.len() >= 20 {
            break;
        }
    }
    if !ctx.problems.is_empty() {
        return Err(ctx.refused());
    }
    store.write_plan_items(&ctx.items, now_micros()).await?;
    Ok(ctx.out)
}

struct Ctx<'a> {
    file: &'a str,
    config: &'a Config,
    today: Date,
    accounts: &'a HashMap<String, Option<String>>,
    /// `(account, plan name)` → plan id, existing or new.
    plans: HashMap<(String, String), String>,
    problems: Vec<Problem>,
    items: PlanItems,
    out: Imported,
    /// Next position of goals and milestones per plan.
    position: HashMap<String, i64>,
}

impl Ctx<'_> {
    fn problem(&mut self, line: u64, column: Option<&str>, message: String) {
        self.problems.push(Problem {
            file: self.file.to_string(),
            line,
            column: column.map(str::to_string),
            message,
        });
    }

    fn refused(&mut self) -> crate::Error {
        StoreError::Invalid(std::mem::take(&mut self.problems)).into()
    }

    /// The plan a row goes to, made on the row's day when new.
    fn plan(&mut self, account: &str, name: &str, day: Date) -> String {
        let key = (account.to_string(), name.to_string());
        if let Some(id) = self.plans.get(&key) {
            return id.clone();
        }
        let id = new_id("pln");
        self.items.plans.push(Plan {
            id: id.clone(),
            account_id: account.to_string(),
            name: name.to_string(),
            status: PlanStatus::Active,
            started_on: day.min(self.today),
            closed_on: None,
            templates: Vec::new(),
        });
        self.out.plans += 1;
        self.plans.insert(key, id.clone());
        id
    }

    fn next_position(&mut self, plan: &str) -> i64 {
        let p = self.position.entry(plan.to_string()).or_insert(1_000);
        *p += 1;
        *p
    }

    fn row(&mut self, line: u64, row: &HashMap<&str, &str>) {
        let get = |c: &str| row.get(c).copied().unwrap_or("");
        let before = self.problems.len();
        let account = get("account_id");
        if account.is_empty() {
            self.problem(line, Some("account_id"), "is empty".into());
        } else if !self.accounts.contains_key(account) {
            self.problem(line, Some("account_id"), format!("no account {account:?}"));
        }
        let plan_name = match check_name(get("plan")) {
            Ok(n) => Some(n),
            Err(e) => {
                self.problem(line, Some("plan"), format!("the plan's name {e}"));
                None
            }
        };
        let name = match check_name(get("name")) {
            Ok(n) => Some(n),
            Err(e) => {
                self.problem(line, Some("name"), format!("the name {e}"));
                None
            }
        };
        let day = |col: &str, future: bool, ctx: &mut Self| -> Option<Date> {
            let s = get(col);
            if s.is_empty() {
                return None;
            }
            match parse_date(s)
                .map_err(|e| e.to_string())
                .and_then(|d| check_day(d, ctx.today, future))
            {
                Ok(d) => Some(d),
                Err(e) => {
                    ctx.problem(line, Some(col), e);
                    None
                }
            }
        };
        let item = get("item").to_ascii_lowercase();
        match item.as_str() {
            "goal" => {
                let target = match get("target").parse::<f64>() {
                    Ok(t) if t.is_finite() => Some(t),
                    _ => {
                        self.problem(
                            line,
                            Some("target"),
                            format!("{:?} is not a number", get("target")),
                        );
                        None
                    }
                };
                let metric = match get("metric") {
                    "" => Some(None),
                    m => match GoalMetric::parse(m) {
                        Some(g) => Some(Some(g)),
                        None => {
                            self.problem(line, Some("metric"), format!("unknown metric {m:?}"));
                            None
                        }
                    },
                };
                let at_most = self.flag(line, "at_most", get("at_most"));
                let value = match get("value") {
                    "" => Some(None),
                    v => match v.parse::<f64>() {
                        Ok(x) if x.is_finite() => Some(Some(x)),
                        _ => {
                            self.problem(line, Some("value"), format!("{v:?} is not a number"));
                            None
                        }
                    },
                };
                if matches!((&metric, &value), (Some(Some(_)), Some(Some(_)))) {
                    self.problem(
                        line,
                        Some("value"),
                        "a goal with a metric is measured, not set".into(),
                    );
                }
                if self.problems.len() > before {
                    return;
                }
                let (
                    Some(plan_name),
                    Some(name),
                    Some(target),
                    Some(metric),
                    Some(at_most),
                    Some(value),
                ) = (plan_name, name, target, metric, at_most, value)
                else {
                    return;
                };
                let plan = self.plan(account, &plan_name, self.today);
                let position = self.next_position(&plan);
                let measured = value.map(|_| self.today);
                self.items.goals.push(Goal {
                    id: new_id("gol"),
                    plan_id: plan,
                    account_id: account.to_string(),
                    name,
                    metric: metric.as_ref().map(GoalMetric::name),
                    target,
                    at_most,
                    value,
                    measured_on: measured,
                    achieved_on: met(value, target, at_most).then_some(self.today),
                    template: None,
                    position,
                });
                self.out.goals += 1;
            }
            "milestone" => {
                let due = day("due", true, self);
                if get("due").is_empty() {
                    self.problem(line, Some("due"), "is empty".into());
                }
                let role = match get("owner_role").to_ascii_lowercase() {
                    r if r.is_empty() => Some(CSM_ROLE.to_string()),
                    r if self.config.target.roles.contains(&r) => Some(r),
                    r => {
                        let known = self.config.target.roles.join(", ");
                        self.problem(
                            line,
                            Some("owner_role"),
                            format!("unknown role {r:?}: expected one of {known}"),
                        );
                        None
                    }
                };
                let email = get("owner_email");
                if !email.is_empty() && !email.contains('@') {
                    self.problem(
                        line,
                        Some("owner_email"),
                        format!("{email:?} is not an email address"),
                    );
                }
                let status = match get("status") {
                    "" => Some(MilestoneStatus::Open),
                    s => MilestoneStatus::parse(s).or_else(|| {
                        self.problem(
                            line,
                            Some("status"),
                            format!("unknown status {s:?}: expected open, done, missed or dropped"),
                        );
                        None
                    }),
                };
                let done_on = day("done_on", false, self);
                if status == Some(MilestoneStatus::Done)
                    && done_on.is_none()
                    && get("done_on").is_empty()
                {
                    self.problem(
                        line,
                        Some("done_on"),
                        "a done milestone needs the day it was done".into(),
                    );
                }
                if self.problems.len() > before {
                    return;
                }
                let (Some(plan_name), Some(name), Some(due), Some(role), Some(status)) =
                    (plan_name, name, due, role, status)
                else {
                    return;
                };
                let plan = self.plan(account, &plan_name, due);
                let position = self.next_position(&plan);
                let owner_email = if email.is_empty() {
                    (role == CSM_ROLE)
                        .then(|| self.accounts.get(account).cloned().flatten())
                        .flatten()
                } else {
                    Some(email.to_ascii_lowercase())
                };
                let m = Milestone {
                    id: new_id("mst"),
                    plan_id: plan,
                    account_id: account.to_string(),
                    name,
                    due_on: due,
                    owner_role: role,
                    owner_email,
                    status,
                    done_on: done_on.filter(|_| status == MilestoneStatus::Done),
                    template: None,
                    position,
                };
                if m.owner_role == CSM_ROLE {
                    let mut task = milestone_task(&m, self.today);
                    task.status = TaskStatus::of_milestone(status);
                    task.completed_on = m.done_on;
                    self.items.tasks.push(task);
                }
                self.items.milestones.push(m);
                self.out.milestones += 1;
            }
            "value" => {
                let delivered = day("delivered_on", false, self);
                if get("delivered_on").is_empty() {
                    self.problem(line, Some("delivered_on"), "is empty".into());
                }
                let evidence = match check_evidence(get("evidence")) {
                    Ok(e) => Some(e),
                    Err(e) => {
                        self.problem(line, Some("evidence"), format!("the evidence {e}"));
                        None
                    }
                };
                let confirmed = self.flag(line, "confirmed", get("confirmed"));
                if self.problems.len() > before {
                    return;
                }
                let (
                    Some(plan_name),
                    Some(title),
                    Some(delivered),
                    Some(evidence),
                    Some(confirmed),
                ) = (plan_name, name, delivered, evidence, confirmed)
                else {
                    return;
                };
                let plan = self.plan(account, &plan_name, delivered);
                self.items.proven.push(ProvenValue {
                    id: new_id("val"),
                    plan_id: plan,
                    account_id: account.to_string(),
                    title,
                    evidence,
                    delivered_on: delivered,
                    confirmed,
                });
                self.out.values += 1;
            }
            other => self.problem(
                line,
                Some("item"),
                format!("unknown item {other:?}: expected goal, milestone or value"),
            ),
        }
    }

    /// A true/false column (empty: false).
    fn flag(&mut self, line: u64, column: &str, v: &str) -> Option<bool> {
        match v.to_ascii_lowercase().as_str() {
            "" | "false" | "no" | "0" => Some(false),
            "true" | "yes" | "1" => Some(true),
            other => {
                self.problem(
                    line,
                    Some(column),
                    format!("{other:?}: expected true or false"),
                );
                None
            }
        }
    }
}
