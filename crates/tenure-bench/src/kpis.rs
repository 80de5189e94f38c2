//! `tenure-bench kpis`: the CSM KPIs of docs/TARGET.md on a demo company
//! (docs/PERFORMANCE.md).
//!
//! 1. Loads the demo company into the work folder's database (the loader
//!    and folder layout of `tenure-bench health` and `engage`; reused when
//!    present). When it holds no success plan yet, the default plan
//!    templates are applied to the accounts they fit, from the day each
//!    entered its stage and segment (untimed, once: later runs find the
//!    plans), so that plan execution and overdue tasks have milestones
//!    and tasks to count.
//! 2. The reference, in the same run: today's health recompute (`tenure
//!    health recompute` for the last day), `--runs` times.
//! 3. Today's KPIs with the 90 days before as the period, `--runs` times:
//!    loading everything they read (`KpiInputs::load`), then the fold of
//!    every account into its CSM's portfolio and the team's
//!    (`KpiInputs::compute`), each timed, with the peak memory added.
//!    `--csms N` (default 200) gives the accounts N made-up portfolios
//!    between the load and the fold: account `id` goes to CSM
//!    `fnv1a(id) mod N` (`csmNNN@bench.example`), and a task owned by its
//!    account's former CSM follows the account. The demo data's own CSMs
//!    (their number is reported) are used with `--csms 0`.
//! 4. The same with `--months` months of history (each month its own
//!    period), from one load, as `tenure kpis --months` and the team page
//!    compute them.

use std::time::Instant;

use anyhow::Result;
use clap::Args;
use serde_json::json;
use tenure_app::engage::evaluate;
use tenure_app::health::{Quiet, recompute};
use tenure_app::target::kpis::{KpiInputs, KpiPeriod, Kpis};
use tenure_app::target::plans::{Start, apply_templates};
use tenure_core::config::Config;
use tenure_core::model::add_days;
use tenure_core::target::kpis::{Kpi, months_to};
use tenure_store::Store;
use tenure_store::api::Scope;

use crate::BadInput;
use crate::health::demo_work_db;

#[derive(Debug, Args)]
pub struct BenchKpisArgs {
    /// Demo accounts.
    #[arg(long, default_value_t = 100_000)]
    pub accounts: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Last simulated day: the day of the KPIs.
    #[arg(long, default_value = "2026-01-01")]
    pub end: String,
    /// Days of usage history simulated.
    #[arg(long, default_value_t = 120)]
    pub days: u32,
    /// Folder for the database (shared layout with `tenure-bench health`
    /// and `engage`).
    #[arg(long)]
    pub work: std::path::PathBuf,
    /// Timed runs of each step.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Made-up portfolios the accounts are spread over by a hash of their
    /// id; 0 keeps the demo's CSMs.
    #[arg(long, default_value_t = 200)]
    pub csms: u32,
    /// Months of history timed after today's KPIs; 0 skips it.
    #[arg(long, default_value_t = 3)]
    pub months: usize,
}

fn secs(t: Instant) -> f64 {
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

fn best(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// FNV-1a, 64 bits: a stable hash of an account id for made-up portfolios.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One timed computation: load, reassignment, fold.
struct Timed {
    load_s: f64,
    compute_s: f64,
    total_s: f64,
    peak_added_mib: Option<f64>,
    kpis: Vec<Kpis>,
    data_csms: usize,
}

async fn once(store: &Store, config: &Config, periods: &[KpiPeriod], csms: u32) -> Result<Timed> {
    let before = memory_mib().map(|m| m.1);
    reset_peak();
    let t = Instant::now();
    let mut inputs = KpiInputs::load(store, config, periods).await?;
    let load_s = secs(t);
    let data_csms = inputs.csms().len();
    let c = Instant::now();
    if csms > 0 {
        let n = u64::from(csms);
        inputs.reassign(|id| Some(format!("csm{:03}@bench.example", fnv1a(id) % n)));
    }
    let kpis = inputs.compute(config, None)?;
    let compute_s = secs(c);
    let total_s = secs(t);
    let peak_added_mib = match (before, memory_mib()) {
        (Some(b), Some((peak, _))) => Some(peak - b),
        _ => None,
    };
    Ok(Timed {
        load_s,
        compute_s,
        total_s,
        peak_added_mib,
        kpis,
        data_csms,
    })
}

/// `runs` timed computations: best load, fold and total, largest peak.
async fn timed_runs(
    store: &Store,
    config: &Config,
    periods: &[KpiPeriod],
    args: &BenchKpisArgs,
) -> Result<(serde_json::Value, Timed)> {
    let mut all = Vec::new();
    for _ in 0..args.runs.max(1) {
        all.push(once(store, config, periods, args.csms).await?);
    }
    let pick = |f: &dyn Fn(&Timed) -> f64| all.iter().map(f).collect::<Vec<f64>>();
    let peak = all
        .iter()
        .filter_map(|t| t.peak_added_mib)
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    let summary = json!({
        "total_s": pick(&|t| t.total_s),
        "load_s": pick(&|t| t.load_s),
        "compute_s": pick(&|t| t.compute_s),
        "best_total_s": best(&pick(&|t| t.total_s)),
        "best_load_s": best(&pick(&|t| t.load_s)),
        "best_compute_s": best(&pick(&|t| t.compute_s)),
        "peak_added_mib": peak,
    });
    let last = all.pop().expect("at least one run");
    Ok((summary, last))
}

pub async fn run(args: BenchKpisArgs) -> Result<()> {
    if args.months > tenure_app::target::kpis::MAX_MONTHS {
        return Err(BadInput("--months: at most 36".into()).into());
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

    // Plans from the default templates, once.
    let mut plans_applied = None;
    if store.plans(&Scope::All, false).await?.is_empty() {
        let t = Instant::now();
        let day = evaluate(&store, &config, end).await?;
        let applied = apply_templates(&store, &config, &day, Start::Entered).await?;
        eprintln!(
            "plans: {} created from {} templates, {} tasks, in {:.1} s",
            applied.plans_created,
            applied.templates,
            applied.tasks,
            secs(t)
        );
        plans_applied = Some(
            json!({"plans": applied.plans_created, "tasks": applied.tasks,
                                     "seconds": secs(t)}),
        );
    }
    let plans = store.plans(&Scope::All, false).await?.len();
    let milestones = store.milestones().await?.len();
    let tasks = store.task_dues().await?.len();

    // The reference: today's recompute, in the same run.
    let mut recompute_s = Vec::new();
    for _ in 0..args.runs.max(1) {
        let t = Instant::now();
        recompute(&store, &config, end, end, &Quiet).await?;
        recompute_s.push(secs(t));
    }

    let today = [KpiPeriod {
        from: add_days(end, -89),
        to: end,
    }];
    let (now, last) = timed_runs(&store, &config, &today, &args).await?;
    let k = &last.kpis[0];
    let history = if args.months > 0 {
        let mut periods: Vec<KpiPeriod> = months_to(end, args.months)
            .into_iter()
            .map(|(from, to)| KpiPeriod { from, to })
            .collect();
        periods.extend(today);
        Some(timed_runs(&store, &config, &periods, &args).await?.0)
    } else {
        None
    };
    let team = |kpi: Kpi| k.team.cells[kpi.index()].value;
    let ratio = now["best_total_s"].as_f64().unwrap_or(f64::NAN) / best(&recompute_s);
    let out = json!({
        "settings": {"accounts": args.accounts, "seed": args.seed, "end": end.to_string(),
                     "days": args.days, "runs": args.runs, "csms": args.csms,
                     "months": args.months},
        "data": {"accounts": accounts, "csms_in_data": last.data_csms,
                 "csm_rows": k.csms.len(), "plans": plans, "milestones": milestones,
                 "tasks_with_due_day": tasks, "plans_applied_now": plans_applied},
        "recompute_s": recompute_s,
        "kpis": now,
        "kpis_over_recompute": ratio,
        "history": history,
        "team": {"accounts": team(Kpi::Accounts), "arr": team(Kpi::Arr),
                 "health_mean": team(Kpi::HealthMean), "nrr": team(Kpi::Nrr),
                 "cadence_compliance": team(Kpi::CadenceCompliance),
                 "plan_execution": team(Kpi::PlanExecution),
                 "overdue_tasks": team(Kpi::OverdueTasks),
                 "events_trend": team(Kpi::EventsTrend)},
    });
    std::fs::write(
        work.join("bench-kpis.json"),
        serde_json::to_string_pretty(&out)?,
    )?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    eprintln!(
        "{accounts} accounts, {} CSM rows: KPIs best {:.3} s (load {:.3} s, fold {:.3} s), {ratio:.2} × today's recompute ({:.3} s)",
        k.csms.len(),
        now["best_total_s"].as_f64().unwrap_or(f64::NAN),
        now["best_load_s"].as_f64().unwrap_or(f64::NAN),
        now["best_compute_s"].as_f64().unwrap_or(f64::NAN),
        best(&recompute_s),
    );
    Ok(())
}
