//! Background jobs: keep today's health snapshot fresh.
//!
//! `tenure serve` runs [`run_forever`] beside the server; `tenure run-jobs
//! --once` runs one [`run_once`] pass for people who schedule it with
//! cron. A pass recomputes today's scores when the data changed since the
//! last pass (new events, rows, imports, overrides: see
//! [`DataFingerprint`]), when the UTC day changed, or when the last pass is
//! older than [`MAX_AGE`]. Passes are `interval` apart, so new data shows
//! in scores within about two intervals. Stages and segments are decided
//! in the same pass, after the scores; later pipelines (playbooks) will
//! follow them. Before the scores, once a day per churn model, the day's
//! churn predictions are stored ([`crate::churn::daily`]) so that the
//! `churn_risk` measure and rule field read them. Each tick of
//! [`run_forever`] then sends the outbound email and webhooks that are due
//! ([`crate::outbound::deliver_due`]).
//!
//! Several processes may share one database (docs/OPERATIONS.md, "Running
//! several servers"): a pass runs under the [`DAILY`] job's lock
//! ([`Store::try_job_lock`]: a PostgreSQL advisory lock, a lease on
//! SQLite), so it runs on one process at a time, and what the last pass saw
//! is read from the database (`job_runs`), so a pass one process made is
//! not made again by another for the same data and day. Outbound messages
//! are claimed one by one ([`Store::claim_due`]), so every process sends
//! its share.

use std::time::{Duration, Instant};

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_store::Store;
use tenure_store::health::DataFingerprint;
use tenure_store::jobs::JobRun;

use crate::Result;
use crate::clock::{now_micros, today};

/// Scores are refreshed at least this often even without new data.
pub const MAX_AGE: Duration = Duration::from_secs(3600);

/// How often `tenure serve` runs a pass unless told otherwise
/// (`--job-interval`).
pub const SERVE_INTERVAL: Duration = Duration::from_secs(30);

/// The daily pass's job name (its lock and its rows in `job_runs`).
pub const DAILY: &str = "daily";

/// The feedback refresh's name in `job_runs` (it runs inside the daily
/// pass, under its lock, when the data other than events changed).
pub const FEEDBACK: &str = "feedback";

/// How long passes stay in `job_runs`.
pub const KEEP_RUNS: Duration = Duration::from_secs(30 * 86_400);

/// This process's side of the jobs: its name in `job_runs` and what it
/// already said.
#[derive(Debug)]
pub struct JobState {
    instance: String,
    /// The day and model version of the last warning that the churn
    /// model no longer fits the measures (said once a day per model).
    churn_warned: Option<(Date, i64)>,
}

impl Default for JobState {
    /// A state named after this host and process, with a random part so
    /// that two processes never share a name.
    fn default() -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "tenure".to_string());
        let unique = crate::ids::new_id("");
        let tail = &unique[unique.len().saturating_sub(6)..];
        JobState::named(format!("{host}:{}:{tail}", std::process::id()))
    }
}

impl JobState {
    /// A state for the process named `instance` (unique among the
    /// processes sharing the database).
    pub fn named(instance: impl Into<String>) -> JobState {
        JobState {
            instance: instance.into(),
            churn_warned: None,
        }
    }

    /// This process's name in `job_runs`.
    pub fn instance(&self) -> &str {
        &self.instance
    }
}

/// Whether a pass on `day` that sees the data `key` at `now`
/// (microseconds) can be skipped after `last`: it went well, saw the same
/// data on the same day, and finished less than [`MAX_AGE`] ago.
pub fn is_fresh(last: &JobRun, key: &str, day: Date, now: i64) -> bool {
    saw(last, key, day) && now - last.finished_at < MAX_AGE.as_micros() as i64
}

/// Whether `last` went well and saw the data `key` on `day`.
fn saw(last: &JobRun, key: &str, day: Date) -> bool {
    last.outcome == "ok" && last.data_key == key && last.day == day.to_string()
}

/// One pass, if needed and if no other process is running one: the day's
/// churn predictions ([`crate::churn::daily`]), today's snapshots, then
/// today's stages and segments from the same load of the signals
/// ([`crate::engage::daily`]), success-plan templates and goals
/// ([`crate::target::plans::daily`]), playbooks ([`crate::plays::run`]),
/// the surveys due ([`crate::surveys::run`]), the risk board's day
/// ([`crate::risk::daily`]), the CRM's account-change webhook
/// ([`crate::crm_webhook::run`]) and the feedback items
/// ([`crate::feedback::refresh`]); each step is idempotent, so a pass run
/// again on the same day (new data arrived) adds only what is new. The
/// pass is recorded in `job_runs`, failed or not. Returns how many
/// snapshots were written, or `None` when nothing had changed or another
/// process held the job.
pub async fn run_once(store: &Store, config: &Config, state: &mut JobState) -> Result<Option<u64>> {
    let Some(lock) = store
        .try_job_lock(DAILY, &state.instance, now_micros())
        .await?
    else {
        tracing::debug!("another process is running the daily pass");
        return Ok(None);
    };
    let result = daily_pass(store, config, state).await;
    let released = lock.release().await;
    let written = result?;
    released?;
    Ok(written)
}

/// The pass itself, holding the [`DAILY`] lock.
async fn daily_pass(store: &Store, config: &Config, state: &mut JobState) -> Result<Option<u64>> {
    let day = today();
    // The fingerprint is read before scoring, so data arriving during the
    // pass changes it and triggers the next pass.
    let fingerprint = store.data_fingerprint().await?;
    let key = format!("{};{}", fingerprint.key(), settings_key(config));
    if let Some(last) = store.last_job_run(DAILY).await?
        && is_fresh(&last, &key, day, now_micros())
    {
        return Ok(None);
    }
    let mut run = new_run(state, DAILY, day, key, now_micros());
    let result = steps(store, config, state, day, &fingerprint).await;
    match &result {
        Ok(n) => run.written = *n as i64,
        Err(e) => {
            run.outcome = "failed".to_string();
            run.error = Some(e.to_string());
        }
    }
    record(store, run).await?;
    result.map(Some)
}

/// What a pass depends on besides the data: the settings and this build
/// of Tenure, hashed. A server started with another `tenure.toml` or an
/// upgraded binary makes a pass even when the data has not changed.
pub fn settings_key(config: &Config) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    format!("{config:?}").hash(&mut h);
    env!("CARGO_PKG_VERSION").hash(&mut h);
    format!("{:016x}", h.finish())
}

/// A row for a pass of `job` that started at `started_at`, so far a
/// success that wrote nothing.
fn new_run(state: &JobState, job: &str, day: Date, data_key: String, started_at: i64) -> JobRun {
    JobRun {
        job: job.to_string(),
        instance: state.instance.clone(),
        day: day.to_string(),
        data_key,
        started_at,
        finished_at: started_at,
        outcome: "ok".to_string(),
        written: 0,
        error: None,
    }
}

/// Records a pass that finished now in `job_runs`, dropping passes older
/// than [`KEEP_RUNS`].
async fn record(store: &Store, mut run: JobRun) -> Result<()> {
    run.finished_at = now_micros();
    let keep_after = run.finished_at - KEEP_RUNS.as_micros() as i64;
    Ok(store.record_job_run(&run, keep_after).await?)
}

/// The steps of a pass (see [`run_once`]); returns the snapshots written.
async fn steps(
    store: &Store,
    config: &Config,
    state: &mut JobState,
    day: Date,
    fingerprint: &DataFingerprint,
) -> Result<u64> {
    // The day's churn predictions first (docs/CHURN.md), once a day per
    // model: the scores' `churn_risk` measure and the rules read them.
    // Optional, so a failure is logged and the pass goes on.
    match crate::churn::daily(store, config, day).await {
        Ok(crate::churn::DailyPredictions::Saved { version, accounts }) => {
            tracing::info!(model = version, accounts, "churn predictions stored");
        }
        Ok(crate::churn::DailyPredictions::Stale { version, message }) => {
            if state.churn_warned != Some((day, version)) {
                tracing::warn!(model = version, "{message}");
                state.churn_warned = Some((day, version));
            }
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "churn predictions failed"),
    }
    // Today's scores, then stages and segments from the same load; then
    // plan templates applied and goals measured on those.
    let engage = crate::engage::daily(store, config, day).await?;
    crate::target::plans::daily(store, config, &engage).await?;
    // Playbooks on the day's facts, after the plans.
    let plays = crate::plays::run(store, config, &engage).await?;
    for e in plays.errors.iter().take(20) {
        tracing::warn!(error = %e, "a playbook rule could not be decided");
    }
    // Surveys due today (docs/VOICE.md), on the same day's facts.
    let surveys = crate::surveys::run(store, config, &engage).await?;
    for e in surveys.errors.iter().take(20) {
        tracing::warn!(error = %e, "a survey could not be sent");
    }
    // The risk board's measure of the day, and a leadership review when a
    // threshold crossed (after playbooks, whose flags it counts).
    let risk = crate::risk::daily(store, config, day).await?;
    if let Some(r) = &risk.opened {
        tracing::info!(review = %r.id, crossed = %r.crossed, "a leadership review opened");
    }
    // The CRM's account-change webhook (docs/CRM.md): the accounts whose
    // band, risk flag, segment, tier, stage or NPS changed since last sent,
    // queued in batches after the risk board's day.
    if let Some(sent) = crate::crm_webhook::run(store, config, day).await?
        && !sent.messages.is_empty()
    {
        tracing::info!(
            accounts = sent.changes.len(),
            batches = sent.messages.len(),
            "account changes queued for the CRM"
        );
    }
    // Feedback items from survey comments, tickets and notes, with their
    // themes (docs/FEEDBACK.md): only what changed is written. Product
    // events alone change none of them, so a pass that only new events
    // woke skips the step (it reads every comment, ticket and note).
    let feedback_key = format!(
        "{};{}",
        fingerprint.without_events().key(),
        settings_key(config)
    );
    let fresh = store
        .last_job_run(FEEDBACK)
        .await?
        .is_some_and(|last| saw(&last, &feedback_key, day));
    if !fresh {
        let mut run = new_run(state, FEEDBACK, day, feedback_key, now_micros());
        let n = crate::feedback::refresh(store, config).await?;
        run.written = (n.added + n.updated + n.removed) as i64;
        record(store, run).await?;
    }
    Ok(engage.snapshots)
}

/// Runs passes every `interval` until `stop` resolves; errors are logged and
/// the next pass tries again.
pub async fn run_forever(
    store: Store,
    config: Config,
    interval: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut state = JobState::default();
    // The count of emails waiting for an SMTP server last warned about.
    let mut smtp_warned = 0;
    tracing::info!(
        instance = state.instance(),
        every_s = interval.as_secs(),
        "background jobs started"
    );
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = ticker.tick() => {
                let started = Instant::now();
                match run_once(&store, &config, &mut state).await {
                    Ok(Some(n)) => tracing::info!(
                        snapshots = n,
                        ms = started.elapsed().as_millis() as u64,
                        "health scores refreshed"
                    ),
                    Ok(None) => {}
                    Err(e) => tracing::error!(error = %e, "health refresh failed"),
                }
                // Outbound email and webhooks due now (docs/REACT.md).
                let now = crate::clock::now_micros();
                let delivered = crate::outbound::deliver_due(&store, &config, now).await;
                match &delivered {
                    Ok(d) if d.attempted > 0 => tracing::info!(
                        sent = d.sent,
                        retrying = d.retrying,
                        dead = d.dead,
                        "outbound messages delivered"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "outbound delivery failed"),
                }
                if let Ok(d) = &delivered {
                    if d.waiting_for_smtp > 0 && d.waiting_for_smtp != smtp_warned {
                        tracing::warn!(
                            emails = d.waiting_for_smtp,
                            "emails wait in the outbox: no SMTP server is configured \
                             ([outbound.smtp] in tenure.toml); they are sent once one is"
                        );
                    }
                    smtp_warned = d.waiting_for_smtp;
                }
            }
        }
    }
}
