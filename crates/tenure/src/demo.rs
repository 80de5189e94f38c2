//! `tenure demo`: generate a demo company.

use anyhow::Result;

use crate::cli::DemoArgs;

pub async fn run(_db: &str, _args: DemoArgs) -> Result<()> {
    Err(crate::BadInput("the demo simulator is not wired in yet".into()).into())
}
