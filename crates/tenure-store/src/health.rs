//! Health scores' SQL (DESIGN §5): bulk signal loading, daily snapshots,
//! manual overrides and the audit log.
//!
//! **Signals** are loaded for a *shard* of accounts (a run of consecutive
//! accounts in the database's own id order, or all of them) and any number of
//! as-of dates with one query per table, never one per account:
//!
//! * for one date ([`Store::load_signals_on`], today's scores), the usage
//!   rollups that triggers keep as events are written (`usage_days`,
//!   `usage_users`, migration 0005) feed the core [`DayEvents`];
//! * for many dates ([`Store::load_signals`]), events inside the scorecards'
//!   horizon are read through the `events_ts` index and aggregated in SQL to
//!   one row per account, user, event name and day, which the core
//!   [`SignalsBuilder`] takes with a count;
//! * known users (distinct users ever seen) come from `usage_user_first`,
//!   each user's first day;
//! * subscriptions, tickets (those still open on the first date), survey
//!   responses, engagements and payment failures are few and streamed.
//!
//! Rows dated after the last as-of date are filtered in SQL or dropped by the
//! builder, so a score for a past day only sees what existed on that day.
//!
//! **Snapshots** store numbers only; the measure names and weights live once
//! per scorecard version in `health_scorecards`.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use jiff::civil::Date;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use tenure_core::config::CurrencyConfig;
use tenure_core::health::{
    AccountSignals, Band, DayEvents, EventFilter, HealthConfig, HealthModel, HealthScore, Override,
    SignalPlan, SignalsBuilder, SignalsTable, Window,
};
use tenure_core::model::{
    Account, Currency, Money, Priority, Subscription, SurveyKind, date_from_day, day_number,
};

use crate::bulk::{numbered_placeholders, push_value_tuples};
use crate::rows::{Record, from_row, select_list, select_list_without};
use crate::scan::{Bind, ScanRow};
use crate::{Backend, Kind, Result, Store, StoreError};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A run of consecutive accounts in the database's id order: index `i` of
/// the signals is `accounts[i]`. Rows of other accounts are not read.
#[derive(Debug, Clone, Copy)]
pub struct Shard<'a> {
    pub accounts: &'a [Account],
    /// Lowest account id of the shard; `None` for the first shard.
    pub from: Option<&'a str>,
    /// First account id after the shard; `None` for the last shard.
    pub before: Option<&'a str>,
}

impl<'a> Shard<'a> {
    /// Splits accounts listed by [`Store::health_accounts`] (database order)
    /// into shards of at most `size` accounts.
    pub fn split(accounts: &'a [Account], size: usize) -> Vec<Shard<'a>> {
        let size = size.max(1);
        let n = accounts.len();
        let mut shards = Vec::new();
        let mut start = 0;
        while start < n || (n == 0 && shards.is_empty()) {
            let end = (start + size).min(n);
            shards.push(Shard {
                accounts: &accounts[start..end],
                from: (start > 0).then(|| accounts[start].id.as_str()),
                before: (end < n).then(|| accounts[end].id.as_str()),
            });
            if n == 0 {
                break;
            }
            start = end;
        }
        shards
    }

    /// The shard holding only `accounts[i]`.
    pub fn one(accounts: &'a [Account], i: usize) -> Shard<'a> {
        Shard {
            accounts: &accounts[i..=i],
            from: Some(accounts[i].id.as_str()),
            before: accounts.get(i + 1).map(|a| a.id.as_str()),
        }
    }

    /// The position of each of the shard's accounts, by id.
    pub fn index(&self) -> AccountIndex<'a> {
        self.accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.as_str(), i))
            .collect()
    }

    /// The shard cut into at most `n` runs of about equal size, which
    /// together read exactly the shard's rows.
    pub fn parts(&self, n: usize) -> Vec<Shard<'a>> {
        let len = self.accounts.len();
        let n = n.clamp(1, len.max(1));
        let cut = |k: usize| len * k / n;
        (0..n)
            .map(|k| Shard {
                accounts: &self.accounts[cut(k)..cut(k + 1)],
                from: if k == 0 {
                    self.from
                } else {
                    Some(self.accounts[cut(k)].id.as_str())
                },
                before: if k + 1 == n {
                    self.before
                } else {
                    Some(self.accounts[cut(k + 1)].id.as_str())
                },
            })
            .collect()
    }

    /// `AND account_id >= $k AND account_id < $k+1` for the bounds that are set,
    /// numbering placeholders from `next`; returns the bound values in order.
    fn predicate(&self, next: usize) -> (String, Vec<String>) {
        self.predicate_on("account_id", next)
    }

    /// [`Shard::predicate`] on another column holding account ids.
    fn predicate_on(&self, column: &str, next: usize) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut binds = Vec::new();
        let mut p = next;
        if let Some(from) = self.from {
            sql.push_str(&format!(" AND {column} >= ${p}"));
            binds.push(from.to_string());
            p += 1;
        }
        if let Some(before) = self.before {
            sql.push_str(&format!(" AND {column} < ${p}"));
            binds.push(before.to_string());
        }
        (sql, binds)
    }
}

/// `lo, lo + 1, ..., hi` as SQL integer literals (day numbers, not input).
fn day_list(lo: i32, hi: i32) -> String {
    (lo..=hi)
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// First and last day number of a window on an as-of date.
fn window_days(w: &Window, as_of: Date) -> (i32, i32) {
    let (lo, hi) = w.range(as_of);
    (day_number(lo), day_number(hi))
}

/// The signals of accounts `0..n` on a table's first date, one run of
/// accounts per core.
fn signals_on(table: &SignalsTable, n: usize) -> Vec<AccountSignals> {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let per_run = n.div_ceil(cores).max(10_000);
    if per_run >= n {
        return (0..n).map(|i| table.signals(0, i)).collect();
    }
    let runs: Vec<std::ops::Range<usize>> = (0..n)
        .step_by(per_run)
        .map(|a| a..(a + per_run).min(n))
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .into_iter()
            .map(|run| scope.spawn(move || run.map(|i| table.signals(0, i)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// What a column of a [`DaySlots`] query holds.
#[derive(Debug, Clone, Copy)]
enum SlotColumn {
    /// Events in event window `slot`.
    Count(usize),
    /// 1 when feature `bit` of feature window `slot` was used, else 0.
    Feature(usize, u32),
}

/// The event slots of [`Store::load_signals_on`] as the database summed
/// them: per account position, the values of the active-user windows, and
/// the event slots of one or two queries (totals, named events), each with
/// what its columns hold.
#[derive(Debug, Default)]
struct DaySlots {
    users: Grouped,
    events: Vec<(Vec<SlotColumn>, Grouped)>,
}

/// Rows of a grouped query: an account's position and its numbers.
type Grouped = Vec<(usize, Vec<i64>)>;

impl DaySlots {
    fn apply(self, out: &mut [AccountSignals]) {
        for (i, v) in self.users {
            for (slot, &x) in v.iter().enumerate() {
                out[i].active_users[slot] = u32::try_from(x).unwrap_or(u32::MAX);
            }
        }
        for (columns, rows) in self.events {
            for (i, v) in rows {
                let s = &mut out[i];
                for (c, x) in columns.iter().zip(v) {
                    match *c {
                        SlotColumn::Count(slot) => {
                            s.event_counts[slot] += u64::try_from(x).unwrap_or(0);
                        }
                        SlotColumn::Feature(slot, bit) if x > 0 => {
                            s.features_used[slot] |= 1 << bit;
                        }
                        SlotColumn::Feature(..) => {}
                    }
                }
            }
        }
    }
}

/// Each event name's bit in `usage_totals.names` (migration 0006): names
/// numbered 1 to 62 have bit `number - 1`, later ones none.
struct NameBits(HashMap<String, i64>);

impl NameBits {
    /// As [`DayEvents::use_totals`] wants it: `Some(0)` for a name never
    /// seen, `None` for one without a bit.
    fn bit(&self, name: &str) -> Option<u64> {
        match self.0.get(name) {
            None => Some(0),
            Some(&id) if (1..=62).contains(&id) => Some(1 << (id - 1)),
            Some(_) => None,
        }
    }
}

/// Account positions by id, with a fast hash: every row of the tables read
/// for health looks its account up here.
pub type AccountIndex<'a> = HashMap<&'a str, usize, foldhash::fast::RandomState>;

/// A shard's account ids sorted by their bytes (SQLite's order for text
/// keys), packed in one buffer, with each one's position in the shard.
/// Rollup rows come sorted by account id within each day or block, so a
/// [`IdCursor`] finds their accounts by walking forward instead of hashing
/// every id into a table scattered over memory (which measured as the
/// largest cost of reading the rollups).
struct SortedIds {
    bytes: String,
    /// (start in `bytes`, end, position in the shard), sorted by id.
    spans: Vec<(usize, usize, usize)>,
}

impl SortedIds {
    fn new(accounts: &[Account]) -> SortedIds {
        let mut order: Vec<usize> = (0..accounts.len()).collect();
        order.sort_unstable_by(|&a, &b| accounts[a].id.as_bytes().cmp(accounts[b].id.as_bytes()));
        let mut bytes = String::new();
        let mut spans = Vec::with_capacity(order.len());
        for i in order {
            let start = bytes.len();
            bytes.push_str(&accounts[i].id);
            spans.push((start, bytes.len(), i));
        }
        SortedIds { bytes, spans }
    }

    fn key(&self, k: usize) -> &[u8] {
        let (a, b, _) = self.spans[k];
        &self.bytes.as_bytes()[a..b]
    }

    fn cursor(&self) -> IdCursor<'_> {
        IdCursor {
            ids: self,
            pos: 0,
            group: None,
        }
    }
}

/// Walks [`SortedIds`] along rows sorted by (group, account id).
struct IdCursor<'a> {
    ids: &'a SortedIds,
    pos: usize,
    group: Option<i64>,
}

impl IdCursor<'_> {
    /// The shard position of account `id` on a row of `group` (a day or a
    /// block); `None` for an account outside the shard. Rows must come in
    /// order of group, then id within a group.
    fn find(&mut self, group: i64, id: &str) -> Option<usize> {
        if self.group != Some(group) {
            self.group = Some(group);
            self.pos = 0;
        }
        let id = id.as_bytes();
        let n = self.ids.spans.len();
        while self.pos < n && self.ids.key(self.pos) < id {
            self.pos += 1;
        }
        (self.pos < n && self.ids.key(self.pos) == id).then(|| self.ids.spans[self.pos].2)
    }
}

/// What to load signals for.
#[derive(Debug, Clone, Copy)]
pub struct SignalsRequest<'a> {
    pub plan: &'a SignalPlan,
    pub currency: &'a CurrencyConfig,
    /// As-of dates, any order.
    pub dates: &'a [Date],
    pub shard: Shard<'a>,
    /// Whether payment failures are tracked, see [`Store::payments_tracked`].
    pub track_payments: bool,
}

/// A stored daily score.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub account_id: String,
    pub day: Date,
    pub score: Option<f64>,
    pub band: Option<Band>,
    pub computed: Option<f64>,
    pub override_id: Option<i64>,
    pub scorecard_version: String,
    /// One per measure, in the order of the scorecard version's
    /// [`StoredScorecard::measures`] (names live there, once).
    pub measures: Vec<StoredMeasure>,
}

impl Snapshot {
    /// The snapshot of a score computed for `account_id` (`override_id`:
    /// the stored override the score applied, if any).
    pub fn of(account_id: &str, score: &HealthScore, override_id: Option<i64>) -> Snapshot {
        Snapshot {
            account_id: account_id.to_string(),
            day: score.as_of,
            score: score.score,
            band: score.band,
            computed: score.computed,
            override_id,
            scorecard_version: score.scorecard_version.to_string(),
            measures: score
                .measures
                .iter()
                .map(|m| StoredMeasure {
                    raw: m.raw,
                    points: m.normalised,
                    contribution: m.contribution,
                })
                .collect(),
        }
    }
}

/// One measure of a stored score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredMeasure {
    /// The raw value; `None` when the account had no data for it.
    pub raw: Option<f64>,
    /// The normalised value, 0–100.
    pub points: Option<f64>,
    /// Points it added to the score.
    pub contribution: f64,
}

/// The `measures` column: `[[raw, points, contribution], ...]`. The store
/// is the only place that reads or writes this text.
fn encode_measures(measures: &[StoredMeasure]) -> String {
    let rows: Vec<(Option<f64>, Option<f64>, f64)> = measures
        .iter()
        .map(|m| (m.raw, m.points, m.contribution))
        .collect();
    serde_json::to_string(&rows).expect("numbers always serialize")
}

fn decode_measures(text: &str) -> Result<Vec<StoredMeasure>> {
    let rows: Vec<(Option<f64>, Option<f64>, Option<f64>)> = serde_json::from_str(text)
        .map_err(|e| decode(format!("bad snapshot measures {text:?}: {e}")))?;
    Ok(rows
        .into_iter()
        .map(|(raw, points, contribution)| StoredMeasure {
            raw,
            points,
            contribution: contribution.unwrap_or(0.0),
        })
        .collect())
}

fn decode_band(text: Option<String>) -> Result<Option<Band>> {
    text.map(|t| Band::parse(&t).ok_or_else(|| decode(format!("bad band {t:?}"))))
        .transpose()
}

/// A scorecard version as stored with the snapshots.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredScorecard {
    pub version: String,
    pub name: String,
    pub measures: Vec<ScorecardMeasure>,
}

impl StoredScorecard {
    /// Every scorecard of `model` (as configured in `config`), for
    /// [`Store::save_scorecards`].
    pub fn all_of(model: &HealthModel, config: &HealthConfig) -> Vec<StoredScorecard> {
        config
            .all_scorecards()
            .enumerate()
            .map(|(i, card)| StoredScorecard {
                version: model.scorecard_version(i).to_string(),
                name: card.name.clone(),
                measures: card
                    .measures
                    .iter()
                    .map(|m| ScorecardMeasure {
                        name: m.name.clone(),
                        kind: m.kind.name().to_string(),
                        weight: m.weight,
                    })
                    .collect(),
            })
            .collect()
    }
}

/// A measure of a stored scorecard version.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScorecardMeasure {
    pub name: String,
    pub kind: String,
    pub weight: f64,
}

/// A manual override as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OverrideRow {
    pub id: i64,
    pub account_id: String,
    pub score: f64,
    pub reason: String,
    pub author: String,
    pub set_on: Date,
    pub until: Date,
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// Cleared: it no longer applies from this day on.
    pub cleared_on: Option<Date>,
    pub cleared_by: Option<String>,
}

impl OverrideRow {
    /// The last day it applies: `until`, or the day before it was cleared.
    pub fn last_day(&self) -> Date {
        match self.cleared_on {
            Some(c) => date_from_day(day_number(c) - 1).min(self.until),
            None => self.until,
        }
    }

    /// Whether it applies on `day`.
    pub fn applies_on(&self, day: Date) -> bool {
        self.set_on <= day && day <= self.last_day()
    }

    /// The core override, with clearing folded into its last day; `None`
    /// when it was cleared before it ever applied.
    pub fn to_override(&self) -> Option<Override> {
        let until = self.last_day();
        (until >= self.set_on).then(|| Override {
            score: self.score,
            reason: self.reason.clone(),
            author: self.author.clone(),
            set_on: self.set_on,
            until,
        })
    }
}

/// A new manual override.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOverride {
    pub account_id: String,
    pub score: f64,
    pub reason: String,
    pub author: String,
    /// The day it is made (today): it applies from then on.
    pub set_on: Date,
    pub until: Date,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    /// Microseconds since the epoch.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    /// JSON object.
    pub details: String,
}

fn decode(msg: String) -> StoreError {
    StoreError::Sql(sqlx::Error::Decode(msg.into()))
}

fn parse_day(s: &str) -> Result<Date> {
    s.parse().map_err(|_| decode(format!("bad date {s:?}")))
}

fn get_day(row: &AnyRow, i: usize) -> Result<Date> {
    let s: String = row.try_get(i)?;
    s.parse()
        .map_err(|_| StoreError::Sql(sqlx::Error::Decode(format!("bad date {s:?}").into())))
}

fn get_opt_day(row: &AnyRow, i: usize) -> Result<Option<Date>> {
    let s: Option<String> = row.try_get(i)?;
    s.map(|s| {
        s.parse()
            .map_err(|_| StoreError::Sql(sqlx::Error::Decode(format!("bad date {s:?}").into())))
    })
    .transpose()
}

/// Start of the UTC day after `d`, in microseconds.
fn end_micros(d: Date) -> i64 {
    i64::from(day_number(d) + 1) * MICROS_PER_DAY
}

const OVERRIDE_COLUMNS: &str = "id, account_id, score, reason, author, set_on, valid_until, \
                                created_at, cleared_on, cleared_by";

fn override_row(row: &AnyRow) -> Result<OverrideRow> {
    Ok(OverrideRow {
        id: row.try_get(0)?,
        account_id: row.try_get(1)?,
        score: row.try_get(2)?,
        reason: row.try_get(3)?,
        author: row.try_get(4)?,
        set_on: get_day(row, 5)?,
        until: get_day(row, 6)?,
        created_at: row.try_get(7)?,
        cleared_on: get_opt_day(row, 8)?,
        cleared_by: row.try_get(9)?,
    })
}

const SNAPSHOT_COLUMNS: &str =
    "account_id, day, score, band, computed, override_id, scorecard_version, measures";

fn snapshot_row(row: &AnyRow) -> Result<Snapshot> {
    let measures: String = row.try_get(7)?;
    Ok(Snapshot {
        account_id: row.try_get(0)?,
        day: get_day(row, 1)?,
        score: row.try_get(2)?,
        band: decode_band(row.try_get(3)?)?,
        computed: row.try_get(4)?,
        override_id: row.try_get(5)?,
        scorecard_version: row.try_get(6)?,
        measures: decode_measures(&measures)?,
    })
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

    /// The signals of a shard of accounts on one as-of date (the first of
    /// `req.dates`), one per account. The events' part comes from the usage
    /// rollups (`usage_days`, `usage_users`), which triggers keep up to date
    /// as events are written: a row per account, day and event name and a
    /// row per user and 64 days instead of every event. Much faster than
    /// [`Store::load_signals`] for a single day, with the same result.
    pub async fn load_signals_on(&self, req: SignalsRequest<'_>) -> Result<Vec<AccountSignals>> {
        let Some(&as_of) = req.dates.first() else {
            return Ok(Vec::new());
        };
        let req = SignalsRequest {
            dates: std::slice::from_ref(&as_of),
            ..req
        };
        let n = req.shard.accounts.len();
        let load = async {
            let table = self.load_signals_with(req, false).await?;
            Ok::<_, StoreError>(signals_on(&table, n))
        };
        if self.scans_in_parallel() {
            // On a SQLite file every read here is a `rusqlite` scan that
            // completes without waiting on the async runtime: the other
            // tables are read on one thread while the rollups are read on
            // others, each driven to completion by a plain executor.
            let (out, days) = crate::scan::run_blocking(|| {
                std::thread::scope(|s| {
                    let other = s.spawn(|| futures_executor::block_on(load));
                    let days = futures_executor::block_on(self.day_events_by_scan(req, as_of));
                    let out = other
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p));
                    (out, days)
                })
            });
            let (mut out, days) = (out?, days?);
            days.apply(&mut out);
            Ok(out)
        } else {
            let (mut out, slots) =
                futures_util::future::try_join(load, self.day_slots_in_sql(req, as_of)).await?;
            slots.apply(&mut out);
            Ok(out)
        }
    }

    /// [`Store::load_signals_on`]'s event slots aggregated by the database
    /// (PostgreSQL, in-memory SQLite): one `GROUP BY account_id` over each
    /// rollup, the shard cut into one part per core, each part on its own
    /// connection, so that only one row per account and table comes back.
    async fn day_slots_in_sql(&self, req: SignalsRequest<'_>, as_of: Date) -> Result<DaySlots> {
        let plan = req.plan;
        let mut probe = DayEvents::new(plan, as_of, 0);
        let index = req.shard.index();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let parts = req.shard.parts(cores.min(4));
        let mut slots = DaySlots::default();

        if let Some((lo, hi)) = probe.event_days() {
            let bits = self.name_bits().await?;
            probe.use_totals(|name| bits.bit(name));
            let named = probe.named_events();
            let by_name = !named.is_empty();
            let inside = |w: &Window| {
                let (lo, hi) = window_days(w, as_of);
                format!("day >= {lo} AND day <= {hi}")
            };
            // Totals: windows of every event, and features with bits.
            let mut cols = Vec::new();
            let mut columns = Vec::new();
            for (slot, ew) in plan.event_windows.iter().enumerate() {
                if plan.event_filters[ew.filter] == EventFilter::All {
                    cols.push(format!(
                        "CAST(SUM(CASE WHEN {} THEN n ELSE 0 END) AS BIGINT)",
                        inside(&ew.window)
                    ));
                    columns.push(SlotColumn::Count(slot));
                }
            }
            if let Some(feature_bits) = probe.feature_bits() {
                for (slot, fw) in plan.feature_windows.iter().enumerate() {
                    for (k, b) in feature_bits[slot].iter().enumerate() {
                        // A bit is a number below 2^62, never input.
                        cols.push(format!(
                            "CAST(MAX(CASE WHEN {} AND (names & {b}) <> 0 THEN 1 ELSE 0 END) \
                             AS BIGINT)",
                            inside(&fw.window)
                        ));
                        columns.push(SlotColumn::Feature(slot, k as u32));
                    }
                }
            }
            if !cols.is_empty() {
                let sql = |pred: &str| {
                    format!(
                        "SELECT account_id, {} FROM usage_totals WHERE day IN ({}){pred} \
                         GROUP BY account_id",
                        cols.join(", "),
                        day_list(lo, hi)
                    )
                };
                let rows = self.grouped(&parts, &index, &[], cols.len(), sql).await?;
                slots.events.push((columns, rows));
            }
            // Named events: their own windows, and features without bits.
            if by_name {
                let binds: Vec<Bind> = named.iter().map(|n| Bind::Text(n.to_string())).collect();
                let param = |name: &str| {
                    let k = named.iter().position(|n| *n == name).unwrap_or(0);
                    format!("${}", k + 1)
                };
                let mut cols = Vec::new();
                let mut columns = Vec::new();
                for (slot, ew) in plan.event_windows.iter().enumerate() {
                    if let EventFilter::Named(list) = &plan.event_filters[ew.filter] {
                        let ps: Vec<String> = list.iter().map(|n| param(n)).collect();
                        cols.push(format!(
                            "CAST(SUM(CASE WHEN {} AND event IN ({}) THEN n ELSE 0 END) \
                             AS BIGINT)",
                            inside(&ew.window),
                            ps.join(", ")
                        ));
                        columns.push(SlotColumn::Count(slot));
                    }
                }
                if probe.feature_bits().is_none() {
                    for (slot, fw) in plan.feature_windows.iter().enumerate() {
                        for (k, f) in fw.features.iter().take(64).enumerate() {
                            cols.push(format!(
                                "CAST(MAX(CASE WHEN {} AND event = {} THEN 1 ELSE 0 END) \
                                 AS BIGINT)",
                                inside(&fw.window),
                                param(f)
                            ));
                            columns.push(SlotColumn::Feature(slot, k as u32));
                        }
                    }
                }
                let all: Vec<String> = (1..=named.len()).map(|k| format!("${k}")).collect();
                let sql = |pred: &str| {
                    format!(
                        "SELECT account_id, {} FROM usage_days WHERE day IN ({}) \
                         AND event IN ({}){pred} GROUP BY account_id",
                        cols.join(", "),
                        day_list(lo, hi),
                        all.join(", ")
                    )
                };
                let rows = self
                    .grouped(&parts, &index, &binds, cols.len(), sql)
                    .await?;
                slots.events.push((columns, rows));
            }
        }
        if let Some((lo, hi)) = probe.user_days() {
            let mut cols = Vec::new();
            let mut binds = vec![
                Bind::Int(lo.div_euclid(64).into()),
                Bind::Int(hi.div_euclid(64).into()),
            ];
            for blocks in probe.user_blocks() {
                let mut any = Vec::new();
                for (first, mask) in blocks {
                    binds.push(Bind::Int(mask as i64));
                    any.push(format!(
                        "(block = {} AND (days & ${}) <> 0)",
                        first / 64,
                        binds.len()
                    ));
                }
                cols.push(format!(
                    "COUNT(DISTINCT CASE WHEN {} THEN user_id END)",
                    any.join(" OR ")
                ));
            }
            let sql = |pred: &str| {
                format!(
                    "SELECT account_id, {} FROM usage_users WHERE block >= $1 AND block <= $2{pred} \
                     GROUP BY account_id",
                    cols.join(", ")
                )
            };
            slots.users = self
                .grouped(&parts, &index, &binds, cols.len(), sql)
                .await?;
        }
        Ok(slots)
    }

    /// Runs a `SELECT account_id, <numbers> ... GROUP BY account_id` once
    /// per part of a shard (`sql` gets the part's account predicate, whose
    /// placeholders follow `binds`), at once; returns each known account's
    /// position and its `width` numbers.
    async fn grouped(
        &self,
        parts: &[Shard<'_>],
        index: &AccountIndex<'_>,
        binds: &[Bind],
        width: usize,
        sql: impl Fn(&str) -> String,
    ) -> Result<Grouped> {
        let queries = parts.iter().map(|part| {
            let (pred, more) = part.predicate(binds.len() + 1);
            let mut all = binds.to_vec();
            all.extend(more.into_iter().map(Bind::Text));
            let sql = sql(&pred);
            async move {
                let mut out = Vec::new();
                self.scan(&sql, &all, |row| {
                    if let Some(&i) = index.get(row.text(0)?) {
                        let v = (1..=width).map(|c| row.int(c)).collect::<Result<_>>()?;
                        out.push((i, v));
                    }
                    Ok(())
                })
                .await?;
                Ok::<_, StoreError>(out)
            }
        });
        let parts = futures_util::future::try_join_all(queries).await?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// Each event name's bit in `usage_totals.names`.
    async fn name_bits(&self) -> Result<NameBits> {
        let mut out = HashMap::new();
        self.scan("SELECT id, name FROM usage_names", &[], |row| {
            out.insert(row.text(1)?.to_string(), row.int(0)?);
            Ok(())
        })
        .await?;
        Ok(NameBits(out))
    }

    /// The rollup rows of the look-back read out and added up in
    /// [`DayEvents`] (SQLite file): `usage_totals` (and `usage_days` for
    /// named events) split into one day range per core, `usage_users` into
    /// one part per block and run of accounts, each part on its own thread.
    /// SQLite's own `GROUP BY` runs on one core and measured several times
    /// slower.
    async fn day_events_by_scan<'p>(
        &self,
        req: SignalsRequest<'p>,
        as_of: Date,
    ) -> Result<DayEvents<'p>> {
        let plan = req.plan;
        let n = req.shard.accounts.len();
        let ids = SortedIds::new(req.shard.accounts);
        let mut empty = DayEvents::new(plan, as_of, n);
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        if empty.event_days().is_some() {
            let bits = self.name_bits().await?;
            empty.use_totals(|name| bits.bit(name));
        }
        let init = || (empty.clone(), ids.cursor());
        let mut all = empty.clone();
        if let Some((lo, hi)) = all.event_days() {
            // Days hold about the same number of rows each.
            let span = i64::from(hi - lo) + 1;
            let k = (cores as i64).min(span);
            // `day IN (...)` rather than a range: one seek per day, so the
            // account bounds of a small shard (the web page scores one
            // account) also narrow the read.
            let parts = |select: &str, names: &[&str]| -> Vec<(String, Vec<Bind>)> {
                let names: Vec<Bind> = names.iter().map(|n| Bind::Text(n.to_string())).collect();
                let named = if names.is_empty() {
                    String::new()
                } else {
                    let ps: Vec<String> = (1..=names.len()).map(|k| format!("${k}")).collect();
                    format!(" AND event IN ({})", ps.join(", "))
                };
                let (pred, binds) = req.shard.predicate(names.len() + 1);
                (0..k)
                    .map(|i| {
                        let from = lo + (span * i / k) as i32;
                        let to = lo + (span * (i + 1) / k) as i32;
                        let sql = format!(
                            "{select} WHERE day IN ({}){named}{pred} ORDER BY day, account_id",
                            day_list(from, to - 1)
                        );
                        let mut b = names.clone();
                        b.extend(binds.iter().cloned().map(Bind::Text));
                        (sql, b)
                    })
                    .collect()
            };
            let totals = parts("SELECT day, account_id, n, names FROM usage_totals", &[]);
            for (d, _) in self
                .scan_parallel(&totals, init, |(d, cursor), row| {
                    let day = row.int(0)?;
                    if let Some(i) = cursor.find(day, row.text(1)?) {
                        let day = i32::try_from(day).unwrap_or(i32::MAX);
                        let count = u64::try_from(row.int(2)?).unwrap_or(0);
                        d.add_totals(i, day, count, row.int(3)? as u64);
                    }
                    Ok(())
                })
                .await?
            {
                all.merge(d);
            }
            let named = all.named_events();
            if !named.is_empty() {
                let rows = parts("SELECT day, account_id, event, n FROM usage_days", &named);
                for (d, _) in self
                    .scan_parallel(&rows, init, |(d, cursor), row| {
                        let day = row.int(0)?;
                        if let Some(i) = cursor.find(day, row.text(1)?) {
                            let day = i32::try_from(day).unwrap_or(i32::MAX);
                            let count = u64::try_from(row.int(3)?).unwrap_or(0);
                            d.add_named(i, row.text(2)?, day, count);
                        }
                        Ok(())
                    })
                    .await?
                {
                    all.merge(d);
                }
            }
        }
        if let Some((lo, hi)) = all.user_days() {
            // One part per block and run of accounts: `block = $1` keeps
            // the account bounds usable to seek in the primary key. A
            // window spans one or two blocks.
            let blocks: Vec<i64> = (lo.div_euclid(64)..=hi.div_euclid(64))
                .map(i64::from)
                .collect();
            let runs = req.shard.parts((cores / blocks.len()).max(1));
            // Only users active in some window of the block come out.
            let windows = all.user_blocks();
            let mask_of = |block: i64| {
                windows
                    .iter()
                    .flatten()
                    .filter(|(first, _)| i64::from(*first) == block * 64)
                    .fold(0u64, |m, (_, bits)| m | bits)
            };
            // Users are told apart by id only across blocks.
            let ids = all.needs_user_ids();
            let user = if ids { ", user_id" } else { "" };
            let mut parts: Vec<(String, Vec<Bind>)> = Vec::new();
            for &block in &blocks {
                for run in &runs {
                    let (pred, binds) = run.predicate(3);
                    let sql = format!(
                        "SELECT block, account_id, days{user} FROM usage_users \
                         WHERE block = $1 AND (days & $2) <> 0{pred} ORDER BY account_id"
                    );
                    let mut b = vec![Bind::Int(block), Bind::Int(mask_of(block) as i64)];
                    b.extend(binds.into_iter().map(Bind::Text));
                    parts.push((sql, b));
                }
            }
            for (d, _) in self
                .scan_parallel(&parts, init, |(d, cursor), row| {
                    let block = row.int(0)?;
                    if let Some(i) = cursor.find(block, row.text(1)?) {
                        let first = i32::try_from(block * 64).unwrap_or(i32::MAX);
                        let user = if ids { row.text(3)? } else { "" };
                        d.add_user_days(i, user, first, row.int(2)? as u64);
                    }
                    Ok(())
                })
                .await?
            {
                all.merge(d);
            }
        }
        Ok(all)
    }

    async fn load_signals_with(
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
            .await?;
        }

        let (pred, binds) = shard.predicate(1);
        let binds: Vec<Bind> = binds.into_iter().map(Bind::Text).collect();

        // Per account, its subscriptions: (start, end, seats or 0).
        let mut seat_spans: Vec<Vec<(Date, Option<Date>, i64)>> =
            vec![Vec::new(); shard.accounts.len()];
        let sql = format!(
            "SELECT account_id, mrr_minor, currency, seats, start_date, end_date, renewal_date \
             FROM subscriptions WHERE 1 = 1{pred}"
        );
        self.scan(&sql, &binds, |row| {
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
            let needy: Vec<usize> = (0..shard.accounts.len())
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
                            let trial = matches!((a.trial_start, a.trial_end),
                                (Some(s), Some(e)) if s <= d && d <= e);
                            seats <= 0 && (any || trial)
                        })
                })
                .collect();
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
                    let list: Vec<String> =
                        (0..chunk.len()).map(|k| format!("${}", k + 2)).collect();
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
        }

        // Only what some as-of date can use: a ticket closed by the end of
        // the first date is never open on a later one; CSAT answers before
        // every CSAT window are never counted; for a single date only the
        // latest engagement matters.
        let first = req.dates.iter().min().copied().unwrap_or(last);
        let first_end = end_micros(first);
        let sql = format!(
            "SELECT account_id, opened_at, closed_at, priority FROM tickets \
             WHERE opened_at < {end} AND (closed_at IS NULL OR closed_at >= {first_end}){pred}"
        );
        self.scan(&sql, &binds, |row| {
            if let Some(&i) = index.get(row.text(0)?) {
                let priority = row.opt_text(3)?.and_then(|p| Priority::parse(p).ok());
                b.ticket(i, row.int(1)?, row.opt_int(2)?, priority);
            }
            Ok(())
        })
        .await?;

        let csat_from = req
            .plan
            .csat_windows
            .iter()
            .map(|w| i64::from(day_number(w.range(first).0)) * MICROS_PER_DAY)
            .min()
            .unwrap_or(end);
        let sql = format!(
            "SELECT account_id, kind, score, responded_at FROM survey_responses \
             WHERE (kind = 'nps' OR (kind = 'csat' AND responded_at >= {csat_from})) \
             AND responded_at < {end}{pred}"
        );
        self.scan(&sql, &binds, |row| {
            if let Some(&i) = index.get(row.text(0)?)
                && let Ok(kind) = SurveyKind::parse(row.text(1)?)
            {
                b.survey_response(i, kind, row.int(2)?, row.int(3)?);
            }
            Ok(())
        })
        .await?;

        let per_day = if req.dates.len() == 1 {
            String::new()
        } else {
            format!(", occurred_at / {MICROS_PER_DAY}")
        };
        let sql = format!(
            "SELECT account_id, MAX(occurred_at) FROM engagements \
             WHERE occurred_at < {end}{pred} GROUP BY account_id{per_day}"
        );
        self.scan(&sql, &binds, |row| {
            if let Some(&i) = index.get(row.text(0)?) {
                b.engagement(i, row.int(1)?);
            }
            Ok(())
        })
        .await?;

        if req.track_payments && !req.plan.payment_windows.is_empty() {
            let sql = format!(
                "SELECT account_id, occurred_at FROM payment_failures \
                 WHERE occurred_at < {end}{pred}"
            );
            self.scan(&sql, &binds, |row| {
                if let Some(&i) = index.get(row.text(0)?) {
                    b.payment_failure(i, row.int(1)?);
                }
                Ok(())
            })
            .await?;
        }
        Ok(b.finish())
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

    // ----- snapshots ---------------------------------------------------

    /// Records scorecard versions (kept once; existing versions are left as they are).
    pub async fn save_scorecards(&self, cards: &[StoredScorecard], now_micros: i64) -> Result<()> {
        for c in cards {
            sqlx::query(
                "INSERT INTO health_scorecards (version, name, measures, first_used_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO NOTHING",
            )
            .bind(&c.version)
            .bind(&c.name)
            .bind(serde_json::to_string(&c.measures).expect("names and numbers serialize"))
            .bind(now_micros)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Every stored scorecard version.
    pub async fn scorecards(&self) -> Result<HashMap<String, StoredScorecard>> {
        let rows = sqlx::query("SELECT version, name, measures FROM health_scorecards")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let measures: String = r.try_get(2)?;
                let c = StoredScorecard {
                    version: r.try_get(0)?,
                    name: r.try_get(1)?,
                    measures: serde_json::from_str(&measures)
                        .map_err(|e| decode(format!("bad scorecard measures {measures:?}: {e}")))?,
                };
                Ok((c.version.clone(), c))
            })
            .collect()
    }

    /// Writes snapshots (replacing those of the same account and day) in
    /// one transaction: on a SQLite file through one prepared statement on
    /// a `rusqlite` connection (see `scan::write_sqlite`), elsewhere in
    /// multi-row statements.
    pub async fn write_snapshots(&self, snapshots: &[Snapshot], now_micros: i64) -> Result<u64> {
        const UPSERT: &str = " ON CONFLICT (day, account_id) DO UPDATE SET score = excluded.score, \
             band = excluded.band, computed = excluded.computed, \
             override_id = excluded.override_id, \
             scorecard_version = excluded.scorecard_version, \
             measures = excluded.measures, computed_at = excluded.computed_at";
        if let Some(path) = &self.sqlite_file {
            let _guard = self.write_lock.clone().lock_owned().await;
            return crate::scan::run_blocking(|| {
                crate::scan::write_sqlite(path, |tx| {
                    let mut stmt = tx.prepare(&format!(
                        "INSERT INTO health_snapshots ({SNAPSHOT_COLUMNS}, computed_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9){UPSERT}"
                    ))?;
                    let mut written = 0;
                    for s in snapshots {
                        written += stmt.execute(rusqlite::params![
                            s.account_id,
                            s.day.to_string(),
                            s.score,
                            s.band.map(|b| b.as_str()),
                            s.computed,
                            s.override_id,
                            s.scorecard_version,
                            encode_measures(&s.measures),
                            now_micros,
                        ])? as u64;
                    }
                    Ok(written)
                })
            });
        }
        // A fixed, modest batch is prepared once and cached; on in-memory
        // SQLite with anonymous `?` placeholders, which it binds by position.
        const COLS: usize = 9;
        const BATCH: usize = 64;
        let mut tx = self.begin_write().await?;
        let numbered = numbered_placeholders(&tx);
        let mut written = 0;
        for chunk in snapshots.chunks(BATCH) {
            let mut sql = String::with_capacity(200 + chunk.len() * 60);
            sql.push_str(&format!(
                "INSERT INTO health_snapshots ({SNAPSHOT_COLUMNS}, computed_at) VALUES "
            ));
            push_value_tuples(&mut sql, chunk.len(), COLS, numbered);
            sql.push_str(UPSERT);
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for s in chunk {
                q = q
                    .bind(s.account_id.as_str())
                    .bind(s.day.to_string())
                    .bind(s.score)
                    .bind(s.band.map(|b| b.as_str()))
                    .bind(s.computed)
                    .bind(s.override_id)
                    .bind(s.scorecard_version.as_str())
                    .bind(encode_measures(&s.measures))
                    .bind(now_micros);
            }
            written += q.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(written)
    }

    /// Snapshots of one account from `from` to `to` (both included, either
    /// open), oldest first.
    pub async fn account_snapshots(
        &self,
        account_id: &str,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<Vec<Snapshot>> {
        let mut conn = self.pool.acquire().await?;
        let mut out = Vec::new();
        for list in snapshot_days(&mut conn, from, to).await? {
            let sql = format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM health_snapshots \
                 WHERE day IN ({list}) AND account_id = $1 ORDER BY day"
            );
            let rows = sqlx::query(AssertSqlSafe(sql))
                .bind(account_id)
                .fetch_all(&mut *conn)
                .await?;
            for row in &rows {
                out.push(snapshot_row(row)?);
            }
        }
        Ok(out)
    }

    /// The snapshot of one account on a day, if stored.
    pub async fn snapshot(&self, account_id: &str, day: Date) -> Result<Option<Snapshot>> {
        Ok(self
            .account_snapshots(account_id, Some(day), Some(day))
            .await?
            .pop())
    }

    /// `(account_id, day, score)` of every snapshot from `from` to `to`
    /// (both included), for deltas.
    pub async fn snapshot_scores(
        &self,
        from: Date,
        to: Date,
    ) -> Result<Vec<(String, Date, Option<f64>)>> {
        let mut rows = sqlx::query(
            "SELECT account_id, day, score FROM health_snapshots WHERE day >= $1 AND day <= $2",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch(&self.pool);
        let mut out = Vec::new();
        while let Some(row) = rows.try_next().await? {
            out.push((row.try_get(0)?, get_day(&row, 1)?, row.try_get(2)?));
        }
        Ok(out)
    }

    /// The days that have snapshots, from `from` to `to` (both included), sorted.
    pub async fn snapshot_days(&self, from: Date, to: Date) -> Result<Vec<Date>> {
        let rows = sqlx::query(
            "SELECT DISTINCT day FROM health_snapshots WHERE day >= $1 AND day <= $2 ORDER BY day",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| get_day(r, 0)).collect()
    }

    /// `(account_id, score, band)` of every snapshot on one day.
    pub async fn snapshots_on(
        &self,
        day: Date,
    ) -> Result<Vec<(String, Option<f64>, Option<Band>)>> {
        let rows =
            sqlx::query("SELECT account_id, score, band FROM health_snapshots WHERE day = $1")
                .bind(day.to_string())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, decode_band(r.try_get(2)?)?)))
            .collect()
    }

    // ----- overrides and audit -------------------------------------------

    /// Adds a manual override and its audit entry, in one transaction.
    /// Fails with [`StoreError::NotFound`] for an unknown account.
    pub async fn add_override(&self, o: &NewOverride, now_micros: i64) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1")
            .bind(&o.account_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("account {:?}", o.account_id)));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO health_overrides \
             (account_id, score, reason, author, set_on, valid_until, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&o.account_id)
        .bind(o.score)
        .bind(&o.reason)
        .bind(&o.author)
        .bind(o.set_on.to_string())
        .bind(o.until.to_string())
        .bind(now_micros)
        .fetch_one(&mut *tx)
        .await?;
        let details = serde_json::json!({
            "override_id": id, "score": o.score, "reason": o.reason,
            "set_on": o.set_on.to_string(), "until": o.until.to_string(),
        });
        audit(
            &mut tx,
            now_micros,
            &o.author,
            "health.override.set",
            "account",
            &o.account_id,
            &details,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Clears every override of an account that applies on `today` or
    /// later, from `today` on, with an audit entry each; returns how many.
    pub async fn clear_overrides(
        &self,
        account_id: &str,
        by: &str,
        today: Date,
        now_micros: i64,
    ) -> Result<usize> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "SELECT {OVERRIDE_COLUMNS} FROM health_overrides \
             WHERE account_id = $1 AND cleared_on IS NULL AND valid_until >= $2"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(account_id)
            .bind(today.to_string())
            .fetch_all(&mut *tx)
            .await?;
        let open: Vec<OverrideRow> = rows.iter().map(override_row).collect::<Result<_>>()?;
        for o in &open {
            sqlx::query(
                "UPDATE health_overrides SET cleared_on = $1, cleared_by = $2 WHERE id = $3",
            )
            .bind(today.to_string())
            .bind(by)
            .bind(o.id)
            .execute(&mut *tx)
            .await?;
            let details =
                serde_json::json!({ "override_id": o.id, "cleared_on": today.to_string() });
            audit(
                &mut tx,
                now_micros,
                by,
                "health.override.clear",
                "account",
                account_id,
                &details,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(open.len())
    }

    /// Overrides, oldest first; only one account's when given.
    pub async fn overrides(&self, account_id: Option<&str>) -> Result<Vec<OverrideRow>> {
        let rows = match account_id {
            Some(id) => {
                let sql = format!(
                    "SELECT {OVERRIDE_COLUMNS} FROM health_overrides WHERE account_id = $1 ORDER BY id"
                );
                sqlx::query(AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!("SELECT {OVERRIDE_COLUMNS} FROM health_overrides ORDER BY id");
                sqlx::query(AssertSqlSafe(sql))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(override_row).collect()
    }

    /// The audit log, oldest first; only entries about one entity id when given.
    pub async fn audit_log(&self, entity_id: Option<&str>) -> Result<Vec<AuditEntry>> {
        let base = "SELECT id, at, actor, action, entity, entity_id, details FROM audit_log";
        let rows = match entity_id {
            Some(id) => {
                sqlx::query(AssertSqlSafe(format!(
                    "{base} WHERE entity_id = $1 ORDER BY id"
                )))
                .bind(id)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!("{base} ORDER BY id")))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    entity: r.try_get(4)?,
                    entity_id: r.try_get(5)?,
                    details: r.try_get(6)?,
                })
            })
            .collect()
    }
}

/// The days from `from` to `to` (open ends: the first and last stored)
/// that snapshots may hold, as lists of SQL date literals of up to 1,000
/// days each. Snapshots are keyed by day first (migration 0007), so an
/// account's rows are read or deleted with one seek per day, never a scan of
/// every account's rows.
async fn snapshot_days(
    conn: &mut AnyConnection,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Vec<String>> {
    let row = sqlx::query("SELECT MIN(day), MAX(day) FROM health_snapshots")
        .fetch_one(&mut *conn)
        .await?;
    let (Some(first), Some(last)) = (get_opt_day(&row, 0)?, get_opt_day(&row, 1)?) else {
        return Ok(Vec::new());
    };
    let from = day_number(from.map_or(first, |d| d.max(first)));
    let to = day_number(to.map_or(last, |d| d.min(last)));
    let days: Vec<i32> = (from..=to).collect();
    // Dates formatted here, never input.
    Ok(days
        .chunks(1000)
        .map(|chunk| {
            chunk
                .iter()
                .map(|&d| format!("'{}'", date_from_day(d)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect())
}

/// Deletes every snapshot of an account (with the account, in its
/// transaction).
pub(crate) async fn delete_snapshots(conn: &mut AnyConnection, account_id: &str) -> Result<()> {
    for list in snapshot_days(conn, None, None).await? {
        let sql = format!("DELETE FROM health_snapshots WHERE day IN ({list}) AND account_id = $1");
        sqlx::query(AssertSqlSafe(sql))
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn audit(
    conn: &mut sqlx::AnyConnection,
    at: i64,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: &str,
    details: &serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, details) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(at)
    .bind(actor)
    .bind(action)
    .bind(entity)
    .bind(entity_id)
    .bind(details.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_cursor_finds_accounts_along_sorted_rows() {
        let accounts: Vec<Account> = ["b", "a", "ab", "c"]
            .iter()
            .map(|id| Account::bare(id))
            .collect();
        let ids = SortedIds::new(&accounts);
        let mut c = ids.cursor();
        // Day 1: a, ab, ab, x (unknown), then day 2 starts over.
        assert_eq!(c.find(1, "a"), Some(1));
        assert_eq!(c.find(1, "ab"), Some(2));
        assert_eq!(c.find(1, "ab"), Some(2));
        assert_eq!(c.find(1, "bb"), None);
        assert_eq!(c.find(1, "c"), Some(3));
        assert_eq!(c.find(1, "d"), None);
        assert_eq!(c.find(2, "a"), Some(1));
        assert_eq!(c.find(2, "b"), Some(0));
    }

    #[test]
    fn shards_cover_every_account_once() {
        let accounts: Vec<Account> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|id| Account::bare(id))
            .collect();
        let shards = Shard::split(&accounts, 2);
        let bounds: Vec<(Option<&str>, Option<&str>, usize)> = shards
            .iter()
            .map(|s| (s.from, s.before, s.accounts.len()))
            .collect();
        assert_eq!(
            bounds,
            [
                (None, Some("c"), 2),
                (Some("c"), Some("e"), 2),
                (Some("e"), None, 1)
            ]
        );
        assert_eq!(Shard::split(&accounts, 10).len(), 1);
        assert_eq!(Shard::split(&[], 10).len(), 1);
    }

    #[test]
    fn parts_split_a_shard_without_gaps() {
        let accounts: Vec<Account> = ["a", "b", "c", "d", "e", "f", "g"]
            .iter()
            .map(|id| Account::bare(id))
            .collect();
        let shard = Shard::split(&accounts, 5)[1];
        let one: Vec<_> = shard.parts(1).iter().map(|p| (p.from, p.before)).collect();
        assert_eq!(one, [(Some("f"), None)]);
        let middle = Shard::split(&accounts, 5)[0];
        let parts: Vec<_> = middle
            .parts(2)
            .iter()
            .map(|p| (p.from, p.before, p.accounts.len()))
            .collect();
        assert_eq!(parts, [(None, Some("c"), 2), (Some("c"), Some("f"), 3)]);
        // More parts than accounts: one account each.
        assert_eq!(shard.parts(8).len(), 2);
        assert_eq!(Shard::split(&[], 10)[0].parts(4).len(), 1);
    }

    #[test]
    fn clearing_ends_an_override_the_day_before() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let mut o = OverrideRow {
            id: 1,
            account_id: "a".into(),
            score: 10.0,
            reason: String::new(),
            author: String::new(),
            set_on: d("2025-03-01"),
            until: d("2025-03-31"),
            created_at: 0,
            cleared_on: None,
            cleared_by: None,
        };
        assert!(o.applies_on(d("2025-03-31")));
        o.cleared_on = Some(d("2025-03-10"));
        assert!(o.applies_on(d("2025-03-09")));
        assert!(!o.applies_on(d("2025-03-10")));
        assert_eq!(o.to_override().unwrap().until, d("2025-03-09"));
        o.cleared_on = Some(d("2025-03-01"));
        assert_eq!(o.to_override(), None);
    }
}

/// A cheap summary of the data health scores read; when it changes, scores
/// may have changed. It sees appended events and rows, imports, overrides and
/// every change the audit log records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFingerprint(Vec<i64>);

impl Store {
    /// The current [`DataFingerprint`].
    pub async fn data_fingerprint(&self) -> Result<DataFingerprint> {
        let row = sqlx::query(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM events), \
             (SELECT COUNT(*) FROM accounts), \
             (SELECT COUNT(*) FROM subscriptions), \
             (SELECT COUNT(*) FROM tickets), \
             (SELECT COUNT(*) FROM survey_responses), \
             (SELECT COUNT(*) FROM engagements), \
             (SELECT COUNT(*) FROM payment_failures), \
             (SELECT COALESCE(MAX(id), 0) FROM import_log), \
             (SELECT COUNT(*) FROM audit_log)",
        )
        .fetch_one(&self.pool)
        .await?;
        let mut values = Vec::with_capacity(9);
        for i in 0..9 {
            values.push(row.try_get::<i64, _>(i)?);
        }
        Ok(DataFingerprint(values))
    }
}
