//! The metrics engine: every metric of docs/METRICS.md, the MRR movement
//! ledger, series by interval and cohort retention.
//!
//! # How it fits
//!
//! The engine is pure: the store loads plain inputs in bulk, the engine
//! computes, the CLI and the server print what comes back.
//!
//! 1. The store loads accounts, subscriptions, survey responses and tickets
//!    (one bulk query each, no per-account queries) into a [`MetricsInput`],
//!    where every record refers to its account by its index in
//!    `MetricsInput::accounts`. [`Dataset::new`] converts every subscription
//!    to the reporting currency once, with the [`Rates`] from `tenure.toml`
//!    (a missing rate is [`MetricsError::MissingRate`], naming the currency),
//!    and builds the per-account MRR timelines.
//! 2. Usage metrics need events, which can be far too many to load at once.
//!    The caller builds a [`UsageAccumulator`] with the last day of every
//!    period it will report on ([`Period::to`], or [`Period::split`] for a
//!    series), asks it which days to load ([`UsageAccumulator::windows`]),
//!    streams those events into it in any order and calls
//!    [`UsageAccumulator::finish`].
//! 3. [`Dataset::report`] gives one [`Report`] (every metric's key, in the
//!    order of docs/METRICS.md and [`Metric::ALL`], `None` plus a reason
//!    where a metric is undefined), [`Dataset::series`]
//!    one report per week, month or quarter, [`Dataset::ledger`] the MRR
//!    movements one by one and [`Dataset::cohorts`] the cohort retention
//!    table. [`Report`], [`Series`], [`LedgerEntry`] and [`CohortView`]
//!    serialize to the JSON the CLI and the API print.
//!
//! # Choices
//!
//! - Days are integer day numbers (`model::day_number`), money is integer
//!   minor units of the reporting currency. Every sum is an integer sum, so
//!   the result does not depend on the order in which the store returns rows
//!   (SQLite and PostgreSQL give identical results); floating point only
//!   appears in the final divisions.
//! - Each account's MRR is kept as a sorted list of change points (the day
//!   and the MRR from that day on), netted by day: one change point is one
//!   movement. MRR on any day is a binary search; a period is two binary
//!   searches per account; the ledger is the change points themselves, which
//!   is why its totals always equal the movements of a report.
//! - An account's MRR is the sum of its subscriptions' `mrr`, floored at zero:
//!   credit lines larger than the charges would otherwise give a negative
//!   MRR, which no movement type describes. Such accounts are listed in
//!   [`Dataset::warnings`].
//! - Where two records tie (two NPS answers of one contact at the same
//!   instant), the greater id wins, again so that row order does not matter.
//!
//! `docs/METRICS.md` gives each metric's formula, edge cases and a worked
//! example for users.

mod cohorts;
mod dataset;
mod definitions;
mod input;
mod ledger;
mod period;
mod report;
mod usage;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

use jiff::civil::Date;

use crate::model::{Currency, date_from_day, day_number};

pub use cohorts::{CohortMetric, CohortQuery, CohortRow, CohortTable, CohortView};
pub use dataset::Dataset;
pub use input::{
    AccountInput, CostsError, MetricsInput, Rates, ResponseInput, Settings, SubscriptionInput,
    TicketInput,
};
pub use ledger::{LedgerEntry, LedgerQuery, Movement, MovementKind, MovementTotals};
pub use report::{Metric, MetricKind, MetricValue, Report, Series};
pub(crate) use usage::hash_id;
pub use usage::{Usage, UsageAccumulator, UsageWindow};

/// Days in an average month (365.25 ÷ 12), used to turn a period's length
/// into months for CLTV and CRC.
pub const DAYS_PER_MONTH: f64 = 30.4375;

/// Why the metrics engine could not compute.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    /// A subscription is billed in a currency for which `tenure.toml` gives no
    /// rate to the reporting currency.
    #[error(
        "no exchange rate for {currency} (the reporting currency is {reporting}): \
         add a rate for {currency} to the currency rates in tenure.toml"
    )]
    MissingRate {
        currency: Currency,
        reporting: Currency,
    },
    /// A configured exchange rate is zero, negative or not a number.
    #[error("the exchange rate for {currency} must be a positive number, got {rate}")]
    InvalidRate { currency: Currency, rate: f64 },
    /// A subscription's MRR is too large to be converted exactly.
    #[error("subscription {subscription}: its MRR is too large to convert to {reporting}")]
    AmountTooLarge {
        subscription: String,
        reporting: Currency,
    },
    /// A period whose last day comes before its first day.
    #[error("the period ends on {to}, before it starts on {from}")]
    InvertedPeriod { from: Date, to: Date },
    /// A record refers to an account index outside `MetricsInput::accounts`
    /// (a bug in the code that built the input, not in the data).
    #[error(
        "{record} refers to account number {account}, but only {accounts} accounts were loaded"
    )]
    UnknownAccount {
        record: String,
        account: usize,
        accounts: usize,
    },
}

/// A reporting period: `from` and `to` are both included, as in
/// `tenure metrics --from D1 --to D2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    from: Date,
    to: Date,
}

impl Period {
    /// A period from `from` to `to`, both inclusive; `to` before `from` is an error.
    pub fn new(from: Date, to: Date) -> Result<Period, MetricsError> {
        if to < from {
            return Err(MetricsError::InvertedPeriod { from, to });
        }
        Ok(Period { from, to })
    }

    /// The first day of the period.
    pub fn from(&self) -> Date {
        self.from
    }

    /// The last day of the period (inclusive).
    pub fn to(&self) -> Date {
        self.to
    }

    /// The length in days, counting both ends (2025-01-01..2025-03-31 is 90).
    pub fn days(&self) -> i32 {
        day_number(self.to) - day_number(self.from) + 1
    }

    /// The period cut into intervals: ISO weeks (Monday to Sunday), calendar
    /// months or calendar quarters, the first and last clipped to the period.
    /// Together they cover the period exactly, in order, without overlap.
    pub fn split(&self, interval: Interval) -> Vec<Period> {
        let (first, last) = self.day_range();
        let mut out = Vec::new();
        let mut start = first;
        while start <= last {
            let end = interval.last_day_of(start).min(last);
            out.push(Period {
                from: date_from_day(start),
                to: date_from_day(end),
            });
            start = end + 1;
        }
        out
    }

    pub(crate) fn day_range(&self) -> (i32, i32) {
        (day_number(self.from), day_number(self.to))
    }
}

/// The step of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Interval {
    /// ISO weeks, Monday to Sunday.
    Week,
    /// Calendar months.
    Month,
    /// Calendar quarters (January–March, April–June, ...).
    Quarter,
}

impl Interval {
    /// Parses `week`, `month` or `quarter`.
    pub fn parse(s: &str) -> Result<Interval, crate::model::ValueError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "week" => Ok(Interval::Week),
            "month" => Ok(Interval::Month),
            "quarter" => Ok(Interval::Quarter),
            _ => Err(crate::model::ValueError(format!(
                "expected week, month or quarter, got {s:?}"
            ))),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Interval::Week => "week",
            Interval::Month => "month",
            Interval::Quarter => "quarter",
        }
    }

    /// The last day (as a day number) of the interval that contains `day`.
    fn last_day_of(&self, day: i32) -> i32 {
        match self {
            // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays.
            Interval::Week => day - (day + 3).rem_euclid(7) + 6,
            Interval::Month => day_number(date_from_day(day).last_of_month()),
            Interval::Quarter => {
                let d = date_from_day(day);
                let last_month = (d.month() - 1) / 3 * 3 + 3;
                let first = Date::new(d.year(), last_month, 1).expect("valid month");
                day_number(first.last_of_month())
            }
        }
    }
}

/// Month number (year × 12 + month − 1) of a day number, for cohorts.
pub(crate) fn month_index(day: i32) -> i32 {
    let d = date_from_day(day);
    i32::from(d.year()) * 12 + i32::from(d.month()) - 1
}

/// The first day of a month number.
pub(crate) fn month_start(month: i32) -> Date {
    let year = month.div_euclid(12) as i16;
    let m = (month.rem_euclid(12) + 1) as i8;
    Date::new(year, m, 1).expect("month within jiff's range")
}
