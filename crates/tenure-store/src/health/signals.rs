//! The accounts to score, and their signals on any number of as-of dates
//! ([`Store::load_signals`]): one bulk query per table, never one per
//! account (the `health` module documentation lists them).

use futures_util::TryStreamExt;
use jiff::civil::Date;
use sqlx::Row;
use tenure_core::health::{SignalsBuilder, SignalsTable, churn_prediction_day};
use tenure_core::model::{
    Account, Currency, MICROS_PER_DAY, Money, Priority, Subscription, SurveyKind, day_number,
};

use super::{AccountIndex, Shard, SignalsRequest, decode, get_day, get_opt_day, parse_day};
use crate::rows::{Record, from_row, select_list, select_list_without};
use crate::scan::{Bind, ScanRow};
use crate::{Backend, Kind, Result, Store};

/// Start of the UTC day after `d`, in microseconds.
fn end_micros(d: Date) -> i64 {
    i64::from(day_number(d) + 1) * MICROS_PER_DAY
}

/// A subscription's start, end and seats (0 when not set).
type SeatSpan = (Date, Option<Date>, i64);

/// What the reads of the smaller tables in [`Store::load_signals_with`]
/// share: the shard's account positions, and its bounds as
/// ` AND account_id ...` with placeholders from `$1` and their values.
struct ShardFilter<'r, 'a> {
    index: &'r AccountIndex<'a>,
    pred: String,
    binds: Vec<Bind>,
}

/// The positions of the accounts whose known users some as-of date of
/// `req` needs (see [`Store::load_signals_with`]), given each account's
/// `seat_spans`.
fn known_users_needed(req: SignalsRequest<'_>, seat_spans: &[Vec<SeatSpan>]) -> Vec<usize> {
    let shard = req.shard;
    (0..shard.accounts.len())
        .filter(|&i| {
            let a = &shard.accounts[i];
            req.plan.known_users_with_seats
                || req.dates.iter().any(|&d| {
                    let (mut any, mut seats) = (false, 0i64);
                    for x in seat_spans[i]
                        .iter()
                        .filter(|(s, e, _)| *s <= d && e.is_none_or(|e| e > d))
                    {
                        any = true;
                        seats += x.2;
                    }
                    let trial = a.in_trial_on(d);
                    seats <= 0 && (any || trial)
                })
        })
        .collect()
}

impl Store {
    /// Every account, in the database's id order (the order [`Shard`]s use).
    pub async fn health_accounts(&self) -> Result<Vec<Account>> {
        self.health_accounts_with(true).await
    }

    /// [`Store::health_accounts`], with their custom attributes only when
    /// `attributes` (parsing them measured as a quarter of reading 100,000
    /// accounts); without, every account's attributes are empty.
    pub async fn health_accounts_with(&self, attributes: bool) -> Result<Vec<Account>> {
        let columns = if attributes {
            select_list(Kind::Accounts)
        } else {
            select_list_without(Kind::Accounts, "attributes")
        };
        let account = |out: &mut Vec<Account>, row: &dyn ScanRow| {
            if let Record::Account(a) = from_row(Kind::Accounts, row)? {
                out.push(a);
            }
            Ok(())
        };
        if !self.scans_in_parallel() {
            let sql = format!("SELECT {columns} FROM accounts ORDER BY id");
            let mut out = Vec::new();
            self.scan(&sql, &[], |row| account(&mut out, row)).await?;
            return Ok(out);
        }
        // A SQLite file: the table read in its own order, by rowid ranges on
        // one thread per core, then sorted here. SQLite orders text by its
        // bytes, as Rust does; reading in key order would cost a lookup per
        // account from the primary key's index.
        let mut bounds = (0, 0);
        self.scan("SELECT MIN(rowid), MAX(rowid) FROM accounts", &[], |row| {
            bounds = (row.opt_int(0)?.unwrap_or(0), row.opt_int(1)?.unwrap_or(-1));
            Ok(())
        })
        .await?;
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as i64;
        let (lo, span) = (bounds.0, bounds.1 - bounds.0 + 1);
        let parts: Vec<(String, Vec<Bind>)> = (0..cores)
            .map(|k| {
                let sql =
                    format!("SELECT {columns} FROM accounts WHERE rowid >= $1 AND rowid < $2");
                let from = lo + span.max(0) * k / cores;
                let to = lo + span.max(0) * (k + 1) / cores;
                (sql, vec![Bind::Int(from), Bind::Int(to)])
            })
            .collect();
        let mut out: Vec<Account> = self
            .scan_parallel(&parts, Vec::new, account)
            .await?
            .into_iter()
            .flatten()
            .collect();
        out.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Whether payment failures are tracked: a `payment_failures` table
    /// exists (a billing source creates it) and holds at least one row.
    /// Without it the `payment_failures` measure has no data.
    pub async fn payments_tracked(&self) -> Result<bool> {
        let exists_sql = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'payment_failures'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = 'payment_failures'"
            }
        };
        let exists: i64 = sqlx::query_scalar(exists_sql).fetch_one(&self.pool).await?;
        if exists == 0 {
            return Ok(false);
        }
        let any: Option<i64> = sqlx::query_scalar("SELECT 1 FROM payment_failures LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(any.is_some())
    }

    /// Loads the signals of a shard of accounts on the requested as-of
    /// dates, one bulk query per table (see the module documentation).
    pub async fn load_signals(&self, req: SignalsRequest<'_>) -> Result<SignalsTable> {
        self.load_signals_with(req, true).await
    }

    /// [`Store::load_signals`]; without `stream_events`, the events' part is
    /// left out (for [`Store::load_signals_on`], which reads it from the
    /// usage rollups) and known users count every event up to the end of
    /// the as-of day. One read per table, each in its own function below,
    /// in this order.
    pub(super) async fn load_signals_with(
        &self,
        req: SignalsRequest<'_>,
        stream_events: bool,
    ) -> Result<SignalsTable> {
        let shard = req.shard;
        let index = shard.index();
        let mut b = SignalsBuilder::new(req.plan, req.dates, shard.accounts.len(), req.currency);
        b.track_payments(req.track_payments);
        let Some(last) = req.dates.iter().max().copied() else {
            return Ok(b.finish());
        };
        let end = end_micros(last);
        let horizon = b
            .horizon_start()
            .map_or(end, |h| i64::from(day_number(h)) * MICROS_PER_DAY);

        for (i, a) in shard.accounts.iter().enumerate() {
            if !req.plan.attributes.is_empty() {
                b.attributes(i, &a.attributes);
            }
        }

        // Events in the horizon, one row per account, user, name and day.
        let needs_events = stream_events
            && (req.plan.needs_users()
                || !req.plan.event_windows.is_empty()
                || !req.plan.feature_windows.is_empty());
        if needs_events {
            self.read_events(shard, &index, &mut b, horizon, end)
                .await?;
        }

        let (pred, binds) = shard.predicate(1);
        let filter = ShardFilter {
            index: &index,
            pred,
            binds: binds.into_iter().map(Bind::Text).collect(),
        };

        let seat_spans = self
            .read_subscriptions(&filter, &mut b, shard.accounts.len())
            .await?;
        // Users first seen before the horizon, for the accounts whose
        // active-user ratio divides by known users: all of them, or (for
        // `auto`) only those that lack a seat count on an as-of date on
        // which they are customers (a subscription runs) or in trial. The
        // known users of other accounts stay 0 (they are never scored by
        // them), which spares a scan of the whole event history. Without
        // streamed events, known users come from every event up to the end
        // of the as-of day.
        let known_before = if stream_events { horizon } else { end };
        if req.plan.needs_known_users {
            let needy = known_users_needed(req, &seat_spans);
            self.read_known_users(shard, &index, &needy, &mut b, known_before)
                .await?;
        }

        // Only what some as-of date can use: a ticket closed by the end of
        // the first date is never open on a later one; CSAT answers before
        // every CSAT window are never counted; for a single date only the
        // latest engagement matters.
        let first = req.dates.iter().min().copied().unwrap_or(last);
        let first_end = end_micros(first);
        self.read_tickets(&filter, &mut b, end, first_end).await?;

        let csat_from = req
            .plan
            .csat_windows
            .iter()
            .map(|w| i64::from(day_number(w.range(first).0)) * MICROS_PER_DAY)
            .min()
            .unwrap_or(end);
        self.read_survey_responses(&filter, &mut b, csat_from, end)
            .await?;

        let one_date = req.dates.len() == 1;
        self.read_engagements(&filter, &mut b, one_date, end)
            .await?;

        if req.track_payments && !req.plan.payment_windows.is_empty() {
            self.read_payment_failures(&filter, &mut b, end).await?;
        }
        if req.plan.needs_churn_risk {
            self.read_churn_predictions(shard, &index, req.dates, &mut b)
                .await?;
        }
        Ok(b.finish())
    }

    /// [`Store::load_signals_with`]'s churn predictions: for each as-of
    /// date, the latest prediction day on or before it (core's
    /// [`churn_prediction_day`] drops one too old), then the shard's rows
    /// of those days only. A day stored after an as-of date is never read
    /// for it.
    async fn read_churn_predictions(
        &self,
        shard: Shard<'_>,
        index: &AccountIndex<'_>,
        dates: &[Date],
        b: &mut SignalsBuilder,
    ) -> Result<()> {
        let mut as_of: Vec<Date> = dates.to_vec();
        as_of.sort_unstable();
        as_of.dedup();
        let mut days: Vec<Date> = Vec::new();
        for d in as_of {
            let mut latest: Option<String> = None;
            self.scan(
                "SELECT MAX(day) FROM churn_predictions WHERE day <= $1",
                &[Bind::Text(d.to_string())],
                |row| {
                    latest = row.opt_text(0)?.map(str::to_string);
                    Ok(())
                },
            )
            .await?;
            if let Some(day) = latest.as_deref().map(parse_day).transpose()?
                && churn_prediction_day(&[day], d).is_some()
                && !days.contains(&day)
            {
                days.push(day);
            }
        }
        b.churn_prediction_days(&days);
        for chunk in days.chunks(300) {
            let list: Vec<String> = (1..=chunk.len()).map(|k| format!("${k}")).collect();
            let (pred, binds) = shard.predicate(chunk.len() + 1);
            let sql = format!(
                "SELECT account_id, day, probability FROM churn_predictions \
                 WHERE day IN ({}){pred}",
                list.join(", ")
            );
            let mut all: Vec<Bind> = chunk.iter().map(|d| Bind::Text(d.to_string())).collect();
            all.extend(binds.into_iter().map(Bind::Text));
            self.scan(&sql, &all, |row| {
                if let Some(&i) = index.get(row.text(0)?)
                    && let Some(p) = row.opt_real(2)?
                {
                    b.churn_prediction(i, parse_day(row.text(1)?)?, p);
                }
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    /// [`Store::load_signals_with`]'s events from `horizon` to `end`
    /// (microseconds), aggregated in SQL to one row per account, user, name
    /// and day.
    async fn read_events(
        &self,
        shard: Shard<'_>,
        index: &AccountIndex<'_>,
        b: &mut SignalsBuilder,
        horizon: i64,
        end: i64,
    ) -> Result<()> {
        let (pred, binds) = shard.predicate(3);
        let sql = format!(
            "SELECT account_id, user_id, event, MIN(ts), COUNT(*) FROM events \
             WHERE ts >= $1 AND ts < $2{pred} \
             GROUP BY account_id, user_id, event, ts / {MICROS_PER_DAY}"
        );
        let mut all = vec![Bind::Int(horizon), Bind::Int(end)];
        all.extend(binds.into_iter().map(Bind::Text));
        self.scan(&sql, &all, |row| {
            if let Some(&i) = index.get(row.text(0)?) {
                let n = u32::try_from(row.int(4)?).unwrap_or(u32::MAX);
                b.events(i, row.text(1)?, row.text(2)?, row.int(3)?, n);
            }
            Ok(())
        })
        .await
    }

    /// [`Store::load_signals_with`]'s subscriptions; returns, per account
    /// position (`n` accounts), its subscriptions' seat spans.
    async fn read_subscriptions(
        &self,
        filter: &ShardFilter<'_, '_>,
        b: &mut SignalsBuilder,
        n: usize,
    ) -> Result<Vec<Vec<SeatSpan>>> {
        let ShardFilter { index, pred, binds } = filter;
        // Per account, its subscriptions: (start, end, seats or 0).
        let mut seat_spans: Vec<Vec<SeatSpan>> = vec![Vec::new(); n];
        let sql = format!(
            "SELECT account_id, mrr_minor, currency, seats, start_date, end_date, renewal_date \
             FROM subscriptions WHERE 1 = 1{pred}"
        );
        self.scan(&sql, binds, |row| {
            let account = row.text(0)?;
            let Some(&i) = index.get(account) else {
                return Ok(());
            };
            let cur = row.text(2)?;
            let currency =
                Currency::parse(cur).map_err(|_| decode(format!("bad currency {cur:?}")))?;
            let seats = row.opt_int(3)?;
            let start = parse_day(row.text(4)?)?;
            let stop = row.opt_text(5)?.map(parse_day).transpose()?;
            seat_spans[i].push((start, stop, seats.unwrap_or(0)));
            let sub = Subscription {
                id: String::new(),
                account_id: account.to_string(),
                mrr: Money::new(row.int(1)?, currency),
                plan: None,
                seats,
                start_date: start,
                end_date: stop,
                renewal_date: row.opt_text(6)?.map(parse_day).transpose()?,
            };
            // Callers check rates first with `subscription_currencies`.
            b.subscription(i, &sub)
                .map_err(|e| decode(format!("subscriptions: {e}")))
        })
        .await?;
        Ok(seat_spans)
    }

    /// [`Store::load_signals_with`]'s known users: the users of the
    /// accounts at positions `needy` first seen before `known_before`
    /// (microseconds); the whole shard in one read when they are most of it.
    async fn read_known_users(
        &self,
        shard: Shard<'_>,
        index: &AccountIndex<'_>,
        needy: &[usize],
        b: &mut SignalsBuilder,
        known_before: i64,
    ) -> Result<()> {
        // Each user's first day comes from the `usage_user_first`
        // rollup (one row per account and user), not from the events.
        let before_day = known_before.div_euclid(MICROS_PER_DAY);
        let mut feed = |row: &dyn ScanRow| -> Result<()> {
            if let Some(&i) = index.get(row.text(0)?) {
                b.user_first_seen(i, row.text(1)?, row.int(2)? * MICROS_PER_DAY);
            }
            Ok(())
        };
        if needy.len() * 2 > shard.accounts.len() {
            let (pred, binds) = shard.predicate(2);
            let sql = format!(
                "SELECT account_id, user_id, first_day FROM usage_user_first \
                 WHERE first_day < $1{pred}"
            );
            let mut all = vec![Bind::Int(before_day)];
            all.extend(binds.into_iter().map(Bind::Text));
            self.scan(&sql, &all, &mut feed).await?;
        } else {
            for chunk in needy.chunks(500) {
                let list: Vec<String> = (0..chunk.len()).map(|k| format!("${}", k + 2)).collect();
                let sql = format!(
                    "SELECT account_id, user_id, first_day FROM usage_user_first \
                     WHERE first_day < $1 AND account_id IN ({})",
                    list.join(", ")
                );
                let mut all = vec![Bind::Int(before_day)];
                all.extend(
                    chunk
                        .iter()
                        .map(|&i| Bind::Text(shard.accounts[i].id.clone())),
                );
                self.scan(&sql, &all, &mut feed).await?;
            }
        }
        Ok(())
    }

    /// [`Store::load_signals_with`]'s tickets: opened before `end`, and
    /// open at `first_end` (the end of the first as-of date) or later.
    async fn read_tickets(
        &self,
        filter: &ShardFilter<'_, '_>,
        b: &mut SignalsBuilder,
        end: i64,
        first_end: i64,
    ) -> Result<()> {
        let ShardFilter { index, pred, binds } = filter;
        let sql = format!(
            "SELECT account_id, opened_at, closed_at, priority FROM tickets \
             WHERE opened_at < {end} AND (closed_at IS NULL OR closed_at >= {first_end}){pred}"
        );
        self.scan(&sql, binds, |row| {
            if let Some(&i) = index.get(row.text(0)?) {
                let priority = row.opt_text(3)?.and_then(|p| Priority::parse(p).ok());
                b.ticket(i, row.int(1)?, row.opt_int(2)?, priority);
            }
            Ok(())
        })
        .await
    }

    /// [`Store::load_signals_with`]'s survey responses before `end`: every
    /// NPS answer, CSAT answers from `csat_from` on.
    async fn read_survey_responses(
        &self,
        filter: &ShardFilter<'_, '_>,
        b: &mut SignalsBuilder,
        csat_from: i64,
        end: i64,
    ) -> Result<()> {
        let ShardFilter { index, pred, binds } = filter;
        let sql = format!(
            "SELECT account_id, kind, score, responded_at FROM survey_responses \
             WHERE (kind = 'nps' OR (kind = 'csat' AND responded_at >= {csat_from})) \
             AND responded_at < {end}{pred}"
        );
        self.scan(&sql, binds, |row| {
            if let Some(&i) = index.get(row.text(0)?)
                && let Ok(kind) = SurveyKind::parse(row.text(1)?)
            {
                b.survey_response(i, kind, row.int(2)?, row.int(3)?);
            }
            Ok(())
        })
        .await
    }

    /// [`Store::load_signals_with`]'s engagements before `end`: the latest
    /// of each account, and of each day unless there is `one_date`.
    async fn read_engagements(
        &self,
        filter: &ShardFilter<'_, '_>,
        b: &mut SignalsBuilder,
        one_date: bool,
        end: i64,
    ) -> Result<()> {
        let ShardFilter { index, pred, binds } = filter;
        let per_day = if one_date {
            String::new()
        } else {
            format!(", occurred_at / {MICROS_PER_DAY}")
        };
        let sql = format!(
            "SELECT account_id, MAX(occurred_at) FROM engagements \
             WHERE occurred_at < {end}{pred} GROUP BY account_id{per_day}"
        );
        self.scan(&sql, binds, |row| {
            if let Some(&i) = index.get(row.text(0)?) {
                b.engagement(i, row.int(1)?);
            }
            Ok(())
        })
        .await
    }

    /// [`Store::load_signals_with`]'s payment failures before `end`.
    async fn read_payment_failures(
        &self,
        filter: &ShardFilter<'_, '_>,
        b: &mut SignalsBuilder,
        end: i64,
    ) -> Result<()> {
        let ShardFilter { index, pred, binds } = filter;
        let sql = format!(
            "SELECT account_id, occurred_at FROM payment_failures \
             WHERE occurred_at < {end}{pred}"
        );
        self.scan(&sql, binds, |row| {
            if let Some(&i) = index.get(row.text(0)?) {
                b.payment_failure(i, row.int(1)?);
            }
            Ok(())
        })
        .await
    }

    /// The distinct currencies of all subscriptions, to check exchange rates
    /// before loading signals.
    pub async fn subscription_currencies(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let sql = "SELECT DISTINCT currency FROM subscriptions ORDER BY currency";
        self.scan(sql, &[], |row| {
            out.push(row.text(0)?.to_string());
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// The first day each account paid: the earliest start of its
    /// subscriptions with MRR above zero.
    pub async fn first_paid_days(&self) -> Result<Vec<(String, Date)>> {
        let mut out = Vec::new();
        self.scan(
            "SELECT account_id, MIN(start_date) FROM subscriptions WHERE mrr_minor > 0 \
             GROUP BY account_id",
            &[],
            |row| {
                out.push((row.text(0)?.to_string(), super::parse_day(row.text(1)?)?));
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }

    /// Every subscription with MRR above zero as `(account_id, start_date,
    /// end_date)`, for churn outcomes in backtests.
    pub async fn paying_spans(&self) -> Result<Vec<(String, Date, Option<Date>)>> {
        let mut rows = sqlx::query(
            "SELECT account_id, start_date, end_date FROM subscriptions WHERE mrr_minor > 0",
        )
        .fetch(&self.pool);
        let mut out = Vec::new();
        while let Some(row) = rows.try_next().await? {
            out.push((row.try_get(0)?, get_day(&row, 1)?, get_opt_day(&row, 2)?));
        }
        Ok(out)
    }
}
