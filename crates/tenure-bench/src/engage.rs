//! `tenure-bench engage`: Engage on a demo company after a health
//! recompute (docs/PERFORMANCE.md).
//!
//! 1. Loads the demo company into the work folder's database (the same
//!    loader and folder layout as `tenure-bench health`; reused when
//!    present).
//! 2. Records history: today's scores over the `--history` days before the
//!    last day, then the stage and segment runs over them
//!    (`tenure_app::engage::rebuild`), untimed.
//! 3. The reference, in the same run: today's health recompute
//!    (`tenure health recompute` for the last day), `--runs` times.
//! 4. Today's Engage pass alone (`tenure_app::engage::run_day`: facts,
//!    stages, segments, runs, cadence standing), the job's pass (today's
//!    scores and Engage from one load, `tenure_app::engage::daily`; what
//!    Engage adds is its time less the recompute's), and the report the
//!    pages and the API show (`report`: the day plus a 90-day funnel,
//!    friction and compliance), `--runs` times each, with the peak memory
//!    each added.
//! 5. CEL on its own: every account's stage and segment rules over facts
//!    already built, on one thread, per account.

use std::time::Instant;

use anyhow::Result;
use clap::Args;
use serde_json::json;
use tenure_app::engage::report::{ReportQuery, report};
use tenure_app::engage::{assign, daily, rebuild, run_day};
use tenure_app::health::{Quiet, recompute};
use tenure_core::config::Config;
use tenure_core::model::add_days;
use tenure_store::Store;

use crate::BadInput;
use crate::health::demo_work_db;

#[derive(Debug, Args)]
pub struct BenchEngageArgs {
    /// Demo accounts.
    #[arg(long, default_value_t = 100_000)]
    pub accounts: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Last simulated day: the day of the pass.
    #[arg(long, default_value = "2026-01-01")]
    pub end: String,
    /// Days of usage history simulated.
    #[arg(long, default_value_t = 120)]
    pub days: u32,
    /// Days of scores and runs recorded before the timed day.
    #[arg(long, default_value_t = 30)]
    pub history: i32,
    /// Folder for the database (shared layout with `tenure-bench health`).
    #[arg(long)]
    pub work: std::path::PathBuf,
    /// Timed runs of each step.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

pub(crate) fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Resets the process's peak resident memory (Linux), so that the next
/// [`memory_mib`] reports the peak since.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak and current resident memory in MiB (Linux), from /proc.
fn memory_mib() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// Runs `step` `runs` times; returns the times and the largest rise of
/// the peak memory above the memory held before a run.
pub(crate) async fn timed<F, Fut, T>(runs: usize, mut step: F) -> Result<(Vec<f64>, Option<f64>, T)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut times = Vec::new();
    let mut added: Option<f64> = None;
    let mut last = None;
    for _ in 0..runs.max(1) {
        let before = memory_mib().map(|m| m.1);
        reset_peak();
        let t = Instant::now();
        let out = step().await?;
        times.push(secs(t));
        if let (Some(b), Some((peak, _))) = (before, memory_mib()) {
            added = Some(added.unwrap_or(0.0).max(peak - b));
        }
        last = Some(out);
    }
    Ok((times, added, last.expect("at least one run")))
}

pub(crate) fn best(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

pub async fn run(args: BenchEngageArgs) -> Result<()> {
    if !(0..=366).contains(&args.history) {
        return Err(BadInput("--history: from 0 to 366 days".into()).into());
    }
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
    let accounts = store.count(tenure_store::Kind::Accounts).await?;
    let config = Config::default();

    if args.history > 0 {
        let from = add_days(end, -args.history);
        let to = add_days(end, -1);
        let t = Instant::now();
        recompute(&store, &config, from, to, &Quiet).await?;
        rebuild(&store, &config, from, to, &Quiet).await?;
        eprintln!(
            "history: scores, stages and segments from {from} to {to} in {:.1} s",
            secs(t)
        );
    }

    let (recompute_s, recompute_mib, snapshots) = timed(args.runs, || async {
        Ok(recompute(&store, &config, end, end, &Quiet).await?)
    })
    .await?;
    let (pass_s, pass_mib, day) = timed(args.runs, || async {
        Ok(run_day(&store, &config, end).await?)
    })
    .await?;
    let (daily_s, daily_mib, _) = timed(args.runs, || async {
        Ok(daily(&store, &config, end).await?)
    })
    .await?;
    let q = ReportQuery::last_days(end, None);
    let (report_s, report_mib, r) = timed(args.runs, || async {
        Ok(report(&store, &config, &q).await?)
    })
    .await?;

    // CEL alone: the rules over facts already built, one thread.
    let facts: Vec<_> = assign(&store, &config, end)
        .await?
        .into_iter()
        .map(|a| a.facts)
        .collect();
    let e = &config.engage;
    let rules_per_account = e.journey.0.len() + e.segments.0.len();
    let t = Instant::now();
    let mut decided = 0usize;
    for f in &facts {
        let mut f = f.clone();
        let stage = e.journey.stage_of(&f, None);
        f.stage = stage.stage.map(|i| e.journey.0[i].name.clone());
        decided += usize::from(e.segments.segment_of(&f).segment.is_some());
    }
    let cel_s = secs(t);
    let per_account_us = cel_s * 1e6 / facts.len().max(1) as f64;

    let ratio = best(&pass_s) / best(&recompute_s);
    // What Engage adds to the job's pass over the scores alone.
    let added = best(&daily_s) - best(&recompute_s);
    let added_ratio = added / best(&recompute_s);
    let out = json!({
        "settings": {"accounts": args.accounts, "seed": args.seed, "end": end.to_string(),
                     "days": args.days, "history": args.history, "runs": args.runs},
        "data": {"accounts": accounts, "snapshots_today": snapshots,
                 "segmented": decided, "runs_changed_today": day.changes},
        "recompute_s": recompute_s,
        "recompute_peak_added_mib": recompute_mib,
        "engage_pass_s": pass_s,
        "engage_pass_peak_added_mib": pass_mib,
        "engage_pass_over_recompute": ratio,
        "daily_s": daily_s,
        "daily_peak_added_mib": daily_mib,
        "engage_added_s": added,
        "engage_added_over_recompute": added_ratio,
        "report_s": report_s,
        "report_peak_added_mib": report_mib,
        "report": {"overdue": r.overdue.len(), "stuck": r.stuck.len(),
                   "compliance": r.compliance.share()},
        "cel": {"accounts": facts.len(), "rules_per_account": rules_per_account,
                "one_thread_s": cel_s, "per_account_us": per_account_us},
    });
    std::fs::write(
        work.join("bench-engage.json"),
        serde_json::to_string_pretty(&out)?,
    )?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    eprintln!(
        "{accounts} accounts: today's recompute best {:.3} s; Engage pass alone best {:.3} s ({ratio:.2} × the recompute); the job's pass (scores and Engage from one load) best {:.3} s, Engage adding {added:.3} s ({added_ratio:.2} × the recompute); report best {:.3} s; CEL {per_account_us:.1} µs per account ({rules_per_account} rules at most)",
        best(&recompute_s),
        best(&pass_s),
        best(&daily_s),
        best(&report_s)
    );
    Ok(())
}
