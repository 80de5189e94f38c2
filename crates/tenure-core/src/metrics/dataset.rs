//! [`Dataset`]: the inputs converted once to reporting minor units and day
//! numbers, indexed for fast period queries.

use jiff::civil::Date;

use super::MetricsError;
use super::input::{
    AccountInput, MetricsInput, Rates, ResponseInput, SubscriptionInput, TicketInput,
};
use crate::model::{Currency, SurveyKind, date_from_day, day_number, day_of_micros};

/// Day number standing for "no end": later than any real date.
pub(crate) const OPEN_END: i32 = i32::MAX;

/// A subscription in reporting minor units and day numbers.
#[derive(Debug, Clone)]
pub(crate) struct Sub {
    pub id: String,
    pub account: u32,
    /// MRR in minor units of the reporting currency.
    pub mrr: i64,
    pub start: i32,
    /// Exclusive; [`OPEN_END`] when open.
    pub end: i32,
}

/// A subscription with a renewal date, for the renewal rates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Renewal {
    pub day: i32,
    pub account: u32,
    /// 12 × the subscription's MRR (0 when negative), reporting minor units.
    pub arr: i64,
    /// The subscription's first day and its end (exclusive, [`OPEN_END`]
    /// when open), for the renewal forecast's running subscriptions.
    pub start: i32,
    pub end: i32,
}

/// A subscription with a seat count, for the usage rate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeatLine {
    pub account: u32,
    pub start: i32,
    pub end: i32,
    pub seats: i64,
}

/// One NPS answer, reduced to what NPS needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NpsAnswer {
    pub day: i32,
    /// Interned contact, or `u32::MAX` for an answer without contact.
    pub contact: u32,
    pub score: u8,
}

/// Every account's MRR over time as change points, in one flat array:
/// account `a` owns `days[offsets[a]..offsets[a + 1]]`, sorted, and
/// `mrr[i]` is its MRR from `days[i]` until the next change point. Before its
/// first change point an account's MRR is 0. Consecutive points always hold
/// different values, so each point is exactly one movement.
#[derive(Debug, Clone, Default)]
pub(crate) struct MrrBook {
    pub offsets: Vec<usize>,
    pub days: Vec<i32>,
    pub mrr: Vec<i64>,
}

impl MrrBook {
    /// The change points of one account.
    pub fn points(&self, account: usize) -> (&[i32], &[i64]) {
        let range = self.offsets[account]..self.offsets[account + 1];
        (&self.days[range.clone()], &self.mrr[range])
    }

    /// An account's MRR on a day.
    pub fn mrr_on(&self, account: usize, day: i32) -> i64 {
        let (days, mrr) = self.points(account);
        let i = days.partition_point(|&d| d <= day);
        if i == 0 { 0 } else { mrr[i - 1] }
    }
}

/// The inputs of the metrics engine, converted and indexed once; every
/// report, series, ledger and cohort table is computed from it.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub(crate) reporting: Currency,
    pub(crate) accounts: Vec<AccountInput>,
    /// Account indices sorted by id, for [`Dataset::account_index`].
    pub(crate) by_id: Vec<u32>,
    pub(crate) subs: Vec<Sub>,
    /// Subscription indices grouped by account: account `a` owns
    /// `subs_by_account[sub_offsets[a]..sub_offsets[a + 1]]`.
    pub(crate) sub_offsets: Vec<usize>,
    pub(crate) subs_by_account: Vec<u32>,
    pub(crate) book: MrrBook,
    /// Subscriptions with a renewal date, sorted by it.
    pub(crate) renewals: Vec<Renewal>,
    /// `(trial start day, converted)`, sorted by day.
    pub(crate) trials: Vec<(i32, bool)>,
    /// Subscriptions with a seat count, sorted by account.
    pub(crate) seat_lines: Vec<SeatLine>,
    /// NPS answers sorted by (instant, id), so the last answer of a contact
    /// within any day range is its latest.
    pub(crate) nps: Vec<NpsAnswer>,
    /// `(day, scored 4 or 5)`, sorted by day.
    pub(crate) csat: Vec<(i32, bool)>,
    /// `(day, score)`, sorted by day.
    pub(crate) ces: Vec<(i32, i64)>,
    /// `(day opened, first contact resolved)` of tickets with a value, sorted by day.
    pub(crate) fcr: Vec<(i32, bool)>,
    /// `(day, account)` of each account's first success-plan milestone
    /// done, sorted by day.
    pub(crate) first_value: Vec<(i32, usize)>,
    pub(crate) warnings: Vec<String>,
}

impl Dataset {
    /// Converts every subscription to minor units of `rates.reporting` and
    /// indexes the input. Fails on a currency without a rate (the error
    /// names it; with several, the first in alphabetical order) and on an
    /// account index out of range.
    pub fn new(input: MetricsInput, rates: &Rates) -> Result<Dataset, MetricsError> {
        let MetricsInput {
            accounts,
            subscriptions,
            responses,
            tickets,
            first_values,
        } = input;
        let n = accounts.len();
        let mut warnings = Vec::new();
        check_rates(&subscriptions, rates)?;
        let SubTables {
            subs,
            renewals,
            seat_lines,
            paid,
        } = convert_subscriptions(subscriptions, rates, n, &mut warnings)?;
        let (sub_offsets, subs_by_account) = group_by_account(&subs, n);
        let book = build_book(
            &accounts,
            &subs,
            &sub_offsets,
            &subs_by_account,
            &mut warnings,
        );
        let trials = trials(&accounts, &subs, &sub_offsets, &subs_by_account, &paid);
        let Surveys { nps, csat, ces } = surveys(responses, n)?;
        let fcr = first_contact_resolutions(tickets, n)?;
        let mut first_value = Vec::with_capacity(first_values.len());
        for (account, day) in first_values {
            if account >= n {
                return Err(MetricsError::UnknownAccount {
                    record: format!("the first milestone done on {day}"),
                    account,
                    accounts: n,
                });
            }
            first_value.push((day_number(day), account));
        }
        first_value.sort_unstable();
        // Sorted, so that they do not depend on the order rows were loaded in.
        warnings.sort();
        let mut by_id: Vec<u32> = (0..accounts.len() as u32).collect();
        by_id.sort_unstable_by(|&x, &y| accounts[x as usize].id.cmp(&accounts[y as usize].id));

        Ok(Dataset {
            reporting: rates.reporting,
            accounts,
            by_id,
            subs,
            sub_offsets,
            subs_by_account,
            book,
            renewals,
            trials,
            seat_lines,
            nps,
            csat,
            ces,
            fcr,
            first_value,
            warnings,
        })
    }

    /// The reporting currency every amount is in.
    pub fn currency(&self) -> Currency {
        self.reporting
    }

    /// Minor units of the reporting currency as a float in currency units.
    pub fn units(&self, minor: i64) -> f64 {
        minor as f64 / 10f64.powi(self.reporting.minor_digits() as i32)
    }

    /// Number of accounts.
    pub fn accounts_len(&self) -> usize {
        self.accounts.len()
    }

    /// The id of the account at `index`.
    pub fn account_id(&self, index: usize) -> &str {
        &self.accounts[index].id
    }

    /// The index of the account with this id (a binary search over the
    /// ids, sorted once when the dataset is built).
    pub fn account_index(&self, id: &str) -> Option<usize> {
        self.by_id
            .binary_search_by(|&i| self.accounts[i as usize].id.as_str().cmp(id))
            .ok()
            .map(|k| self.by_id[k] as usize)
    }

    /// An account's MRR on a day, in reporting minor units.
    pub fn mrr_on(&self, account: usize, day: Date) -> i64 {
        self.book.mrr_on(account, day_number(day))
    }

    /// An account's MRR history as change points: from each date on, until
    /// the next one, the account's MRR is the given amount (minor units).
    /// Before the first date it is 0.
    pub fn mrr_history(&self, account: usize) -> Vec<(Date, i64)> {
        let (days, mrr) = self.book.points(account);
        days.iter()
            .zip(mrr)
            .map(|(&d, &m)| (date_from_day(d), m))
            .collect()
    }

    /// Problems found in the data that the engine worked around.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The subscriptions of one account.
    pub(crate) fn account_subs(&self, account: usize) -> impl Iterator<Item = &Sub> {
        self.subs_by_account[self.sub_offsets[account]..self.sub_offsets[account + 1]]
            .iter()
            .map(|&i| &self.subs[i as usize])
    }
}

/// Fails unless `account` is an index into the `accounts` accounts of the
/// input; `record` names the record that refers to it.
fn check_account(
    account: usize,
    accounts: usize,
    record: &dyn Fn() -> String,
) -> Result<(), MetricsError> {
    if account >= accounts {
        Err(MetricsError::UnknownAccount {
            record: record(),
            account,
            accounts,
        })
    } else {
        Ok(())
    }
}

/// Checks that every currency of the subscriptions has a rate, currency by
/// currency, in order, so that the error names the same currency whatever
/// order the rows came in.
fn check_rates(subscriptions: &[SubscriptionInput], rates: &Rates) -> Result<(), MetricsError> {
    let currencies: std::collections::BTreeSet<Currency> =
        subscriptions.iter().map(|s| s.mrr.currency).collect();
    for currency in currencies {
        rates.convert(crate::model::Money::new(0, currency))?;
    }
    Ok(())
}

/// The subscriptions converted to reporting minor units and day numbers,
/// with the tables drawn from them.
struct SubTables {
    subs: Vec<Sub>,
    /// Sorted by day.
    renewals: Vec<Renewal>,
    /// Sorted by account.
    seat_lines: Vec<SeatLine>,
    /// Whether each subscription's own `mrr` is above zero (before
    /// conversion, which could round a tiny amount to zero).
    paid: Vec<bool>,
}

/// Converts the subscriptions, in input order, warning about those that end
/// on or before their start.
fn convert_subscriptions(
    subscriptions: Vec<SubscriptionInput>,
    rates: &Rates,
    accounts: usize,
    warnings: &mut Vec<String>,
) -> Result<SubTables, MetricsError> {
    let mut subs = Vec::with_capacity(subscriptions.len());
    let mut renewals = Vec::new();
    let mut seat_lines = Vec::new();
    let mut paid = Vec::with_capacity(subscriptions.len());
    for s in subscriptions {
        check_account(s.account, accounts, &|| format!("subscription {}", s.id))?;
        let mrr = rates.convert_for(s.mrr, &s.id)?;
        let start = day_number(s.start);
        let end = s.end.map_or(OPEN_END, day_number);
        if end <= start {
            warnings.push(format!(
                "subscription {} ends on or before its start date and adds no MRR",
                s.id
            ));
        }
        if let Some(r) = s.renewal {
            renewals.push(Renewal {
                day: day_number(r),
                account: s.account as u32,
                arr: 12 * mrr.max(0),
                start,
                end,
            });
        }
        if let Some(seats) = s.seats {
            seat_lines.push(SeatLine {
                account: s.account as u32,
                start,
                end,
                seats: seats.max(0),
            });
        }
        paid.push(s.mrr.minor > 0);
        subs.push(Sub {
            id: s.id,
            account: s.account as u32,
            mrr,
            start,
            end,
        });
    }
    renewals.sort_unstable_by_key(|r| (r.day, r.account, r.arr, r.start, r.end));
    seat_lines.sort_unstable_by_key(|l| (l.account, l.start, l.end, l.seats));
    Ok(SubTables {
        subs,
        renewals,
        seat_lines,
        paid,
    })
}

/// Groups subscription indices by account with a counting sort, O(n):
/// `(sub_offsets, subs_by_account)` as [`Dataset`] holds them.
fn group_by_account(subs: &[Sub], accounts: usize) -> (Vec<usize>, Vec<u32>) {
    let n = accounts;
    let mut sub_offsets = vec![0usize; n + 1];
    for s in subs {
        sub_offsets[s.account as usize + 1] += 1;
    }
    for a in 0..n {
        sub_offsets[a + 1] += sub_offsets[a];
    }
    let mut fill = sub_offsets.clone();
    let mut subs_by_account = vec![0u32; subs.len()];
    for (i, s) in subs.iter().enumerate() {
        let slot = &mut fill[s.account as usize];
        subs_by_account[*slot] = i as u32;
        *slot += 1;
    }
    (sub_offsets, subs_by_account)
}

/// `(trial start day, converted)` of every account with a trial, sorted: a
/// trial converts when a paid subscription starts at most 30 days after its
/// end.
fn trials(
    accounts: &[AccountInput],
    subs: &[Sub],
    sub_offsets: &[usize],
    subs_by_account: &[u32],
    paid: &[bool],
) -> Vec<(i32, bool)> {
    let mut trials = Vec::new();
    for (a, acc) in accounts.iter().enumerate() {
        let Some(trial_start) = acc.trial_start else {
            continue;
        };
        // Without a trial end the trial is taken to end on its first day.
        let deadline = day_number(acc.trial_end.unwrap_or(trial_start)) + 30;
        let converted = subs_by_account[sub_offsets[a]..sub_offsets[a + 1]]
            .iter()
            .any(|&i| paid[i as usize] && subs[i as usize].start <= deadline);
        trials.push((day_number(trial_start), converted));
    }
    trials.sort_unstable();
    trials
}

/// The survey answers, each kind reduced to what its metric needs.
struct Surveys {
    nps: Vec<NpsAnswer>,
    csat: Vec<(i32, bool)>,
    ces: Vec<(i32, i64)>,
}

/// Splits the survey responses by kind, interning NPS contacts, and sorts
/// each kind as [`Dataset`] holds it.
fn surveys(responses: Vec<ResponseInput>, accounts: usize) -> Result<Surveys, MetricsError> {
    let mut contacts = std::collections::HashMap::new();
    let mut nps_keyed = Vec::new();
    let mut csat = Vec::new();
    let mut ces = Vec::new();
    for r in responses {
        check_account(r.account, accounts, &|| format!("survey response {}", r.id))?;
        let day = day_of_micros(r.responded_at.as_microsecond());
        match r.kind {
            SurveyKind::Nps => {
                let contact = match r.contact_id {
                    Some(c) => {
                        let next = contacts.len() as u32;
                        *contacts.entry(c).or_insert(next)
                    }
                    None => u32::MAX,
                };
                let answer = NpsAnswer {
                    day,
                    contact,
                    score: r.score.clamp(0, 10) as u8,
                };
                nps_keyed.push((r.responded_at.as_microsecond(), r.id, answer));
            }
            SurveyKind::Csat => csat.push((day, r.score >= 4)),
            SurveyKind::Ces => ces.push((day, r.score)),
        }
    }
    nps_keyed.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let nps = nps_keyed.into_iter().map(|(_, _, a)| a).collect();
    csat.sort_unstable();
    ces.sort_unstable();
    Ok(Surveys { nps, csat, ces })
}

/// `(day opened, first contact resolved)` of the tickets that say, sorted.
fn first_contact_resolutions(
    tickets: Vec<TicketInput>,
    accounts: usize,
) -> Result<Vec<(i32, bool)>, MetricsError> {
    let mut fcr = Vec::new();
    for (i, t) in tickets.into_iter().enumerate() {
        check_account(t.account, accounts, &|| format!("ticket number {}", i + 1))?;
        if let Some(resolved) = t.first_contact_resolved {
            fcr.push((day_of_micros(t.opened_at.as_microsecond()), resolved));
        }
    }
    fcr.sort_unstable();
    Ok(fcr)
}

/// Builds the change points of every account: each subscription adds its MRR
/// on its start day and removes it on its end day; changes on one day are
/// netted, and days on which the account's (floored) MRR does not change are
/// dropped.
fn build_book(
    accounts: &[AccountInput],
    subs: &[Sub],
    sub_offsets: &[usize],
    subs_by_account: &[u32],
    warnings: &mut Vec<String>,
) -> MrrBook {
    let n = accounts.len();
    let mut book = MrrBook {
        offsets: Vec::with_capacity(n + 1),
        days: Vec::with_capacity(subs.len() * 2),
        mrr: Vec::with_capacity(subs.len() * 2),
    };
    book.offsets.push(0);
    let mut deltas: Vec<(i32, i64)> = Vec::new();
    for a in 0..n {
        deltas.clear();
        for &i in &subs_by_account[sub_offsets[a]..sub_offsets[a + 1]] {
            let s = &subs[i as usize];
            if s.end <= s.start || s.mrr == 0 {
                continue;
            }
            deltas.push((s.start, s.mrr));
            if s.end != OPEN_END {
                deltas.push((s.end, -s.mrr));
            }
        }
        deltas.sort_unstable_by_key(|&(d, _)| d);
        let mut raw: i64 = 0;
        let mut current: i64 = 0;
        let mut negative = false;
        let mut k = 0;
        while k < deltas.len() {
            let day = deltas[k].0;
            while k < deltas.len() && deltas[k].0 == day {
                raw += deltas[k].1;
                k += 1;
            }
            negative |= raw < 0;
            let floored = raw.max(0);
            if floored != current {
                book.days.push(day);
                book.mrr.push(floored);
                current = floored;
            }
        }
        if negative {
            warnings.push(format!(
                "account {} has subscriptions summing to a negative MRR on some days; \
                 its MRR counts as 0 then",
                accounts[a].id
            ));
        }
        book.offsets.push(book.days.len());
    }
    book
}
