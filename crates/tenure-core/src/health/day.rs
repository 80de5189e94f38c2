//! The event signals of many accounts on one as-of date: what today's
//! scores need from the events, fed either raw event rows or the store's
//! usage rollups (event counts per account, day and name, or per account
//! and day with the set of names seen; active days per user in blocks of 64
//! days), in any order.
//!
//! [`SignalsBuilder`](super::SignalsBuilder) handles many as-of dates in one
//! pass and keeps a day-by-day history per account and user. For a single
//! date that is more than needed: [`DayEvents`] keeps, per window of the
//! plan, only the (account, user) pairs seen in it (for distinct active
//! users; a plain count per account when the window lies inside one block
//! of the rollup), a count per account (for event counts) and a bit set per
//! account (for features). Several `DayEvents` fed from disjoint parts of the rows
//! (for instance one per thread) [`merge`](DayEvents::merge) into one.

use jiff::civil::Date;

use super::signals::{AccountSignals, EventFilter, SignalPlan};
use crate::metrics::hash_id;
use crate::model::{day_number, day_of_micros};

/// The bits of a 64-day block starting on `first` that fall in the days
/// `lo..=hi`.
fn block_mask(first: i32, (lo, hi): (i32, i32)) -> u64 {
    let a = i64::from(lo) - i64::from(first);
    let b = i64::from(hi) - i64::from(first);
    if b < 0 || a > 63 || a > b {
        return 0;
    }
    let (a, b) = (a.max(0) as u32, b.min(63) as u32);
    (u64::MAX >> (63 - b)) & (u64::MAX << a)
}

fn hull<'a>(ranges: impl Iterator<Item = &'a (i32, i32)>) -> Option<(i32, i32)> {
    ranges.copied().reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
}

/// Accumulates events for one as-of date (see the module documentation).
#[derive(Debug, Clone)]
pub struct DayEvents<'p> {
    plan: &'p SignalPlan,
    accounts: usize,
    /// First and last day of each active-user window.
    users_at: Vec<(i32, i32)>,
    /// Per active-user window: (account, user hash) of each user active in
    /// it, to count distinct users.
    users: Vec<Vec<(u32, u64, u32)>>,
    /// `accounts × active-user windows`, account-major: users counted
    /// without hashing, for windows inside one 64-day block (rollup rows
    /// are distinct users there).
    user_counts: Vec<u32>,
    events_at: Vec<(i32, i32)>,
    /// `accounts × event windows`, account-major.
    counts: Vec<u64>,
    features_at: Vec<(i32, i32)>,
    /// `accounts × feature windows`, account-major.
    masks: Vec<u64>,
    /// Whether events come as per-day totals (see [`DayEvents::use_totals`]).
    totals: bool,
    /// With totals: per feature window, each feature's bit in the totals'
    /// name sets (0 for a name never seen); `None` when some feature has no
    /// bit, so that features come from named rows.
    feature_bits: Option<Vec<Vec<u64>>>,
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
                .map(|w| w.day_range(day))
                .collect(),
            users: vec![Vec::new(); plan.active_user_windows.len()],
            user_counts: vec![0; accounts * plan.active_user_windows.len()],
            events_at: plan
                .event_windows
                .iter()
                .map(|w| w.window.day_range(day))
                .collect(),
            counts: vec![0; accounts * plan.event_windows.len()],
            features_at: plan
                .feature_windows
                .iter()
                .map(|w| w.window.day_range(day))
                .collect(),
            masks: vec![0; accounts * plan.feature_windows.len()],
            totals: false,
            feature_bits: None,
        }
    }

    /// First and last day (both included) that the event-count and feature
    /// windows cover.
    pub fn event_days(&self) -> Option<(i32, i32)> {
        hull(self.events_at.iter().chain(&self.features_at))
    }

    /// First and last day that the active-user windows cover.
    pub fn user_days(&self) -> Option<(i32, i32)> {
        hull(self.users_at.iter())
    }

    /// Each active-user window's 64-day blocks, as (first day of the block,
    /// bits of the block inside the window).
    pub fn user_blocks(&self) -> Vec<Vec<(i32, u64)>> {
        self.users_at
            .iter()
            .map(|&(lo, hi)| {
                let first = |d: i32| d.div_euclid(64) * 64;
                (first(lo)..=first(hi))
                    .step_by(64)
                    .map(|b| (b, block_mask(b, (lo, hi))))
                    .collect()
            })
            .collect()
    }

    /// One event of account `account` (index below `accounts`) at `ts`
    /// microseconds.
    pub fn add(&mut self, account: usize, user: &str, event: &str, ts: i64) {
        let day = day_of_micros(ts);
        self.add_events(account, event, day, 1);
        self.user_active(account, user, day, 1, false);
    }

    /// `n` events named `event` of account `account` on `day` (a
    /// [`day_number`]).
    pub fn add_events(&mut self, account: usize, event: &str, day: i32, n: u64) {
        self.count(account, event, day, n, true, true);
    }

    /// From now on, events come as per-day totals ([`DayEvents::add_totals`])
    /// and, for what totals cannot answer, rows of the
    /// [`named_events`](DayEvents::named_events) only
    /// ([`DayEvents::add_named`]). `bit(name)` is the bit an event name has
    /// in the totals' name sets: `Some(0)` for a name never seen, `None` for
    /// a name that has no bit.
    pub fn use_totals(&mut self, bit: impl Fn(&str) -> Option<u64>) {
        self.totals = true;
        self.feature_bits = self
            .plan
            .feature_windows
            .iter()
            .map(|fw| {
                fw.features
                    .iter()
                    .take(64)
                    .map(|f| bit(f))
                    .collect::<Option<Vec<u64>>>()
            })
            .collect();
    }

    /// With totals: per feature window, each feature's bit in the totals'
    /// name sets; `None` when some feature has none (features then come
    /// from named rows).
    pub fn feature_bits(&self) -> Option<&[Vec<u64>]> {
        self.feature_bits.as_deref()
    }

    /// With totals: the event names whose own rows are still needed (those
    /// of named event filters, and the features when some has no bit),
    /// sorted. Empty when totals answer everything.
    pub fn named_events(&self) -> Vec<&'p str> {
        let mut names: Vec<&str> = Vec::new();
        for w in &self.plan.event_windows {
            if let EventFilter::Named(list) = &self.plan.event_filters[w.filter] {
                names.extend(list.iter().map(String::as_str));
            }
        }
        if self.feature_bits.is_none() {
            for fw in &self.plan.feature_windows {
                names.extend(fw.features.iter().take(64).map(String::as_str));
            }
        }
        names.sort_unstable();
        names.dedup();
        names
    }

    /// With totals: account `account` had `n` events of any name on `day`,
    /// of the names whose bits are set in `names`.
    pub fn add_totals(&mut self, account: usize, day: i32, n: u64, names: u64) {
        debug_assert!(self.totals && account < self.accounts);
        let k = self.events_at.len();
        for (slot, &(lo, hi)) in self.events_at.iter().enumerate() {
            let w = &self.plan.event_windows[slot];
            if lo <= day && day <= hi && self.plan.event_filters[w.filter] == EventFilter::All {
                self.counts[account * k + slot] += n;
            }
        }
        let Some(bits) = &self.feature_bits else {
            return;
        };
        let k = self.features_at.len();
        for (slot, &(lo, hi)) in self.features_at.iter().enumerate() {
            if lo <= day && day <= hi {
                let used = bits[slot]
                    .iter()
                    .enumerate()
                    .filter(|&(_, b)| names & b != 0)
                    .fold(0u64, |m, (f, _)| m | 1 << f);
                self.masks[account * k + slot] |= used;
            }
        }
    }

    /// With totals: `n` events named `event` (one of the
    /// [`named_events`](DayEvents::named_events)) of account `account` on
    /// `day`, for what the totals do not answer.
    pub fn add_named(&mut self, account: usize, event: &str, day: i32, n: u64) {
        debug_assert!(self.totals);
        let features = self.feature_bits.is_none();
        self.count(account, event, day, n, false, features);
    }

    /// Counts `n` events named `event` in the event windows (those of every
    /// event too, with `all`) and, with `features`, the feature windows.
    fn count(&mut self, account: usize, event: &str, day: i32, n: u64, all: bool, features: bool) {
        debug_assert!(account < self.accounts);
        let inside = |(lo, hi): (i32, i32)| lo <= day && day <= hi;
        let k = self.events_at.len();
        for (slot, &at) in self.events_at.iter().enumerate() {
            let filter = &self.plan.event_filters[self.plan.event_windows[slot].filter];
            if inside(at) && (all || *filter != EventFilter::All) && filter.matches(event) {
                self.counts[account * k + slot] += n;
            }
        }
        if !features {
            return;
        }
        let k = self.features_at.len();
        for (slot, &at) in self.features_at.iter().enumerate() {
            if !inside(at) {
                continue;
            }
            let features = &self.plan.feature_windows[slot].features;
            if let Some(bit) = features.iter().take(64).position(|f| f == event) {
                self.masks[account * k + slot] |= 1 << bit;
            }
        }
    }

    /// Whether [`DayEvents::add_user_days`] needs true user ids: only when
    /// an active-user window spans more than one 64-day block are users
    /// told apart by id; otherwise any id will do.
    pub fn needs_user_ids(&self) -> bool {
        self.users_at
            .iter()
            .any(|&(lo, hi)| lo.div_euclid(64) != hi.div_euclid(64))
    }

    /// The days user `user` of account `account` was active among the 64
    /// days from `first_day` (a multiple of 64): bit `k` of `days` stands
    /// for `first_day + k`. Each user comes at most once per block (as in
    /// the `usage_users` rollup), and again for other blocks.
    pub fn add_user_days(&mut self, account: usize, user: &str, first_day: i32, days: u64) {
        self.user_active(account, user, first_day, days, true);
    }

    /// With `once_per_block`, a user active in a window that lies inside
    /// one block is simply counted: no other row can name them there.
    fn user_active(
        &mut self,
        account: usize,
        user: &str,
        first: i32,
        days: u64,
        once_per_block: bool,
    ) {
        debug_assert!(account < self.accounts);
        let k = self.users_at.len();
        let mut hash = None;
        for (slot, &(lo, hi)) in self.users_at.iter().enumerate() {
            if days & block_mask(first, (lo, hi)) == 0 {
                continue;
            }
            if once_per_block && lo.div_euclid(64) == hi.div_euclid(64) {
                self.user_counts[account * k + slot] += 1;
            } else {
                let (a, b) = *hash.get_or_insert_with(|| hash_id(user.as_bytes()));
                self.users[slot].push((account as u32, a, b));
            }
        }
    }

    /// Adds the rows another accumulator (same plan, date and accounts) saw.
    pub fn merge(&mut self, other: DayEvents<'_>) {
        for (mine, theirs) in self.users.iter_mut().zip(other.users) {
            mine.extend(theirs);
        }
        for (a, b) in self.user_counts.iter_mut().zip(other.user_counts) {
            *a += b;
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
        let k = self.users_at.len();
        for (slot, mut pairs) in self.users.into_iter().enumerate() {
            pairs.sort_unstable();
            pairs.dedup();
            for (account, _, _) in pairs {
                if let Some(s) = signals.get_mut(account as usize) {
                    s.active_users[slot] = s.active_users[slot].saturating_add(1);
                }
            }
        }
        for (i, s) in signals.iter_mut().enumerate().take(self.accounts) {
            for (slot, &n) in self.user_counts[i * k..(i + 1) * k].iter().enumerate() {
                s.active_users[slot] = s.active_users[slot].saturating_add(n);
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
    fn the_days_cover_the_longest_look_back() {
        let config = Config::default();
        let model = HealthModel::new(&config.health);
        let as_of: Date = "2025-03-31".parse().unwrap();
        let d = DayEvents::new(model.plan(), as_of, 0);
        // 90 days: the usage against the account's own baseline compares
        // the last 28 days with the 62 before them; active users (and the
        // events per active user) look back 30.
        let day = |s: &str| day_number(s.parse().unwrap());
        assert_eq!(d.event_days(), Some((day("2025-01-01"), day("2025-03-31"))));
        assert_eq!(d.user_days(), Some((day("2025-03-02"), day("2025-03-31"))));
    }

    /// A scorecard counting named events beside all events and features.
    const NAMED_TOML: &str = r#"
[[health.measures]]
name = "Reports"
kind = "event_count"
window_days = 10
events = ["report_created", "login"]
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Trend"
kind = "event_trend"
window_days = 30
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Features"
kind = "feature_adoption"
window_days = 20
features = ["integration_synced", "never_seen", "report_created"]
weight = 1
thresholds = [[0, 0]]
"#;

    /// Usage rollups (per account, name and day; per user and 64-day
    /// block; per account and day with a set of names) give what the raw
    /// rows give, whichever blocks they fall in, for the default scorecard,
    /// the threshold one (key features) and one with named event counts,
    /// whether every feature has a bit in the totals' name sets or not.
    #[test]
    fn rollups_give_what_the_rows_give() {
        use std::collections::BTreeMap;
        let named = crate::config::parse_config(NAMED_TOML).unwrap();
        let default = Config::default();
        let thresholds = crate::config::parse_config(crate::health::THRESHOLD_SCORECARD).unwrap();
        // The 30 days of active users span two blocks, then one.
        for as_of in ["2025-03-31", "2025-04-20"] {
            let as_of: Date = as_of.parse().unwrap();
            let mut rows = Vec::new();
            for k in 0..400i64 {
                let account = (k % 3) as usize;
                let user = format!("u{}", k % 7);
                let event = ["login", "report_created", "integration_synced"][(k % 5 % 3) as usize];
                let t = ts("2025-01-01T00:00:00Z") + k * 23 * 3_600_000_000;
                rows.push((account, user, event, t));
            }
            let mut counts: BTreeMap<(usize, &str, i32), u64> = BTreeMap::new();
            let mut blocks: BTreeMap<(usize, &str, i32), u64> = BTreeMap::new();
            for (a, u, e, t) in &rows {
                let day = day_of_micros(*t);
                *counts.entry((*a, *e, day)).or_default() += 1;
                *blocks
                    .entry((*a, u.as_str(), day.div_euclid(64) * 64))
                    .or_default() |= 1 << day.rem_euclid(64);
            }
            // Names numbered in order, one (`missing`) perhaps without a bit.
            let bit = |missing: &'static str| {
                move |name: &str| match name {
                    _ if name == missing => None,
                    "login" => Some(1 << 0),
                    "report_created" => Some(1 << 1),
                    "integration_synced" => Some(1 << 2),
                    _ => Some(0),
                }
            };
            let mut totals: BTreeMap<(usize, i32), (u64, u64)> = BTreeMap::new();
            for (&(a, e, day), &n) in &counts {
                let t = totals.entry((a, day)).or_default();
                t.0 += n;
                t.1 |= bit("")(e).unwrap();
            }
            for config in [&default, &thresholds, &named] {
                let model = HealthModel::new(&config.health);
                let plan = model.plan();
                let signals = |d: DayEvents<'_>| {
                    let mut out = vec![AccountSignals::empty(plan, as_of); 3];
                    d.apply(&mut out);
                    out
                };
                let mut by_rows = DayEvents::new(plan, as_of, 3);
                for (a, u, e, t) in &rows {
                    by_rows.add(*a, u, e, *t);
                }
                let by_rows = signals(by_rows);
                assert!(by_rows.iter().all(|s| {
                    s.active_users.iter().all(|&u| u > 0)
                        && s.event_counts.iter().all(|&n| n > 0)
                        && s.features_used.iter().all(|&m| m != 0)
                }));
                let add_users = |d: &mut DayEvents<'_>| {
                    for (&(a, u, first), &days) in &blocks {
                        d.add_user_days(a, u, first, days);
                    }
                };
                let mut by_days = DayEvents::new(plan, as_of, 3);
                for (&(a, e, day), &n) in &counts {
                    by_days.add_events(a, e, day, n);
                }
                add_users(&mut by_days);
                assert_eq!(signals(by_days), by_rows);
                for missing in ["", "report_created"] {
                    let mut by_totals = DayEvents::new(plan, as_of, 3);
                    by_totals.use_totals(bit(missing));
                    for (&(a, day), &(n, names)) in &totals {
                        by_totals.add_totals(a, day, n, names);
                    }
                    let wanted = by_totals.named_events();
                    for (&(a, e, day), &n) in &counts {
                        if wanted.contains(&e) {
                            by_totals.add_named(a, e, day, n);
                        }
                    }
                    add_users(&mut by_totals);
                    assert_eq!(signals(by_totals), by_rows);
                }
            }
            // What each scorecard still reads by name.
            let model = HealthModel::new(&named.health);
            let mut d = DayEvents::new(model.plan(), as_of, 0);
            d.use_totals(bit(""));
            assert_eq!(d.named_events(), ["login", "report_created"]);
            d.use_totals(bit("report_created"));
            assert_eq!(
                d.named_events(),
                [
                    "integration_synced",
                    "login",
                    "never_seen",
                    "report_created"
                ]
            );
            // The default reads no event by name: it counts all events.
            let model = HealthModel::new(&default.health);
            for missing in ["login", "report_created"] {
                let mut d = DayEvents::new(model.plan(), as_of, 0);
                d.use_totals(bit(missing));
                assert!(d.named_events().is_empty());
            }
            let model = HealthModel::new(&thresholds.health);
            let mut d = DayEvents::new(model.plan(), as_of, 0);
            d.use_totals(bit("login"));
            assert!(d.named_events().is_empty(), "login is no feature there");
            d.use_totals(bit("report_created"));
            assert_eq!(d.named_events(), ["integration_synced", "report_created"]);
        }
    }

    #[test]
    fn block_masks_cut_a_window_at_the_block_edges() {
        assert_eq!(block_mask(0, (0, 63)), u64::MAX);
        assert_eq!(block_mask(0, (-10, 200)), u64::MAX);
        assert_eq!(block_mask(0, (63, 100)), 1 << 63);
        assert_eq!(block_mask(64, (0, 63)), 0);
        assert_eq!(block_mask(0, (64, 70)), 0);
        assert_eq!(block_mask(10, (0, 10)), 1);
        assert_eq!(block_mask(0, (2, 4)), 0b11100);
        assert_eq!(block_mask(-64, (-1, 5)), 1 << 63);
        let config = Config::default();
        let model = HealthModel::new(&config.health);
        // 2025-03-02 ..= 2025-03-31 are days 20149 ..= 20178: blocks 20096
        // (bits 53 to 63) and 20160 (bits 0 to 18).
        let d = DayEvents::new(model.plan(), "2025-03-31".parse().unwrap(), 0);
        assert_eq!(
            d.user_blocks(),
            [vec![(20096, u64::MAX << 53), (20160, (1 << 19) - 1)]]
        );
    }

    #[test]
    fn days_before_1970_are_floored() {
        const DAY_MICROS: i64 = 86_400_000_000;
        assert_eq!(day_of_micros(0), 0);
        assert_eq!(day_of_micros(-1), -1);
        assert_eq!(day_of_micros(DAY_MICROS - 1), 0);
        assert_eq!(day_of_micros(-DAY_MICROS), -1);
    }
}
