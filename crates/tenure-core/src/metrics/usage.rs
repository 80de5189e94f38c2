//! Usage metrics from events: DAU, WAU, MAU, stickiness, per-account MAU for
//! the usage rate, and time on platform.
//!
//! Events can be a hundred million rows, so they are never loaded as a list:
//! the store streams them, in any order, into a [`UsageAccumulator`] built
//! with the last day of every period to report on. Each such day `E` has a
//! 30-day window `E−29..=E` (UTC days); the accumulator keeps the user (as
//! a hash of its id), instant and account of each event inside the windows
//! (24 bytes an event) and ignores everything else.
//! [`UsageAccumulator::finish`] sorts the events by user and instant once and
//! sweeps each user's events for every window.
//!
//! Sessions: a user's session ends when more than 30 minutes pass without an
//! event (a gap of exactly 30 minutes stays in the session); its length is
//! its last event minus its first. Only events inside the window count, so a
//! session running across the window's first midnight is cut there.

use jiff::civil::Date;

use crate::model::{MICROS_PER_DAY, date_from_day, day_number, day_of_micros};

/// The longest gap between two events of one session: 30 minutes.
const SESSION_GAP_MICROS: i64 = 30 * 60 * 1_000_000;
/// Days in the window ending with a period's last day.
const WINDOW_DAYS: i32 = 30;
/// Events are spread over this many partitions by user hash.
const PARTITIONS: usize = 256;

/// One event inside a window: 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Record {
    /// The user, as a 96-bit hash of the id (`user` then `user2`).
    user: u64,
    user2: u32,
    /// Instant in microseconds since the Unix epoch.
    ts: i64,
    account: u32,
}

/// Collects events for the usage metrics of periods ending on given days.
///
/// Users are told apart by a 96-bit hash of their id rather than by
/// interning the ids in a hash table: with ids arriving in no particular
/// order, a table lookup per event costs a cache miss, while hashing the id
/// and appending 24 bytes to one of 256 partitions costs nothing like it.
/// Two different ids would be counted as one user only if their hashes
/// collided, which for a million users has a probability of about 10⁻¹⁷.
#[derive(Debug, Clone)]
pub struct UsageAccumulator {
    /// Window end days, sorted, without duplicates.
    ends: Vec<i32>,
    /// The union of the windows as disjoint day ranges, sorted.
    ranges: Vec<(i32, i32)>,
    /// Events inside the windows, partitioned by the top byte of the user hash.
    parts: Vec<Vec<Record>>,
    /// One more than the largest account index seen.
    accounts: usize,
}

impl UsageAccumulator {
    /// An accumulator for the 30-day windows ending on each of `window_ends`
    /// (for a report: its last day; for a series: the last day of each interval).
    pub fn new(window_ends: &[Date]) -> UsageAccumulator {
        let mut ends: Vec<i32> = window_ends.iter().map(|&d| day_number(d)).collect();
        ends.sort_unstable();
        ends.dedup();
        let mut ranges: Vec<(i32, i32)> = Vec::new();
        for &e in &ends {
            let start = e - (WINDOW_DAYS - 1);
            match ranges.last_mut() {
                Some(last) if start <= last.1 + 1 => last.1 = e,
                _ => ranges.push((start, e)),
            }
        }
        UsageAccumulator {
            ends,
            ranges,
            parts: vec![Vec::new(); PARTITIONS],
            accounts: 0,
        }
    }

    /// The first and last UTC day of events needed, both inclusive; `None`
    /// when no window was asked for.
    pub fn window_range(&self) -> Option<(Date, Date)> {
        let first = self.ranges.first()?.0;
        let last = self.ranges.last()?.1;
        Some((date_from_day(first), date_from_day(last)))
    }

    /// The days of events needed, as disjoint inclusive ranges in order (for a
    /// quarterly series, one range per quarter's last 30 days rather than
    /// the whole span). Events outside them may be sent too; they are ignored.
    pub fn windows(&self) -> Vec<(Date, Date)> {
        self.ranges
            .iter()
            .map(|&(a, b)| (date_from_day(a), date_from_day(b)))
            .collect()
    }

    /// Adds one event: the index of its account in the metrics input, its
    /// user id and its instant in microseconds since the Unix epoch.
    pub fn add(&mut self, account: usize, user_id: &str, ts_micros: i64) {
        let day = day_of_micros(ts_micros);
        let i = self.ranges.partition_point(|r| r.1 < day);
        if i == self.ranges.len() || self.ranges[i].0 > day {
            return;
        }
        let (user, user2) = hash_id(user_id.as_bytes());
        self.accounts = self.accounts.max(account + 1);
        self.parts[(user >> 56) as usize].push(Record {
            user,
            user2,
            ts: ts_micros,
            account: account as u32,
        });
    }

    /// Computes every window's metrics: sorts each partition by user and
    /// instant, then sweeps each user's events once per window.
    pub fn finish(self) -> Usage {
        let n_windows = self.ends.len();
        let mut windows: Vec<UsageWindow> = self
            .ends
            .iter()
            .map(|&e| UsageWindow {
                end: date_from_day(e),
                end_day: e,
                dau: 0,
                wau: 0,
                mau: 0,
                user_days: 0,
                session_micros: 0,
                account_mau: Vec::new(),
            })
            .collect();
        // Account-major, so that one user's windows touch adjacent counters.
        let mut account_mau = vec![0u32; self.accounts * n_windows];
        let mut accounts: Vec<u32> = Vec::new();
        for mut part in self.parts {
            part.sort_unstable();
            for events in part.chunk_by(|a, b| (a.user, a.user2) == (b.user, b.user2)) {
                for (wi, w) in windows.iter_mut().enumerate() {
                    let e = i64::from(w.end_day);
                    let lo = events.partition_point(|x| x.ts < (e - 29) * MICROS_PER_DAY);
                    let hi = lo + events[lo..].partition_point(|x| x.ts < (e + 1) * MICROS_PER_DAY);
                    let evs = &events[lo..hi];
                    let Some(last) = evs.last() else {
                        continue;
                    };
                    w.mau += 1;
                    if last.ts >= (e - 6) * MICROS_PER_DAY {
                        w.wau += 1;
                    }
                    if last.ts >= e * MICROS_PER_DAY {
                        w.dau += 1;
                    }
                    let mut prev_day = i32::MIN;
                    let (mut session_start, mut prev) = (evs[0].ts, evs[0].ts);
                    accounts.clear();
                    for r in evs {
                        let day = day_of_micros(r.ts);
                        if day != prev_day {
                            w.user_days += 1;
                            prev_day = day;
                        }
                        if r.ts - prev > SESSION_GAP_MICROS {
                            w.session_micros += prev - session_start;
                            session_start = r.ts;
                        }
                        prev = r.ts;
                        if accounts.last() != Some(&r.account) {
                            accounts.push(r.account);
                        }
                    }
                    w.session_micros += prev - session_start;
                    accounts.sort_unstable();
                    accounts.dedup();
                    for &a in &accounts {
                        account_mau[a as usize * n_windows + wi] += 1;
                    }
                }
            }
        }
        for (wi, w) in windows.iter_mut().enumerate() {
            w.account_mau = (0..self.accounts)
                .map(|a| account_mau[a * n_windows + wi])
                .collect();
        }
        Usage { windows }
    }
}

/// A 96-bit hash of a user id: two lanes of folded multiplies (as in
/// foldhash) over 8-byte words, each finished with murmur3's 64-bit mixer.
pub(crate) fn hash_id(bytes: &[u8]) -> (u64, u32) {
    const K1: u64 = 0x9e37_79b9_7f4a_7c15;
    const K2: u64 = 0xf135_7aea_2e62_a9c5;
    fn fold(x: u64, k: u64) -> u64 {
        let m = u128::from(x) * u128::from(k);
        (m as u64) ^ ((m >> 64) as u64)
    }
    fn fmix(mut x: u64) -> u64 {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }
    let len = bytes.len() as u64;
    let mut a = 0x243f_6a88_85a3_08d3 ^ len;
    let mut b = 0x1319_8a2e_0370_7344 ^ len.rotate_left(32);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        a = fold(a ^ w, K1);
        b = fold(b ^ w.rotate_left(29), K2);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        let w = u64::from_le_bytes(buf);
        a = fold(a ^ w, K1);
        b = fold(b ^ w.rotate_left(29), K2);
    }
    (fmix(a), (fmix(b) >> 32) as u32)
}

/// The usage metrics of every window of a [`UsageAccumulator`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    windows: Vec<UsageWindow>,
}

impl Usage {
    /// The window ending on `end`, if it was asked for.
    pub fn window(&self, end: Date) -> Option<&UsageWindow> {
        self.window_at(day_number(end))
    }

    /// Every window, by end day.
    pub fn windows(&self) -> &[UsageWindow] {
        &self.windows
    }

    pub(crate) fn window_at(&self, end_day: i32) -> Option<&UsageWindow> {
        self.windows
            .binary_search_by_key(&end_day, |w| w.end_day)
            .ok()
            .map(|i| &self.windows[i])
    }
}

/// Usage in the 30 days ending with `end` (UTC days `end−29..=end`).
#[derive(Debug, Clone, PartialEq)]
pub struct UsageWindow {
    pub end: Date,
    end_day: i32,
    /// Distinct users with an event on `end`.
    pub dau: u64,
    /// Distinct users with an event in the 7 days ending with `end`.
    pub wau: u64,
    /// Distinct users with an event in the 30 days ending with `end`.
    pub mau: u64,
    /// Σ over the 30 days of that day's distinct users (30 × mean DAU).
    pub user_days: u64,
    /// Total length of all users' sessions in the window, in microseconds.
    pub session_micros: i64,
    account_mau: Vec<u32>,
}

impl UsageWindow {
    /// Distinct users with an event for this account in the window.
    pub fn account_mau(&self, account: usize) -> u32 {
        self.account_mau.get(account).copied().unwrap_or(0)
    }
}
