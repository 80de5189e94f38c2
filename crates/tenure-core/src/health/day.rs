//! The event signals of many accounts on one as-of date, from raw event rows
//! in any order: what today's scores need from the events table.
//!
//! [`SignalsBuilder`](super::SignalsBuilder) handles many as-of dates in one
//! pass and keeps a day-by-day history per account and user. For a single
//! date that is more than needed: [`DayEvents`] keeps, per window of the
//! plan, only the (account, user) pairs seen in it (for distinct active
//! users), a count per account (for event counts) and a bit set per account
//! (for features). Several `DayEvents` fed from disjoint parts of the rows
//! (for instance one per thread) [`merge`](DayEvents::merge) into one.

use jiff::civil::Date;

use super::signals::{AccountSignals, SignalPlan, Window};
use crate::metrics::hash_id;
use crate::model::day_number;

const DAY_MICROS: i64 = 86_400_000_000;

/// `[lo, hi)` in microseconds for a window on an as-of day.
fn micros(w: &Window, as_of: i32) -> (i64, i64) {
    let hi = as_of - w.ends_days_before as i32;
    let lo = hi - w.days as i32 + 1;
    (i64::from(lo) * DAY_MICROS, i64::from(hi + 1) * DAY_MICROS)
}

/// Accumulates event rows for one as-of date (see the module documentation).
#[derive(Debug, Clone)]
pub struct DayEvents<'p> {
    plan: &'p SignalPlan,
    accounts: usize,
    users_at: Vec<(i64, i64)>,
    /// Per active-user window: (account, user hash) of each row in it.
    users: Vec<Vec<(u32, u64, u32)>>,
    events_at: Vec<(i64, i64)>,
    /// `accounts × event windows`, account-major.
    counts: Vec<u64>,
    features_at: Vec<(i64, i64)>,
    /// `accounts × feature windows`, account-major.
    masks: Vec<u64>,
}

impl<'p> DayEvents<'p> {
    /// An empty accumulator for `accounts` accounts, numbered from 0.
    pub fn new(plan: &'p SignalPlan, as_of: Date, accounts: usize) -> DayEvents<'p> {
        let day = day_number(as_of);
        DayEvents {
            plan,
            accounts,
            users_at: plan
                .active_user_windows
                .iter()
                .map(|w| micros(w, day))
                .collect(),
            users: vec![Vec::new(); plan.active_user_windows.len()],
            events_at: plan
                .event_windows
                .iter()
                .map(|w| micros(&w.window, day))
                .collect(),
            counts: vec![0; accounts * plan.event_windows.len()],
            features_at: plan
                .feature_windows
                .iter()
                .map(|w| micros(&w.window, day))
                .collect(),
            masks: vec![0; accounts * plan.feature_windows.len()],
        }
    }

    /// `[from, to)` in microseconds: every row the windows can use.
    pub fn span(&self) -> Option<(i64, i64)> {
        let all = self
            .users_at
            .iter()
            .chain(&self.events_at)
            .chain(&self.features_at);
        all.copied().reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    }

    /// One event of account `account` (index below `accounts`).
    pub fn add(&mut self, account: usize, user: &str, event: &str, ts: i64) {
        debug_assert!(account < self.accounts);
        let inside = |(lo, hi): (i64, i64)| lo <= ts && ts < hi;
        let mut hash = None;
        for (slot, &at) in self.users_at.iter().enumerate() {
            if inside(at) {
                let (a, b) = *hash.get_or_insert_with(|| hash_id(user.as_bytes()));
                self.users[slot].push((account as u32, a, b));
            }
        }
        let n = self.events_at.len();
        for (slot, &at) in self.events_at.iter().enumerate() {
            let w = &self.plan.event_windows[slot];
            if inside(at) && self.plan.event_filters[w.filter].matches(event) {
                self.counts[account * n + slot] += 1;
            }
        }
        let n = self.features_at.len();
        for (slot, &at) in self.features_at.iter().enumerate() {
            if !inside(at) {
                continue;
            }
            let features = &self.plan.feature_windows[slot].features;
            if let Some(bit) = features.iter().take(64).position(|f| f == event) {
                self.masks[account * n + slot] |= 1 << bit;
            }
        }
    }

    /// Adds the rows another accumulator (same plan, date and accounts) saw.
    pub fn merge(&mut self, other: DayEvents<'_>) {
        for (mine, theirs) in self.users.iter_mut().zip(other.users) {
            mine.extend(theirs);
        }
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        for (a, b) in self.masks.iter_mut().zip(other.masks) {
            *a |= b;
        }
    }

    /// Writes the active users, event counts and features used into each
    /// account's signals (`signals[i]` is account `i`).
    pub fn apply(self, signals: &mut [AccountSignals]) {
        for (slot, mut pairs) in self.users.into_iter().enumerate() {
            pairs.sort_unstable();
            pairs.dedup();
            for (account, _, _) in pairs {
                if let Some(s) = signals.get_mut(account as usize) {
                    s.active_users[slot] = s.active_users[slot].saturating_add(1);
                }
            }
        }
        let n = self.events_at.len();
        let m = self.features_at.len();
        for (i, s) in signals.iter_mut().enumerate().take(self.accounts) {
            s.event_counts[..n].copy_from_slice(&self.counts[i * n..(i + 1) * n]);
            s.features_used[..m].copy_from_slice(&self.masks[i * m..(i + 1) * m]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::health::{HealthModel, SignalsBuilder};

    fn ts(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_microsecond()
    }

    /// The same rows give the same signals as the many-date builder, fed
    /// in one piece or in two merged halves.
    #[test]
    fn agrees_with_the_signals_builder() {
        let config = Config::default();
        let model = HealthModel::new(&config.health);
        let plan = model.plan();
        let as_of: Date = "2025-03-31".parse().unwrap();
        let rows = [
            (0, "u1", "login", "2025-03-31T23:59:59Z"),
            (0, "u1", "report_created", "2025-03-02T00:00:00Z"),
            (0, "u2", "login", "2025-03-01T23:59:59Z"), // the previous 30 days
            (0, "u3", "login", "2025-04-01T00:00:00Z"), // after the as-of date
            (1, "u1", "integration_synced", "2025-03-15T12:00:00Z"),
            (1, "u9", "login", "2025-01-30T00:00:00Z"), // before every window
            (1, "u1", "login", "2025-03-16T12:00:00Z"),
        ];
        let mut b = SignalsBuilder::new(plan, &[as_of], 2, &config.currency);
        let mut whole = DayEvents::new(plan, as_of, 2);
        let mut first = DayEvents::new(plan, as_of, 2);
        let mut second = DayEvents::new(plan, as_of, 2);
        for (k, &(a, u, e, t)) in rows.iter().enumerate() {
            b.event(a, u, e, ts(t));
            whole.add(a, u, e, ts(t));
            if k % 2 == 0 { &mut first } else { &mut second }.add(a, u, e, ts(t));
        }
        let expected = b.finish().signals_at(0);
        first.merge(second);
        for acc in [whole, first] {
            let mut got: Vec<AccountSignals> =
                (0..2).map(|_| AccountSignals::empty(plan, as_of)).collect();
            acc.apply(&mut got);
            for (g, e) in got.iter().zip(&expected) {
                assert_eq!(g.active_users, e.active_users);
                assert_eq!(g.event_counts, e.event_counts);
                assert_eq!(g.features_used, e.features_used);
            }
        }
        let mut got = vec![AccountSignals::empty(plan, as_of); 2];
        let mut d = DayEvents::new(plan, as_of, 2);
        for &(a, u, e, t) in &rows {
            d.add(a, u, e, ts(t));
        }
        d.apply(&mut got);
        assert_eq!(got[0].active_users, [1], "u1 only in the last 30 days");
        assert_eq!(got[1].active_users, [1]);
    }

    #[test]
    fn the_span_covers_the_longest_look_back() {
        let config = Config::default();
        let model = HealthModel::new(&config.health);
        let as_of: Date = "2025-03-31".parse().unwrap();
        let d = DayEvents::new(model.plan(), as_of, 0);
        // 60 days: the usage trend compares 30 days with the 30 before.
        assert_eq!(
            d.span(),
            Some((ts("2025-01-31T00:00:00Z"), ts("2025-04-01T00:00:00Z")))
        );
    }
}
