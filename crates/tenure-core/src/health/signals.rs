//! Per-account inputs of the health score, and how to compute them from raw
//! rows without looking ahead.
//!
//! A scorecard only ever reads a handful of aggregates per account: distinct
//! active users in a window, event counts in a window, which key features
//! were used, seats, the latest NPS, and so on. [`SignalPlan`] lists exactly
//! which aggregates the configured scorecards need (each window, each event
//! filter, each attribute gets a numbered *slot*); [`AccountSignals`] holds
//! their values for one account on one as-of date, in the same slot order.
//!
//! There are two ways to fill them:
//!
//! * **Aggregated queries.** Start from [`AccountSignals::empty`] and fill each
//!   slot from one `GROUP BY account` query per slot; [`Window::range`] gives
//!   the inclusive date range of each window.
//! * **Streaming rows** through [`SignalsBuilder`]: feed events, tickets,
//!   survey responses, engagements, subscriptions and payment failures one at
//!   a time, in any order, then [`SignalsBuilder::finish`]. The builder takes
//!   any number of as-of dates at once, so daily history and the monthly
//!   backtest need a single pass over the events.
//!
//! **No look-ahead.** For an as-of date D only rows whose UTC date is on or
//! before D count (D's end of day, UTC); subscriptions, seats and MRR are those
//! running on D (`start_date <= D < end_date`); a ticket is open on D when it
//! was opened on or before D and not closed on or before D. Rows dated after
//! the last as-of date are dropped as they arrive.
//!
//! **What to feed.** Events older than [`SignalsBuilder::horizon_start`]
//! only matter for *known users* (distinct users ever seen); instead of
//! streaming the whole history, feed one row per (account, user) with its
//! first event to [`SignalsBuilder::user_first_seen`]. Tickets, responses,
//! engagements and subscriptions are few: feed them all.
//!
//! **Cost.** Per event: two hash look-ups and a few array writes. Memory is
//! proportional to the *horizon* H = (last as-of − first as-of) + the longest
//! look-back of the plan (60 days for the default scorecard's event trend):
//! per account with events, 4·H bytes per event filter and H/8 bytes per key
//! feature; per (account, user), H/8 bytes plus the user id. One as-of date
//! for 100,000 accounts and two million users is about 100 MB; a year of
//! daily history multiplies the per-day parts by about six. To bound memory
//! for long ranges, run the builder per shard of accounts (each shard's rows
//! only) — results do not depend on how accounts are sharded.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;

use crate::config::{CurrencyConfig, MissingRate};
use crate::model::{Priority, Subscription, SurveyKind, date_from_day, day_number, day_of_micros};

/// A window of whole UTC days ending `ends_days_before` days before the
/// as-of date: `ends_days_before = 0` is the `days` days ending with the
/// as-of date itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub days: u32,
    pub ends_days_before: u32,
}

impl Window {
    /// The window ending with the as-of date.
    pub fn ending_on_as_of(days: u32) -> Window {
        Window {
            days,
            ends_days_before: 0,
        }
    }

    /// First and last day of the window, both included.
    pub fn range(&self, as_of: Date) -> (Date, Date) {
        let (lo, hi) = self.day_range(day_number(as_of));
        (date_from_day(lo), date_from_day(hi))
    }

    /// How many days before (and including) the as-of date this window reaches.
    pub fn lookback(&self) -> u32 {
        self.days + self.ends_days_before
    }

    pub(crate) fn day_range(&self, as_of: i32) -> (i32, i32) {
        let hi = as_of - self.ends_days_before as i32;
        (hi - self.days as i32 + 1, hi)
    }
}

/// Which events an event count includes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventFilter {
    All,
    /// Only these event names (sorted, without duplicates).
    Named(Vec<String>),
}

impl EventFilter {
    pub fn matches(&self, event: &str) -> bool {
        match self {
            EventFilter::All => true,
            EventFilter::Named(names) => names.binary_search_by(|n| n.as_str().cmp(event)).is_ok(),
        }
    }
}

/// An event-count slot: events passing `event_filters[filter]` in `window`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventWindow {
    pub filter: usize,
    pub window: Window,
}

/// A feature-use slot: which of `features` were used (had at least one event
/// of that name) in `window`. Bit i of the signal is `features[i]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeatureWindow {
    pub window: Window,
    /// At most 64 names.
    pub features: Vec<String>,
}

/// The aggregates the configured scorecards need, each with its slot number
/// (its index in the vector). Built by [`super::HealthModel::new`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SignalPlan {
    /// Distinct users with any event in the window.
    pub active_user_windows: Vec<Window>,
    /// Whether any measure divides by the number of known users (distinct
    /// users seen on or before the as-of date, over all history).
    pub needs_known_users: bool,
    /// Whether some measure divides by known users even for accounts with
    /// a seat count (`denominator = "known_users"`). When false, known users
    /// only matter for accounts without seats on an as-of date (`auto`), and
    /// a loader may skip the others.
    pub known_users_with_seats: bool,
    pub event_filters: Vec<EventFilter>,
    pub event_windows: Vec<EventWindow>,
    pub feature_windows: Vec<FeatureWindow>,
    /// CSAT survey responses (kind `csat`) in the window: sum and count.
    pub csat_windows: Vec<Window>,
    /// Failed payments in the window.
    pub payment_windows: Vec<Window>,
    /// Custom attributes read as numbers.
    pub attributes: Vec<String>,
    /// Whether something reads the churn model's stored probability
    /// ([`AccountSignals::churn_risk`]): a `churn_risk` measure, or a rule
    /// reading the `churn_risk` field.
    pub needs_churn_risk: bool,
}

impl SignalPlan {
    /// The longest look-back over all windows, in days (including the as-of
    /// date). Events older than this before the first as-of date only matter
    /// for known users.
    pub fn lookback_days(&self) -> u32 {
        let windows = self
            .active_user_windows
            .iter()
            .chain(self.event_windows.iter().map(|e| &e.window))
            .chain(self.feature_windows.iter().map(|f| &f.window));
        windows.map(Window::lookback).max().unwrap_or(1).max(1)
    }

    /// Whether the builder needs per-user data at all.
    pub fn needs_users(&self) -> bool {
        self.needs_known_users || !self.active_user_windows.is_empty()
    }

    pub(crate) fn active_users_slot(&mut self, w: Window) -> usize {
        intern(&mut self.active_user_windows, w)
    }

    pub(crate) fn event_slot(&mut self, filter: EventFilter, window: Window) -> usize {
        let filter = intern(&mut self.event_filters, filter);
        intern(&mut self.event_windows, EventWindow { filter, window })
    }

    pub(crate) fn feature_slot(&mut self, window: Window, features: Vec<String>) -> usize {
        intern(
            &mut self.feature_windows,
            FeatureWindow { window, features },
        )
    }

    pub(crate) fn csat_slot(&mut self, w: Window) -> usize {
        intern(&mut self.csat_windows, w)
    }

    pub(crate) fn payment_slot(&mut self, w: Window) -> usize {
        intern(&mut self.payment_windows, w)
    }

    pub(crate) fn attribute_slot(&mut self, name: &str) -> usize {
        intern(&mut self.attributes, name.to_string())
    }
}

fn intern<T: PartialEq>(v: &mut Vec<T>, x: T) -> usize {
    match v.iter().position(|y| *y == x) {
        Some(i) => i,
        None => {
            v.push(x);
            v.len() - 1
        }
    }
}

/// The latest NPS response on or before the as-of date.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatestNps {
    /// UTC date of the response.
    pub date: Date,
    /// Its score, 0–10 (the mean when several share the latest timestamp).
    pub score: f64,
}

/// A sum and a count, for averages.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SumCount {
    pub sum: f64,
    pub count: u32,
}

impl SumCount {
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / f64::from(self.count))
    }
}

/// Open tickets by priority (tickets without a priority count as normal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TicketCounts {
    pub low: u32,
    pub normal: u32,
    pub high: u32,
    pub urgent: u32,
}

impl TicketCounts {
    pub fn get(&self, p: Priority) -> u32 {
        match p {
            Priority::Low => self.low,
            Priority::Normal => self.normal,
            Priority::High => self.high,
            Priority::Urgent => self.urgent,
        }
    }

    pub fn add(&mut self, p: Priority, n: u32) {
        let c = match p {
            Priority::Low => &mut self.low,
            Priority::Normal => &mut self.normal,
            Priority::High => &mut self.high,
            Priority::Urgent => &mut self.urgent,
        };
        *c += n;
    }

    pub fn total(&self) -> u32 {
        self.low + self.normal + self.high + self.urgent
    }
}

/// Everything the scorecards read about one account on one as-of date. The
/// vectors follow the slots of the [`SignalPlan`] they were built for.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountSignals {
    pub as_of: Date,
    /// Per `plan.active_user_windows`.
    pub active_users: Vec<u32>,
    /// Distinct users seen on or before the as-of date (0 unless
    /// `plan.needs_users()`).
    pub known_users: u32,
    /// Per `plan.event_windows`.
    pub event_counts: Vec<u64>,
    /// Per `plan.feature_windows`: bit i set when `features[i]` was used.
    pub features_used: Vec<u64>,
    /// Sum of `seats` over subscriptions running on the as-of date that have
    /// a value; `None` when none has.
    pub seats: Option<i64>,
    /// MRR on the as-of date in reporting-currency units.
    pub mrr: f64,
    pub latest_nps: Option<LatestNps>,
    /// Per `plan.csat_windows`.
    pub csat: Vec<SumCount>,
    /// Open at the end of the as-of date.
    pub open_tickets: TicketCounts,
    /// UTC date of the latest engagement on or before the as-of date.
    pub last_engagement: Option<Date>,
    /// The earliest `renewal_date` on or after the as-of date among
    /// subscriptions running on it.
    pub next_renewal: Option<Date>,
    /// Per `plan.payment_windows`; `None` when payments are not tracked for
    /// this workspace (no billing source).
    pub payment_failures: Option<Vec<u32>>,
    /// Per `plan.attributes`: the value when present and numeric.
    pub attributes: Vec<Option<f64>>,
    /// The churn model's probability of churn stored for this account on
    /// the prediction day that applies to the as-of date
    /// ([`churn_prediction_day`]); `None` without one, or unless
    /// `plan.needs_churn_risk`.
    pub churn_risk: Option<f64>,
}

impl AccountSignals {
    /// Signals with every count zero and every optional value absent, sized
    /// for `plan`; the starting point when filling from aggregated queries.
    pub fn empty(plan: &SignalPlan, as_of: Date) -> AccountSignals {
        AccountSignals {
            as_of,
            active_users: vec![0; plan.active_user_windows.len()],
            known_users: 0,
            event_counts: vec![0; plan.event_windows.len()],
            features_used: vec![0; plan.feature_windows.len()],
            seats: None,
            mrr: 0.0,
            latest_nps: None,
            csat: vec![SumCount::default(); plan.csat_windows.len()],
            open_tickets: TicketCounts::default(),
            last_engagement: None,
            next_renewal: None,
            payment_failures: None,
            attributes: vec![None; plan.attributes.len()],
            churn_risk: None,
        }
    }
}

/// A stored churn prediction counts for as-of dates up to this many days
/// after its day; older ones are no data (the daily job stopped
/// predicting, for instance because the model no longer fits the
/// measures).
pub const CHURN_PREDICTION_MAX_AGE_DAYS: i32 = 31;

/// The day whose stored churn predictions apply to `as_of`: the latest of
/// `days` (sorted ascending) on or before `as_of` and at most
/// [`CHURN_PREDICTION_MAX_AGE_DAYS`] before it. A prediction made on a
/// later day is never read, so a past as-of date sees only what was
/// predicted by then. An account missing from that day's predictions (not
/// paying then) has none, even if an earlier day had one.
pub fn churn_prediction_day(days: &[Date], as_of: Date) -> Option<Date> {
    let upto = days.partition_point(|d| *d <= as_of);
    let day = *days.get(upto.checked_sub(1)?)?;
    (day_number(as_of) - day_number(day) <= CHURN_PREDICTION_MAX_AGE_DAYS).then_some(day)
}

/// Parses a custom attribute as a number: a finite decimal, surrounding
/// white space allowed. Anything else is no data.
pub fn attribute_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

/// A fixed-length bit set over the days of the horizon, allocated on first use.
#[derive(Debug, Clone, Default)]
struct DayBits(Vec<u64>);

impl DayBits {
    fn set(&mut self, i: usize, len: usize) {
        if self.0.is_empty() {
            self.0 = vec![0; len.div_ceil(64)];
        }
        self.0[i / 64] |= 1 << (i % 64);
    }

    /// Whether any bit in `lo..=hi` is set.
    fn any(&self, lo: usize, hi: usize) -> bool {
        if self.0.is_empty() || lo > hi {
            return false;
        }
        let (lw, hw) = (lo / 64, hi / 64);
        (lw..=hw).any(|w| {
            let mut mask = u64::MAX;
            if w == lw {
                mask &= u64::MAX << (lo % 64);
            }
            if w == hw {
                mask &= u64::MAX >> (63 - hi % 64);
            }
            self.0[w] & mask != 0
        })
    }
}

#[derive(Debug, Clone)]
struct User {
    first_day: i32,
    days: DayBits,
}

#[derive(Debug, Clone)]
struct Sub {
    start: i32,
    end: Option<i32>,
    seats: Option<i64>,
    renewal: Option<i32>,
    mrr: f64,
}

impl Sub {
    fn runs_on(&self, d: i32) -> bool {
        self.start <= d && self.end.is_none_or(|e| d < e)
    }
}

#[derive(Debug, Clone, Default)]
struct Acc {
    users: HashMap<Box<str>, User>,
    /// Per event filter, events per horizon day; empty until the first one.
    counts: Vec<Vec<u32>>,
    /// Per distinct key feature, the days it was used.
    features: Vec<DayBits>,
    nps: Vec<(i64, i64)>,
    csat: Vec<(i32, i64)>,
    tickets: Vec<(i32, Option<i32>, Priority)>,
    engagements: Vec<i32>,
    subs: Vec<Sub>,
    payments: Vec<i32>,
    attributes: Vec<Option<f64>>,
    /// Stored churn predictions: (day, probability), sorted by `finish`.
    churn: Vec<(i32, f64)>,
    // Filled by `finish`.
    user_days: Vec<DayBits>,
    first_days: Vec<i32>,
    prefix: Vec<Vec<u64>>,
}

#[derive(Debug, Clone, Default)]
struct Route {
    filters: Vec<usize>,
    feature: Option<usize>,
}

/// Computes [`AccountSignals`] for many accounts and as-of dates from raw rows
/// streamed in any order. Accounts are dense indices `0..n` chosen by the
/// caller (the store maps its ids to them); an index beyond `n` grows the
/// table. See the module documentation for cost and look-ahead rules.
#[derive(Debug, Clone)]
pub struct SignalsBuilder {
    plan: SignalPlan,
    currency: CurrencyConfig,
    dates: Vec<i32>,
    /// First and last day of the horizon, and its length in days.
    start: i32,
    end: i32,
    len: usize,
    routes: HashMap<String, Route>,
    all_events_filters: Vec<usize>,
    feature_names: Vec<String>,
    /// Per feature window, the index in `feature_names` of each of its features.
    feature_slots: Vec<Vec<usize>>,
    track_users: bool,
    track_payments: bool,
    accounts: Vec<Acc>,
    /// The days with stored churn predictions, sorted.
    churn_days: Vec<Date>,
}

impl SignalsBuilder {
    /// A builder for the given as-of dates (any order; duplicates ignored).
    /// `currency` converts subscription MRR to the reporting currency.
    pub fn new(
        plan: &SignalPlan,
        as_of: &[Date],
        accounts: usize,
        currency: &CurrencyConfig,
    ) -> SignalsBuilder {
        let mut dates: Vec<i32> = as_of.iter().map(|d| day_number(*d)).collect();
        dates.sort_unstable();
        dates.dedup();
        let (start, end, len) = match (dates.first(), dates.last()) {
            (Some(&first), Some(&last)) => {
                let start = first - plan.lookback_days() as i32 + 1;
                (start, last, (last - start + 1) as usize)
            }
            _ => (0, -1, 0),
        };
        let mut routes: HashMap<String, Route> = HashMap::new();
        let mut all_events_filters = Vec::new();
        for (i, f) in plan.event_filters.iter().enumerate() {
            match f {
                EventFilter::All => all_events_filters.push(i),
                EventFilter::Named(names) => {
                    for n in names {
                        routes.entry(n.clone()).or_default().filters.push(i);
                    }
                }
            }
        }
        let mut feature_names: Vec<String> = Vec::new();
        let mut feature_slots = Vec::new();
        for fw in &plan.feature_windows {
            let idx = fw
                .features
                .iter()
                .map(|f| intern(&mut feature_names, f.clone()))
                .collect();
            feature_slots.push(idx);
        }
        for (i, f) in feature_names.iter().enumerate() {
            routes.entry(f.clone()).or_default().feature = Some(i);
        }
        SignalsBuilder {
            track_users: plan.needs_users(),
            plan: plan.clone(),
            currency: currency.clone(),
            dates,
            start,
            end,
            len,
            routes,
            all_events_filters,
            feature_names,
            feature_slots,
            track_payments: false,
            accounts: vec![Acc::default(); accounts],
            churn_days: Vec::new(),
        }
    }

    /// Declares that payment failures are tracked (a billing source is
    /// connected), so that an account without failures has 0 rather than no
    /// data. Off by default.
    pub fn track_payments(&mut self, tracked: bool) {
        self.track_payments = tracked;
    }

    fn acc(&mut self, account: usize) -> &mut Acc {
        if account >= self.accounts.len() {
            self.accounts.resize_with(account + 1, Acc::default);
        }
        &mut self.accounts[account]
    }

    /// One product event. `ts_micros` is microseconds since the Unix epoch.
    pub fn event(&mut self, account: usize, user_id: &str, event: &str, ts_micros: i64) {
        self.events(account, user_id, event, ts_micros, 1);
    }

    /// `count` events of one name by one user on the UTC day of `ts_micros`:
    /// the same as calling [`SignalsBuilder::event`] `count` times with
    /// timestamps on that day. Lets the store aggregate events per account,
    /// user, name and day in SQL and stream far fewer rows.
    pub fn events(
        &mut self,
        account: usize,
        user_id: &str,
        event: &str,
        ts_micros: i64,
        count: u32,
    ) {
        if count == 0 {
            return;
        }
        let day = day_of_micros(ts_micros);
        if day > self.end {
            return;
        }
        let (start, len, track_users) = (self.start, self.len, self.track_users);
        let n_filters = self.plan.event_filters.len();
        let n_features = self.feature_names.len();
        if account >= self.accounts.len() {
            self.accounts.resize_with(account + 1, Acc::default);
        }
        let acc = &mut self.accounts[account];
        let in_horizon = day >= start;
        let i = (day - start) as usize;
        if track_users {
            match acc.users.get_mut(user_id) {
                Some(u) => {
                    u.first_day = u.first_day.min(day);
                    if in_horizon {
                        u.days.set(i, len);
                    }
                }
                None => {
                    let mut days = DayBits::default();
                    if in_horizon {
                        days.set(i, len);
                    }
                    acc.users.insert(
                        user_id.into(),
                        User {
                            first_day: day,
                            days,
                        },
                    );
                }
            }
        }
        if !in_horizon {
            return;
        }
        let route = self.routes.get(event);
        let named = route.map_or(&[][..], |r| &r.filters[..]);
        for &f in self.all_events_filters.iter().chain(named) {
            if acc.counts.len() < n_filters {
                acc.counts.resize_with(n_filters, Vec::new);
            }
            let c = &mut acc.counts[f];
            if c.is_empty() {
                *c = vec![0; len];
            }
            c[i] = c[i].saturating_add(count);
        }
        if let Some(feat) = route.and_then(|r| r.feature) {
            if acc.features.len() < n_features {
                acc.features.resize_with(n_features, DayBits::default);
            }
            acc.features[feat].set(i, len);
        }
    }

    /// The first time a user was seen, for known users: feeding
    /// `(account, user, earliest event)` rows from one aggregate query lets
    /// the store stream only the events of the horizon (from
    /// [`SignalsBuilder::horizon_start`]) instead of the whole history.
    /// Feeding both this and the user's events is harmless.
    pub fn user_first_seen(&mut self, account: usize, user_id: &str, ts_micros: i64) {
        let day = day_of_micros(ts_micros);
        if day > self.end || !self.track_users {
            return;
        }
        let acc = self.acc(account);
        match acc.users.get_mut(user_id) {
            Some(u) => u.first_day = u.first_day.min(day),
            None => {
                acc.users.insert(
                    user_id.into(),
                    User {
                        first_day: day,
                        days: DayBits::default(),
                    },
                );
            }
        }
    }

    /// The first day whose events count for anything but known users: the
    /// first as-of date minus the plan's look-back. `None` without dates.
    pub fn horizon_start(&self) -> Option<Date> {
        (self.len > 0).then(|| date_from_day(self.start))
    }

    /// One support ticket; timestamps in microseconds since the epoch. A
    /// ticket without a priority counts as normal.
    pub fn ticket(
        &mut self,
        account: usize,
        opened_micros: i64,
        closed_micros: Option<i64>,
        priority: Option<Priority>,
    ) {
        let opened = day_of_micros(opened_micros);
        if opened > self.end {
            return;
        }
        let closed = closed_micros.map(day_of_micros);
        self.acc(account)
            .tickets
            .push((opened, closed, priority.unwrap_or(Priority::Normal)));
    }

    /// One survey response (NPS and CSAT are used; CES is ignored).
    pub fn survey_response(&mut self, account: usize, kind: SurveyKind, score: i64, micros: i64) {
        let day = day_of_micros(micros);
        if day > self.end {
            return;
        }
        match kind {
            SurveyKind::Nps => self.acc(account).nps.push((micros, score)),
            SurveyKind::Csat => self.acc(account).csat.push((day, score)),
            SurveyKind::Ces => {}
        }
    }

    /// One CSM engagement (any kind).
    pub fn engagement(&mut self, account: usize, occurred_micros: i64) {
        let day = day_of_micros(occurred_micros);
        if day <= self.end {
            self.acc(account).engagements.push(day);
        }
    }

    /// One failed payment. Also see [`SignalsBuilder::track_payments`].
    pub fn payment_failure(&mut self, account: usize, micros: i64) {
        let day = day_of_micros(micros);
        if day <= self.end {
            self.acc(account).payments.push(day);
        }
    }

    /// The days on which churn predictions are stored (any order): which
    /// one applies to an as-of date is [`churn_prediction_day`]'s rule.
    pub fn churn_prediction_days(&mut self, days: &[Date]) {
        self.churn_days = days.to_vec();
        self.churn_days.sort_unstable();
        self.churn_days.dedup();
    }

    /// One stored churn prediction of an account; read only on as-of dates
    /// to which its day applies (declare the days with
    /// [`SignalsBuilder::churn_prediction_days`]).
    pub fn churn_prediction(&mut self, account: usize, day: Date, probability: f64) {
        let day = day_number(day);
        if day <= self.end {
            self.acc(account).churn.push((day, probability));
        }
    }

    /// One subscription line. Fails when its currency has no rate.
    pub fn subscription(&mut self, account: usize, sub: &Subscription) -> Result<(), MissingRate> {
        let mrr = self.currency.to_reporting(sub.mrr)?;
        let start = day_number(sub.start_date);
        if start > self.end {
            return Ok(());
        }
        let row = Sub {
            start,
            end: sub.end_date.map(day_number),
            seats: sub.seats,
            renewal: sub.renewal_date.map(day_number),
            mrr,
        };
        self.acc(account).subs.push(row);
        Ok(())
    }

    /// The account's custom attributes; those the plan reads are parsed as
    /// numbers (see [`attribute_number`]).
    pub fn attributes(&mut self, account: usize, attributes: &BTreeMap<String, String>) {
        let values: Vec<Option<f64>> = self
            .plan
            .attributes
            .iter()
            .map(|name| attributes.get(name).and_then(|v| attribute_number(v)))
            .collect();
        self.acc(account).attributes = values;
    }

    /// Sorts and indexes what was fed, ready to read signals for each date.
    pub fn finish(mut self) -> SignalsTable {
        for acc in &mut self.accounts {
            let users = std::mem::take(&mut acc.users);
            let mut first_days = Vec::with_capacity(users.len());
            for (_, u) in users {
                first_days.push(u.first_day);
                if !u.days.0.is_empty() {
                    acc.user_days.push(u.days);
                }
            }
            first_days.sort_unstable();
            acc.first_days = first_days;
            acc.prefix = std::mem::take(&mut acc.counts)
                .into_iter()
                .map(|c| {
                    if c.is_empty() {
                        return Vec::new();
                    }
                    let mut p = Vec::with_capacity(c.len() + 1);
                    let mut total = 0u64;
                    p.push(0);
                    for x in c {
                        total += u64::from(x);
                        p.push(total);
                    }
                    p
                })
                .collect();
            // Sorted so that sums over them do not depend on feed order.
            acc.subs.sort_unstable_by(|x, y| {
                (x.start, x.end, x.seats, x.renewal)
                    .cmp(&(y.start, y.end, y.seats, y.renewal))
                    .then(x.mrr.total_cmp(&y.mrr))
            });
            acc.nps.sort_unstable();
            acc.csat.sort_unstable();
            acc.engagements.sort_unstable();
            acc.payments.sort_unstable();
            acc.churn.sort_unstable_by_key(|x| x.0);
        }
        SignalsTable { b: self }
    }
}

/// The result of [`SignalsBuilder::finish`]: signals for every account on
/// every as-of date, computed on demand.
#[derive(Debug, Clone)]
pub struct SignalsTable {
    b: SignalsBuilder,
}

impl SignalsTable {
    /// The as-of dates, sorted, without duplicates; indices into this slice
    /// are the `date` arguments below.
    pub fn dates(&self) -> Vec<Date> {
        self.b.dates.iter().map(|&d| date_from_day(d)).collect()
    }

    /// The number of accounts (at least the `accounts` given to the builder).
    pub fn accounts(&self) -> usize {
        self.b.accounts.len()
    }

    /// Signals of every account on the `date`-th as-of date.
    pub fn signals_at(&self, date: usize) -> Vec<AccountSignals> {
        (0..self.accounts())
            .map(|a| self.signals(date, a))
            .collect()
    }

    /// Signals of one account on the `date`-th as-of date. Panics when
    /// `date` is out of range; an unknown account has empty signals.
    pub fn signals(&self, date: usize, account: usize) -> AccountSignals {
        let b = &self.b;
        let plan = &b.plan;
        let d = b.dates[date];
        let as_of = date_from_day(d);
        let mut s = AccountSignals::empty(plan, as_of);
        if b.track_payments {
            s.payment_failures = Some(vec![0; plan.payment_windows.len()]);
        }
        let Some(acc) = b.accounts.get(account) else {
            return s;
        };
        // Horizon-relative bit range of a window; always inside the horizon
        // because the horizon covers the longest look-back.
        let bits = |w: &Window| {
            let (lo, hi) = w.day_range(d);
            (
                (lo.max(b.start) - b.start) as usize,
                (hi - b.start) as usize,
            )
        };

        for (slot, w) in plan.active_user_windows.iter().enumerate() {
            let (lo, hi) = bits(w);
            s.active_users[slot] = acc.user_days.iter().filter(|u| u.any(lo, hi)).count() as u32;
        }
        s.known_users = acc.first_days.partition_point(|&f| f <= d) as u32;
        for (slot, ew) in plan.event_windows.iter().enumerate() {
            if let Some(p) = acc.prefix.get(ew.filter).filter(|p| !p.is_empty()) {
                let (lo, hi) = bits(&ew.window);
                if lo <= hi {
                    s.event_counts[slot] = p[hi + 1] - p[lo];
                }
            }
        }
        for (slot, idx) in b.feature_slots.iter().enumerate() {
            let (lo, hi) = bits(&plan.feature_windows[slot].window);
            let mut mask = 0u64;
            for (bit, &f) in idx.iter().enumerate().take(64) {
                if acc.features.get(f).is_some_and(|days| days.any(lo, hi)) {
                    mask |= 1 << bit;
                }
            }
            s.features_used[slot] = mask;
        }

        let mut seats = None;
        let mut next_renewal: Option<i32> = None;
        for sub in acc.subs.iter().filter(|x| x.runs_on(d)) {
            s.mrr += sub.mrr;
            if let Some(n) = sub.seats {
                seats = Some(seats.unwrap_or(0) + n);
            }
            if let Some(r) = sub.renewal.filter(|&r| r >= d) {
                next_renewal = Some(next_renewal.map_or(r, |x| x.min(r)));
            }
        }
        s.seats = seats;
        s.next_renewal = next_renewal.map(date_from_day);

        let upto = acc.nps.partition_point(|&(t, _)| day_of_micros(t) <= d);
        if upto > 0 {
            let latest = acc.nps[upto - 1].0;
            let same: Vec<i64> = acc.nps[..upto]
                .iter()
                .rev()
                .take_while(|(t, _)| *t == latest)
                .map(|&(_, score)| score)
                .collect();
            s.latest_nps = Some(LatestNps {
                date: date_from_day(day_of_micros(latest)),
                score: same.iter().sum::<i64>() as f64 / same.len() as f64,
            });
        }
        for (slot, w) in plan.csat_windows.iter().enumerate() {
            let (lo, hi) = w.day_range(d);
            let from = acc.csat.partition_point(|&(day, _)| day < lo);
            let to = acc.csat.partition_point(|&(day, _)| day <= hi);
            for &(_, score) in &acc.csat[from..to] {
                s.csat[slot].sum += score as f64;
                s.csat[slot].count += 1;
            }
        }
        for &(opened, closed, p) in &acc.tickets {
            if opened <= d && closed.is_none_or(|c| c > d) {
                s.open_tickets.add(p, 1);
            }
        }
        let upto = acc.engagements.partition_point(|&e| e <= d);
        if upto > 0 {
            s.last_engagement = Some(date_from_day(acc.engagements[upto - 1]));
        }
        if let Some(failures) = &mut s.payment_failures {
            for (slot, w) in plan.payment_windows.iter().enumerate() {
                let (lo, hi) = w.day_range(d);
                let from = acc.payments.partition_point(|&p| p < lo);
                let to = acc.payments.partition_point(|&p| p <= hi);
                failures[slot] = (to - from) as u32;
            }
        }
        if !acc.attributes.is_empty() {
            s.attributes.clone_from(&acc.attributes);
        }
        if plan.needs_churn_risk
            && let Some(day) = churn_prediction_day(&b.churn_days, as_of)
        {
            let day = day_number(day);
            let at = acc.churn.partition_point(|&(x, _)| x < day);
            s.churn_risk = acc.churn.get(at).filter(|c| c.0 == day).map(|c| c.1);
        }
        s
    }
}
