//! The MRR movement ledger: one row per change of an account's MRR, with the
//! subscription rows that caused it. Reports sum the very same change points,
//! so the ledger's totals for a period equal the report's movements, always.

use jiff::civil::Date;
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Period;
use super::dataset::Dataset;
use crate::model::{Currency, date_from_day, format_minor};

/// The type of an MRR movement (docs/METRICS.md, "MRR movements and the
/// ledger").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MovementKind {
    /// 0 → x for an account that never had MRR before.
    New,
    /// A rise from a non-zero MRR.
    Expansion,
    /// A fall to a non-zero MRR.
    Contraction,
    /// x → 0.
    Churn,
    /// 0 → x for an account that had MRR on some earlier day.
    Reactivation,
}

impl MovementKind {
    pub const ALL: [MovementKind; 5] = [
        MovementKind::New,
        MovementKind::Expansion,
        MovementKind::Contraction,
        MovementKind::Churn,
        MovementKind::Reactivation,
    ];

    /// Parses `new`, `expansion`, `contraction`, `churn` or `reactivation`.
    pub fn parse(s: &str) -> Result<MovementKind, crate::model::ValueError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "new" => Ok(MovementKind::New),
            "expansion" => Ok(MovementKind::Expansion),
            "contraction" => Ok(MovementKind::Contraction),
            "churn" => Ok(MovementKind::Churn),
            "reactivation" => Ok(MovementKind::Reactivation),
            _ => Err(crate::model::ValueError(format!(
                "expected new, expansion, contraction, churn or reactivation, got {s:?}"
            ))),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            MovementKind::New => "new",
            MovementKind::Expansion => "expansion",
            MovementKind::Contraction => "contraction",
            MovementKind::Churn => "churn",
            MovementKind::Reactivation => "reactivation",
        }
    }

    /// Classifies a change of an account's MRR from `before` to `after`
    /// (different, both ≥ 0); `first` says whether it is the account's first
    /// change ever. Returns the kind and the amount (> 0).
    pub(crate) fn classify(first: bool, before: i64, after: i64) -> (MovementKind, i64) {
        debug_assert!(before != after && before >= 0 && after >= 0);
        let kind = if before == 0 {
            if first {
                MovementKind::New
            } else {
                MovementKind::Reactivation
            }
        } else if after == 0 {
            MovementKind::Churn
        } else if after > before {
            MovementKind::Expansion
        } else {
            MovementKind::Contraction
        };
        (kind, (after - before).abs())
    }
}

/// Sums of movements by type, in reporting minor units, each ≥ 0.
/// `mrr_end − mrr_start = new + expansion + reactivation − contraction − churned`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MovementTotals {
    pub new: i64,
    pub expansion: i64,
    pub contraction: i64,
    pub churned: i64,
    pub reactivation: i64,
}

impl MovementTotals {
    /// Adds one movement.
    pub fn add(&mut self, kind: MovementKind, amount: i64) {
        match kind {
            MovementKind::New => self.new += amount,
            MovementKind::Expansion => self.expansion += amount,
            MovementKind::Contraction => self.contraction += amount,
            MovementKind::Churn => self.churned += amount,
            MovementKind::Reactivation => self.reactivation += amount,
        }
    }

    /// The totals of a list of movements, such as a ledger.
    pub fn of(movements: &[Movement]) -> MovementTotals {
        let mut t = MovementTotals::default();
        for m in movements {
            t.add(m.kind, m.amount_minor);
        }
        t
    }

    /// The net change: new + expansion + reactivation − contraction − churned.
    pub fn net(&self) -> i64 {
        self.new + self.expansion + self.reactivation - self.contraction - self.churned
    }
}

/// One MRR movement of one account on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub date: Date,
    /// Index of the account in the input; [`Dataset::account_id`] gives its id.
    pub account: usize,
    pub kind: MovementKind,
    /// The size of the movement, > 0, in reporting minor units.
    pub amount_minor: i64,
    /// The account's MRR the day before, in reporting minor units.
    pub mrr_before_minor: i64,
    /// The account's MRR on `date`, in reporting minor units.
    pub mrr_after_minor: i64,
    /// The account's subscription rows that start or end on `date`, sorted.
    pub subscription_ids: Vec<String>,
}

/// Which movements [`Dataset::ledger`] returns; the default is all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerQuery {
    /// Only movements dated inside this period (`None`: the whole history).
    pub period: Option<Period>,
    /// Only this account's movements (an index, see [`Dataset::account_index`]).
    pub account: Option<usize>,
    /// Only movements of this type.
    pub kind: Option<MovementKind>,
}

impl Dataset {
    /// The MRR movements matching `query`, ordered by date, then account id.
    pub fn ledger(&self, query: &LedgerQuery) -> Vec<Movement> {
        let (first, last) = query.period.map_or((i32::MIN, i32::MAX), |p| p.day_range());
        let accounts = match query.account {
            Some(a) if a < self.accounts.len() => a..a + 1,
            Some(_) => 0..0,
            None => 0..self.accounts.len(),
        };
        let mut out = Vec::new();
        for a in accounts {
            let (days, mrr) = self.book.points(a);
            let lo = days.partition_point(|&d| d < first);
            let hi = lo + days[lo..].partition_point(|&d| d <= last);
            for i in lo..hi {
                let before = if i == 0 { 0 } else { mrr[i - 1] };
                let (kind, amount) = MovementKind::classify(i == 0, before, mrr[i]);
                if query.kind.is_some_and(|k| k != kind) {
                    continue;
                }
                let day = days[i];
                let mut ids: Vec<String> = self
                    .account_subs(a)
                    .filter(|s| s.start == day || s.end == day)
                    .map(|s| s.id.clone())
                    .collect();
                ids.sort_unstable();
                out.push(Movement {
                    date: date_from_day(day),
                    account: a,
                    kind,
                    amount_minor: amount,
                    mrr_before_minor: before,
                    mrr_after_minor: mrr[i],
                    subscription_ids: ids,
                });
            }
        }
        out.sort_by(|x, y| {
            (x.date, self.account_id(x.account)).cmp(&(y.date, self.account_id(y.account)))
        });
        out
    }

    /// A movement ready to serialize, with its account id and amounts in
    /// currency units.
    pub fn entry<'a>(&'a self, movement: &'a Movement) -> LedgerEntry<'a> {
        LedgerEntry {
            movement,
            account_id: self.account_id(movement.account),
            currency: self.reporting,
        }
    }
}

/// A ledger row as printed: serializes to
/// `{"date", "account_id", "type", "amount", "mrr_before", "mrr_after", "subscription_ids"}`
/// with amounts as floats in currency units.
#[derive(Debug, Clone, Copy)]
pub struct LedgerEntry<'a> {
    pub movement: &'a Movement,
    pub account_id: &'a str,
    pub currency: Currency,
}

impl LedgerEntry<'_> {
    fn units(&self, minor: i64) -> f64 {
        minor as f64 / 10f64.powi(self.currency.minor_digits() as i32)
    }

    /// An amount as an exact decimal string (`1200.50`), for tables and CSV.
    pub fn decimal(&self, minor: i64) -> String {
        format_minor(minor, self.currency.minor_digits())
    }
}

impl Serialize for LedgerEntry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let m = self.movement;
        let mut map = serializer.serialize_map(Some(7))?;
        map.serialize_entry("date", &m.date.to_string())?;
        map.serialize_entry("account_id", self.account_id)?;
        map.serialize_entry("type", m.kind.as_str())?;
        map.serialize_entry("amount", &self.units(m.amount_minor))?;
        map.serialize_entry("mrr_before", &self.units(m.mrr_before_minor))?;
        map.serialize_entry("mrr_after", &self.units(m.mrr_after_minor))?;
        map.serialize_entry("subscription_ids", &m.subscription_ids)?;
        map.end()
    }
}
