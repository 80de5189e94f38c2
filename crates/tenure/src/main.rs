//! The `tenure` command. `main` parses arguments and hands over to a
//! command module, which parses its arguments, calls the application layer
//! (tenure-app: the pipelines over tenure-core's computation and
//! tenure-store's SQL) or the server (tenure-server), and prints.

mod admin;
mod backup;
mod churn;
mod cli;
mod clv;
mod crm;
mod data;
mod demo;
mod demo_voice;
mod engage;
mod feedback;
mod health;
mod jobs;
mod kpis;
mod metrics;
mod outbound;
mod plans;
mod plays;
mod renewals;
mod risk;
mod serve;
mod suggest;
mod surveys;
mod survival;
mod tasks;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

pub use tenure_app::command::BadInput;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tenure_app::command::run_to_exit(cli::run(cli))
}
