//! Tenure's pure domain.
//!
//! Everything here is deterministic given its inputs: no IO, no clock, no
//! randomness except from a seed passed in, no async, no SQL. The store loads
//! inputs in bulk and hands them to these functions; the server and the CLI
//! present what comes back. `tests/invariants.rs` checks this crate's
//! dependency list so that it stays that way.

pub mod churn;
pub mod clv;
pub mod config;
pub mod crm;
pub mod crm_webhook;
pub mod demo;
pub mod engage;
pub mod feedback;
pub mod forecast;
pub mod health;
pub mod metrics;
pub mod model;
pub mod plays;
pub mod plays_backtest;
pub mod react;
pub mod rules;
pub mod surveys;
pub mod survival;
pub mod target;
