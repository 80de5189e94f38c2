//! Cohort retention (`tenure cohorts`).
//!
//! An account's cohort is the calendar month of its first day with MRR > 0
//! (the day of its "new" movement). For a cohort month `c` and each offset
//! `k = 0, 1, ...` up to the month of `as_of`, the account is measured on the
//! last day of month `c + k` (or on `as_of` for the month in progress):
//!
//! - logo retention = cohort accounts active on that day ÷ cohort size;
//! - revenue retention = the cohort's MRR on that day ÷ its starting MRR,
//!   the sum of each account's MRR on its first day with MRR.
//!
//! Offset 0 is the cohort's own month: accounts that churn in the month they
//! start already lower it, and revenue retention above 1 means expansion.
//! Revenue retention counts expansion and reactivation, so it may exceed 1.

use jiff::civil::Date;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::dataset::Dataset;
use super::{month_index, month_start};
use crate::model::{Currency, day_number};

/// Which retention a cohort table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CohortMetric {
    /// Share of the cohort's accounts still active.
    Logo,
    /// The cohort's MRR as a share of its starting MRR.
    Revenue,
}

impl CohortMetric {
    /// Parses `logo` or `revenue`.
    pub fn parse(s: &str) -> Result<CohortMetric, crate::model::ValueError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "logo" => Ok(CohortMetric::Logo),
            "revenue" => Ok(CohortMetric::Revenue),
            _ => Err(crate::model::ValueError(format!(
                "expected logo or revenue, got {s:?}"
            ))),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            CohortMetric::Logo => "logo",
            CohortMetric::Revenue => "revenue",
        }
    }
}

/// Which cohorts to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CohortQuery {
    /// Only cohorts whose month is that of `from` or later (`None`: all).
    pub from: Option<Date>,
    /// The day the table is measured on: cohorts up to its month, offsets up
    /// to its month, the month in progress measured on this day. The core
    /// reads no clock: the caller passes today or `--to`.
    pub as_of: Date,
}

/// One cohort: its size, its starting MRR and, for each month offset from 0,
/// how many of its accounts were active and their MRR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortRow {
    /// The first day of the cohort's month.
    pub month: Date,
    pub size: u64,
    /// Σ of each account's MRR on its first day with MRR, reporting minor units.
    pub starting_mrr_minor: i64,
    /// Accounts active at the end of each month, from offset 0.
    pub active: Vec<u64>,
    /// Their MRR at the end of each month, from offset 0, reporting minor units.
    pub mrr_minor: Vec<i64>,
}

impl CohortRow {
    /// Retention at month offset `k`; `None` beyond the table or when the
    /// denominator is 0.
    pub fn retention(&self, metric: CohortMetric, k: usize) -> Option<f64> {
        match metric {
            CohortMetric::Logo => {
                let active = *self.active.get(k)?;
                (self.size > 0).then(|| active as f64 / self.size as f64)
            }
            CohortMetric::Revenue => {
                let mrr = *self.mrr_minor.get(k)?;
                (self.starting_mrr_minor > 0).then(|| mrr as f64 / self.starting_mrr_minor as f64)
            }
        }
    }

    /// Number of month offsets measured (offset 0 included).
    pub fn months(&self) -> usize {
        self.active.len()
    }
}

/// The cohort retention table: non-empty cohorts, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortTable {
    pub as_of: Date,
    pub currency: Currency,
    pub rows: Vec<CohortRow>,
}

impl CohortTable {
    /// The table showing one metric, ready to serialize.
    pub fn view(&self, metric: CohortMetric) -> CohortView<'_> {
        CohortView {
            table: self,
            metric,
        }
    }
}

/// A cohort table showing one metric. Serializes to a JSON array, one object
/// per cohort: `{"cohort": "2025-01", "size": 12, "starting_mrr": 1234.5,
/// "retention": [1.0, 0.92, ...]}` where `retention[k]` is the retention `k`
/// months after the cohort month (`null` when undefined).
#[derive(Debug, Clone, Copy)]
pub struct CohortView<'a> {
    pub table: &'a CohortTable,
    pub metric: CohortMetric,
}

impl Serialize for CohortView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Row<'a>(&'a CohortRow, CohortMetric, Currency);
        impl Serialize for Row<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let Row(row, metric, currency) = *self;
                let retention: Vec<Option<f64>> = (0..row.months())
                    .map(|k| row.retention(metric, k))
                    .collect();
                let scale = 10f64.powi(currency.minor_digits() as i32);
                let mut map = serializer.serialize_map(Some(4))?;
                map.serialize_entry("cohort", &row.month.strftime("%Y-%m").to_string())?;
                map.serialize_entry("size", &row.size)?;
                map.serialize_entry("starting_mrr", &(row.starting_mrr_minor as f64 / scale))?;
                map.serialize_entry("retention", &retention)?;
                map.end()
            }
        }
        let mut seq = serializer.serialize_seq(Some(self.table.rows.len()))?;
        for row in &self.table.rows {
            seq.serialize_element(&Row(row, self.metric, self.table.currency))?;
        }
        seq.end()
    }
}

impl Dataset {
    /// The cohort retention table (see the module docs of `cohorts` for the
    /// definitions). One sweep over each account's change points.
    pub fn cohorts(&self, query: &CohortQuery) -> CohortTable {
        let as_of = day_number(query.as_of);
        let last_month = month_index(as_of);
        let from_month = query.from.map_or(i32::MIN, |d| month_index(day_number(d)));

        // Cohort month of every account that has one in range.
        let mut first_month = i32::MAX;
        let mut cohort_of: Vec<Option<i32>> = Vec::with_capacity(self.accounts.len());
        for a in 0..self.accounts.len() {
            let (days, _) = self.book.points(a);
            let c = days
                .first()
                .filter(|&&d| d <= as_of)
                .map(|&d| month_index(d))
                .filter(|&c| c >= from_month);
            if let Some(c) = c {
                first_month = first_month.min(c);
            }
            cohort_of.push(c);
        }
        if first_month == i32::MAX {
            return CohortTable {
                as_of: query.as_of,
                currency: self.reporting,
                rows: Vec::new(),
            };
        }

        // The measuring day of each month: its last day, or `as_of`.
        let n_months = (last_month - first_month + 1) as usize;
        let measure: Vec<i32> = (0..n_months as i32)
            .map(|k| {
                let end = day_number(month_start(first_month + k + 1)) - 1;
                end.min(as_of)
            })
            .collect();
        let mut rows: Vec<CohortRow> = (0..n_months)
            .map(|k| CohortRow {
                month: month_start(first_month + k as i32),
                size: 0,
                starting_mrr_minor: 0,
                active: vec![0; n_months - k],
                mrr_minor: vec![0; n_months - k],
            })
            .collect();

        for (a, c) in cohort_of.into_iter().enumerate() {
            let Some(c) = c else { continue };
            let (days, mrr) = self.book.points(a);
            let ci = (c - first_month) as usize;
            let row = &mut rows[ci];
            row.size += 1;
            row.starting_mrr_minor += mrr[0];
            // Sweep the change points along the measuring days.
            let mut j = 0;
            for (k, &day) in measure[ci..].iter().enumerate() {
                while j < days.len() && days[j] <= day {
                    j += 1;
                }
                let value = mrr[j - 1];
                if value > 0 {
                    row.active[k] += 1;
                    row.mrr_minor[k] += value;
                }
            }
        }
        rows.retain(|r| r.size > 0);
        CohortTable {
            as_of: query.as_of,
            currency: self.reporting,
            rows,
        }
    }
}
