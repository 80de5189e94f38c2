//! The weekly digest to leaders (docs/REACT.md, "Weekly digest"), pure:
//! who gets it and on which weekday (`[risk.digest]`), and its plain text
//! from the board's changes over the last [`DIGEST_DAYS`] days: the
//! accounts that came on the board and those that left it, the measure
//! today against a week before, and the reviews opened and held. What the
//! week holds is gathered by the application layer; this module only
//! words it.

use jiff::civil::{Date, Weekday};

use super::risk::{Measure, Outcome};
use crate::model::{Currency, add_days};

/// Days a digest looks back over.
pub const DIGEST_DAYS: i32 = 7;

/// The link to the board, a path on Tenure's dashboard.
pub const BOARD_PATH: &str = "/risk";

/// Who gets the digest: an address, or every leader and admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// An email address, lower-cased.
    Address(String),
    /// `leaders`: every enabled user with the role leader or admin.
    Leaders,
}

/// `[risk.digest]`: the recipients and the weekday it is sent on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestConfig {
    pub to: Vec<Recipient>,
    pub weekday: Weekday,
}

impl DigestConfig {
    /// Whether `day` is the digest's weekday.
    pub fn is_due(&self, day: Date) -> bool {
        day.weekday() == self.weekday
    }
}

/// The weekdays as written in `tenure.toml`, Monday first.
pub const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Monday),
    ("tuesday", Weekday::Tuesday),
    ("wednesday", Weekday::Wednesday),
    ("thursday", Weekday::Thursday),
    ("friday", Weekday::Friday),
    ("saturday", Weekday::Saturday),
    ("sunday", Weekday::Sunday),
];

/// A weekday's name, `monday` to `sunday` in any case (or its first three
/// letters).
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    let s = s.trim().to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .find(|(n, _)| *n == s || (s.len() == 3 && n.starts_with(&s)))
        .map(|(_, w)| *w)
}

/// A weekday as written in `tenure.toml`.
pub fn weekday_name(w: Weekday) -> &'static str {
    WEEKDAYS
        .iter()
        .find(|(_, x)| *x == w)
        .map_or("monday", |(n, _)| n)
}

/// What queued the digest of `day` in the outbox, one per day.
pub fn source(day: Date) -> String {
    format!("risk:digest:{day}")
}

/// An account that came on the board during the week.
#[derive(Debug, Clone, PartialEq)]
pub struct Joined {
    pub account_id: String,
    pub name: String,
    /// ARR on the digest's day, reporting minor units.
    pub arr: i64,
    pub reason: String,
    /// The account's CSM.
    pub owner: Option<String>,
    /// Its first day on the board.
    pub since: Date,
}

/// An account that left the board during the week.
#[derive(Debug, Clone, PartialEq)]
pub struct Left {
    pub account_id: String,
    pub name: String,
    /// ARR the day before it left, reporting minor units.
    pub arr: i64,
    /// `None`: it left the red band with no outcome recorded.
    pub outcome: Option<Outcome>,
    pub on: Date,
}

/// A review opened or held during the week.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewLine {
    pub id: String,
    /// The day it opened, or was held.
    pub on: Date,
    /// Opened: the thresholds that crossed; held: the attendees.
    pub what: String,
    pub accounts: usize,
    /// Decisions recorded (held reviews).
    pub decisions: usize,
    /// Tasks the decisions made (held reviews).
    pub tasks: usize,
}

/// The board's changes over the week ending on `day`.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub day: Date,
    pub currency: Currency,
    /// By ARR, largest first.
    pub joined: Vec<Joined>,
    /// By ARR, largest first.
    pub left: Vec<Left>,
    /// The board's measure on `day`.
    pub now: Measure,
    /// The recorded measure [`DIGEST_DAYS`] days before (or the oldest
    /// recorded since), with its day; `None` when none was recorded.
    pub before: Option<(Date, Measure)>,
    pub opened: Vec<ReviewLine>,
    pub held: Vec<ReviewLine>,
}

impl Digest {
    /// The first day of the week the digest covers (the day after
    /// [`DIGEST_DAYS`] days before `day`).
    pub fn since(day: Date) -> Date {
        add_days(day, 1 - DIGEST_DAYS)
    }

    /// The email's subject.
    pub fn subject(&self) -> String {
        format!(
            "Risk board, week to {}: {} at risk, {} ARR at risk",
            self.day,
            count(self.now.accounts_at_risk, "account"),
            money(self.now.arr_at_risk, self.currency)
        )
    }

    /// The email's plain-text body.
    pub fn text(&self) -> String {
        let c = self.currency;
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(format!(
            "Risk board, week of {} to {}",
            Digest::since(self.day),
            self.day
        ));
        line(String::new());
        line(format!(
            "Today: {} at risk, {} ARR at risk ({:.1}% of {} total ARR).",
            count(self.now.accounts_at_risk, "account"),
            money(self.now.arr_at_risk, c),
            self.now.share() * 100.0,
            money(self.now.total_arr, c)
        ));
        match &self.before {
            Some((d, m)) => line(format!(
                "On {d}: {} at risk, {} ARR at risk ({:.1}%). Change: {} accounts, {} ARR.",
                count(m.accounts_at_risk, "account"),
                money(m.arr_at_risk, c),
                m.share() * 100.0,
                signed(self.now.accounts_at_risk as i64 - m.accounts_at_risk as i64),
                signed_money(self.now.arr_at_risk - m.arr_at_risk, c)
            )),
            None => line("No measure was recorded a week ago to compare with.".into()),
        }
        line(String::new());
        line(format!("Came on the board ({}):", self.joined.len()));
        if self.joined.is_empty() {
            line("  none".into());
        }
        for j in &self.joined {
            line(format!(
                "  - {} ({}): {} ARR, owner {}, since {}: {}",
                j.name,
                j.account_id,
                money(j.arr, c),
                j.owner.as_deref().unwrap_or("none"),
                j.since,
                j.reason
            ));
        }
        line(String::new());
        line(format!("Left the board ({}):", self.left.len()));
        if self.left.is_empty() {
            line("  none".into());
        }
        for l in &self.left {
            line(format!(
                "  - {} ({}): {} ARR, {} on {}",
                l.name,
                l.account_id,
                money(l.arr, c),
                l.outcome.map_or("left the red band", Outcome::as_str),
                l.on
            ));
        }
        line(String::new());
        line(format!("Reviews opened ({}):", self.opened.len()));
        if self.opened.is_empty() {
            line("  none".into());
        }
        for r in &self.opened {
            line(format!(
                "  - {} on {}: {}; {}",
                r.id,
                r.on,
                r.what,
                count(r.accounts as u64, "account")
            ));
        }
        line(format!("Reviews held ({}):", self.held.len()));
        if self.held.is_empty() {
            line("  none".into());
        }
        for r in &self.held {
            line(format!(
                "  - {} on {} with {}: {} of {} decided, {}",
                r.id,
                r.on,
                r.what,
                r.decisions,
                count(r.accounts as u64, "account"),
                count(r.tasks as u64, "task")
            ));
        }
        line(String::new());
        line(format!("The board: {BOARD_PATH}"));
        out
    }
}

fn count(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

/// Whole units of the currency with thousands separators: `USD 12,345`.
pub fn money(minor: i64, currency: Currency) -> String {
    let scale = 10f64.powi(currency.minor_digits() as i32);
    let units = (minor as f64 / scale).round() as i64;
    format!("{currency} {}", grouped(units))
}

fn signed_money(minor: i64, currency: Currency) -> String {
    let m = money(minor, currency);
    if minor > 0 { format!("+{m}") } else { m }
}

fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn week() -> Digest {
        Digest {
            day: d("2026-03-09"),
            currency: Currency::USD,
            joined: vec![Joined {
                account_id: "a1".into(),
                name: "Acme".into(),
                arr: 1_200_000,
                reason: "Red health band".into(),
                owner: Some("ana@example.com".into()),
                since: d("2026-03-05"),
            }],
            left: vec![
                Left {
                    account_id: "a2".into(),
                    name: "Beta".into(),
                    arr: 240_000,
                    outcome: Some(Outcome::Saved),
                    on: d("2026-03-06"),
                },
                Left {
                    account_id: "a3".into(),
                    name: "Gamma".into(),
                    arr: 0,
                    outcome: None,
                    on: d("2026-03-07"),
                },
            ],
            now: Measure {
                accounts_at_risk: 2,
                arr_at_risk: 1_500_000,
                total_arr: 10_000_000,
            },
            before: Some((
                d("2026-03-02"),
                Measure {
                    accounts_at_risk: 3,
                    arr_at_risk: 540_000,
                    total_arr: 10_000_000,
                },
            )),
            opened: vec![ReviewLine {
                id: "rev_1".into(),
                on: d("2026-03-05"),
                what: "ARR at risk 15.0% of total ARR, above 10.0%".into(),
                accounts: 2,
                decisions: 0,
                tasks: 0,
            }],
            held: Vec::new(),
        }
    }

    #[test]
    fn the_text_lists_the_weeks_changes_and_links_the_board() {
        let text = week().text();
        let expected = "\
Risk board, week of 2026-03-03 to 2026-03-09

Today: 2 accounts at risk, USD 15,000 ARR at risk (15.0% of USD 100,000 total ARR).
On 2026-03-02: 3 accounts at risk, USD 5,400 ARR at risk (5.4%). Change: -1 accounts, +USD 9,600 ARR.

Came on the board (1):
  - Acme (a1): USD 12,000 ARR, owner ana@example.com, since 2026-03-05: Red health band

Left the board (2):
  - Beta (a2): USD 2,400 ARR, saved on 2026-03-06
  - Gamma (a3): USD 0 ARR, left the red band on 2026-03-07

Reviews opened (1):
  - rev_1 on 2026-03-05: ARR at risk 15.0% of total ARR, above 10.0%; 2 accounts
Reviews held (0):
  none

The board: /risk
";
        assert_eq!(text, expected);
        assert_eq!(
            week().subject(),
            "Risk board, week to 2026-03-09: 2 accounts at risk, USD 15,000 ARR at risk"
        );
    }

    #[test]
    fn an_empty_week_says_none_and_that_nothing_compares() {
        let mut w = week();
        w.joined.clear();
        w.left.clear();
        w.opened.clear();
        w.before = None;
        w.held.push(ReviewLine {
            id: "rev_0".into(),
            on: d("2026-03-04"),
            what: "CEO, VP CS".into(),
            accounts: 3,
            decisions: 2,
            tasks: 1,
        });
        let text = w.text();
        assert!(text.contains("Came on the board (0):\n  none\n"), "{text}");
        assert!(text.contains("Left the board (0):\n  none\n"), "{text}");
        assert!(
            text.contains("No measure was recorded a week ago"),
            "{text}"
        );
        assert!(
            text.contains(
                "  - rev_0 on 2026-03-04 with CEO, VP CS: 2 of 3 accounts decided, 1 task\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn weekdays_parse_in_any_case_and_the_digest_is_due_on_its_own() {
        assert_eq!(parse_weekday(" Monday "), Some(Weekday::Monday));
        assert_eq!(parse_weekday("fri"), Some(Weekday::Friday));
        assert_eq!(parse_weekday("mondays"), None);
        assert_eq!(weekday_name(Weekday::Sunday), "sunday");
        let c = DigestConfig {
            to: vec![Recipient::Leaders],
            weekday: Weekday::Monday,
        };
        assert!(c.is_due(d("2026-03-09")));
        assert!(!c.is_due(d("2026-03-10")));
        assert_eq!(source(d("2026-03-09")), "risk:digest:2026-03-09");
    }

    #[test]
    fn money_is_whole_units_grouped_by_thousands() {
        assert_eq!(money(123_456_789, Currency::USD), "USD 1,234,568");
        assert_eq!(money(-100_000, Currency::USD), "USD -1,000");
        assert_eq!(money(0, Currency::USD), "USD 0");
    }
}
