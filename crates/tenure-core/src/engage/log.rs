//! The rules for logging an engagement by hand, written once for the
//! account page's form and `tenure engagements log`.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use crate::model::{Engagement, add_days};

/// The longest notes kept with an engagement, in characters.
pub const MAX_NOTES_CHARS: usize = 4000;

/// A field of an engagement to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngagementField {
    Kind,
    Date,
    Notes,
}

impl EngagementField {
    /// The field's name as the API, the CLI's flags and the form use it.
    pub fn name(self) -> &'static str {
        match self {
            EngagementField::Kind => "kind",
            EngagementField::Date => "date",
            EngagementField::Notes => "notes",
        }
    }
}

/// One problem with an engagement to log.
#[derive(Debug, Clone, PartialEq)]
pub struct EngagementProblem {
    pub field: EngagementField,
    pub message: String,
}

/// An engagement that passed [`check_engagement`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedEngagement {
    /// One of the configured kinds, lower case.
    pub kind: String,
    pub day: Date,
    /// Trimmed; `None` when empty.
    pub notes: Option<String>,
}

impl CheckedEngagement {
    /// The engagement to store: `id`, with `account_id`, logged on `today`
    /// at `now` (see [`occurred_at`]) by `csm_email`.
    pub fn record(
        self,
        id: String,
        account_id: &str,
        csm_email: Option<String>,
        today: Date,
        now: Timestamp,
    ) -> Engagement {
        Engagement {
            id,
            account_id: account_id.to_string(),
            occurred_at: occurred_at(self.day, today, now),
            kind: self.kind,
            csm_email,
            notes: self.notes,
        }
    }
}

/// Checks an engagement logged on `today`: a configured kind, a day
/// neither in the future nor more than ten years back, notes of at most
/// [`MAX_NOTES_CHARS`] characters that can be stored.
pub fn check_engagement(
    kind: &str,
    day: Date,
    notes: &str,
    kinds: &[String],
    today: Date,
) -> Result<CheckedEngagement, Vec<EngagementProblem>> {
    let mut problems = Vec::new();
    let mut fail = |field, message: String| problems.push(EngagementProblem { field, message });
    let kind = kind.trim().to_ascii_lowercase();
    if !kinds.contains(&kind) {
        fail(
            EngagementField::Kind,
            format!("Choose one of: {}.", kinds.join(", ")),
        );
    }
    if day > today {
        fail(
            EngagementField::Date,
            "The date cannot be in the future.".into(),
        );
    } else if day < add_days(today, -3660) {
        fail(
            EngagementField::Date,
            "The date is more than ten years ago.".into(),
        );
    }
    let notes = notes.trim();
    if notes.chars().count() > MAX_NOTES_CHARS {
        fail(
            EngagementField::Notes,
            "Keep notes under 4,000 characters.".into(),
        );
    } else if notes.contains('\0') {
        fail(
            EngagementField::Notes,
            "The notes contain a character that cannot be stored.".into(),
        );
    }
    if problems.is_empty() {
        Ok(CheckedEngagement {
            kind,
            day,
            notes: (!notes.is_empty()).then(|| notes.to_string()),
        })
    } else {
        Err(problems)
    }
}

/// When an engagement logged for `day` happened: `now` when it is today
/// (so it sorts after earlier ones), else noon UTC of that day.
pub fn occurred_at(day: Date, today: Date, now: Timestamp) -> Timestamp {
    if day == today {
        return now;
    }
    day.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .checked_add(SignedDuration::from_hours(12))
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn engagements_need_a_known_kind_a_past_day_and_short_notes() {
        let kinds = vec!["call".to_string(), "qbr".to_string()];
        let today = d("2026-03-10");
        let ok =
            check_engagement(" QBR ", d("2026-03-09"), "  renewal talk ", &kinds, today).unwrap();
        assert_eq!(
            (ok.kind.as_str(), ok.day, ok.notes.as_deref()),
            ("qbr", d("2026-03-09"), Some("renewal talk"))
        );
        let fields = |r: Result<CheckedEngagement, Vec<EngagementProblem>>| {
            r.unwrap_err().iter().map(|p| p.field).collect::<Vec<_>>()
        };
        assert_eq!(
            fields(check_engagement(
                "party",
                d("2026-04-01"),
                &"x".repeat(4001),
                &kinds,
                today
            )),
            [
                EngagementField::Kind,
                EngagementField::Date,
                EngagementField::Notes
            ]
        );
        assert_eq!(
            fields(check_engagement(
                "call",
                d("2016-01-01"),
                "a\0b",
                &kinds,
                today
            )),
            [EngagementField::Date, EngagementField::Notes]
        );
        let now: Timestamp = "2026-03-10T15:00:00Z".parse().unwrap();
        assert_eq!(occurred_at(today, today, now), now);
        assert_eq!(
            occurred_at(d("2026-03-09"), today, now),
            "2026-03-09T12:00:00Z".parse::<Timestamp>().unwrap()
        );
    }
}
