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

use std::time::{Duration, Instant};

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_store::Store;
use tenure_store::health::DataFingerprint;

use crate::Result;
use crate::clock::today;

/// Scores are refreshed at least this often even without new data.
pub const MAX_AGE: Duration = Duration::from_secs(3600);

/// How often `tenure serve` runs a pass.
pub const SERVE_INTERVAL: Duration = Duration::from_secs(30);

/// What the previous pass saw.
#[derive(Debug, Default)]
pub struct JobState {
    fingerprint: Option<DataFingerprint>,
    day: Option<Date>,
    at: Option<Instant>,
    /// The data (events left out) and day of the last feedback refresh.
    feedback: Option<(DataFingerprint, Date)>,
    /// The day and model version of the last warning that the churn
    /// model no longer fits the measures (said once a day per model).
    churn_warned: Option<(Date, i64)>,
}

impl JobState {
    /// Whether a pass on `day` that sees `fingerprint` can be skipped: the
    /// last pass saw the same data on the same day less than [`MAX_AGE`]
    /// ago (`now` being the current instant).
    pub fn is_fresh(&self, fingerprint: &DataFingerprint, day: Date, now: Instant) -> bool {
        self.fingerprint.as_ref() == Some(fingerprint)
            && self.day == Some(day)
            && self.at.is_some_and(|t| now.duration_since(t) < MAX_AGE)
    }

    fn record(&mut self, fingerprint: DataFingerprint, day: Date, at: Instant) {
        self.fingerprint = Some(fingerprint);
        self.day = Some(day);
        self.at = Some(at);
    }
}

/// One pass, if needed: the day's churn predictions
/// ([`crate::churn::daily`]), today's snapshots, then today's stages and
/// segments from the same load of the signals ([`crate::engage::daily`]),
/// success-plan templates and goals ([`crate::target::plans::daily`]),
/// playbooks ([`crate::plays::run`]), the surveys due
/// ([`crate::surveys::run`]), the risk board's day
/// ([`crate::risk::daily`]), the CRM's account-change webhook
/// ([`crate::crm_webhook::run`]) and the feedback items
/// ([`crate::feedback::refresh`]); each step is idempotent, so a pass run again
/// on the same day (new data arrived) adds only what is new. Returns how
/// many snapshots were written, or `None` when nothing had changed.
pub async fn run_once(store: &Store, config: &Config, state: &mut JobState) -> Result<Option<u64>> {
    let fingerprint = store.data_fingerprint().await?;
    let day = today();
    if state.is_fresh(&fingerprint, day, Instant::now()) {
        return Ok(None);
    }
    // The fingerprint was read before scoring, so data arriving during the
    // pass changes it and triggers the next pass.
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
    let feedback_key = (fingerprint.without_events(), day);
    if state.feedback.as_ref() != Some(&feedback_key) {
        crate::feedback::refresh(store, config).await?;
        state.feedback = Some(feedback_key);
    }
    let written = engage.snapshots;
    state.record(fingerprint, day, Instant::now());
    Ok(Some(written))
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
                match crate::outbound::deliver_due(&store, &config, now).await {
                    Ok(d) if d.attempted > 0 => tracing::info!(
                        sent = d.sent,
                        retrying = d.retrying,
                        dead = d.dead,
                        "outbound messages delivered"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "outbound delivery failed"),
                }
            }
        }
    }
}
