//! Tasks: the work a CSM does, by hand or from a plan's milestone, a
//! playbook or a leadership review. The rules a task written by hand must
//! follow (every surface applies these) and the order of *my tasks*.

use std::cmp::Ordering;

use jiff::civil::Date;

use crate::model::{add_days, day_number};

/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest notes, in characters.
pub const MAX_NOTES_CHARS: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    Open,
    Done,
    Dropped,
}

impl TaskStatus {
    /// The status of a milestone's task when the milestone has `status`:
    /// done with it, open with it, dropped when it is missed or dropped.
    pub fn of_milestone(status: crate::target::plans::MilestoneStatus) -> TaskStatus {
        use crate::target::plans::MilestoneStatus;
        match status {
            MilestoneStatus::Open => TaskStatus::Open,
            MilestoneStatus::Done => TaskStatus::Done,
            MilestoneStatus::Missed | MilestoneStatus::Dropped => TaskStatus::Dropped,
        }
    }

    pub const ALL: [TaskStatus; 3] = [TaskStatus::Open, TaskStatus::Done, TaskStatus::Dropped];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Done => "done",
            TaskStatus::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<TaskStatus> {
        let s = s.trim().to_ascii_lowercase();
        TaskStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Higher is more urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        let s = s.trim().to_ascii_lowercase();
        Priority::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Where a task came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSource {
    Manual,
    /// A plan milestone owned by the CSM: completing the task marks the
    /// milestone done.
    Milestone,
    Playbook,
    Review,
    /// A product request that shipped: tell the account that asked
    /// (`source_id` is the request).
    Request,
}

impl TaskSource {
    pub const ALL: [TaskSource; 5] = [
        TaskSource::Manual,
        TaskSource::Milestone,
        TaskSource::Playbook,
        TaskSource::Review,
        TaskSource::Request,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskSource::Manual => "manual",
            TaskSource::Milestone => "milestone",
            TaskSource::Playbook => "playbook",
            TaskSource::Review => "review",
            TaskSource::Request => "request",
        }
    }

    pub fn parse(s: &str) -> Option<TaskSource> {
        let s = s.trim().to_ascii_lowercase();
        TaskSource::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// A field of a task written by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskField {
    Title,
    Due,
    Priority,
    Notes,
    LogKind,
}

impl TaskField {
    /// The field's name in the API, the CLI's flags and the form.
    pub fn name(self) -> &'static str {
        match self {
            TaskField::Title => "title",
            TaskField::Due => "due",
            TaskField::Priority => "priority",
            TaskField::Notes => "notes",
            TaskField::LogKind => "log_kind",
        }
    }
}

/// One problem with a task written by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskProblem {
    pub field: TaskField,
    pub message: String,
}

/// A task that passed [`check_task`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedTask {
    pub title: String,
    pub due: Option<Date>,
    pub priority: Priority,
    pub notes: Option<String>,
    /// The engagement kind completing it logs.
    pub log_kind: Option<String>,
}

/// A task as written: text fields as given.
#[derive(Debug, Clone, Default)]
pub struct TaskDraft<'a> {
    pub title: &'a str,
    pub due: Option<Date>,
    /// Empty: normal.
    pub priority: &'a str,
    pub notes: &'a str,
    /// Empty: none.
    pub log_kind: &'a str,
}

/// Checks a task written on `today`: a title of 1 to [`MAX_TITLE_CHARS`]
/// characters, a due day at most a year back and ten years ahead, a known
/// priority, notes of at most [`MAX_NOTES_CHARS`] characters, and a
/// configured engagement kind to log, if any. Text with a NUL character
/// cannot be stored and is refused.
pub fn check_task(
    draft: &TaskDraft<'_>,
    kinds: &[String],
    today: Date,
) -> Result<CheckedTask, Vec<TaskProblem>> {
    let mut problems = Vec::new();
    let mut problem = |field, message: String| problems.push(TaskProblem { field, message });
    let title = draft.title.trim();
    let chars = title.chars().count();
    if chars == 0 {
        problem(TaskField::Title, "the title is empty".into());
    } else if chars > MAX_TITLE_CHARS {
        problem(
            TaskField::Title,
            format!("the title has {chars} characters, more than {MAX_TITLE_CHARS}"),
        );
    }
    if title.contains('\0') {
        problem(
            TaskField::Title,
            "the title contains a NUL character".into(),
        );
    }
    if let Some(due) = draft.due {
        if due < add_days(today, -366) {
            problem(TaskField::Due, format!("{due} is more than a year ago"));
        } else if day_number(due) > day_number(today) + 3660 {
            problem(
                TaskField::Due,
                format!("{due} is more than ten years ahead"),
            );
        }
    }
    let priority = if draft.priority.trim().is_empty() {
        Some(Priority::Normal)
    } else {
        Priority::parse(draft.priority)
    };
    if priority.is_none() {
        problem(
            TaskField::Priority,
            format!(
                "unknown priority {:?}: expected low, normal, high or urgent",
                draft.priority
            ),
        );
    }
    let notes = draft.notes.trim();
    if notes.chars().count() > MAX_NOTES_CHARS {
        problem(
            TaskField::Notes,
            format!("the notes are longer than {MAX_NOTES_CHARS} characters"),
        );
    }
    if notes.contains('\0') {
        problem(TaskField::Notes, "the notes contain a NUL character".into());
    }
    let kind = draft.log_kind.trim().to_ascii_lowercase();
    if !kind.is_empty() && !kinds.contains(&kind) {
        problem(
            TaskField::LogKind,
            format!(
                "unknown engagement kind {:?}: expected one of {}",
                draft.log_kind,
                kinds.join(", ")
            ),
        );
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(CheckedTask {
        title: title.to_string(),
        due: draft.due,
        priority: priority.unwrap_or(Priority::Normal),
        notes: (!notes.is_empty()).then(|| notes.to_string()),
        log_kind: (!kind.is_empty()).then_some(kind),
    })
}

/// Days a task is overdue on `day` (0 when not due yet or without a due
/// day).
pub fn overdue_days(due: Option<Date>, day: Date) -> i32 {
    due.map_or(0, |d| (day_number(day) - day_number(d)).max(0))
}

/// The order of *my tasks* on `day`: overdue first (most overdue first),
/// then by due day, then those without one; higher priority first within
/// a day. Each task is given as `(due, priority)`.
pub fn my_order(a: (Option<Date>, Priority), b: (Option<Date>, Priority), day: Date) -> Ordering {
    let key = |(due, _): (Option<Date>, Priority)| match due {
        Some(d) if d < day => (0, day_number(d)),
        Some(d) => (1, day_number(d)),
        None => (2, 0),
    };
    key(a).cmp(&key(b)).then(b.1.cmp(&a.1))
}

/// The longest email address, in characters.
pub const MAX_EMAIL_CHARS: usize = 254;

/// Checks the address a task is owned by (given by hand, when a task is
/// written or reassigned): one `@` with something before it, a domain
/// with a dot, no spaces, at most [`MAX_EMAIL_CHARS`] characters. Returns
/// it trimmed and lower-cased, as owners are compared.
pub fn check_owner(email: &str) -> Result<String, String> {
    let e = email.trim();
    if e.is_empty() {
        return Err("the owner's email is empty".into());
    }
    let well_formed = match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    };
    if !well_formed || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{email:?} is not an email address"));
    }
    if e.chars().count() > MAX_EMAIL_CHARS {
        return Err(format!(
            "the email address is longer than {MAX_EMAIL_CHARS} characters"
        ));
    }
    Ok(e.to_ascii_lowercase())
}

/// The furthest a task can be snoozed: a year after `today` (2024-02-29
/// gives 2025-02-28).
pub fn latest_snooze(today: Date) -> Date {
    today
        .checked_add(jiff::Span::new().years(1))
        .unwrap_or(today)
}

/// Checks the day an open task is snoozed until on `today`: after today
/// and at most a year ahead ([`latest_snooze`]).
pub fn check_snooze(until: Date, today: Date) -> Result<Date, String> {
    if until <= today {
        Err(format!(
            "snooze to a day after today ({today}), not {until}"
        ))
    } else if until > latest_snooze(today) {
        Err(format!(
            "{until} is more than a year ahead: snooze to {} at the latest",
            latest_snooze(today)
        ))
    } else {
        Ok(until)
    }
}

/// Checks the day a task was done, given on `today`: not in the future
/// and at most a year back.
pub fn check_done_day(day: Date, today: Date) -> Result<Date, String> {
    if day > today {
        Err(format!("{day} is in the future"))
    } else if day < add_days(today, -366) {
        Err(format!("{day} is more than a year ago"))
    } else {
        Ok(day)
    }
}

/// Whether a task may go from `from` to `to` by hand: an open task is
/// completed or dropped, a done or dropped one reopened. Staying as it is
/// is allowed (nothing changes); a done task is not dropped, nor a dropped
/// one completed, without reopening it first.
pub fn check_transition(from: TaskStatus, to: TaskStatus) -> Result<(), String> {
    match (from, to) {
        (TaskStatus::Done, TaskStatus::Dropped) => {
            Err("the task is done: reopen it before dropping it".into())
        }
        (TaskStatus::Dropped, TaskStatus::Done) => {
            Err("the task was dropped: reopen it before completing it".into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn a_task_by_hand_is_checked_field_by_field() {
        let kinds = vec!["call".to_string()];
        let today = d("2025-06-01");
        let ok = check_task(
            &TaskDraft {
                title: "  Call the sponsor ",
                due: Some(d("2025-06-10")),
                priority: "HIGH",
                notes: "",
                log_kind: "Call",
            },
            &kinds,
            today,
        )
        .unwrap();
        assert_eq!(ok.title, "Call the sponsor");
        assert_eq!(ok.priority, Priority::High);
        assert_eq!(ok.notes, None);
        assert_eq!(ok.log_kind.as_deref(), Some("call"));
        let long = "x".repeat(201);
        let bad = check_task(
            &TaskDraft {
                title: &long,
                due: Some(d("2040-01-01")),
                priority: "soon",
                notes: "a\0b",
                log_kind: "fax",
            },
            &kinds,
            today,
        )
        .unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|p| p.field.name()).collect();
        assert_eq!(fields, ["title", "due", "priority", "notes", "log_kind"]);
        let empty = check_task(&TaskDraft::default(), &kinds, today).unwrap_err();
        assert_eq!(empty[0].message, "the title is empty");
    }

    #[test]
    fn my_tasks_put_the_most_overdue_first() {
        let day = d("2025-06-10");
        let mut tasks = [
            ("none", None, Priority::Urgent),
            ("later", Some(d("2025-06-20")), Priority::Low),
            ("today-low", Some(d("2025-06-10")), Priority::Low),
            ("today-high", Some(d("2025-06-10")), Priority::High),
            ("late-1", Some(d("2025-06-09")), Priority::Low),
            ("late-5", Some(d("2025-06-05")), Priority::Low),
        ];
        tasks.sort_by(|a, b| my_order((a.1, a.2), (b.1, b.2), day));
        let names: Vec<&str> = tasks.iter().map(|t| t.0).collect();
        assert_eq!(
            names,
            [
                "late-5",
                "late-1",
                "today-high",
                "today-low",
                "later",
                "none"
            ]
        );
        assert_eq!(overdue_days(Some(d("2025-06-05")), day), 5);
        assert_eq!(overdue_days(Some(d("2025-06-15")), day), 0);
        assert_eq!(overdue_days(None, day), 0);
    }

    #[test]
    fn owners_snoozes_done_days_and_moves_are_checked() {
        assert_eq!(
            check_owner("  Ann@Example.COM "),
            Ok("ann@example.com".into())
        );
        for bad in [
            "",
            "ann",
            "@x.com",
            "ann@x",
            "ann@.com",
            "a b@x.com",
            "a@b@x.com",
            "ann@x.com.",
        ] {
            assert!(check_owner(bad).is_err(), "{bad:?}");
        }
        assert!(check_owner(&format!("{}@x.com", "a".repeat(250))).is_err());
        let today = d("2024-02-29");
        assert_eq!(latest_snooze(today), d("2025-02-28"));
        assert_eq!(check_snooze(d("2024-03-01"), today), Ok(d("2024-03-01")));
        assert_eq!(check_snooze(d("2025-02-28"), today), Ok(d("2025-02-28")));
        assert!(
            check_snooze(today, today)
                .unwrap_err()
                .contains("after today")
        );
        assert!(
            check_snooze(d("2025-03-01"), today)
                .unwrap_err()
                .contains("2025-02-28 at the latest")
        );
        assert_eq!(check_done_day(today, today), Ok(today));
        assert!(check_done_day(d("2024-03-01"), today).is_err());
        assert!(check_done_day(d("2023-02-27"), today).is_err());
        use TaskStatus::*;
        for (from, to, ok) in [
            (Open, Done, true),
            (Open, Dropped, true),
            (Done, Open, true),
            (Dropped, Open, true),
            (Open, Open, true),
            (Done, Dropped, false),
            (Dropped, Done, false),
        ] {
            assert_eq!(check_transition(from, to).is_ok(), ok, "{from:?} -> {to:?}");
        }
    }
}
