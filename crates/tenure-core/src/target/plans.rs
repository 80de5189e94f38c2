//! Success plans: templates per segment, tier and stage; goals bound to a
//! fact or set by hand; milestones with due days; execution and time to
//! value.

use jiff::civil::Date;

use crate::model::{add_days, day_number};
use crate::rules::Facts;

/// A plan template from tenure.toml: whom it is for and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub name: String,
    /// Indexes into the configured segments, tiers and stages; an empty
    /// list matches any.
    pub segments: Vec<usize>,
    pub tiers: Vec<usize>,
    pub stages: Vec<usize>,
    pub goals: Vec<GoalTemplate>,
    pub milestones: Vec<MilestoneTemplate>,
}

/// A goal as a template (or a person) writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalTemplate {
    pub name: String,
    /// `None`: the value is set by hand.
    pub metric: Option<GoalMetric>,
    pub target: f64,
    /// The goal is met at or below the target (fewer open tickets).
    pub at_most: bool,
}

/// A milestone as a template writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct MilestoneTemplate {
    pub name: String,
    /// Due this many days after the plan (or the template) starts.
    pub due_days: u32,
    /// One of the configured roles.
    pub owner: String,
}

/// The facts a goal can be bound to, so that its value updates itself.
pub const GOAL_FACTS: [&str; 9] = [
    "active_users_30d",
    "usage_rate",
    "events_30d",
    "nps",
    "health",
    "health_trend_30d",
    "seats",
    "arr",
    "open_tickets",
];

/// What a goal's value is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoalMetric {
    /// One of [`GOAL_FACTS`].
    Fact(&'static str),
    /// A custom attribute read as a number (`attrs.NAME`).
    Attribute(String),
}

impl GoalMetric {
    /// `attrs.NAME` or one of [`GOAL_FACTS`].
    pub fn parse(s: &str) -> Option<GoalMetric> {
        let s = s.trim();
        if let Some(name) = s.strip_prefix("attrs.") {
            let ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            return ok.then(|| GoalMetric::Attribute(name.to_string()));
        }
        GOAL_FACTS
            .iter()
            .find(|f| **f == s)
            .map(|f| GoalMetric::Fact(f))
    }

    /// As written in tenure.toml and stored.
    pub fn name(&self) -> String {
        match self {
            GoalMetric::Fact(f) => (*f).to_string(),
            GoalMetric::Attribute(a) => format!("attrs.{a}"),
        }
    }

    /// The account's value, or `None` when it has no data (never 0 for
    /// "no data"). An attribute that is not a number has no data.
    pub fn value(&self, f: &Facts) -> Option<f64> {
        match self {
            GoalMetric::Attribute(a) => f.attrs.get(a)?.trim().parse::<f64>().ok(),
            GoalMetric::Fact(name) => match *name {
                "active_users_30d" => f.active_users_30d.map(|v| v as f64),
                "usage_rate" => f.usage_rate,
                "events_30d" => f.events_30d.map(|v| v as f64),
                "nps" => f.nps,
                "health" => f.health,
                "health_trend_30d" => f.health_trend_30d,
                "seats" => f.seats.map(|v| v as f64),
                "arr" => f.paying.then_some(f.mrr * 12.0),
                "open_tickets" => f.open_tickets.map(|v| v as f64),
                _ => None,
            }
            .filter(|v| v.is_finite()),
        }
    }
}

/// The first template, in file order, that matches an account in this
/// segment, tier and stage. An account with neither segment nor stage (not
/// a customer) matches none.
pub fn template_for(
    templates: &[Template],
    segment: Option<usize>,
    tier: Option<usize>,
    stage: Option<usize>,
) -> Option<usize> {
    if segment.is_none() && stage.is_none() {
        return None;
    }
    let fits =
        |list: &[usize], v: Option<usize>| list.is_empty() || v.is_some_and(|v| list.contains(&v));
    templates
        .iter()
        .position(|t| fits(&t.segments, segment) && fits(&t.tiers, tier) && fits(&t.stages, stage))
}

/// A milestone to create from a template.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMilestone {
    pub name: String,
    pub due: Date,
    pub owner_role: String,
}

/// The template's milestones, due from `start`.
pub fn milestones_from(t: &Template, start: Date) -> Vec<NewMilestone> {
    t.milestones
        .iter()
        .map(|m| NewMilestone {
            name: m.name.clone(),
            due: add_days(start, m.due_days as i32),
            owner_role: m.owner.clone(),
        })
        .collect()
}

/// Whether `value` meets the goal.
pub fn met(value: Option<f64>, target: f64, at_most: bool) -> bool {
    value.is_some_and(|v| if at_most { v <= target } else { v >= target })
}

/// How far along a goal is, 0..=1: value ÷ target when more is better (a
/// target of 0 or below is met or not); target ÷ value when less is better.
/// `None` without a value.
pub fn progress(value: Option<f64>, target: f64, at_most: bool) -> Option<f64> {
    let v = value?;
    if met(Some(v), target, at_most) {
        return Some(1.0);
    }
    let p = if at_most {
        if v > 0.0 && target > 0.0 {
            target / v
        } else {
            0.0
        }
    } else if target > 0.0 {
        v / target
    } else {
        0.0
    };
    Some(p.clamp(0.0, 1.0))
}

/// A milestone's status as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MilestoneStatus {
    Open,
    Done,
    Missed,
    Dropped,
}

impl MilestoneStatus {
    pub const ALL: [MilestoneStatus; 4] = [
        MilestoneStatus::Open,
        MilestoneStatus::Done,
        MilestoneStatus::Missed,
        MilestoneStatus::Dropped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MilestoneStatus::Open => "open",
            MilestoneStatus::Done => "done",
            MilestoneStatus::Missed => "missed",
            MilestoneStatus::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<MilestoneStatus> {
        let s = s.trim().to_ascii_lowercase();
        MilestoneStatus::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// A plan's status as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanStatus {
    Active,
    Completed,
    Cancelled,
}

impl PlanStatus {
    pub const ALL: [PlanStatus; 3] = [
        PlanStatus::Active,
        PlanStatus::Completed,
        PlanStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Active => "active",
            PlanStatus::Completed => "completed",
            PlanStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<PlanStatus> {
        let s = s.trim().to_ascii_lowercase();
        PlanStatus::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Where a milestone stands on a day: its status, or `overdue` for an
/// open one past its due day.
pub fn standing(status: MilestoneStatus, due: Date, day: Date) -> &'static str {
    if status == MilestoneStatus::Open && due < day {
        "overdue"
    } else {
        status.as_str()
    }
}

/// Milestones due over a period and how they went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Execution {
    /// Milestones due in the period, dropped ones left out.
    pub due: usize,
    /// Of those, done on or before their due day.
    pub on_time: usize,
    /// Of those, done after it.
    pub late: usize,
    /// Of those, open past their due day on the period's last day, or
    /// marked missed.
    pub missed: usize,
}

impl Execution {
    /// Done on time ÷ due; `None` when nothing was due.
    pub fn rate(&self) -> Option<f64> {
        (self.due > 0).then(|| self.on_time as f64 / self.due as f64)
    }

    pub fn add(&mut self, other: Execution) {
        self.due += other.due;
        self.on_time += other.on_time;
        self.late += other.late;
        self.missed += other.missed;
    }
}

/// Execution over `from..=to` of milestones given as `(due, status, done
/// on)`: those due in the period count, and so do those done in it ahead
/// of a later due day (done early is done on time). Done late, or not done
/// by `to`, is not on time; a milestone done after `to` counts as not done.
pub fn execution(
    milestones: impl IntoIterator<Item = (Date, MilestoneStatus, Option<Date>)>,
    from: Date,
    to: Date,
) -> Execution {
    let mut e = Execution::default();
    for (due, status, done_on) in milestones {
        if status == MilestoneStatus::Dropped {
            continue;
        }
        let done = done_on.filter(|_| status == MilestoneStatus::Done);
        let early = due > to && done.is_some_and(|d| d >= from && d <= to);
        if !(early || (due >= from && due <= to)) {
            continue;
        }
        e.due += 1;
        match done {
            Some(d) if d <= due && d <= to => e.on_time += 1,
            Some(d) if d <= to => e.late += 1,
            _ => e.missed += 1,
        }
    }
    e
}

/// Days from the first MRR to the first milestone done (0 when the
/// milestone was done first, in a trial).
pub fn time_to_value(first_mrr: Date, first_done: Date) -> i64 {
    i64::from((day_number(first_done) - day_number(first_mrr)).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn template(name: &str, segments: &[usize], tiers: &[usize], stages: &[usize]) -> Template {
        Template {
            name: name.into(),
            segments: segments.to_vec(),
            tiers: tiers.to_vec(),
            stages: stages.to_vec(),
            goals: Vec::new(),
            milestones: vec![MilestoneTemplate {
                name: "Kick-off".into(),
                due_days: 7,
                owner: "csm".into(),
            }],
        }
    }

    #[test]
    fn the_first_matching_template_wins_and_empty_lists_match_any() {
        let ts = [
            template("strategic onboarding", &[0], &[], &[0]),
            template("high touch", &[], &[0], &[]),
            template("renewal", &[], &[], &[3]),
        ];
        assert_eq!(template_for(&ts, Some(0), Some(0), Some(0)), Some(0));
        assert_eq!(template_for(&ts, Some(0), Some(0), Some(1)), Some(1));
        assert_eq!(template_for(&ts, Some(2), Some(2), Some(3)), Some(2));
        assert_eq!(template_for(&ts, Some(2), Some(2), Some(1)), None);
        // A template naming a stage never fits an account without one.
        assert_eq!(template_for(&ts[2..], Some(2), Some(2), None), None);
        assert_eq!(template_for(&ts, None, None, None), None);
        let m = milestones_from(&ts[0], d("2025-01-30"));
        assert_eq!(m[0].due, d("2025-02-06"));
        assert_eq!(m[0].owner_role, "csm");
    }

    #[test]
    fn goals_read_facts_and_no_data_is_not_zero() {
        let mut f = Facts {
            active_users_30d: Some(12),
            usage_rate: Some(0.4),
            attrs: [
                ("licences".to_string(), " 40 ".to_string()),
                ("tier".to_string(), "gold".to_string()),
            ]
            .into(),
            ..Facts::default()
        };
        f.mrr = 100.0;
        f.paying = true;
        let v = |m: &str| GoalMetric::parse(m).unwrap().value(&f);
        assert_eq!(v("active_users_30d"), Some(12.0));
        assert_eq!(v("usage_rate"), Some(0.4));
        assert_eq!(v("arr"), Some(1200.0));
        assert_eq!(v("nps"), None);
        assert_eq!(v("attrs.licences"), Some(40.0));
        assert_eq!(v("attrs.tier"), None);
        assert_eq!(v("attrs.missing"), None);
        assert_eq!(GoalMetric::parse("mau"), None);
        assert_eq!(GoalMetric::parse("attrs."), None);
        assert_eq!(
            GoalMetric::parse("attrs.seats_bought").unwrap().name(),
            "attrs.seats_bought"
        );
    }

    #[test]
    fn progress_and_met_in_both_directions() {
        assert_eq!(progress(Some(30.0), 40.0, false), Some(0.75));
        assert_eq!(progress(Some(50.0), 40.0, false), Some(1.0));
        assert_eq!(progress(None, 40.0, false), None);
        assert_eq!(progress(Some(-5.0), 40.0, false), Some(0.0));
        // Fewer open tickets is better: 4 against a target of 2 is halfway.
        assert_eq!(progress(Some(4.0), 2.0, true), Some(0.5));
        assert_eq!(progress(Some(1.0), 2.0, true), Some(1.0));
        assert_eq!(progress(Some(3.0), 0.0, true), Some(0.0));
        assert!(met(Some(0.0), 0.0, true) && !met(None, 0.0, true));
    }

    #[test]
    fn execution_counts_milestones_due_in_the_period() {
        use MilestoneStatus::*;
        let (from, to) = (d("2025-03-01"), d("2025-03-31"));
        let ms = [
            (d("2025-03-05"), Done, Some(d("2025-03-05"))), // on time
            (d("2025-03-10"), Done, Some(d("2025-03-12"))), // late
            (d("2025-03-15"), Open, None),                  // missed
            (d("2025-03-20"), Missed, None),                // missed
            (d("2025-03-25"), Dropped, None),               // not counted
            (d("2025-03-28"), Done, Some(d("2025-04-02"))), // done after the period
            (d("2025-02-28"), Done, Some(d("2025-02-27"))), // due before
            (d("2025-04-01"), Open, None),                  // due after
            (d("2025-04-10"), Done, Some(d("2025-03-20"))), // done early: on time
            (d("2025-04-10"), Done, Some(d("2025-04-02"))), // done after the period
        ];
        let e = execution(ms, from, to);
        assert_eq!(
            e,
            Execution {
                due: 6,
                on_time: 2,
                late: 1,
                missed: 3
            }
        );
        assert_eq!(e.rate(), Some(2.0 / 6.0));
        assert_eq!(execution([], from, to).rate(), None);
        assert_eq!(standing(Open, d("2025-03-15"), d("2025-03-16")), "overdue");
        assert_eq!(standing(Open, d("2025-03-15"), d("2025-03-15")), "open");
    }

    #[test]
    fn time_to_value_in_days() {
        assert_eq!(time_to_value(d("2025-01-01"), d("2025-02-15")), 45);
        assert_eq!(time_to_value(d("2025-01-10"), d("2025-01-01")), 0);
    }
}

/// The longest name of a plan, goal or milestone, or proven-value title.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest evidence text.
pub const MAX_EVIDENCE_CHARS: usize = 4000;

/// A name written by hand, trimmed: 1 to [`MAX_NAME_CHARS`] characters,
/// no NUL. The error says what is wrong, for the caller to prefix with
/// the field.
pub fn check_name(text: &str) -> Result<String, String> {
    let t = text.trim();
    let n = t.chars().count();
    if n == 0 {
        Err("is empty".into())
    } else if n > MAX_NAME_CHARS {
        Err(format!("has {n} characters; at most {MAX_NAME_CHARS}"))
    } else if t.contains('\0') {
        Err("contains a NUL character".into())
    } else {
        Ok(t.to_string())
    }
}

/// Evidence written by hand: trimmed, `None` when empty, at most
/// [`MAX_EVIDENCE_CHARS`] characters, no NUL.
pub fn check_evidence(text: &str) -> Result<Option<String>, String> {
    let t = text.trim();
    if t.chars().count() > MAX_EVIDENCE_CHARS {
        Err(format!("is longer than {MAX_EVIDENCE_CHARS} characters"))
    } else if t.contains('\0') {
        Err("contains a NUL character".into())
    } else {
        Ok((!t.is_empty()).then(|| t.to_string()))
    }
}

/// A day written by hand for a plan: at most ten years back and ahead of
/// `today`; `future` false refuses days after today (a milestone done, a
/// value delivered).
pub fn check_day(day: Date, today: Date, future: bool) -> Result<Date, String> {
    let (d, t) = (day_number(day), day_number(today));
    if d < t - 3660 {
        Err(format!("{day} is more than ten years ago"))
    } else if d > t + 3660 {
        Err(format!("{day} is more than ten years ahead"))
    } else if !future && d > t {
        Err(format!("{day} is in the future"))
    } else {
        Ok(day)
    }
}

#[cfg(test)]
mod edit_tests {
    use super::*;

    #[test]
    fn names_evidence_and_days_written_by_hand() {
        assert_eq!(check_name("  Kick-off "), Ok("Kick-off".into()));
        assert_eq!(check_name(" "), Err("is empty".into()));
        assert!(
            check_name(&"x".repeat(201))
                .unwrap_err()
                .contains("at most 200")
        );
        assert_eq!(check_evidence(""), Ok(None));
        assert!(check_evidence("a\0").is_err());
        let today: Date = "2025-06-01".parse().unwrap();
        assert!(check_day("2025-06-02".parse().unwrap(), today, true).is_ok());
        assert_eq!(
            check_day("2025-06-02".parse().unwrap(), today, false),
            Err("2025-06-02 is in the future".into())
        );
        assert!(check_day("2040-01-01".parse().unwrap(), today, true).is_err());
    }
}
