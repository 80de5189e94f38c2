//! HTTP tests of the server: every route through the real router, each test
//! with its own database (SQLite, or PostgreSQL when `TEST_DATABASE_URL` is
//! set), plus a smoke test over a real socket. One test binary keeps link
//! times down.

mod account_risk;
mod api;
mod auth_matrix;
mod churn;
mod common;
mod conformance;
mod engage;
mod feedback;
mod health;
mod ingest;
mod kpis;
mod outbound;
mod plans;
mod plays;
mod plays_backtest;
mod renewals;
mod risk;
mod smoke;
#[path = "../support/mod.rs"]
mod support;
mod surveys;
mod surveys_send;
mod survival;
mod tasks;
mod views;
mod webhooks;
