//! The CSM KPIs: the levers a CSM can pull, measured on their portfolio,
//! each with the direction that is better and red / amber / green against
//! a target.

use std::fmt;

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

#[cfg(test)]
mod tests {
    use super::*;

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
