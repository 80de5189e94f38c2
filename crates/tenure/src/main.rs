//! The `tenure` command. `main` parses arguments and hands over to a
//! command module, which parses its arguments, calls the application layer
//! (tenure-app: the pipelines over tenure-core's computation and
//! tenure-store's SQL) or the server (tenure-server), and prints.

mod admin;
mod cli;
mod config_file;
mod data;
mod demo;
mod health;
mod jobs;
mod metrics;
mod serve;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

/// An error caused by the user's input (a bad file, flag or config): exit code 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

fn exit_code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.downcast_ref::<BadInput>().is_some() {
            return 2;
        }
        if let Some(e) = cause.downcast_ref::<tenure_app::Error>()
            && e.is_bad_input()
        {
            return 2;
        }
        if let Some(tenure_store::StoreError::Invalid(_) | tenure_store::StoreError::BadUrl(_)) =
            cause.downcast_ref::<tenure_store::StoreError>()
        {
            return 2;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return 0;
        }
    }
    1
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = exit_code_for(&err);
            if code != 0 {
                eprintln!("error: {err:#}");
            }
            ExitCode::from(code)
        }
    }
}
