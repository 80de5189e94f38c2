//! The records Tenure keeps, as plain validated values.
//!
//! Importers, the JSON API and the demo simulator all produce these types; the
//! store persists them and the analytics read them back. Every constructor that
//! can fail does so at the edge (import, HTTP), so code inside the core only
//! ever sees valid values ("parse, don't validate").

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;

/// A problem with one value, phrased so that the user can fix it. The caller
/// adds the file, line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ValueError> {
    Err(ValueError(msg.into()))
}

/// An ISO 4217 currency code such as `USD`: three ASCII capital letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");

    /// Parses a three-letter code; lower case is accepted and upper-cased.
    pub fn parse(s: &str) -> Result<Currency, ValueError> {
        let b = s.trim().as_bytes();
        if b.len() != 3 || !b.iter().all(|c| c.is_ascii_alphabetic()) {
            return err(format!(
                "expected a three-letter currency code such as USD, got {s:?}"
            ));
        }
        Ok(Currency([
            b[0].to_ascii_uppercase(),
            b[1].to_ascii_uppercase(),
            b[2].to_ascii_uppercase(),
        ]))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Digits after the decimal point in this currency's minor unit (ISO 4217).
    pub fn minor_digits(&self) -> u32 {
        match self.as_str() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount of money in integer minor units (cents for USD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Parses a decimal amount in currency units (`1200.50`) exactly, without
    /// going through floating point. More decimals than the currency has are
    /// an error rather than silently rounded.
    pub fn parse_decimal(s: &str, currency: Currency) -> Result<Money, ValueError> {
        let t = s.trim();
        let (neg, body) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        let digits = currency.minor_digits() as usize;
        let valid = !(int_part.is_empty() && frac_part.is_empty())
            && int_part.bytes().all(|c| c.is_ascii_digit())
            && frac_part.bytes().all(|c| c.is_ascii_digit())
            && !(body.contains('.') && frac_part.is_empty() && int_part.is_empty());
        if !valid {
            return err(format!("expected an amount such as 1200.50, got {s:?}"));
        }
        let frac_trimmed = frac_part.trim_end_matches('0');
        if frac_trimmed.len() > digits {
            return err(format!(
                "{s:?} has more decimals than {currency} allows ({digits})"
            ));
        }
        let mut minor: i64 = 0;
        let too_big = || ValueError(format!("amount {s:?} is too large"));
        for c in int_part.bytes() {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(c - b'0')))
                .ok_or_else(too_big)?;
        }
        for i in 0..digits {
            let d = frac_trimmed.as_bytes().get(i).map_or(0, |c| c - b'0');
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(d)))
                .ok_or_else(too_big)?;
        }
        Ok(Money::new(if neg { -minor } else { minor }, currency))
    }

    /// The amount in currency units, for JSON and charts.
    pub fn units(&self) -> f64 {
        self.minor as f64 / 10f64.powi(self.currency.minor_digits() as i32)
    }

    /// The amount as an exact decimal string in currency units (`1200.50`),
    /// the format importers read, so exports round-trip exactly.
    pub fn to_decimal_string(&self) -> String {
        format_minor(self.minor, self.currency.minor_digits())
    }
}

/// Formats minor units as a decimal string with `digits` decimals.
pub fn format_minor(minor: i64, digits: u32) -> String {
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let scale = scale as u64;
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = digits as usize
    )
}

/// Parses a calendar date `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, ValueError> {
    let t = s.trim();
    if t.len() != 10 {
        return err(format!("expected a date YYYY-MM-DD, got {s:?}"));
    }
    t.parse::<Date>()
        .or_else(|_| err(format!("expected a date YYYY-MM-DD, got {s:?}")))
}

/// Parses an RFC 3339 timestamp (`2025-03-01T09:30:00Z`, any offset).
pub fn parse_timestamp(s: &str) -> Result<Timestamp, ValueError> {
    s.trim().parse::<Timestamp>().or_else(|_| {
        err(format!(
            "expected an RFC 3339 timestamp such as 2025-03-01T09:30:00Z, got {s:?}"
        ))
    })
}

/// Parses `true` / `false` (also `1`/`0`, `yes`/`no`, any case).
pub fn parse_bool(s: &str) -> Result<bool, ValueError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "t" => Ok(true),
        "false" | "0" | "no" | "n" | "f" => Ok(false),
        _ => err(format!("expected true or false, got {s:?}")),
    }
}

/// Parses a whole number.
pub fn parse_int(s: &str) -> Result<i64, ValueError> {
    s.trim()
        .parse::<i64>()
        .or_else(|_| err(format!("expected a whole number, got {s:?}")))
}

/// A non-empty identifier with no surrounding white space.
pub fn parse_id(s: &str) -> Result<String, ValueError> {
    let t = s.trim();
    if t.is_empty() {
        return err("must not be empty");
    }
    if t.len() > 200 {
        return err("is longer than 200 characters");
    }
    Ok(t.to_string())
}

/// The UTC calendar date a timestamp falls on (every day boundary is a UTC
/// day: docs/METRICS.md, "Ground rules").
pub fn utc_date(ts: Timestamp) -> Date {
    ts.to_zoned(jiff::tz::TimeZone::UTC).date()
}

/// Days since 1970-01-01 for a date; the integer form analytics use.
pub fn day_number(d: Date) -> i32 {
    let epoch = Date::constant(1970, 1, 1);
    (d - epoch).get_days()
}

/// The date for a day number; inverse of [`day_number`].
pub fn date_from_day(n: i32) -> Date {
    Date::constant(1970, 1, 1)
        .checked_add(jiff::Span::new().days(i64::from(n)))
        .expect("day number within jiff's range")
}

/// Microseconds in a UTC day: timestamps are stored as microseconds since
/// the epoch, and `ts.div_euclid(MICROS_PER_DAY)` is the day number.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Day number of the UTC date of a timestamp in microseconds since the epoch.
pub fn day_of_micros(us: i64) -> i32 {
    us.div_euclid(MICROS_PER_DAY) as i32
}

/// `d` plus `n` days (a negative `n` goes back).
pub fn add_days(d: Date, n: i32) -> Date {
    date_from_day(day_number(d) + n)
}

/// The first day of the month `n` months before `first` (a first of month;
/// a negative `n` goes forward).
pub fn month_back(first: Date, n: i32) -> Date {
    let m = i32::from(first.year()) * 12 + i32::from(first.month()) - 1 - n;
    Date::new(m.div_euclid(12) as i16, (m.rem_euclid(12) + 1) as i8, 1).unwrap_or(first)
}

/// Support ticket priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

    pub fn parse(s: &str) -> Result<Priority, ValueError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Priority::Low),
            "normal" => Ok(Priority::Normal),
            "high" => Ok(Priority::High),
            "urgent" => Ok(Priority::Urgent),
            _ => err(format!("expected low, normal, high or urgent, got {s:?}")),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// The kind of a survey, which fixes its score range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SurveyKind {
    /// Net promoter score, 0–10.
    Nps,
    /// Customer satisfaction, 1–5.
    Csat,
    /// Customer effort score, 1–7 (7 = easiest).
    Ces,
}

impl SurveyKind {
    pub fn parse(s: &str) -> Result<SurveyKind, ValueError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nps" => Ok(SurveyKind::Nps),
            "csat" => Ok(SurveyKind::Csat),
            "ces" => Ok(SurveyKind::Ces),
            _ => err(format!("expected nps, csat or ces, got {s:?}")),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            SurveyKind::Nps => "nps",
            SurveyKind::Csat => "csat",
            SurveyKind::Ces => "ces",
        }
    }

    /// Inclusive range of valid scores.
    pub fn range(&self) -> (i64, i64) {
        match self {
            SurveyKind::Nps => (0, 10),
            SurveyKind::Csat => (1, 5),
            SurveyKind::Ces => (1, 7),
        }
    }

    /// Checks that a score is within this kind's range.
    pub fn check_score(&self, score: i64) -> Result<i64, ValueError> {
        let (lo, hi) = self.range();
        if score < lo || score > hi {
            return err(format!(
                "score {score} is out of range for {}: expected {lo} to {hi}",
                self.as_str()
            ));
        }
        Ok(score)
    }
}

/// A customer account (a company that buys from you).
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub industry: Option<String>,
    pub employees: Option<i64>,
    pub region: Option<String>,
    pub plan: Option<String>,
    pub csm_email: Option<String>,
    pub created_at: Option<Date>,
    pub trial_start: Option<Date>,
    pub trial_end: Option<Date>,
    /// Custom attributes: extra columns of the accounts file, by header name.
    pub attributes: BTreeMap<String, String>,
}

impl Account {
    /// An account with only an id and a name, as created for
    /// `--create-missing-accounts`.
    pub fn bare(id: &str) -> Account {
        Account {
            id: id.to_string(),
            name: id.to_string(),
            industry: None,
            employees: None,
            region: None,
            plan: None,
            csm_email: None,
            created_at: None,
            trial_start: None,
            trial_end: None,
            attributes: BTreeMap::new(),
        }
    }

    /// Whether `day` falls in the account's trial (both ends included).
    pub fn in_trial_on(&self, day: Date) -> bool {
        matches!((self.trial_start, self.trial_end), (Some(s), Some(e)) if s <= day && day <= e)
    }

    /// Whether the account is a customer on `day`: paying (`mrr` above zero)
    /// or in trial. Health scores, lists and the risk board count these
    /// accounts; churned and not-yet-paying accounts are left out.
    pub fn is_customer_on(&self, mrr: f64, day: Date) -> bool {
        mrr > 0.0 || self.in_trial_on(day)
    }
}

/// A person at a customer account.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: Option<String>,
    pub champion: Option<bool>,
    /// The day the contact left the company (a champion who left is a lost
    /// champion).
    pub left_on: Option<Date>,
}

/// A subscription line: MRR from `start_date` (inclusive) to `end_date`
/// (exclusive; `None` = still running).
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub account_id: String,
    pub mrr: Money,
    pub plan: Option<String>,
    pub seats: Option<i64>,
    pub start_date: Date,
    pub end_date: Option<Date>,
    /// The first day of the next term.
    pub renewal_date: Option<Date>,
}

/// One product usage event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub timestamp: Timestamp,
    pub account_id: String,
    pub user_id: String,
    pub event: String,
    /// A JSON object, kept as compact text.
    pub properties: Option<String>,
    /// An id for de-duplication (Segment's `messageId`), when the source has one.
    pub message_id: Option<String>,
}

/// A support ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: String,
    pub account_id: String,
    pub opened_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub priority: Option<Priority>,
    pub first_contact_resolved: Option<bool>,
    /// The ticket's own satisfaction rating, 1–5.
    pub csat: Option<i64>,
    /// A one-line summary, as written by the customer or the agent.
    pub subject: Option<String>,
    /// The ticket's text; both become feedback (docs/FEEDBACK.md).
    pub description: Option<String>,
}

/// An answer to an NPS, CSAT or CES survey.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyResponse {
    pub id: String,
    pub account_id: String,
    pub contact_id: Option<String>,
    pub kind: SurveyKind,
    pub score: i64,
    pub responded_at: Timestamp,
    pub comment: Option<String>,
}

/// A touch point between a CSM and the account: business review, check-in, ...
#[derive(Debug, Clone, PartialEq)]
pub struct Engagement {
    pub id: String,
    pub account_id: String,
    pub kind: String,
    pub occurred_at: Timestamp,
    pub csm_email: Option<String>,
    pub notes: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(s: &str) -> Result<i64, ValueError> {
        Money::parse_decimal(s, Currency::USD).map(|m| m.minor)
    }

    #[test]
    fn money_parses_exactly() {
        assert_eq!(money("1200.50"), Ok(120050));
        assert_eq!(money("1200.5"), Ok(120050));
        assert_eq!(money("1200"), Ok(120000));
        assert_eq!(money("0.01"), Ok(1));
        assert_eq!(money(".5"), Ok(50));
        assert_eq!(money("-3.10"), Ok(-310));
        assert_eq!(money("1.230"), Ok(123));
        assert!(money("1.234").is_err());
        assert!(money("12a").is_err());
        assert!(money("").is_err());
        assert!(money(".").is_err());
        assert!(money("1e3").is_err());
        assert!(money("99999999999999999999").is_err());
        let jpy = Currency::parse("jpy").unwrap();
        assert_eq!(Money::parse_decimal("1500", jpy).unwrap().minor, 1500);
        assert!(Money::parse_decimal("1500.5", jpy).is_err());
    }

    #[test]
    fn money_formats_back() {
        for s in ["0.00", "1200.50", "-3.10", "0.07", "123456789.99"] {
            let m = Money::parse_decimal(s, Currency::USD).unwrap();
            assert_eq!(m.to_decimal_string(), s);
        }
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(Money::new(1500, jpy).to_decimal_string(), "1500");
    }

    #[test]
    fn dates_and_days() {
        let d = parse_date("2025-03-01").unwrap();
        assert_eq!(date_from_day(day_number(d)), d);
        assert_eq!(day_number(Date::constant(1970, 1, 2)), 1);
        assert!(parse_date("2025-3-1").is_err());
        assert!(parse_date("2025-02-30").is_err());
        let ts = parse_timestamp("2025-03-01T23:30:00-02:00").unwrap();
        assert_eq!(utc_date(ts), Date::constant(2025, 3, 2));
        assert_eq!(day_of_micros(-1), -1);
        assert!(parse_timestamp("yesterday").is_err());
    }

    #[test]
    fn survey_ranges() {
        assert!(SurveyKind::Nps.check_score(10).is_ok());
        assert!(SurveyKind::Nps.check_score(11).is_err());
        assert!(SurveyKind::Csat.check_score(0).is_err());
        assert!(SurveyKind::Ces.check_score(7).is_ok());
    }
}
