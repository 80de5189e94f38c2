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
}

impl TaskSource {
    pub const ALL: [TaskSource; 4] = [
        TaskSource::Manual,
        TaskSource::Milestone,
        TaskSource::Playbook,
        TaskSource::Review,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskSource::Manual => "manual",
            TaskSource::Milestone => "milestone",
            TaskSource::Playbook => "playbook",
            TaskSource::Review => "review",
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
            format!("the title has {chars} characters; at most {MAX_TITLE_CHARS}"),
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
}
