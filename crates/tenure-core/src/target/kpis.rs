//! The CSM KPIs: the levers a CSM can pull, measured on their portfolio,
//! each with the direction that is better and red / amber / green against
//! a target.
//!
//! A portfolio is the accounts whose `csm_email` is the CSM's (any case);
//! the team's is every account, with or without a CSM. The application
//! layer loads what each account brings ([`AccountKpis`]) and the metrics
//! measured over a whole portfolio by the metrics engine
//! ([`PortfolioMetrics`]: NPS, CSAT, GRR and NRR, which do not add up
//! account by account); [`fold`] adds the accounts up per CSM and for the
//! team in one pass, [`Portfolio::values`] turns the sums into each KPI's
//! value (`None` when there is nothing to measure, never 0) and
//! [`against_targets`] sets each value beside its target with red / amber
//! / green. [`months_to`] gives the months of the history and
//! [`task_overdue_on`] says whether a task counted as overdue on a day.

use std::borrow::Borrow;
use std::fmt;

use jiff::civil::Date;

use super::TargetConfig;
use super::plans::Execution;
use super::tasks::TaskStatus;
use crate::engage::cadence::Compliance;
use crate::engage::period::median;
use crate::model::month_back;

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    AtLeast,
    AtMost,
}

/// How a KPI's value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// Currency units of the reporting currency.
    Money,
    /// A 0–100 score or its change.
    Score,
    /// A fraction (0.93), shown as a percentage.
    Fraction,
    /// NPS, −100..100.
    Nps,
    Days,
}

/// One KPI of a portfolio (a CSM's accounts, or the team's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kpi {
    /// Accounts paying or in trial on the day.
    Accounts,
    /// ARR on the day.
    Arr,
    /// Mean health score of the scored accounts.
    HealthMean,
    /// Mean 30-day change of the health score.
    HealthTrend30d,
    /// Active users in the 30 days to the day ÷ the 30 days before, − 1.
    ActiveUsersTrend,
    /// Events in the 30 days to the day ÷ the 30 days before, − 1.
    EventsTrend,
    /// NPS of the portfolio's answers over the period.
    Nps,
    /// CSAT of the portfolio's answers over the period.
    Csat,
    /// Plan milestones done on time ÷ milestones due in the period.
    PlanExecution,
    /// Required engagements done on time ÷ required (Engage's cadence).
    CadenceCompliance,
    /// Open tasks past their due day.
    OverdueTasks,
    /// Gross revenue retention of the portfolio over the period.
    Grr,
    /// Net revenue retention of the portfolio over the period.
    Nrr,
    /// Median days from first MRR to the first milestone done.
    TimeToValueDays,
}

impl Kpi {
    pub const ALL: [Kpi; 14] = [
        Kpi::Accounts,
        Kpi::Arr,
        Kpi::HealthMean,
        Kpi::HealthTrend30d,
        Kpi::ActiveUsersTrend,
        Kpi::EventsTrend,
        Kpi::Nps,
        Kpi::Csat,
        Kpi::PlanExecution,
        Kpi::CadenceCompliance,
        Kpi::OverdueTasks,
        Kpi::Grr,
        Kpi::Nrr,
        Kpi::TimeToValueDays,
    ];

    /// The name in tenure.toml, JSON and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Kpi::Accounts => "accounts",
            Kpi::Arr => "arr",
            Kpi::HealthMean => "health_mean",
            Kpi::HealthTrend30d => "health_trend_30d",
            Kpi::ActiveUsersTrend => "active_users_trend",
            Kpi::EventsTrend => "events_trend",
            Kpi::Nps => "nps",
            Kpi::Csat => "csat",
            Kpi::PlanExecution => "plan_execution",
            Kpi::CadenceCompliance => "cadence_compliance",
            Kpi::OverdueTasks => "overdue_tasks",
            Kpi::Grr => "grr",
            Kpi::Nrr => "nrr",
            Kpi::TimeToValueDays => "time_to_value_days",
        }
    }

    pub fn parse(name: &str) -> Option<Kpi> {
        Kpi::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The KPI's place in [`Kpi::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Kpi::Accounts => "Accounts",
            Kpi::Arr => "ARR",
            Kpi::HealthMean => "Mean health",
            Kpi::HealthTrend30d => "Health, 30-day change",
            Kpi::ActiveUsersTrend => "Active users, 30 days vs the 30 before",
            Kpi::EventsTrend => "Events, 30 days vs the 30 before",
            Kpi::Nps => "NPS",
            Kpi::Csat => "CSAT",
            Kpi::PlanExecution => "Plan execution",
            Kpi::CadenceCompliance => "Cadence compliance",
            Kpi::OverdueTasks => "Overdue tasks",
            Kpi::Grr => "GRR",
            Kpi::Nrr => "NRR",
            Kpi::TimeToValueDays => "Time to value (median days)",
        }
    }

    pub fn direction(self) -> Direction {
        match self {
            Kpi::OverdueTasks | Kpi::TimeToValueDays => Direction::AtMost,
            _ => Direction::AtLeast,
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Kpi::Accounts | Kpi::OverdueTasks => Unit::Count,
            Kpi::Arr => Unit::Money,
            Kpi::HealthMean | Kpi::HealthTrend30d => Unit::Score,
            Kpi::ActiveUsersTrend
            | Kpi::EventsTrend
            | Kpi::Csat
            | Kpi::PlanExecution
            | Kpi::CadenceCompliance
            | Kpi::Grr
            | Kpi::Nrr => Unit::Fraction,
            Kpi::Nps => Unit::Nps,
            Kpi::TimeToValueDays => Unit::Days,
        }
    }
}

impl fmt::Display for Kpi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A KPI against its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rag {
    Green,
    Amber,
    Red,
}

impl Rag {
    pub fn as_str(self) -> &'static str {
        match self {
            Rag::Green => "green",
            Rag::Amber => "amber",
            Rag::Red => "red",
        }
    }
}

/// Green when `value` meets `target` in the KPI's direction; amber when it
/// misses by at most `amber_within` × |target| (at least 1 for counts
/// and days, so that one overdue task over a target of 0 is amber); red
/// beyond. `None` without a value or a target.
pub fn rag(kpi: Kpi, value: Option<f64>, target: Option<f64>, amber_within: f64) -> Option<Rag> {
    let (v, t) = (value?, target?);
    let short = match kpi.direction() {
        Direction::AtLeast => t - v,
        Direction::AtMost => v - t,
    };
    if short <= 1e-12 {
        return Some(Rag::Green);
    }
    let mut slack = amber_within * t.abs();
    if matches!(kpi.unit(), Unit::Count | Unit::Days) {
        slack = slack.max(1.0);
    }
    Some(if short <= slack + 1e-12 {
        Rag::Amber
    } else {
        Rag::Red
    })
}

/// What one account brings to its portfolio's KPIs, on the last day of a
/// period and over the period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountKpis {
    /// Paying or in trial on the day (`Account::is_customer_on`).
    pub customer: bool,
    /// ARR on the day, in reporting currency units.
    pub arr: f64,
    /// The health score of the latest scored day up to the day; `None`
    /// when not scored.
    pub health: Option<f64>,
    /// That score less the score 30 days before it.
    pub health_change_30d: Option<f64>,
    /// Active users in the 30 days ending on the day, and in the 30 days
    /// before those.
    pub active_users: [u64; 2],
    /// Events in the same two windows.
    pub events: [u64; 2],
    /// Plan milestones due in the period and how they went.
    pub execution: Execution,
    /// Cadence compliance over the period.
    pub compliance: Compliance,
    /// Days from first MRR to the first milestone done, when value was
    /// reached by the day.
    pub time_to_value_days: Option<i64>,
}

/// The KPIs the metrics engine measures over a whole portfolio (its
/// accounts' answers and revenue over the period, docs/METRICS.md).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PortfolioMetrics {
    pub nps: Option<f64>,
    pub csat: Option<f64>,
    pub grr: Option<f64>,
    pub nrr: Option<f64>,
}

/// The sums of a portfolio's accounts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Portfolio {
    /// Accounts in the portfolio, customers or not.
    pub members: u64,
    /// Customers on the day.
    pub customers: u64,
    pub arr: f64,
    health: (f64, u64),
    health_change: (f64, u64),
    active_users: [u64; 2],
    events: [u64; 2],
    pub execution: Execution,
    pub compliance: Compliance,
    ttv_days: Vec<i32>,
    /// Tasks owned by the CSM (any owner, for the team) overdue on the day.
    pub overdue_tasks: u64,
}

/// `now ÷ before − 1`; `None` when there was nothing before.
fn trend(now: u64, before: u64) -> Option<f64> {
    (before > 0).then(|| now as f64 / before as f64 - 1.0)
}

fn mean((sum, n): (f64, u64)) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

impl Portfolio {
    /// Adds one account.
    pub fn add(&mut self, a: &AccountKpis) {
        self.members += 1;
        if a.customer {
            self.customers += 1;
        }
        self.arr += a.arr;
        if let Some(h) = a.health {
            self.health.0 += h;
            self.health.1 += 1;
        }
        if let Some(c) = a.health_change_30d {
            self.health_change.0 += c;
            self.health_change.1 += 1;
        }
        for w in 0..2 {
            self.active_users[w] += a.active_users[w];
            self.events[w] += a.events[w];
        }
        self.execution.add(a.execution);
        self.compliance.add(a.compliance);
        if let Some(d) = a.time_to_value_days {
            self.ttv_days
                .push(i32::try_from(d).unwrap_or(if d < 0 { i32::MIN } else { i32::MAX }));
        }
    }

    /// Every KPI's value, in [`Kpi::ALL`] order: counts and money are
    /// never `None`; a mean, a rate or a trend is `None` when nothing
    /// was there to measure (no scored account, nothing due, no usage in
    /// the earlier window, ...).
    pub fn values(&self, m: &PortfolioMetrics) -> KpiValues {
        let mut v = KpiValues::default();
        let mut set = |k: Kpi, x: Option<f64>| v.0[k.index()] = x;
        set(Kpi::Accounts, Some(self.customers as f64));
        set(Kpi::Arr, Some(self.arr));
        set(Kpi::HealthMean, mean(self.health));
        set(Kpi::HealthTrend30d, mean(self.health_change));
        set(
            Kpi::ActiveUsersTrend,
            trend(self.active_users[0], self.active_users[1]),
        );
        set(Kpi::EventsTrend, trend(self.events[0], self.events[1]));
        set(Kpi::Nps, m.nps);
        set(Kpi::Csat, m.csat);
        set(Kpi::PlanExecution, self.execution.rate());
        set(Kpi::CadenceCompliance, self.compliance.share());
        set(Kpi::OverdueTasks, Some(self.overdue_tasks as f64));
        set(Kpi::Grr, m.grr);
        set(Kpi::Nrr, m.nrr);
        let mut days = self.ttv_days.clone();
        set(Kpi::TimeToValueDays, median(&mut days));
        v
    }
}

/// A value per KPI, in [`Kpi::ALL`] order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KpiValues(pub [Option<f64>; 14]);

impl KpiValues {
    pub fn get(&self, kpi: Kpi) -> Option<f64> {
        self.0[kpi.index()]
    }
}

/// Adds each account to its CSM's portfolio (`Some(i)`: the `i`-th of
/// `csms` portfolios) and every account to the team's, in one pass.
pub fn fold<A: Borrow<AccountKpis>>(
    csms: usize,
    accounts: impl IntoIterator<Item = (Option<usize>, A)>,
) -> (Vec<Portfolio>, Portfolio) {
    let mut each = vec![Portfolio::default(); csms];
    let mut team = Portfolio::default();
    for (csm, a) in accounts {
        let a = a.borrow();
        if let Some(p) = csm.and_then(|i| each.get_mut(i)) {
            p.add(a);
        }
        team.add(a);
    }
    (each, team)
}

/// A KPI's value beside its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KpiCell {
    pub kpi: Kpi,
    pub value: Option<f64>,
    pub target: Option<f64>,
    /// `None` without a value or a target.
    pub rag: Option<Rag>,
}

/// Each KPI beside its target for a CSM (`None`: the team), in
/// [`Kpi::ALL`] order: a CSM's own target replaces the team's.
pub fn against_targets(
    values: &KpiValues,
    targets: &TargetConfig,
    csm: Option<&str>,
) -> Vec<KpiCell> {
    Kpi::ALL
        .into_iter()
        .map(|kpi| {
            let value = values.get(kpi);
            let target = targets.target(kpi, csm);
            KpiCell {
                kpi,
                value,
                target,
                rag: rag(kpi, value, target, targets.amber_within),
            }
        })
        .collect()
}

/// The `n` whole months up to `day`, oldest first, as `(first day, last
/// day)`: those ending before `day`, and the month of `day` itself when
/// `day` is its last day.
pub fn months_to(day: Date, n: usize) -> Vec<(Date, Date)> {
    let first = day.first_of_month();
    let skip = usize::from(day != day.last_of_month());
    (skip..skip + n)
        .rev()
        .map(|k| {
            let f = month_back(first, i32::try_from(k).unwrap_or(i32::MAX));
            (f, f.last_of_month())
        })
        .collect()
}

/// Whether a task counted as overdue on `day`: it had a due day before
/// `day`, existed by then (`created`) and was neither done by then nor
/// dropped. A dropped task leaves no day it was dropped, so it never
/// counts; a snoozed task counts from its latest due day.
pub fn task_overdue_on(
    due: Option<Date>,
    created: Date,
    status: TaskStatus,
    completed: Option<Date>,
    day: Date,
) -> bool {
    let Some(due) = due else { return false };
    if due >= day || created > day {
        return false;
    }
    match status {
        TaskStatus::Open => true,
        TaskStatus::Done => completed.is_none_or(|c| c > day),
        TaskStatus::Dropped => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn execution(due: usize, on_time: usize) -> Execution {
        Execution {
            due,
            on_time,
            late: 0,
            missed: due - on_time,
        }
    }

    fn compliance(on_time_days: u32, days: u32) -> Compliance {
        Compliance { on_time_days, days }
    }

    /// Ann has a1 (a customer scored 80, up 10, with 10 then 8 users and
    /// 200 then 100 events, 2 milestones due and 1 on time, 30 of 40 days
    /// compliant, value in 20 days) and a2 (a customer scored 60, down 4,
    /// 2 then 2 users and 50 then 100 events, nothing due, 10 of 20 days,
    /// value in 40 days); Bo has a3 (not a customer, never scored, no
    /// usage); a4 has no CSM (a customer scored 40, no earlier score, no
    /// usage before, value in 100 days).
    fn accounts() -> Vec<(Option<usize>, AccountKpis)> {
        vec![
            (
                Some(0),
                AccountKpis {
                    customer: true,
                    arr: 1200.0,
                    health: Some(80.0),
                    health_change_30d: Some(10.0),
                    active_users: [10, 8],
                    events: [200, 100],
                    execution: execution(2, 1),
                    compliance: compliance(30, 40),
                    time_to_value_days: Some(20),
                },
            ),
            (
                Some(0),
                AccountKpis {
                    customer: true,
                    arr: 2400.0,
                    health: Some(60.0),
                    health_change_30d: Some(-4.0),
                    active_users: [2, 2],
                    events: [50, 100],
                    execution: Execution::default(),
                    compliance: compliance(10, 20),
                    time_to_value_days: Some(40),
                },
            ),
            (Some(1), AccountKpis::default()),
            (
                None,
                AccountKpis {
                    customer: true,
                    arr: 600.0,
                    health: Some(40.0),
                    health_change_30d: None,
                    active_users: [3, 0],
                    events: [30, 0],
                    execution: execution(1, 1),
                    compliance: Compliance::default(),
                    time_to_value_days: Some(100),
                },
            ),
        ]
    }

    #[test]
    fn accounts_fold_into_each_csms_portfolio_and_the_teams_worked_by_hand() {
        let list = accounts();
        let (each, mut team) = fold(2, list.iter().map(|(c, a)| (*c, a)));
        team.overdue_tasks = 3;
        let metrics = PortfolioMetrics {
            nps: Some(-20.0),
            csat: None,
            grr: Some(0.9),
            nrr: Some(1.1),
        };
        let ann = each[0].values(&metrics);
        let v = |k| ann.get(k);
        assert_eq!((each[0].members, each[0].customers), (2, 2));
        assert_eq!(v(Kpi::Accounts), Some(2.0));
        assert_eq!(v(Kpi::Arr), Some(3600.0));
        // (80 + 60) / 2 and (10 − 4) / 2.
        assert_eq!(v(Kpi::HealthMean), Some(70.0));
        assert_eq!(v(Kpi::HealthTrend30d), Some(3.0));
        // Users 12 against 10; events 250 against 200.
        assert!((v(Kpi::ActiveUsersTrend).unwrap() - 0.2).abs() < 1e-12);
        assert!((v(Kpi::EventsTrend).unwrap() - 0.25).abs() < 1e-12);
        assert_eq!(v(Kpi::PlanExecution), Some(0.5));
        // 40 of 60 days.
        assert!((v(Kpi::CadenceCompliance).unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(v(Kpi::OverdueTasks), Some(0.0));
        // The median of 20 and 40.
        assert_eq!(v(Kpi::TimeToValueDays), Some(30.0));
        // Measured over the portfolio, passed through.
        assert_eq!(
            (v(Kpi::Nps), v(Kpi::Csat), v(Kpi::Grr), v(Kpi::Nrr)),
            (Some(-20.0), None, Some(0.9), Some(1.1))
        );

        // Bo's one account is no customer and has nothing to measure:
        // counts and money are 0, the rest is no data.
        let bo = each[1].values(&PortfolioMetrics::default());
        assert_eq!(
            (bo.get(Kpi::Accounts), bo.get(Kpi::Arr)),
            (Some(0.0), Some(0.0))
        );
        assert_eq!(bo.get(Kpi::OverdueTasks), Some(0.0));
        for k in [
            Kpi::HealthMean,
            Kpi::HealthTrend30d,
            Kpi::ActiveUsersTrend,
            Kpi::EventsTrend,
            Kpi::PlanExecution,
            Kpi::CadenceCompliance,
            Kpi::TimeToValueDays,
            Kpi::Nps,
            Kpi::Grr,
        ] {
            assert_eq!(bo.get(k), None, "{k}");
        }

        // The team: every account, a4 (no CSM) too.
        let t = team.values(&metrics);
        assert_eq!(team.members, 4);
        assert_eq!(t.get(Kpi::Accounts), Some(3.0));
        assert_eq!(t.get(Kpi::Arr), Some(4200.0));
        assert_eq!(t.get(Kpi::HealthMean), Some(60.0));
        assert_eq!(t.get(Kpi::HealthTrend30d), Some(3.0));
        // Users 15 against 10, events 280 against 200.
        assert!((t.get(Kpi::ActiveUsersTrend).unwrap() - 0.5).abs() < 1e-12);
        assert!((t.get(Kpi::EventsTrend).unwrap() - 0.4).abs() < 1e-12);
        // 2 on time of 3 due.
        assert!((t.get(Kpi::PlanExecution).unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(t.get(Kpi::OverdueTasks), Some(3.0));
        assert_eq!(t.get(Kpi::TimeToValueDays), Some(40.0));
    }

    #[test]
    fn each_value_stands_beside_its_target_a_csms_own_first() {
        let targets = TargetConfig {
            kpis: BTreeMap::from([
                (Kpi::HealthMean, 70.0),
                (Kpi::Nrr, 1.0),
                (Kpi::OverdueTasks, 0.0),
            ]),
            csm_kpis: BTreeMap::from([(
                "ann@x.com".to_string(),
                BTreeMap::from([(Kpi::Nrr, 1.2)]),
            )]),
            amber_within: 0.1,
            ..TargetConfig::default()
        };
        let mut values = KpiValues::default();
        values.0[Kpi::HealthMean.index()] = Some(65.0);
        values.0[Kpi::Nrr.index()] = Some(1.1);
        values.0[Kpi::OverdueTasks.index()] = Some(2.0);
        let cell = |cells: &[KpiCell], k: Kpi| {
            let c = cells[k.index()];
            assert_eq!(c.kpi, k);
            (c.value, c.target, c.rag)
        };
        let team = against_targets(&values, &targets, None);
        assert_eq!(team.len(), Kpi::ALL.len());
        assert_eq!(
            cell(&team, Kpi::HealthMean),
            (Some(65.0), Some(70.0), Some(Rag::Amber))
        );
        assert_eq!(
            cell(&team, Kpi::Nrr),
            (Some(1.1), Some(1.0), Some(Rag::Green))
        );
        assert_eq!(
            cell(&team, Kpi::OverdueTasks),
            (Some(2.0), Some(0.0), Some(Rag::Red))
        );
        // No target: no colour.
        assert_eq!(cell(&team, Kpi::Arr), (None, None, None));
        // Ann's NRR target is 1.2: 1.1 is short by 0.1, within 0.12.
        let ann = against_targets(&values, &targets, Some("Ann@X.com"));
        assert_eq!(
            cell(&ann, Kpi::Nrr),
            (Some(1.1), Some(1.2), Some(Rag::Amber))
        );
        assert_eq!(cell(&ann, Kpi::HealthMean).1, Some(70.0));
    }

    #[test]
    fn history_months_end_on_or_before_the_day() {
        let months = |day, n| -> Vec<(String, String)> {
            months_to(d(day), n)
                .into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let m = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            months("2026-03-10", 3),
            [
                m("2025-12-01", "2025-12-31"),
                m("2026-01-01", "2026-01-31"),
                m("2026-02-01", "2026-02-28"),
            ]
        );
        assert_eq!(months("2026-03-31", 1), [m("2026-03-01", "2026-03-31")]);
        assert!(months("2026-03-31", 0).is_empty());
    }

    #[test]
    fn a_task_is_overdue_from_the_day_after_it_was_due_until_done() {
        let (due, created, day) = (Some(d("2025-06-10")), d("2025-06-01"), d("2025-06-30"));
        let on = |due, created, status, completed, day| {
            task_overdue_on(due, created, status, completed, day)
        };
        assert!(on(due, created, TaskStatus::Open, None, day));
        // Due that very day: not yet.
        assert!(!on(due, created, TaskStatus::Open, None, d("2025-06-10")));
        assert!(on(due, created, TaskStatus::Open, None, d("2025-06-11")));
        assert!(!on(None, created, TaskStatus::Open, None, day));
        // Done after the day: still overdue then; done by it: not.
        assert!(on(
            due,
            created,
            TaskStatus::Done,
            Some(d("2025-07-02")),
            day
        ));
        assert!(!on(
            due,
            created,
            TaskStatus::Done,
            Some(d("2025-06-30")),
            day
        ));
        assert!(!on(due, created, TaskStatus::Dropped, None, day));
        // Made after the day (a task written with a past due day).
        assert!(!on(due, d("2025-07-01"), TaskStatus::Open, None, day));
    }

    #[test]
    fn each_kpi_knows_its_place() {
        for (i, k) in Kpi::ALL.into_iter().enumerate() {
            assert_eq!(k.index(), i);
        }
    }

    #[test]
    fn names_round_trip() {
        for k in Kpi::ALL {
            assert_eq!(Kpi::parse(k.name()), Some(k));
        }
        assert_eq!(Kpi::parse("health"), None);
    }

    #[test]
    fn rag_follows_direction_and_slack() {
        let r = |k, v, t| rag(k, Some(v), Some(t), 0.1);
        assert_eq!(r(Kpi::HealthMean, 70.0, 70.0), Some(Rag::Green));
        assert_eq!(r(Kpi::HealthMean, 63.0, 70.0), Some(Rag::Amber));
        assert_eq!(r(Kpi::HealthMean, 62.9, 70.0), Some(Rag::Red));
        assert_eq!(r(Kpi::Nrr, 1.05, 1.0), Some(Rag::Green));
        assert_eq!(r(Kpi::OverdueTasks, 0.0, 0.0), Some(Rag::Green));
        assert_eq!(r(Kpi::OverdueTasks, 1.0, 0.0), Some(Rag::Amber));
        assert_eq!(r(Kpi::OverdueTasks, 2.0, 0.0), Some(Rag::Red));
        assert_eq!(r(Kpi::TimeToValueDays, 40.0, 45.0), Some(Rag::Green));
        assert_eq!(r(Kpi::TimeToValueDays, 49.5, 45.0), Some(Rag::Amber));
        assert_eq!(r(Kpi::TimeToValueDays, 50.0, 45.0), Some(Rag::Red));
        // NPS targets may be negative: the slack is on |target|.
        assert_eq!(r(Kpi::Nps, -11.0, -10.0), Some(Rag::Amber));
        assert_eq!(rag(Kpi::Nps, None, Some(10.0), 0.1), None);
        assert_eq!(rag(Kpi::Nps, Some(10.0), None, 0.1), None);
    }
}
