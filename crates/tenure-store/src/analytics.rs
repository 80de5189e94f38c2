//! Bulk loaders for the metrics engine (`tenure_core::metrics`).
//!
//! [`Store::load_metrics_input`] reads accounts, subscriptions, survey
//! responses and tickets with one query per table (never one per account)
//! into a [`MetricsInput`], numbering accounts in id order.
//! [`Store::stream_usage`] then streams events into a [`UsageAccumulator`]:
//! one range query on `events.ts` (the `events_ts` index) per window the
//! accumulator asks for, so a quarter's metrics read only the last 30 days of
//! events and a monthly series only the 30 days before each month's end.
//! Events are never collected in a list; each row goes straight into the
//! accumulator.
//!
//! Both queries return the same rows on SQLite and PostgreSQL, and the engine
//! does not depend on row order, so both backends give identical results.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;
use tenure_core::metrics::{
    AccountInput, MetricsInput, ResponseInput, SubscriptionInput, TicketInput, UsageAccumulator,
};
use tenure_core::model::{Currency, MICROS_PER_DAY, Money, SurveyKind, day_number};

use crate::scan::Bind;
use crate::{Result, Store, StoreError};

/// The engine's input plus the map from account id to its index in
/// `input.accounts`, which [`Store::stream_usage`] needs for events.
#[derive(Debug, Clone, Default)]
pub struct MetricsLoad {
    pub input: MetricsInput,
    pub account_index: HashMap<String, usize>,
}

/// Which survey responses and tickets to load: those whose UTC date falls
/// in `from..=to` ([`LoadRange::ALL`] for every one). Accounts and
/// subscriptions are always loaded whole, because "new" versus
/// "reactivation" depends on an account's whole history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadRange {
    pub from: Date,
    pub to: Date,
}

impl LoadRange {
    /// Every record, whatever its date.
    pub const ALL: LoadRange = LoadRange {
        from: Date::MIN,
        to: Date::MAX,
    };

    /// `[start, end)` in microseconds since the epoch.
    fn micros(&self) -> (i64, i64) {
        (
            i64::from(day_number(self.from)) * MICROS_PER_DAY,
            (i64::from(day_number(self.to)) + 1) * MICROS_PER_DAY,
        )
    }
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Sql(sqlx::Error::Decode(
        format!("stored {what} {value:?} is not valid").into(),
    ))
}

fn date(s: Option<&str>) -> Result<Option<Date>> {
    s.map(|s| s.parse::<Date>().map_err(|_| corrupt("date", s)))
        .transpose()
}

fn timestamp(micros: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(micros).map_err(|_| corrupt("timestamp", &micros.to_string()))
}

impl Store {
    /// Loads everything the metrics engine needs except events: all accounts
    /// and subscriptions, and the survey responses and tickets within `range`
    /// (none when `None`, for the ledger and cohorts, which need only
    /// subscriptions). One query per table.
    pub async fn load_metrics_input(&self, range: Option<LoadRange>) -> Result<MetricsLoad> {
        let mut load = MetricsLoad::default();

        let (index, accounts) = (&mut load.account_index, &mut load.input.accounts);
        self.scan(
            "SELECT id, trial_start, trial_end FROM accounts ORDER BY id",
            &[],
            |row| {
                let id = row.text(0)?.to_string();
                index.insert(id.clone(), accounts.len());
                accounts.push(AccountInput {
                    id,
                    trial_start: date(row.opt_text(1)?)?,
                    trial_end: date(row.opt_text(2)?)?,
                });
                Ok(())
            },
        )
        .await?;

        let index = &load.account_index;
        let account = |id: &str| -> Result<usize> {
            index
                .get(id)
                .copied()
                .ok_or_else(|| corrupt("account reference", id))
        };

        let mut currencies: HashMap<String, Currency> = HashMap::new();
        let subscriptions = &mut load.input.subscriptions;
        self.scan(
            "SELECT id, account_id, mrr_minor, currency, start_date, end_date, renewal_date, seats \
             FROM subscriptions",
            &[],
            |row| {
                let code = row.text(3)?;
                let currency = match currencies.get(code) {
                    Some(c) => *c,
                    None => {
                        let c = Currency::parse(code).map_err(|_| corrupt("currency", code))?;
                        currencies.insert(code.to_string(), c);
                        c
                    }
                };
                subscriptions.push(SubscriptionInput {
                    id: row.text(0)?.to_string(),
                    account: account(row.text(1)?)?,
                    mrr: Money::new(row.int(2)?, currency),
                    start: date(row.opt_text(4)?)?.ok_or_else(|| corrupt("start_date", "NULL"))?,
                    end: date(row.opt_text(5)?)?,
                    renewal: date(row.opt_text(6)?)?,
                    seats: row.opt_int(7)?,
                });
                Ok(())
            },
        )
        .await?;

        // Each account's first success-plan milestone done: time to value.
        for (id, day) in self.first_milestone_days().await? {
            if let Some(&i) = load.account_index.get(&id) {
                load.input.first_values.push((i, day));
            }
        }

        let Some(range) = range else {
            return Ok(load);
        };
        let (lo, hi) = range.micros();
        let span = [Bind::Int(lo), Bind::Int(hi)];
        let responses = &mut load.input.responses;
        self.scan(
            "SELECT id, account_id, contact_id, kind, score, responded_at FROM survey_responses \
             WHERE responded_at >= $1 AND responded_at < $2",
            &span,
            |row| {
                let kind = row.text(3)?;
                responses.push(ResponseInput {
                    id: row.text(0)?.to_string(),
                    account: account(row.text(1)?)?,
                    contact_id: row.opt_text(2)?.map(str::to_string),
                    kind: SurveyKind::parse(kind).map_err(|_| corrupt("survey kind", kind))?,
                    score: row.int(4)?,
                    responded_at: timestamp(row.int(5)?)?,
                });
                Ok(())
            },
        )
        .await?;

        let tickets = &mut load.input.tickets;
        self.scan(
            "SELECT account_id, opened_at, first_contact_resolved FROM tickets \
             WHERE opened_at >= $1 AND opened_at < $2",
            &span,
            |row| {
                tickets.push(TicketInput {
                    account: account(row.text(0)?)?,
                    opened_at: timestamp(row.int(1)?)?,
                    first_contact_resolved: row.opt_int(2)?.map(|v| v != 0),
                });
                Ok(())
            },
        )
        .await?;
        Ok(load)
    }

    /// Streams the events inside the accumulator's windows into it; returns
    /// the number of events read. `accounts` maps account ids to their index
    /// in the metrics input ([`MetricsLoad::account_index`]); events of
    /// accounts it does not know are skipped (the events table has no
    /// foreign key).
    ///
    /// Each window is one range query on the `events_ts` index, which holds
    /// every column read here, so the scan never visits the table itself.
    pub async fn stream_usage(
        &self,
        accounts: &HashMap<String, usize>,
        usage: &mut UsageAccumulator,
    ) -> Result<u64> {
        let ranges: Vec<(i64, i64)> = usage
            .windows()
            .into_iter()
            .map(|(from, to)| LoadRange { from, to }.micros())
            .collect();
        // `events_ts` covers (ts, account_id, user_id, event): each window is
        // one sequential range of the index, never a lookup into the table.
        let sql = "SELECT account_id, user_id, ts FROM events WHERE ts >= $1 AND ts < $2";
        let mut n = 0u64;
        // Consecutive rows usually belong to the same account: remember the
        // last one to skip most hash lookups.
        let mut last: (String, Option<usize>) = (String::new(), None);
        for (lo, hi) in ranges {
            let binds = [Bind::Int(lo), Bind::Int(hi)];
            self.scan(sql, &binds, |row| {
                let account_id = row.text(0)?;
                if last.0 != account_id {
                    last.0.clear();
                    last.0.push_str(account_id);
                    last.1 = accounts.get(account_id).copied();
                }
                if let Some(account) = last.1 {
                    usage.add(account, row.text(1)?, row.int(2)?);
                    n += 1;
                }
                Ok(())
            })
            .await?;
        }
        Ok(n)
    }
}
