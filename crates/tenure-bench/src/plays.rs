//! `tenure-bench plays`: every default playbook evaluated on every account
//! right after today's scores and Engage (what the background job adds to
//! its pass), against today's health recompute measured in the same run.
//! Evaluation is timed with the read of the past enrolments it needs and
//! without the writes (the day's enrolments, tasks and notes, whose number
//! depends on the day; they are written in one transaction), so nothing is
//! written to the benchmark's database.

use std::time::Instant;

use anyhow::Result;
use clap::Args;
use serde_json::json;
use tenure_app::engage::daily;
use tenure_app::health::{Quiet, recompute};
use tenure_core::config::Config;
use tenure_store::Store;

use crate::engage::{best, secs, timed};
use crate::health::demo_work_db;

#[derive(Debug, Args)]
pub struct BenchPlaysArgs {
    /// Demo accounts.
    #[arg(long, default_value_t = 100_000)]
    pub accounts: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Last simulated day: the day evaluated.
    #[arg(long, default_value = "2026-01-01")]
    pub end: String,
    #[arg(long, default_value_t = 120)]
    pub days: u32,
    /// Folder for the database (shared layout with `tenure-bench health`).
    #[arg(long)]
    pub work: std::path::PathBuf,
    /// Timed runs.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
}

pub async fn run(args: BenchPlaysArgs) -> Result<()> {
    let (end, url, work) = demo_work_db(
        args.accounts,
        args.seed,
        &args.end,
        args.days,
        &args.work,
        args.runs,
    )
    .await?;
    let store = Store::open(&url).await?;
    let config = Config::default();

    let (recompute_s, _, _) = timed(args.runs, || async {
        Ok(recompute(&store, &config, end, end, &Quiet).await?)
    })
    .await?;
    // The day's facts, as the job has them after its pass (untimed).
    let t = Instant::now();
    let day = daily(&store, &config, end).await?;
    let daily_s = secs(t);
    let (eval_s, eval_mib, (writes, outcome)) = timed(args.runs, || async {
        let history = tenure_app::plays::history(&store, &config, end).await?;
        Ok(tenure_app::plays::decide(&config, &day, &history))
    })
    .await?;
    let ratio = best(&eval_s) / best(&recompute_s);
    let out = json!({
        "settings": {"accounts": args.accounts, "seed": args.seed, "end": end.to_string(),
                     "days": args.days, "runs": args.runs},
        "playbooks": config.playbooks.len(),
        "accounts_evaluated": day.accounts.len(),
        "recompute_s": recompute_s,
        "daily_s": daily_s,
        "evaluate_s": eval_s,
        "evaluate_peak_added_mib": eval_mib,
        "evaluate_over_recompute": ratio,
        "would_enrol": outcome.enrolled,
        "would_act": outcome.actions,
        "tasks": writes.tasks.len(),
        "errors": outcome.errors.len(),
    });
    std::fs::write(
        work.join("bench-plays.json"),
        serde_json::to_string_pretty(&out)?,
    )?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    eprintln!(
        "{} accounts, {} playbooks: evaluation best {:.3} s ({ratio:.2} × today's recompute, {:.3} s); {} would enrol, {} actions",
        day.accounts.len(),
        config.playbooks.len(),
        best(&eval_s),
        best(&recompute_s),
        outcome.enrolled,
        outcome.actions
    );
    Ok(())
}
