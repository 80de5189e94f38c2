//! The signals of a shard of accounts on one as-of date
//! ([`Store::load_signals_on`], today's scores): the other tables as for
//! many dates, and the events' part from the usage rollups, summed by the
//! database (PostgreSQL, in-memory SQLite) or scanned on one thread per core
//! (a SQLite file).

use std::collections::HashMap;

use jiff::civil::Date;
use tenure_core::health::{AccountSignals, DayEvents, EventFilter, SignalsTable, Window};
use tenure_core::model::{Account, day_number};

use super::{AccountIndex, Shard, SignalsRequest};
use crate::scan::Bind;
use crate::{Result, Store, StoreError};

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

impl Store {
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

    /// Only the usage part of [`Store::load_signals_on`] (active users,
    /// event counts and features, from the usage rollups); every other
    /// slot is left empty. For callers that read usage alone: the CSM
    /// KPIs' usage trend, which would otherwise load every account's
    /// subscriptions, tickets, answers and engagements for nothing.
    pub async fn load_usage_on(&self, req: SignalsRequest<'_>) -> Result<Vec<AccountSignals>> {
        let Some(&as_of) = req.dates.first() else {
            return Ok(Vec::new());
        };
        let req = SignalsRequest {
            dates: std::slice::from_ref(&as_of),
            ..req
        };
        let mut out: Vec<AccountSignals> = (0..req.shard.accounts.len())
            .map(|_| AccountSignals::empty(req.plan, as_of))
            .collect();
        if self.scans_in_parallel() {
            let days = crate::scan::run_blocking(|| {
                futures_executor::block_on(self.day_events_by_scan(req, as_of))
            })?;
            days.apply(&mut out);
        } else {
            self.day_slots_in_sql(req, as_of).await?.apply(&mut out);
        }
        Ok(out)
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
}
