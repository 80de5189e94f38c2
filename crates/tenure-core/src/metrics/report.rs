//! The result of `tenure metrics`: every metric's key in the order of
//! docs/METRICS.md, each a number or undefined with a reason, and its JSON
//! and table renderings.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::ledger::MovementTotals;
use super::{Interval, Period};
use crate::model::{Currency, format_minor};

macro_rules! metrics {
    ($( $variant:ident => $key:literal, $label:literal, $kind:ident; )*) => {
        /// A metric of docs/METRICS.md, in the order of its JSON keys.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Metric {
            $( $variant, )*
        }

        impl Metric {
            /// Every metric, in the order of docs/METRICS.md and of the JSON keys.
            pub const ALL: &'static [Metric] = &[ $( Metric::$variant, )* ];

            /// The snake_case JSON key.
            pub fn key(&self) -> &'static str {
                match self { $( Metric::$variant => $key, )* }
            }

            /// A label for people, for tables.
            pub fn label(&self) -> &'static str {
                match self { $( Metric::$variant => $label, )* }
            }

            /// What kind of number the metric is, for formatting.
            pub fn kind(&self) -> MetricKind {
                match self { $( Metric::$variant => MetricKind::$kind, )* }
            }
        }
    };
}

metrics! {
    MrrStart => "mrr_start", "MRR at start", Money;
    MrrEnd => "mrr_end", "MRR at end", Money;
    ArrEnd => "arr_end", "ARR at end", Money;
    NewMrr => "new_mrr", "New MRR", Money;
    ExpansionMrr => "expansion_mrr", "Expansion MRR", Money;
    ContractionMrr => "contraction_mrr", "Contraction MRR", Money;
    ChurnedMrr => "churned_mrr", "Churned MRR", Money;
    ReactivationMrr => "reactivation_mrr", "Reactivation MRR", Money;
    Nrr => "nrr", "Net revenue retention", Fraction;
    Grr => "grr", "Gross revenue retention", Fraction;
    RevenueChurnRate => "revenue_churn_rate", "Revenue churn rate", Fraction;
    LogoChurnRate => "logo_churn_rate", "Logo churn rate", Fraction;
    AccountsStart => "accounts_start", "Accounts at start", Count;
    AccountsEnd => "accounts_end", "Accounts at end", Count;
    Arpa => "arpa", "ARPA", Money;
    Cltv => "cltv", "Customer lifetime value", Money;
    Crc => "crc", "Customer retention cost", Money;
    Nps => "nps", "NPS", Nps;
    Csat => "csat", "CSAT", Fraction;
    Ces => "ces", "CES (1-7)", Score;
    Fcr => "fcr", "First contact resolution", Fraction;
    RenewalRate => "renewal_rate", "Renewal rate", Fraction;
    RenewalRateArr => "renewal_rate_arr", "Renewal rate (ARR)", Fraction;
    TrialConversionRate => "trial_conversion_rate", "Trial conversion rate", Fraction;
    Dau => "dau", "DAU", Count;
    Wau => "wau", "WAU", Count;
    Mau => "mau", "MAU", Count;
    Stickiness => "stickiness", "Stickiness (DAU/MAU)", Fraction;
    UsageRate => "usage_rate", "Usage rate (seats)", Fraction;
    AvgTimeOnPlatformMinutes => "avg_time_on_platform_minutes", "Avg time on platform", Minutes;
    TimeToValueDays => "time_to_value_days", "Time to value (median days)", Days;
}

/// The kind of number a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// Reporting currency units.
    Money,
    /// A fraction (0.93 = 93 %); NRR may exceed 1.
    Fraction,
    /// A whole number (accounts, users); serialized as a JSON integer.
    Count,
    /// Net promoter score, −100..100.
    Nps,
    /// A mean score (CES, 1–7).
    Score,
    /// Minutes.
    Minutes,
    /// Days.
    Days,
}

/// One metric's value: a number, or `None` with the reason it is undefined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricValue {
    pub metric: Metric,
    pub value: Option<f64>,
    /// Why `value` is `None`; `None` when there is a value.
    pub reason: Option<&'static str>,
}

impl MetricValue {
    pub(crate) fn some(metric: Metric, value: f64) -> MetricValue {
        MetricValue {
            metric,
            value: Some(value),
            reason: None,
        }
    }

    pub(crate) fn none(metric: Metric, reason: &'static str) -> MetricValue {
        MetricValue {
            metric,
            value: None,
            reason: Some(reason),
        }
    }

    pub(crate) fn or(metric: Metric, value: Option<f64>, reason: &'static str) -> MetricValue {
        match value {
            Some(v) => MetricValue::some(metric, v),
            None => MetricValue::none(metric, reason),
        }
    }

    /// The value rounded for people (`12345.60 USD`, `93.1%`, `+42.0`,
    /// `12.5 min`), or `n/a (reason)`.
    pub fn display(&self, currency: Currency) -> String {
        let Some(v) = self.value else {
            return format!("n/a ({})", self.reason.unwrap_or("undefined"));
        };
        match self.metric.kind() {
            MetricKind::Money => {
                let digits = currency.minor_digits();
                let minor = (v * 10f64.powi(digits as i32)).round() as i64;
                format!("{} {currency}", format_minor(minor, digits))
            }
            MetricKind::Fraction => format!("{:.1}%", v * 100.0),
            MetricKind::Count => format!("{v:.0}"),
            MetricKind::Nps => format!("{v:+.1}"),
            MetricKind::Score => format!("{v:.2}"),
            MetricKind::Minutes => format!("{v:.1} min"),
            MetricKind::Days => format!("{v:.1} days"),
        }
    }

    fn serialize_value<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        let key = self.metric.key();
        match self.value {
            Some(v) if v.is_finite() => {
                if self.metric.kind() == MetricKind::Count {
                    map.serialize_entry(key, &(v as u64))
                } else {
                    map.serialize_entry(key, &v)
                }
            }
            _ => map.serialize_entry(key, &Option::<f64>::None),
        }
    }
}

/// Every metric of docs/METRICS.md for one period.
///
/// Serializes to one JSON object with the keys in [`Metric::ALL`] order:
/// money as floats in currency units (not rounded), rates as fractions,
/// counts as integers, `null` where undefined.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub period: Period,
    pub currency: Currency,
    /// MRR on the day before the period, in reporting minor units.
    pub mrr_start_minor: i64,
    /// MRR on the last day of the period, in reporting minor units.
    pub mrr_end_minor: i64,
    /// The period's movements in reporting minor units; equal to the totals
    /// of [`super::Dataset::ledger`] for the same period.
    pub movements: MovementTotals,
    pub(crate) values: Vec<MetricValue>,
}

impl Report {
    /// Every metric's value, in the order of [`Metric::ALL`].
    pub fn values(&self) -> &[MetricValue] {
        &self.values
    }

    /// One metric's value and reason.
    pub fn value(&self, metric: Metric) -> &MetricValue {
        &self.values[metric as usize]
    }

    /// One metric's value, `None` when undefined.
    pub fn get(&self, metric: Metric) -> Option<f64> {
        self.value(metric).value
    }
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.values.len()))?;
        for v in &self.values {
            v.serialize_value(&mut map)?;
        }
        map.end()
    }
}

/// The metrics of consecutive intervals of a period (`--interval`).
///
/// Serializes to a JSON array with one object per interval: `from` and `to`
/// (dates, inclusive), then the metric keys as in [`Report`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub interval: Interval,
    pub reports: Vec<Report>,
}

impl Serialize for Series {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Row<'a>(&'a Report);
        impl Serialize for Row<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.values.len() + 2))?;
                map.serialize_entry("from", &self.0.period.from().to_string())?;
                map.serialize_entry("to", &self.0.period.to().to_string())?;
                for v in &self.0.values {
                    v.serialize_value(&mut map)?;
                }
                map.end()
            }
        }
        let mut seq = serializer.serialize_seq(Some(self.reports.len()))?;
        for r in &self.reports {
            seq.serialize_element(&Row(r))?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_those_of_design_section_3_in_order() {
        let keys: Vec<&str> = Metric::ALL.iter().map(|m| m.key()).collect();
        let expected = "mrr_start, mrr_end, arr_end, new_mrr, expansion_mrr, contraction_mrr, \
            churned_mrr, reactivation_mrr, nrr, grr, revenue_churn_rate, logo_churn_rate, \
            accounts_start, accounts_end, arpa, cltv, crc, nps, csat, ces, fcr, renewal_rate, \
            renewal_rate_arr, trial_conversion_rate, dau, wau, mau, stickiness, usage_rate, \
            avg_time_on_platform_minutes, time_to_value_days";
        assert_eq!(keys.join(", "), expected);
        for (i, m) in Metric::ALL.iter().enumerate() {
            assert_eq!(*m as usize, i);
        }
    }

    fn check(metric: Metric, value: Option<f64>, expected: &str) {
        let v = MetricValue::or(metric, value, "no responses");
        assert_eq!(v.display(Currency::USD), expected);
    }

    #[test]
    fn displays_for_people() {
        check(Metric::MrrEnd, Some(12345.6), "12345.60 USD");
        check(Metric::Nrr, Some(1.0523), "105.2%");
        check(Metric::AccountsEnd, Some(42.0), "42");
        check(Metric::Nps, Some(12.5), "+12.5");
        check(Metric::Nps, Some(-3.0), "-3.0");
        check(Metric::Ces, Some(5.333), "5.33");
        check(Metric::AvgTimeOnPlatformMinutes, Some(12.25), "12.2 min");
        check(Metric::Nps, None, "n/a (no responses)");
    }
}
