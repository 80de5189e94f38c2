//! Tenure's application layer: the pipelines that load through the store,
//! compute in core and save through the store, used alike by the server
//! (`tenure-server`) and the command (`tenure`).
//!
//! - [`health`]: scoring accounts (one path for the CLI, the API and the
//!   pages), daily snapshots without look-ahead ([`health::recompute()`]),
//!   the churn backtest, manual overrides and the comparison of a score
//!   with an earlier one.
//! - [`engage`]: each account's stage, segment and tier on a day, their
//!   runs over time, and cadence (docs/ENGAGE.md).
//! - [`target`]: success plans (from templates, goals measured each day),
//!   tasks and the CSM KPIs (docs/TARGET.md).
//! - [`plays`]: playbooks: who enrols each day, the actions they run, a
//!   dry run (docs/REACT.md).
//! - [`risk`]: the early-warning risk board, its daily measure and the
//!   leadership reviews a crossed threshold opens (docs/REACT.md).
//! - [`feedback`]: feedback items with sentiment and themes, suggested
//!   themes, and product requests ranked by the ARR asking for them, the
//!   loop closed when one ships (docs/FEEDBACK.md).
//! - [`churn`]: the churn model: trained on monthly health signals,
//!   validated on later dates beside the scorecard, stored, and used to
//!   predict (docs/CHURN.md).
//! - [`metrics`]: the revenue and usage metrics of a period from the
//!   database ([`metrics::compute`]).
//! - [`survival`]: Kaplan–Meier survival curves of accounts from first
//!   MRR, by segment, plan or tier (docs/METRICS.md).
//! - [`outbound`]: email over SMTP and signed webhooks, queued in the
//!   outbox and delivered with retries (docs/REACT.md).
//! - [`jobs`]: the background jobs and their schedule; `tenure serve` runs
//!   them beside the server, `tenure run-jobs` from cron.
//! - [`clock`]: the one place that reads the wall clock; [`ids`] makes
//!   new record ids.
//! - [`command`]: what the command-line programs share (the bad-input
//!   error, exit codes, reading `tenure.toml`).
//!
//! Errors are [`Error`]: the caller's input ([`Error::Invalid`],
//! [`Error::NotFound`]) apart from failures of the store, so that the CLI
//! exits 2 and the server answers 4xx for the first kind.

pub mod churn;
pub mod clock;
pub mod command;
pub mod crm_webhook;
pub mod engage;
pub mod feedback;
pub mod forecast;
pub mod health;
pub mod ids;
pub mod jobs;
pub mod metrics;
pub mod outbound;
pub mod plays;
pub mod plays_backtest;
pub mod risk;
pub mod surveys;
pub mod survival;
pub mod target;
pub mod views;

use tenure_store::StoreError;

/// What can go wrong in a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input the caller can fix: a bad date, a missing exchange rate, an
    /// override that breaks a rule. The message says what to change.
    #[error("{0}")]
    Invalid(String),
    /// A record the caller named does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// The database failed or holds data it cannot read.
    #[error(transparent)]
    Store(StoreError),
    /// A background task of the pipeline failed.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::NotFound(what) => Error::NotFound(what),
            e => Error::Store(e),
        }
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Error {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => Error::Internal(format!("a background task stopped: {e}")),
        }
    }
}

impl Error {
    /// True for errors the caller can fix ([`Error::Invalid`],
    /// [`Error::NotFound`], and the store's refused input).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Invalid(_)
                | Error::NotFound(_)
                | Error::Store(StoreError::Invalid(_) | StoreError::BadUrl(_))
        )
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
