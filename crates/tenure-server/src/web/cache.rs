//! The portfolio aggregates behind the overview, accounts, metrics and risk
//! pages, computed once and shared by every request.
//!
//! [`Cache::view`] answers from memory. The raw portfolio (accounts,
//! subscriptions, recent survey responses and tickets, the latest health
//! scores, every account's current journey stage and segment from the
//! Engage runs) is loaded in a few bulk queries; each scope (everything, or one
//! CSM's accounts) gets a [`View`] built from it on first use: the metrics
//! [`Dataset`], one [`Row`] per account for the table, twelve monthly reports
//! and the health band counts. After [`TTL`] the next request still gets
//! the current view while one background task reloads. After a write
//! through the pages or the API ([`Cache::invalidate`]) the next request
//! waits for the reload instead, so that whoever saved an engagement or an
//! override sees it on the next page they open (the overview, the lists
//! and the risk board).
//!
//! The Engage report of a query ([`Cache::report`]: a day, a period and
//! whose accounts) is kept the same way, keyed by the query (which holds
//! the caller's scope): reused for [`TTL`] and until the next write, then
//! computed again on the next request.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use jiff::civil::Date;
use tenure_app::clock::today;
use tenure_app::engage::report::{Report as EngageReport, ReportQuery};
use tenure_core::config::Config;
use tenure_core::health::Band;
use tenure_core::metrics::{
    AccountInput, Dataset, Interval, MetricsInput, Period, Report, ResponseInput, Settings,
    SubscriptionInput, TicketInput, Usage, UsageAccumulator,
};
use tenure_core::model::{Account, add_days, month_back};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::engage::{Dimension, Run};
use tenure_store::web::Portfolio;

use crate::AppState;
use crate::error::AppError;

/// How long a loaded portfolio is served before a background reload.
pub const TTL: Duration = Duration::from_secs(60);

/// Engage reports kept at most; older ones are dropped first.
pub const MAX_REPORTS: usize = 64;

/// Months of monthly reports on the overview.
pub const MONTHS: usize = 12;

/// One account's current health.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Health {
    pub score: Option<f64>,
    pub band: Option<Band>,
    /// Change of the score over the last 30 days.
    pub delta30: Option<f64>,
}

/// Health of every scored account on some past days, for the band trend.
#[derive(Debug, Clone, Default)]
pub struct HealthData {
    /// The day of the latest scores.
    pub day: Option<Date>,
    pub current: HashMap<String, Health>,
    /// `(day, account id → band)`, oldest first.
    pub trend: Vec<(Date, HashMap<String, Band>)>,
}

/// What is loaded from the store.
#[derive(Debug)]
pub struct Raw {
    pub today: Date,
    pub portfolio: Portfolio,
    pub health: HealthData,
    /// Whether payment failures are tracked (a health signal).
    pub track_payments: bool,
    /// Each account's current stage and segment, by account id (accounts
    /// without an open run are missing).
    pub engage: HashMap<String, Engaged>,
    /// The latest stored churn predictions, for the renewal forecast.
    pub predictions: tenure_app::forecast::Loaded,
}

/// Where an account is today in one Engage dimension: its open run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The stage's or the segment's name.
    pub name: String,
    /// The segment's touch tier (stages have none).
    pub tier: Option<String>,
    /// The day the account entered it.
    pub since: Date,
    /// Its place in the view's list ([`View::stages`] in journey order,
    /// [`View::segments`] in the configuration's order), for sorting; set
    /// when a view is built.
    pub rank: usize,
}

/// An account's current journey stage and segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Engaged {
    pub stage: Option<Placement>,
    pub segment: Option<Placement>,
}

/// A row of the accounts table.
#[derive(Debug, Clone)]
pub struct Row {
    /// Index in [`View::accounts`] and in the dataset.
    pub index: usize,
    pub mrr_minor: i64,
    pub renewal: Option<Date>,
    pub health: Health,
    /// The current journey stage (the open stage run), if any.
    pub stage: Option<Placement>,
    /// The current segment and its tier (the open segment run), if any.
    pub segment: Option<Placement>,
}

/// Band counts: red, yellow, green, not scored.
pub type BandCounts = [u32; 4];

/// The aggregates of one scope.
#[derive(Debug)]
pub struct View {
    /// What the view was built from (every account, in database id order).
    pub raw: Arc<Raw>,
    pub today: Date,
    pub currency: String,
    pub dataset: Dataset,
    pub accounts: Vec<Account>,
    pub rows: Vec<Row>,
    /// The last twelve calendar months (the current one to date).
    pub months: Vec<Report>,
    /// The last 30 days.
    pub last30: Report,
    /// The last 90 days (survey scores need more answers than a month gives).
    pub last90: Report,
    pub settings: Settings,
    pub bands: BandCounts,
    pub band_trend: Vec<(Date, BandCounts)>,
    pub health_day: Option<Date>,
    pub plans: Vec<String>,
    pub csms: Vec<String>,
    /// The configured segments, in order, then any others the accounts are
    /// in (a segment since removed from `tenure.toml`), by name.
    pub segments: Vec<String>,
    /// The configured stages in journey order, then any others the accounts
    /// are in, by name.
    pub stages: Vec<String>,
    pub warnings: Vec<String>,
    /// Subscriptions by id, for the ledger's drill-down.
    pub subscriptions: HashMap<String, SubInfo>,
    /// Usage (DAU, MAU, ...) by the last day of its window, computed from
    /// events on first use.
    pub usage: Mutex<HashMap<Date, Arc<Usage>>>,
    /// The renewal forecast of the view's accounts (docs/FORECAST.md),
    /// computed once per view.
    pub forecast: tenure_app::forecast::RenewalForecast,
}

/// A subscription, as the ledger's drill-down shows it.
#[derive(Debug, Clone)]
pub struct SubInfo {
    pub plan: Option<String>,
    /// `12.50 EUR`, in its own currency.
    pub mrr: String,
    pub seats: Option<i64>,
    pub start: Date,
    pub end: Option<Date>,
    pub renewal: Option<Date>,
}

impl View {
    /// Usage metrics for the 30 days ending on `end`, streamed from the
    /// events once per view and day.
    pub async fn usage(&self, store: &Store, end: Date) -> Result<Arc<Usage>, AppError> {
        if let Some(u) = self.usage.lock().expect("usage lock").get(&end) {
            return Ok(u.clone());
        }
        let index: HashMap<String, usize> = self
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i))
            .collect();
        let mut acc = UsageAccumulator::new(&[end]);
        store.stream_usage(&index, &mut acc).await?;
        let usage = Arc::new(acc.finish());
        self.usage
            .lock()
            .expect("usage lock")
            .insert(end, usage.clone());
        Ok(usage)
    }

    /// The reporting currency's code.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// Money in reporting minor units as currency units.
    pub fn units(&self, minor: i64) -> f64 {
        self.dataset.units(minor)
    }
}

#[derive(Default)]
struct Inner {
    raw: Option<(Instant, Arc<Raw>)>,
    /// Writes so far ([`Cache::invalidate`]).
    writes: u64,
    /// The value of `writes` when `raw` was loaded: older means a write
    /// happened since, and `raw` must be reloaded before it is served.
    loaded_after: u64,
    views: HashMap<String, Arc<View>>,
    /// Engage reports by query: `(day, from, CSM in lower case)`.
    reports: HashMap<ReportKey, CachedReport>,
}

/// An Engage report's query as a cache key.
type ReportKey = (Date, Date, Option<String>);

/// An Engage report, when it was computed and the writes seen before.
struct CachedReport {
    at: Instant,
    writes: u64,
    report: Arc<EngageReport>,
}

/// What the cache holds for a scope.
enum Cached {
    /// The scope's view, built from a portfolio loaded after the last write.
    View(Arc<View>),
    /// No view for the scope yet, but a portfolio loaded after the last write.
    Raw(Arc<Raw>),
    /// Nothing loaded yet, or written since: reload before answering.
    Stale,
}

impl Inner {
    /// What a request for scope `key` can use, and whether the portfolio is
    /// older than [`TTL`] (then it is still served, and reloaded in the
    /// background).
    fn cached(&self, key: &str) -> (Cached, bool) {
        match &self.raw {
            Some((at, raw)) if self.loaded_after == self.writes => {
                let expired = at.elapsed() > TTL;
                match self.views.get(key) {
                    Some(v) => (Cached::View(v.clone()), expired),
                    None => (Cached::Raw(raw.clone()), expired),
                }
            }
            _ => (Cached::Stale, false),
        }
    }

    /// Stores a fresh load that started when `writes` was `seen`; a write
    /// during the load leaves it marked out of date.
    fn store(&mut self, raw: Arc<Raw>, seen: u64) {
        self.raw = Some((Instant::now(), raw));
        self.loaded_after = seen;
        self.views.clear();
    }
}

/// The cache; one per server.
#[derive(Default)]
pub struct Cache {
    inner: Mutex<Inner>,
    refreshing: AtomicBool,
    /// One build at a time.
    build: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").finish_non_exhaustive()
    }
}

fn scope_key(scope: &Scope) -> String {
    match scope {
        Scope::All => String::new(),
        Scope::Csm(e) => e.trim().to_ascii_lowercase(),
    }
}

impl Cache {
    /// Marks the aggregates out of date after a write: the next request
    /// reloads them before it answers.
    pub fn invalidate(&self) {
        self.inner.lock().expect("cache lock").writes += 1;
    }

    /// Writes so far ([`Cache::invalidate`]): what else is cached (the team
    /// page's KPIs) is current while this has not changed.
    pub fn writes(&self) -> u64 {
        self.inner.lock().expect("cache lock").writes
    }

    /// The aggregates of `scope`.
    pub async fn view(&self, state: &AppState, scope: &Scope) -> Result<Arc<View>, AppError> {
        let key = scope_key(scope);
        let (first, expired) = self.inner.lock().expect("cache lock").cached(&key);
        if expired {
            self.refresh_in_background(state);
        }
        if let Cached::View(v) = first {
            return Ok(v);
        }
        let _guard = self.build.lock().await;
        // Another request may have built or reloaded meanwhile.
        let (now, _) = self.inner.lock().expect("cache lock").cached(&key);
        let raw = match now {
            Cached::View(v) => return Ok(v),
            Cached::Raw(r) => r,
            Cached::Stale => {
                let seen = self.inner.lock().expect("cache lock").writes;
                let r = Arc::new(load_raw(&state.store).await?);
                self.inner
                    .lock()
                    .expect("cache lock")
                    .store(r.clone(), seen);
                r
            }
        };
        let config = state.web.config.clone();
        let scope2 = scope.clone();
        let view = tokio::task::spawn_blocking(move || build_view(&raw, &config, &scope2))
            .await
            .map_err(AppError::internal)??;
        let view = Arc::new(view);
        self.inner
            .lock()
            .expect("cache lock")
            .views
            .insert(key, view.clone());
        Ok(view)
    }

    /// The Engage report of `q` (`tenure_app::engage::report`), reused
    /// while younger than [`TTL`] and no write happened since it was
    /// computed. Two requests for a missing report may both compute it.
    pub async fn report(
        &self,
        state: &AppState,
        q: &ReportQuery,
    ) -> Result<Arc<EngageReport>, AppError> {
        let key: ReportKey = (
            q.day,
            q.from,
            q.csm.as_deref().map(|c| c.trim().to_ascii_lowercase()),
        );
        let seen = {
            let inner = self.inner.lock().expect("cache lock");
            if let Some(c) = inner.reports.get(&key)
                && c.writes == inner.writes
                && c.at.elapsed() <= TTL
            {
                return Ok(c.report.clone());
            }
            inner.writes
        };
        let report =
            Arc::new(tenure_app::engage::report::report(&state.store, &state.web.config, q).await?);
        let mut inner = self.inner.lock().expect("cache lock");
        if inner.reports.len() >= MAX_REPORTS {
            let writes = inner.writes;
            inner
                .reports
                .retain(|_, c| c.writes == writes && c.at.elapsed() <= TTL);
            if inner.reports.len() >= MAX_REPORTS {
                inner.reports.clear();
            }
        }
        inner.reports.insert(
            key,
            CachedReport {
                at: Instant::now(),
                writes: seen,
                report: report.clone(),
            },
        );
        Ok(report)
    }

    fn refresh_in_background(&self, state: &AppState) {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let state = state.clone();
        tokio::spawn(async move {
            let cache = &state.web.cache;
            let seen = cache.inner.lock().expect("cache lock").writes;
            match load_raw(&state.store).await {
                Ok(raw) => {
                    let mut inner = cache.inner.lock().expect("cache lock");
                    inner.store(Arc::new(raw), seen);
                }
                Err(e) => {
                    tracing::warn!(error = %e.message, "reloading the dashboard cache failed")
                }
            }
            cache.refreshing.store(false, Ordering::Release);
        });
    }
}

/// Loads the raw portfolio: survey responses and tickets of the last 13 months.
pub async fn load_raw(store: &Store) -> Result<Raw, AppError> {
    let today = today();
    let since = Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(24 * 400))
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let portfolio = store.web_portfolio(since).await?;
    let health = load_health_data(store, today).await?;
    let track_payments = store.payments_tracked().await?;
    let engage = current_engage(store.engage_runs(Some(today)).await?);
    let predictions = tenure_app::forecast::load(store).await?;
    Ok(Raw {
        today,
        portfolio,
        health,
        track_payments,
        engage,
        predictions,
    })
}

/// Each account's current stage and segment: its open runs (those without
/// a `left_on`; the latest entered, should there be more than one).
fn current_engage(runs: Vec<Run>) -> HashMap<String, Engaged> {
    let mut out: HashMap<String, Engaged> = HashMap::new();
    for r in runs {
        if r.left_on.is_some() {
            continue;
        }
        let e = out.entry(r.account_id).or_default();
        let slot = match r.dimension {
            Dimension::Stage => &mut e.stage,
            Dimension::Segment => &mut e.segment,
        };
        if slot.as_ref().is_none_or(|p| p.since <= r.entered_on) {
            *slot = Some(Placement {
                name: r.name,
                tier: r.tier,
                since: r.entered_on,
                rank: 0,
            });
        }
    }
    out
}

/// Builds the aggregates of one scope.
pub fn build_view(raw: &Arc<Raw>, config: &Config, scope: &Scope) -> Result<View, AppError> {
    let today = raw.today;
    let (accounts, index) = visible_accounts(&raw.portfolio, scope);
    let (input, renewal, subscriptions) = metrics_input(&raw.portfolio, &accounts, &index, today);
    // The same settings, and the same error, as `tenure metrics`.
    let (rates, settings) = Settings::from_config(config)
        .map_err(|e| AppError::invalid(format!("the metrics cannot be computed: {e}")))?;
    let dataset = Dataset::new(input, &rates)
        .map_err(|e| AppError::invalid(format!("the metrics cannot be computed: {e}")))?;
    let (months, last30, last90) = reports(&dataset, &settings, today);
    let engage = EngageOrder::new(config, &raw.engage, &accounts);
    let table = account_rows(raw, &engage, &accounts, &dataset, &renewal);
    let band_trend = band_trend(&raw.health, &accounts);
    let warnings = dataset.warnings().to_vec();
    let forecast =
        tenure_app::forecast::compute(&dataset, &raw.predictions, today, &|_| true, &|i| {
            accounts[i].name.clone()
        });
    Ok(View {
        raw: raw.clone(),
        today,
        currency: dataset.currency().as_str().to_string(),
        dataset,
        accounts,
        rows: table.rows,
        months,
        last30,
        last90,
        settings,
        bands: table.bands,
        band_trend,
        health_day: raw.health.day,
        plans: table.plans,
        csms: table.csms,
        segments: engage.segments,
        stages: engage.stages,
        warnings,
        subscriptions,
        usage: Mutex::new(HashMap::new()),
        forecast,
    })
}

/// The accounts the scope sees, in database id order, and each one's
/// position by id.
fn visible_accounts<'a>(
    p: &'a Portfolio,
    scope: &Scope,
) -> (Vec<Account>, HashMap<&'a str, usize>) {
    let email = match scope {
        Scope::All => None,
        Scope::Csm(e) => Some(e.trim().to_ascii_lowercase()),
    };
    let mut accounts = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for a in &p.accounts {
        let visible = match &email {
            None => true,
            Some(e) => {
                a.csm_email
                    .as_deref()
                    .map(|c| c.trim().to_ascii_lowercase())
                    == Some(e.clone())
            }
        };
        if visible {
            index.insert(a.id.as_str(), accounts.len());
            accounts.push(a.clone());
        }
    }
    (accounts, index)
}

/// The metrics input of the visible accounts, with each account's next
/// renewal date among its running subscriptions and the subscriptions for
/// the ledger's drill-down.
fn metrics_input(
    p: &Portfolio,
    accounts: &[Account],
    index: &HashMap<&str, usize>,
    today: Date,
) -> (MetricsInput, Vec<Option<Date>>, HashMap<String, SubInfo>) {
    let mut input = MetricsInput {
        accounts: accounts
            .iter()
            .map(|a| AccountInput {
                id: a.id.clone(),
                trial_start: a.trial_start,
                trial_end: a.trial_end,
            })
            .collect(),
        ..MetricsInput::default()
    };
    let mut renewal: Vec<Option<Date>> = vec![None; accounts.len()];
    let mut subscriptions = HashMap::new();
    for s in &p.subscriptions {
        let Some(&i) = index.get(s.account_id.as_str()) else {
            continue;
        };
        subscriptions.insert(
            s.id.clone(),
            SubInfo {
                plan: s.plan.clone(),
                mrr: format!("{} {}", s.mrr.to_decimal_string(), s.mrr.currency.as_str()),
                seats: s.seats,
                start: s.start_date,
                end: s.end_date,
                renewal: s.renewal_date,
            },
        );
        let running = s.start_date <= today && s.end_date.is_none_or(|e| e > today);
        if running
            && let Some(r) = s.renewal_date
            && r >= today
            && renewal[i].is_none_or(|cur| r < cur)
        {
            renewal[i] = Some(r);
        }
        input.subscriptions.push(SubscriptionInput {
            id: s.id.clone(),
            account: i,
            mrr: s.mrr,
            start: s.start_date,
            end: s.end_date,
            renewal: s.renewal_date,
            seats: s.seats,
        });
    }
    for r in &p.responses {
        if let Some(&i) = index.get(r.account_id.as_str()) {
            input.responses.push(ResponseInput {
                id: r.id.clone(),
                account: i,
                contact_id: r.contact_id.clone(),
                kind: r.kind,
                score: r.score,
                responded_at: r.responded_at,
            });
        }
    }
    for t in &p.tickets {
        if let Some(&i) = index.get(t.account_id.as_str()) {
            input.tickets.push(TicketInput {
                account: i,
                opened_at: t.opened_at,
                first_contact_resolved: t.first_contact_resolved,
            });
        }
    }
    for (id, day) in &p.first_values {
        if let Some(&i) = index.get(id.as_str()) {
            input.first_values.push((i, *day));
        }
    }
    (input, renewal, subscriptions)
}

/// The last [`MONTHS`] calendar months, the last 30 days and the last 90 days.
fn reports(dataset: &Dataset, settings: &Settings, today: Date) -> (Vec<Report>, Report, Report) {
    let first_month = month_back(today.first_of_month(), MONTHS as i32 - 1);
    let months = match Period::new(first_month, today) {
        Ok(p) => dataset.series(p, Interval::Month, settings, None).reports,
        Err(_) => Vec::new(),
    };
    let last30 = dataset.report(
        Period::new(add_days(today, -29), today).expect("29 days back is before today"),
        settings,
        None,
    );
    let last90 = dataset.report(
        Period::new(add_days(today, -89), today).expect("89 days back is before today"),
        settings,
        None,
    );
    (months, last30, last90)
}

/// The accounts table of a view, with what its filters offer.
struct AccountTable {
    rows: Vec<Row>,
    bands: BandCounts,
    /// The plans of the accounts, sorted.
    plans: Vec<String>,
    /// The CSMs' e-mails, lower case, sorted.
    csms: Vec<String>,
}

/// The segments and stages a view's filters offer, in the order its
/// table sorts them.
struct EngageOrder {
    segments: Vec<String>,
    stages: Vec<String>,
}

impl EngageOrder {
    /// The configured names, then the others the accounts are in, by name.
    fn new(config: &Config, engage: &HashMap<String, Engaged>, accounts: &[Account]) -> Self {
        let list = |configured: Vec<String>, pick: fn(&Engaged) -> Option<&Placement>| {
            let mut others = BTreeSet::new();
            for a in accounts {
                if let Some(p) = engage.get(&a.id).and_then(pick)
                    && !configured.contains(&p.name)
                {
                    others.insert(p.name.clone());
                }
            }
            let mut names = configured;
            names.extend(others);
            names
        };
        EngageOrder {
            segments: list(
                config
                    .engage
                    .segments
                    .0
                    .iter()
                    .map(|s| s.name.clone())
                    .collect(),
                |e| e.segment.as_ref(),
            ),
            stages: list(
                config
                    .engage
                    .journey
                    .0
                    .iter()
                    .map(|s| s.name.clone())
                    .collect(),
                |e| e.stage.as_ref(),
            ),
        }
    }

    /// `p` with its rank in `names`.
    fn ranked(names: &[String], p: Option<&Placement>) -> Option<Placement> {
        p.map(|p| Placement {
            rank: names
                .iter()
                .position(|n| *n == p.name)
                .unwrap_or(names.len()),
            ..p.clone()
        })
    }
}

/// One row per account with its MRR today, next renewal, health, stage and
/// segment, and the band counts.
fn account_rows(
    raw: &Raw,
    order: &EngageOrder,
    accounts: &[Account],
    dataset: &Dataset,
    renewal: &[Option<Date>],
) -> AccountTable {
    let (health, today) = (&raw.health, raw.today);
    let mut bands = [0u32; 4];
    let mut rows = Vec::with_capacity(accounts.len());
    let mut plans = BTreeSet::new();
    let mut csms = BTreeSet::new();
    for (i, a) in accounts.iter().enumerate() {
        let health = health.current.get(&a.id).copied().unwrap_or_default();
        bands[band_slot(health.band)] += 1;
        if let Some(p) = &a.plan {
            plans.insert(p.clone());
        }
        if let Some(c) = &a.csm_email {
            csms.insert(c.to_ascii_lowercase());
        }
        let engaged = raw.engage.get(&a.id);
        rows.push(Row {
            index: i,
            mrr_minor: dataset.mrr_on(i, today),
            renewal: renewal[i],
            health,
            stage: EngageOrder::ranked(&order.stages, engaged.and_then(|e| e.stage.as_ref())),
            segment: EngageOrder::ranked(&order.segments, engaged.and_then(|e| e.segment.as_ref())),
        });
    }
    AccountTable {
        rows,
        bands,
        plans: plans.into_iter().collect(),
        csms: csms.into_iter().collect(),
    }
}

/// The band counts of the accounts on each day of the stored trend.
fn band_trend(health: &HealthData, accounts: &[Account]) -> Vec<(Date, BandCounts)> {
    health
        .trend
        .iter()
        .map(|(day, by_account)| {
            let mut c = [0u32; 4];
            for a in accounts {
                c[band_slot(by_account.get(&a.id).copied())] += 1;
            }
            (*day, c)
        })
        .collect()
}

/// The latest stored scores of every account, their 30-day change, and the
/// band of every account at each of the last twelve month ends.
pub async fn load_health_data(store: &Store, today: Date) -> Result<HealthData, AppError> {
    let days = store.snapshot_days(add_days(today, -400), today).await?;
    let Some(&day) = days.last() else {
        return Ok(HealthData::default());
    };
    let latest_on_or_before = |d: Date| days.iter().rev().find(|x| **x <= d).copied();
    let mut current: HashMap<String, Health> = HashMap::new();
    for (id, score, band) in store.snapshots_on(day).await? {
        current.insert(
            id,
            Health {
                score,
                band,
                delta30: None,
            },
        );
    }
    if let Some(before) = latest_on_or_before(add_days(day, -30))
        && before < day
    {
        for (id, score, _) in store.snapshots_on(before).await? {
            if let (Some(h), Some(old)) = (current.get_mut(&id), score)
                && let Some(now) = h.score
            {
                h.delta30 = Some(now - old);
            }
        }
    }
    let mut trend = Vec::new();
    let mut seen = Vec::new();
    for k in (0..12).rev() {
        let end = if k == 0 {
            day
        } else {
            add_days(month_back(day.first_of_month(), k - 1), -1)
        };
        let Some(d) = latest_on_or_before(end) else {
            continue;
        };
        if seen.contains(&d) {
            continue;
        }
        seen.push(d);
        let bands = store
            .snapshots_on(d)
            .await?
            .into_iter()
            .filter_map(|(id, _, b)| Some((id, b?)))
            .collect();
        trend.push((d, bands));
    }
    Ok(HealthData {
        day: Some(day),
        current,
        trend,
    })
}

/// A score drop over 30 days that puts an account on the risk board even
/// when it is not red yet.
pub const FALLING: f64 = -10.0;

impl Row {
    /// Paying, and red or falling by [`FALLING`] points or more in 30 days.
    pub fn at_risk(&self) -> bool {
        self.mrr_minor > 0
            && (self.health.band == Some(Band::Red)
                || self.health.delta30.is_some_and(|d| d <= FALLING))
    }
}

/// 0 red, 1 yellow, 2 green, 3 not scored.
pub fn band_slot(b: Option<Band>) -> usize {
    match b {
        Some(Band::Red) => 0,
        Some(Band::Yellow) => 1,
        Some(Band::Green) => 2,
        None => 3,
    }
}

/// Counts per key, sorted by key, for small summaries.
pub fn count_by<K: Ord>(items: impl Iterator<Item = K>) -> BTreeMap<K, usize> {
    let mut m = BTreeMap::new();
    for k in items {
        *m.entry(k).or_insert(0) += 1;
    }
    m
}
