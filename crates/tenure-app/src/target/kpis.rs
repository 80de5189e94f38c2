//! The CSM KPIs against their targets (docs/TARGET.md): each CSM's
//! portfolio and the team's on a day and over the period before it, and
//! the same for each of the last months, for `tenure kpis`, the API and
//! the team page.
//!
//! [`KpiInputs::load`] reads everything once, in bulk, for every period
//! asked (the current one and the months of the history): the accounts
//! and their CSMs, the metrics engine's input (subscriptions, answers),
//! the stored health snapshots on each period's last day and 30 days
//! before, each account's active users and events in the two 30-day
//! windows before each last day (the health signals loader, from the usage
//! rollups), the Engage runs and engagements cadence reads, milestones,
//! tasks and the first paid and first value days. [`KpiInputs::compute`]
//! then folds the accounts into portfolios in one pass per period (core's
//! `target::kpis`), with no query per CSM. NPS, CSAT, GRR and NRR are the
//! metrics engine's own (`Dataset::report`), run on each portfolio's
//! accounts: the team's figures are exactly `tenure metrics` over the same
//! period.
//!
//! Rules worth knowing:
//! - a portfolio is the accounts whose `csm_email` is the CSM's today (any
//!   case); past months are measured on today's portfolios;
//! - health is the latest stored score on the day (at most
//!   `DELTA_TOLERANCE_DAYS` earlier, should the job not have run yet) and
//!   its change against the score 30 days before, as the Engage facts
//!   read it;
//! - cadence compliance reads the stage and segment runs the daily job
//!   recorded, and counts an open run as lasting to the day; the cadence
//!   page decides the day afresh, so the two differ only on a day the job
//!   has not passed yet, for an account that moved that day;
//! - overdue tasks are counted per task owner, on past days from each
//!   task's due, creation and completion days (a dropped task never
//!   counts: it keeps no day it was dropped).

use std::collections::{BTreeSet, HashMap};

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::engage::Run as Span;
use tenure_core::engage::cadence::Compliance;
use tenure_core::engage::period::kept;
use tenure_core::engage::rewind;
use tenure_core::health::{
    DELTA_TOLERANCE_DAYS, EventFilter, EventWindow, SignalPlan, Window, score_deltas,
};
use tenure_core::metrics::{
    AccountInput, Dataset, Metric, MetricsError, MetricsInput, Period, Rates, Settings,
};
use tenure_core::model::{Account, add_days};
use tenure_core::target::kpis::{
    AccountKpis, KpiCell, Portfolio, PortfolioMetrics, against_targets, fold, months_to,
    task_overdue_on,
};
use tenure_core::target::plans::{MilestoneStatus, execution, time_to_value as ttv_days};
use tenure_store::Store;
use tenure_store::analytics::LoadRange;
use tenure_store::engage::Dimension;
use tenure_store::health::{Shard, SignalsRequest};
use tenure_store::kpis::TaskDue;

use crate::engage::report::PERIOD_DAYS;
use crate::{Error, Result};

/// The most months of history asked at once.
pub const MAX_MONTHS: usize = 36;

/// What is asked: the day, the period before it and, optionally, one CSM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiQuery {
    /// The last day of the period: the day of the counts, ARR, health,
    /// usage, overdue tasks and time to value.
    pub day: Date,
    /// The first day of the period of NPS, CSAT, plan execution, cadence
    /// compliance, GRR and NRR.
    pub from: Date,
    /// Only this CSM's row (their email, any case); the team's is always
    /// there.
    pub csm: Option<String>,
}

impl KpiQuery {
    /// The 90 days ending on `day`.
    pub fn last_days(day: Date, csm: Option<String>) -> KpiQuery {
        KpiQuery {
            day,
            from: add_days(day, 1 - PERIOD_DAYS),
            csm,
        }
    }
}

/// A period: the KPIs on `to`, over `from..=to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KpiPeriod {
    pub from: Date,
    pub to: Date,
}

/// One row: a CSM's portfolio, or the team's.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiRow {
    /// The CSM's email in lower case; `None` for the team.
    pub csm: Option<String>,
    /// Accounts in the portfolio, customers or not.
    pub members: u64,
    /// Each KPI against its target, in `Kpi::ALL` order.
    pub cells: Vec<KpiCell>,
}

/// The KPIs of one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Kpis {
    pub from: Date,
    pub day: Date,
    /// The reporting currency of ARR.
    pub currency: String,
    /// One row per CSM (or the one asked), by email.
    pub csms: Vec<KpiRow>,
    pub team: KpiRow,
}

impl Kpis {
    /// The row of a CSM (any case).
    pub fn csm(&self, email: &str) -> Option<&KpiRow> {
        let e = email.trim().to_ascii_lowercase();
        self.csms
            .iter()
            .find(|r| r.csm.as_deref() == Some(e.as_str()))
    }
}

/// The KPIs of `q`.
pub async fn kpis(store: &Store, config: &Config, q: &KpiQuery) -> Result<Kpis> {
    let (now, _) = kpis_and_history(store, config, q, 0).await?;
    Ok(now)
}

/// The KPIs of each of the `months` whole months up to `day` (the month
/// is the period; oldest first), for every CSM or the one asked.
pub async fn kpi_history(
    store: &Store,
    config: &Config,
    day: Date,
    months: usize,
    csm: Option<&str>,
) -> Result<Vec<Kpis>> {
    let periods = history_periods(day, months)?;
    let inputs = KpiInputs::load(store, config, &periods).await?;
    inputs.compute(config, csm)
}

/// The KPIs of `q` and of the `months` whole months up to its day, from
/// one load.
pub async fn kpis_and_history(
    store: &Store,
    config: &Config,
    q: &KpiQuery,
    months: usize,
) -> Result<(Kpis, Vec<Kpis>)> {
    let mut periods = history_periods(q.day, months)?;
    periods.push(KpiPeriod {
        from: q.from,
        to: q.day,
    });
    let inputs = KpiInputs::load(store, config, &periods).await?;
    let mut all = inputs.compute(config, q.csm.as_deref())?;
    let now = all
        .pop()
        .ok_or_else(|| Error::Internal("no KPIs computed".into()))?;
    Ok((now, all))
}

fn history_periods(day: Date, months: usize) -> Result<Vec<KpiPeriod>> {
    if months > MAX_MONTHS {
        return Err(Error::Invalid(format!(
            "months: at most {MAX_MONTHS}, not {months}"
        )));
    }
    Ok(months_to(day, months)
        .into_iter()
        .map(|(from, to)| KpiPeriod { from, to })
        .collect())
}

/// The signal plan of the usage trend: active users and events in the 30
/// days to the day and in the 30 days before those.
fn usage_plan() -> SignalPlan {
    let windows = [
        Window::ending_on_as_of(30),
        Window {
            days: 30,
            ends_days_before: 30,
        },
    ];
    SignalPlan {
        active_user_windows: windows.to_vec(),
        event_filters: vec![EventFilter::All],
        event_windows: windows
            .iter()
            .map(|&window| EventWindow { filter: 0, window })
            .collect(),
        ..SignalPlan::default()
    }
}

/// What one period's last day reads, per account (in
/// [`KpiInputs::accounts`] order).
#[derive(Debug, Clone, Default)]
struct DayInputs {
    /// The latest score and its 30-day change.
    health: Vec<(Option<f64>, Option<f64>)>,
    /// `[now, before]` active users, then events.
    usage: Vec<([u64; 2], [u64; 2])>,
}

/// Each account's stage and segment runs, by configured index.
type Runs = [Vec<Span<usize>>; 2];

/// Everything the KPIs of some periods read, loaded once.
#[derive(Debug, Clone)]
pub struct KpiInputs {
    periods: Vec<KpiPeriod>,
    /// Every account, in the store's order.
    accounts: Vec<Account>,
    /// Each account's CSM: an index into `csms`.
    portfolio: Vec<Option<usize>>,
    /// The CSMs (lower case, sorted): those of the accounts and those
    /// with targets of their own.
    csms: Vec<String>,
    /// The metrics engine's input and each account's index in it.
    metrics: MetricsInput,
    metrics_index: Vec<Option<usize>>,
    /// The team's dataset: every account.
    team: Dataset,
    rates: Rates,
    settings: Settings,
    days: Vec<DayInputs>,
    runs: Vec<Runs>,
    /// Each account's engagement days by kind, sorted.
    done: Vec<HashMap<String, Vec<Date>>>,
    /// `(due, status, done on)` of each account's milestones.
    milestones: Vec<Vec<(Date, MilestoneStatus, Option<Date>)>>,
    first_mrr: Vec<Option<Date>>,
    first_value: Vec<Option<Date>>,
    tasks: Vec<TaskDue>,
    /// Each task's account position, for [`KpiInputs::reassign`].
    task_account: Vec<Option<usize>>,
}

/// What is read beside the accounts.
struct Side {
    runs: Vec<tenure_store::engage::Run>,
    engagements: Vec<(String, String, Date)>,
    milestones: Vec<tenure_store::target::Milestone>,
    tasks: Vec<TaskDue>,
    first_paid: Vec<(String, Date)>,
    first_done: Vec<(String, Date)>,
}

async fn read_side(store: Store, first: Date, last: Date) -> Result<Side> {
    let runs = store.engage_runs(Some(first)).await?;
    // The latest engagement of each kind before the first period, then
    // those in the periods: what compliance over each reads.
    let mut engagements = store.latest_engagement_days(first).await?;
    engagements.extend(store.engagement_days(first, last).await?);
    Ok(Side {
        runs,
        engagements,
        milestones: store.milestones().await?,
        tasks: store.task_dues().await?,
        first_paid: store.first_paid_days().await?,
        first_done: store.first_milestone_days().await?,
    })
}

/// The engine's errors the user can fix as [`Error::Invalid`].
fn engine_error(e: MetricsError) -> Error {
    match e {
        MetricsError::UnknownAccount { .. } => Error::Internal(e.to_string()),
        _ => Error::Invalid(e.to_string()),
    }
}

/// An email as portfolios compare it; `None` when blank.
fn email_key(e: Option<&str>) -> Option<String> {
    e.map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
}

impl KpiInputs {
    /// Loads what the KPIs of `periods` read (see the module's
    /// documentation): one bulk read per table, several at once.
    pub async fn load(store: &Store, config: &Config, periods: &[KpiPeriod]) -> Result<KpiInputs> {
        for p in periods {
            if p.from > p.to {
                return Err(Error::Invalid(format!(
                    "from: the period starts on {} after its last day, {}",
                    p.from, p.to
                )));
            }
        }
        let (Some(first), Some(last)) = (
            periods.iter().map(|p| p.from).min(),
            periods.iter().map(|p| p.to).max(),
        ) else {
            return Err(Error::Invalid("no period to measure".into()));
        };
        let (rates, settings) =
            Settings::from_config(config).map_err(|e| Error::Invalid(e.to_string()))?;
        crate::health::check_rates(store, config).await?;
        // What does not depend on the accounts is read on other tasks
        // while the accounts and their usage load.
        // The team's dataset is built as soon as its input is loaded.
        let metrics = tokio::spawn({
            let (store, rates) = (store.clone(), rates.clone());
            async move {
                let load = store
                    .load_metrics_input(Some(LoadRange {
                        from: first,
                        to: last,
                    }))
                    .await?;
                let input = load.input.clone();
                let team = tokio::task::spawn_blocking(move || Dataset::new(input, &rates))
                    .await?
                    .map_err(engine_error)?;
                Ok::<_, Error>((load, team))
            }
        });
        let side = tokio::spawn(read_side(store.clone(), first, last));
        let health = tokio::spawn({
            let (store, days) = (store.clone(), periods.iter().map(|p| p.to).collect());
            health_on(store, days)
        });
        let accounts = store.health_accounts_with(false).await?;
        let position: HashMap<&str, usize> = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.as_str(), i))
            .collect();
        let n = accounts.len();
        let plan = usage_plan();
        let mut days = Vec::with_capacity(periods.len());
        for p in periods {
            days.push(DayInputs {
                health: vec![(None, None); n],
                usage: usage_on(store, config, &plan, &accounts, p.to).await?,
            });
        }
        for (d, scores) in days.iter_mut().zip(health.await??) {
            for (id, score, change) in scores {
                if let Some(&i) = position.get(id.as_str()) {
                    d.health[i] = (Some(score), change);
                }
            }
        }

        let (load, team) = metrics.await??;
        let metrics_index: Vec<Option<usize>> = accounts
            .iter()
            .map(|a| load.account_index.get(&a.id).copied())
            .collect();
        let Side {
            runs: stored_runs,
            engagements,
            milestones: all_milestones,
            tasks,
            first_paid,
            first_done,
        } = side.await??;

        let e = &config.engage;
        let stage_index: HashMap<&str, usize> = e
            .journey
            .0
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let segment_index: HashMap<&str, usize> = e
            .segments
            .0
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let mut runs: Vec<Runs> = vec![Default::default(); n];
        for r in stored_runs {
            let Some(&i) = position.get(r.account_id.as_str()) else {
                continue;
            };
            let (index, slot) = match r.dimension {
                Dimension::Stage => (stage_index.get(r.name.as_str()), 0),
                Dimension::Segment => (segment_index.get(r.name.as_str()), 1),
            };
            if let Some(&value) = index {
                runs[i][slot].push(Span {
                    value,
                    entered: r.entered_on,
                    left: r.left_on,
                });
            }
        }
        let mut done: Vec<HashMap<String, Vec<Date>>> = vec![HashMap::new(); n];
        for (account, kind, day) in engagements {
            if let Some(&i) = position.get(account.as_str()) {
                done[i].entry(kind).or_default().push(day);
            }
        }
        for kinds in &mut done {
            for list in kinds.values_mut() {
                list.sort_unstable();
            }
        }
        let mut milestones = vec![Vec::new(); n];
        for m in all_milestones {
            if let Some(&i) = position.get(m.account_id.as_str()) {
                milestones[i].push((m.due_on, m.status, m.done_on));
            }
        }
        let by_account = |list: Vec<(String, Date)>| {
            let mut out = vec![None; n];
            for (a, d) in list {
                if let Some(&i) = position.get(a.as_str()) {
                    out[i] = Some(d);
                }
            }
            out
        };
        let first_mrr = by_account(first_paid);
        let first_value = by_account(first_done);

        let mut csms: BTreeSet<String> = accounts
            .iter()
            .filter_map(|a| email_key(a.csm_email.as_deref()))
            .collect();
        csms.extend(config.target.csm_kpis.keys().cloned());
        let csms: Vec<String> = csms.into_iter().collect();
        let csm_index: HashMap<&str, usize> = csms
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        let portfolio = accounts
            .iter()
            .map(|a| {
                email_key(a.csm_email.as_deref()).and_then(|e| csm_index.get(e.as_str()).copied())
            })
            .collect();
        let task_account = tasks
            .iter()
            .map(|t| position.get(t.account_id.as_str()).copied())
            .collect();
        Ok(KpiInputs {
            periods: periods.to_vec(),
            portfolio,
            csms,
            metrics: load.input,
            metrics_index,
            team,
            rates,
            settings,
            days,
            runs,
            done,
            milestones,
            first_mrr,
            first_value,
            tasks,
            task_account,
            accounts,
        })
    }

    /// Accounts loaded.
    pub fn accounts(&self) -> usize {
        self.accounts.len()
    }

    /// The CSMs with a portfolio or targets of their own.
    pub fn csms(&self) -> &[String] {
        &self.csms
    }

    /// Gives every account the CSM `csm_of(account id)` (a benchmark's
    /// made-up portfolios): the CSMs become those named, and a task owned
    /// by its account's former CSM moves to the new one.
    pub fn reassign(&mut self, csm_of: impl Fn(&str) -> Option<String>) {
        let new: Vec<Option<String>> = self.accounts.iter().map(|a| csm_of(&a.id)).collect();
        let set: BTreeSet<String> = new.iter().flatten().cloned().collect();
        let old: Vec<Option<String>> = self
            .portfolio
            .iter()
            .map(|p| p.map(|i| self.csms[i].clone()))
            .collect();
        for (t, account) in self.tasks.iter_mut().zip(&self.task_account) {
            if let Some(i) = *account
                && email_key(t.owner_email.as_deref()) == old[i]
            {
                t.owner_email = new[i].clone();
            }
        }
        self.csms = set.into_iter().collect();
        let index: HashMap<&str, usize> = self
            .csms
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        self.portfolio = new
            .iter()
            .map(|c| c.as_deref().and_then(|c| index.get(c).copied()))
            .collect();
    }

    /// The KPIs of each period loaded, in order: every CSM's row (or only
    /// `csm`'s, an empty portfolio when nobody by that email has one) and
    /// the team's, against the targets of `config`.
    pub fn compute(&self, config: &Config, csm: Option<&str>) -> Result<Vec<Kpis>> {
        // Which CSMs get a row, and each account's row.
        let (names, portfolio): (Vec<String>, Vec<Option<usize>>) = match csm {
            None => (self.csms.clone(), self.portfolio.clone()),
            Some(c) => {
                let key = email_key(Some(c)).unwrap_or_default();
                let wanted = self.csms.iter().position(|x| *x == key);
                let portfolio = self
                    .portfolio
                    .iter()
                    .map(|p| (p.is_some() && *p == wanted).then_some(0))
                    .collect();
                (vec![key], portfolio)
            }
        };
        let datasets = self.datasets(names.len(), &portfolio)?;
        let team_dataset = &self.team;
        let owner: HashMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        let targets = &config.target;
        let mut out = Vec::with_capacity(self.periods.len());
        for (p, period) in self.periods.iter().enumerate() {
            let (mut each, mut team) = fold(
                names.len(),
                self.accounts.iter().enumerate().map(|(i, a)| {
                    let k = self.account_kpis(i, a, p, period, team_dataset, config);
                    (portfolio[i], k)
                }),
            );
            for t in &self.tasks {
                if task_overdue_on(
                    Some(t.due_on),
                    t.created_on,
                    t.status,
                    t.completed_on,
                    period.to,
                ) {
                    team.overdue_tasks += 1;
                    if let Some(&c) = email_key(t.owner_email.as_deref())
                        .as_deref()
                        .and_then(|o| owner.get(o))
                    {
                        each[c].overdue_tasks += 1;
                    }
                }
            }
            let range = Period::new(period.from, period.to).map_err(engine_error)?;
            let measured = |d: &Dataset| {
                let r = d.report(range, &self.settings, None);
                PortfolioMetrics {
                    nps: r.get(Metric::Nps),
                    csat: r.get(Metric::Csat),
                    grr: r.get(Metric::Grr),
                    nrr: r.get(Metric::Nrr),
                }
            };
            let row = |csm: Option<&str>, sums: &Portfolio, m: PortfolioMetrics| KpiRow {
                csm: csm.map(str::to_string),
                members: sums.members,
                cells: against_targets(&sums.values(&m), targets, csm),
            };
            out.push(Kpis {
                from: period.from,
                day: period.to,
                currency: config.currency.reporting.as_str().to_string(),
                csms: names
                    .iter()
                    .zip(&each)
                    .zip(&datasets)
                    .map(|((name, sums), d)| row(Some(name), sums, measured(d)))
                    .collect(),
                team: row(None, &team, measured(team_dataset)),
            });
        }
        Ok(out)
    }

    /// One account's inputs for period `p`.
    fn account_kpis(
        &self,
        i: usize,
        a: &Account,
        p: usize,
        period: &KpiPeriod,
        team: &Dataset,
        config: &Config,
    ) -> AccountKpis {
        let day = period.to;
        let mrr = self.metrics_index[i].map_or(0.0, |m| team.units(team.mrr_on(m, day)));
        let (health, health_change_30d) = self.days[p].health[i];
        let (active_users, events) = self.days[p].usage[i];
        let [stages, segments] = &self.runs[i];
        // The runs as they stood at the end of the day.
        let upto = |runs: &[Span<usize>]| {
            let mut r = runs.to_vec();
            rewind(&mut r, add_days(day, 1));
            r
        };
        let mut compliance = Compliance::default();
        if !segments.is_empty() && !config.engage.cadence.is_empty() {
            let done = &self.done[i];
            for k in kept(
                &config.engage,
                &upto(stages),
                &upto(segments),
                |kind| done.get(kind).map_or(&[][..], Vec::as_slice),
                period.from,
                day,
            ) {
                compliance.add(k.compliance);
            }
        }
        let time_to_value_days = match (self.first_mrr[i], self.first_value[i]) {
            (Some(paid), Some(value)) if paid <= day && value <= day => Some(ttv_days(paid, value)),
            _ => None,
        };
        AccountKpis {
            customer: a.is_customer_on(mrr, day),
            arr: 12.0 * mrr,
            health,
            health_change_30d,
            active_users,
            events,
            execution: execution(self.milestones[i].iter().copied(), period.from, day),
            compliance,
            time_to_value_days,
        }
    }

    /// The metrics engine's dataset of each of `csms` portfolios (account
    /// `i` in `portfolio[i]`'s).
    fn datasets(&self, csms: usize, portfolio: &[Option<usize>]) -> Result<Vec<Dataset>> {
        let input = &self.metrics;
        // Each metrics account's portfolio and its index there.
        let mut place: Vec<Option<(usize, usize)>> = vec![None; input.accounts.len()];
        let mut parts: Vec<MetricsInput> = vec![MetricsInput::default(); csms];
        for (i, m) in self.metrics_index.iter().enumerate() {
            if let (Some(m), Some(c)) = (*m, portfolio[i]) {
                let part = &mut parts[c];
                place[m] = Some((c, part.accounts.len()));
                let a = &input.accounts[m];
                part.accounts.push(AccountInput {
                    id: a.id.clone(),
                    trial_start: a.trial_start,
                    trial_end: a.trial_end,
                });
            }
        }
        for s in &input.subscriptions {
            if let Some((c, k)) = place[s.account] {
                let mut s = s.clone();
                s.account = k;
                parts[c].subscriptions.push(s);
            }
        }
        for r in &input.responses {
            if let Some((c, k)) = place[r.account] {
                let mut r = r.clone();
                r.account = k;
                parts[c].responses.push(r);
            }
        }
        for t in &input.tickets {
            if let Some((c, k)) = place[t.account] {
                let mut t = t.clone();
                t.account = k;
                parts[c].tickets.push(t);
            }
        }
        // Built on one thread per core.
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        let per = parts.len().div_ceil(cores).max(1);
        let mut chunks: Vec<Vec<MetricsInput>> = Vec::new();
        let mut rest = parts.into_iter().peekable();
        while rest.peek().is_some() {
            chunks.push(rest.by_ref().take(per).collect());
        }
        let rates = &self.rates;
        let built: Vec<Result<Vec<Dataset>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .into_iter()
                            .map(|part| Dataset::new(part, rates).map_err(engine_error))
                            .collect::<Result<Vec<Dataset>>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let mut out = Vec::with_capacity(csms);
        for b in built {
            out.extend(b?);
        }
        Ok(out)
    }
}

/// Each account's latest score on each of `days` and its change against
/// 30 days before, by account id: the latest scored day up to the day
/// (at most `DELTA_TOLERANCE_DAYS` earlier), and the scores 30 to 33 days
/// before it (what a 30-day change reads, as the Engage facts do).
async fn health_on(store: Store, days: Vec<Date>) -> Result<Vec<Vec<(String, f64, Option<f64>)>>> {
    let mut out = Vec::with_capacity(days.len());
    for day in days {
        let mut scores = Vec::new();
        if let Some(&scored) = store
            .snapshot_days(add_days(day, -DELTA_TOLERANCE_DAYS), day)
            .await?
            .last()
        {
            let mut history: HashMap<String, Vec<(Date, f64)>> = HashMap::new();
            for (id, d, score) in store
                .snapshot_scores(
                    add_days(scored, -30 - DELTA_TOLERANCE_DAYS),
                    add_days(scored, -30),
                )
                .await?
            {
                if let Some(s) = score {
                    history.entry(id).or_default().push((d, s));
                }
            }
            for (id, _, score) in store.snapshot_scores(scored, scored).await? {
                if let Some(s) = score {
                    let before = history.get(&id).map_or(&[][..], Vec::as_slice);
                    let change = score_deltas(before, scored, Some(s)).d30;
                    scores.push((id, s, change));
                }
            }
        }
        out.push(scores);
    }
    Ok(out)
}

/// Every account's `[now, before]` active users and events on `day`
/// (the two 30-day windows of [`usage_plan`]), from the usage rollups
/// through the health signals loader.
async fn usage_on(
    store: &Store,
    config: &Config,
    plan: &SignalPlan,
    accounts: &[Account],
    day: Date,
) -> Result<Vec<([u64; 2], [u64; 2])>> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let signals = store
        .load_usage_on(SignalsRequest {
            plan,
            currency: &config.currency,
            dates: std::slice::from_ref(&day),
            shard: Shard::split(accounts, usize::MAX)[0],
            track_payments: false,
        })
        .await?;
    Ok(signals
        .into_iter()
        .map(|s| {
            let users = |w: usize| u64::from(s.active_users.get(w).copied().unwrap_or(0));
            let events = |w: usize| s.event_counts.get(w).copied().unwrap_or(0);
            ([users(0), users(1)], [events(0), events(1)])
        })
        .collect())
}
