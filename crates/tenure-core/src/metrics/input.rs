//! The plain inputs the store builds for the engine, and the settings from
//! `tenure.toml` that change results (currency rates, gross margin, CS cost).

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;

use super::MetricsError;
use crate::config::{Config, MissingRate};
use crate::model::{Currency, Money, SurveyKind};

/// An account, as far as metrics need it. Records refer to an account by its
/// index in [`MetricsInput::accounts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInput {
    pub id: String,
    pub trial_start: Option<Date>,
    pub trial_end: Option<Date>,
}

/// A subscription line: `mrr` from `start` (inclusive) to `end` (exclusive;
/// `None` = still running).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionInput {
    pub id: String,
    /// Index of the account in [`MetricsInput::accounts`].
    pub account: usize,
    pub mrr: Money,
    pub start: Date,
    pub end: Option<Date>,
    /// The first day of the next term.
    pub renewal: Option<Date>,
    pub seats: Option<i64>,
}

/// A survey answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseInput {
    /// The response's id; it breaks ties between a contact's NPS answers
    /// given at the same instant (the greater id wins).
    pub id: String,
    /// Index of the account in [`MetricsInput::accounts`].
    pub account: usize,
    pub contact_id: Option<String>,
    pub kind: SurveyKind,
    pub score: i64,
    pub responded_at: Timestamp,
}

/// A support ticket, as far as FCR needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketInput {
    /// Index of the account in [`MetricsInput::accounts`].
    pub account: usize,
    pub opened_at: Timestamp,
    pub first_contact_resolved: Option<bool>,
}

/// Everything the engine needs except events, loaded in bulk by the store.
///
/// Responses and tickets outside every period that will be reported on may
/// be left out; subscriptions and accounts must be complete, because
/// "new" versus "reactivation" depends on an account's whole history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsInput {
    pub accounts: Vec<AccountInput>,
    pub subscriptions: Vec<SubscriptionInput>,
    pub responses: Vec<ResponseInput>,
    pub tickets: Vec<TicketInput>,
    /// `(account, day)`: the day each account's first success-plan
    /// milestone was done, for time to value (accounts without one left
    /// out).
    pub first_values: Vec<(usize, Date)>,
}

/// Exchange rates to the reporting currency, from `tenure.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rates {
    /// The currency every amount is reported in.
    pub reporting: Currency,
    /// Units of the reporting currency per one unit of each other currency
    /// (with USD reporting, `EUR = 1.08` means 1 EUR = 1.08 USD). The
    /// reporting currency itself needs no entry.
    pub rates: BTreeMap<Currency, f64>,
}

impl Rates {
    /// Rates with only the reporting currency: any other currency is an error.
    pub fn new(reporting: Currency) -> Rates {
        Rates {
            reporting,
            rates: BTreeMap::new(),
        }
    }

    /// Adds a rate: one unit of `currency` is worth `rate` reporting units.
    pub fn with(mut self, currency: Currency, rate: f64) -> Rates {
        self.rates.insert(currency, rate);
        self
    }

    /// Converts an amount to minor units of the reporting currency, rounded
    /// to the nearest minor unit (halves away from zero).
    pub fn convert(&self, amount: Money) -> Result<i64, MetricsError> {
        self.convert_for(amount, "")
    }

    pub(crate) fn convert_for(&self, amount: Money, record: &str) -> Result<i64, MetricsError> {
        if amount.currency == self.reporting {
            return Ok(amount.minor);
        }
        let rate = *self
            .rates
            .get(&amount.currency)
            .ok_or(MetricsError::MissingRate {
                currency: amount.currency,
                reporting: self.reporting,
            })?;
        if !(rate.is_finite() && rate > 0.0) {
            return Err(MetricsError::InvalidRate {
                currency: amount.currency,
                rate,
            });
        }
        let shift = self.reporting.minor_digits() as i32 - amount.currency.minor_digits() as i32;
        let value = (amount.minor as f64 * rate * 10f64.powi(shift)).round();
        // Beyond 2^53 a float no longer holds every integer.
        if value.abs() >= 9_007_199_254_740_992.0 {
            return Err(MetricsError::AmountTooLarge {
                subscription: record.to_string(),
                reporting: self.reporting,
            });
        }
        Ok(value as i64)
    }
}

/// Settings from `tenure.toml` that metrics use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Gross margin as a fraction, for CLTV. Default 1.0.
    pub gross_margin: f64,
    /// Customer success cost per month in reporting currency units, for CRC.
    /// `None` leaves CRC undefined.
    pub cs_cost_monthly: Option<f64>,
}

/// `[costs]` names an amount in a currency without an exchange rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("costs.cs_cost_monthly: {0}")]
pub struct CostsError(pub MissingRate);

impl Settings {
    /// The exchange rates and the settings of `tenure.toml`, built the same
    /// way for every surface (`tenure metrics`, the API and the pages): a
    /// CS cost in a currency without a rate is an error, never an amount
    /// left unconverted.
    pub fn from_config(config: &Config) -> Result<(Rates, Settings), CostsError> {
        let rates = Rates {
            reporting: config.currency.reporting,
            rates: config.currency.rates.clone(),
        };
        let cs_cost_monthly = config
            .costs
            .cs_cost_monthly
            .map(|m| config.currency.to_reporting(m))
            .transpose()
            .map_err(CostsError)?;
        let settings = Settings {
            gross_margin: config.costs.gross_margin,
            cs_cost_monthly,
        };
        Ok((rates, settings))
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            gross_margin: 1.0,
            cs_cost_monthly: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(amount: (&str, i64), rates: &Rates, expected: Result<i64, MetricsError>) {
        let money = Money::new(amount.1, Currency::parse(amount.0).unwrap());
        assert_eq!(rates.convert(money), expected, "{amount:?}");
    }

    #[test]
    fn converts_to_reporting_minor_units() {
        let eur = Currency::parse("EUR").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        let kwd = Currency::parse("KWD").unwrap();
        let gbp = Currency::parse("GBP").unwrap();
        let rates = Rates::new(Currency::USD)
            .with(eur, 1.08)
            .with(jpy, 0.0067)
            .with(kwd, 3.25);
        check(("USD", 12345), &rates, Ok(12345));
        check(("EUR", 10000), &rates, Ok(10800));
        // 1500 yen (no minor digits) = 10.05 USD.
        check(("JPY", 1500), &rates, Ok(1005));
        // 1.000 KWD (three minor digits) = 3.25 USD.
        check(("KWD", 1000), &rates, Ok(325));
        check(
            ("GBP", 100),
            &rates,
            Err(MetricsError::MissingRate {
                currency: gbp,
                reporting: Currency::USD,
            }),
        );
        let bad = Rates::new(Currency::USD).with(gbp, 0.0);
        check(
            ("GBP", 100),
            &bad,
            Err(MetricsError::InvalidRate {
                currency: gbp,
                rate: 0.0,
            }),
        );
    }

    #[test]
    fn missing_rate_message_names_the_currency() {
        let e = MetricsError::MissingRate {
            currency: Currency::parse("CHF").unwrap(),
            reporting: Currency::USD,
        };
        let msg = e.to_string();
        assert!(msg.contains("CHF") && msg.contains("USD"), "{msg}");
    }
}
