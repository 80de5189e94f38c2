//! `tenure-bench health`: the health benchmark of docs/PERFORMANCE.md.
//!
//! 1. Loads a demo company (N accounts, a year of usage) into a SQLite
//!    database in the work folder, writing the same rows as CSV for DuckDB.
//! 2. Times `tenure health recompute` for the last day (today's scores,
//!    stored as snapshots), with a breakdown: loading signals, scoring, writing.
//! 3. Runs the DuckDB reference: the scorecard as one SQL query over the
//!    same data (`bench_health.py`, in a virtual environment this command
//!    creates), checks that both give the same scores, and compares times.
//! 4. Times a full year of daily snapshots and runs the scorecard's
//!    backtest on the demo data.
//!
//! The scorecard is the threshold one (`THRESHOLD_SCORECARD`, the default
//! before the adaptive one), which the DuckDB reference computes; the
//! adaptive default's percentiles are not in the reference.
//!
//! The work folder is kept: a second run with the same settings reuses the
//! loaded database, the CSV files and the Python environment.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use jiff::civil::Date;
use serde_json::{Value, json};
use tenure_core::config::Config;
use tenure_core::demo::{Demo, DemoConfig};
use tenure_core::health::HealthModel;
use tenure_core::model::{date_from_day, day_number};
use tenure_store::Store;
use tenure_store::bulk::BulkWriter;
use tenure_store::health::{Shard, SignalsRequest};
use tenure_store::rows::Record;

use tenure_app::health::backtest::report_json;
use tenure_app::health::{Quiet, backtest, recompute};

use crate::BadInput;

#[derive(Debug, Args)]
pub struct BenchHealthArgs {
    /// Demo accounts.
    #[arg(long, default_value_t = 100_000)]
    pub accounts: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Last simulated day; today's scores are computed as of this day.
    #[arg(long, default_value = "2026-01-01")]
    pub end: String,
    /// Days of usage history.
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// Folder for the database, the CSV export, DuckDB and its Python
    /// environment; reused by later runs with the same settings.
    #[arg(long)]
    pub work: PathBuf,
    /// Timed runs of today's recompute and of the DuckDB query.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Skip the DuckDB reference.
    #[arg(long)]
    pub no_duckdb: bool,
    /// Skip the year of daily snapshots.
    #[arg(long)]
    pub no_history: bool,
    /// Skip the backtest of the default scorecard.
    #[arg(long)]
    pub no_backtest: bool,
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

pub async fn run(args: BenchHealthArgs) -> Result<()> {
    let end: Date = args
        .end
        .parse()
        .map_err(|_| BadInput(format!("--end: expected a date, got {:?}", args.end)))?;
    let (url, work) = work_db(&args, end).await?;
    let mut report = serde_json::Map::new();
    report.insert(
        "settings".into(),
        json!({"accounts": args.accounts, "seed": args.seed, "end": end.to_string(), "days": args.days}),
    );
    let store = Store::open(&url).await?;
    let events = store.count(tenure_store::Kind::Events).await?;
    let accounts = store.count(tenure_store::Kind::Accounts).await?;
    report.insert(
        "data".into(),
        json!({"accounts": accounts, "events": events}),
    );
    eprintln!("data: {accounts} accounts, {events} events");

    // The threshold scorecard: the one `bench_health.py` computes.
    let config = tenure_core::config::parse_config(tenure_core::health::THRESHOLD_SCORECARD)
        .map_err(|e| anyhow::anyhow!("the threshold scorecard: {e:?}"))?;
    let model = HealthModel::new(&config.health);

    // Today's scores: the breakdown once, then the whole command N times.
    let all = store.health_accounts().await?;
    let t = Instant::now();
    let table = store
        .load_signals_on(SignalsRequest {
            plan: model.plan(),
            currency: &config.currency,
            dates: &[end],
            shard: Shard::split(&all, usize::MAX)[0],
            track_payments: store.payments_tracked().await?,
        })
        .await?;
    let load_s = secs(t);
    let t = Instant::now();
    let mut ours = std::collections::HashMap::new();
    for (i, a) in all.iter().enumerate() {
        let s = &table[i];
        let score = model.score(model.scorecard_index(a), s, &[]);
        if a.is_customer_on(s.mrr, end) {
            ours.insert(a.id.clone(), score.computed);
        }
    }
    let score_s = secs(t);
    drop(table);
    let mut recompute_s = Vec::new();
    let mut snapshots = 0;
    for _ in 0..args.runs.max(1) {
        let t = Instant::now();
        snapshots = recompute(&store, &config, end, end, &Quiet).await?;
        recompute_s.push(secs(t));
    }
    eprintln!(
        "today: load signals {load_s:.3} s, score {score_s:.3} s; recompute {recompute_s:?} s ({snapshots} snapshots)"
    );
    report.insert(
        "today".into(),
        json!({
            "scored_accounts": ours.len(),
            "load_signals_s": load_s,
            "score_s": score_s,
            "recompute_s": recompute_s,
            "snapshots": snapshots,
        }),
    );

    if !args.no_duckdb {
        let duck = duckdb_reference(&work, end, args.runs.max(1))?;
        let theirs = duck["scores"].as_object().cloned().unwrap_or_default();
        let mut same = 0;
        let mut differ = Vec::new();
        for (id, s) in &ours {
            let t = theirs.get(id).and_then(Value::as_f64);
            match (s, t) {
                (Some(a), Some(b)) if (a - b).abs() < 1e-6 => same += 1,
                (None, None) => same += 1,
                _ => differ.push(id.clone()),
            }
        }
        let best = |v: &Value| {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_f64)
                .fold(f64::INFINITY, f64::min)
        };
        let duck_best = best(&duck["query_s"]);
        let ours_best = recompute_s.iter().copied().fold(f64::INFINITY, f64::min);
        eprintln!(
            "duckdb {}: query {:?} s (best {duck_best:.3}); tenure best {ours_best:.3} s = {:.2} × DuckDB; scores agree for {same} of {} accounts ({} only in DuckDB)",
            duck["duckdb_version"],
            duck["query_s"],
            ours_best / duck_best,
            ours.len(),
            theirs.len().saturating_sub(ours.len())
        );
        differ.sort();
        report.insert(
            "duckdb".into(),
            json!({
                "version": duck["duckdb_version"],
                "threads": duck["threads"],
                "csv_load_s": duck["load_s"],
                "query_s": duck["query_s"],
                "tenure_over_duckdb": ours_best / duck_best,
                "scores_agree": same,
                "scores_differ_examples": differ.iter().take(5).collect::<Vec<_>>(),
                "accounts_only_in_duckdb": theirs.len().saturating_sub(ours.len()),
            }),
        );
    }

    if !args.no_history {
        let from = date_from_day(day_number(end) - 364);
        let t = Instant::now();
        let n = recompute(&store, &config, from, end, &Quiet).await?;
        let s = secs(t);
        eprintln!("a year of daily snapshots ({from} to {end}): {n} snapshots in {s:.1} s");
        report.insert(
            "year_of_snapshots".into(),
            json!({"from": from.to_string(), "to": end.to_string(), "snapshots": n, "seconds": s}),
        );
    }

    if !args.no_backtest {
        backtest_default(&store, &config, &model, &args, end, &mut report).await?;
    }

    let out = Value::Object(report);
    std::fs::write(
        work.join("bench-health.json"),
        serde_json::to_string_pretty(&out)?,
    )?;
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&out)?
    )?;
    Ok(())
}

/// The scorecard's backtest: monthly as-of dates over the simulated
/// usage whose 90-day horizon ends by the last simulated day.
async fn backtest_default(
    store: &Store,
    config: &Config,
    model: &HealthModel,
    args: &BenchHealthArgs,
    end: Date,
    report: &mut serde_json::Map<String, Value>,
) -> Result<()> {
    // The first as-of date has a full look-back window of usage behind it.
    let horizon = 90;
    let last = date_from_day(day_number(end) - horizon as i32);
    let first =
        date_from_day(day_number(end) - args.days as i32 + model.plan().lookback_days() as i32);
    let mut dates = Vec::new();
    let mut d = first.first_of_month();
    while d <= last {
        if d >= first {
            dates.push(d);
        }
        d = d.last_of_month().tomorrow()?;
    }
    let t = Instant::now();
    let configs = [("default".to_string(), config.clone())];
    let bt = backtest(store, &configs, &dates, horizon).await?;
    let bt_s = secs(t);
    let bj = report_json(horizon, &dates, &bt);
    eprintln!(
        "backtest ({} as-of dates, {bt_s:.1} s): {}",
        dates.len(),
        bj["scorecards"][0]
    );
    report.insert("backtest".into(), bj);
    report.insert("backtest_s".into(), json!(bt_s));
    Ok(())
}

/// Loads the demo into the store and writes the columns DuckDB needs as CSV.
/// The work folder's database URL and the folder: the demo company of
/// `args` loaded into `bench.db` on first use, reused after.
/// The work database of a demo company for the benchmarks that run after
/// today's scores (Engage, KPIs, playbooks, voice): [`work_db`] without
/// DuckDB, the year of history or the backtest. Returns the end day (from
/// `end`, refused with the flag's name when it is not a date), the
/// database URL and the work folder.
pub(crate) async fn demo_work_db(
    accounts: u32,
    seed: u64,
    end: &str,
    days: u32,
    work: &std::path::Path,
    runs: usize,
) -> Result<(Date, String, PathBuf)> {
    let end_day: Date = end
        .parse()
        .map_err(|_| BadInput(format!("--end: expected a date, got {end:?}")))?;
    let args = BenchHealthArgs {
        accounts,
        seed,
        end: end.to_string(),
        days,
        work: work.to_path_buf(),
        runs,
        no_duckdb: true,
        no_history: true,
        no_backtest: true,
    };
    let (url, work) = work_db(&args, end_day).await?;
    Ok((end_day, url, work))
}

pub(crate) async fn work_db(args: &BenchHealthArgs, end: Date) -> Result<(String, PathBuf)> {
    std::fs::create_dir_all(&args.work)
        .with_context(|| format!("creating {}", args.work.display()))?;
    let work = args.work.canonicalize()?;
    let db_path = work.join("bench.db");
    let stamp = work.join(format!(
        "loaded-{}-{}-{}-{}",
        args.accounts, args.seed, end, args.days
    ));
    let url = format!("sqlite://{}", db_path.display());
    if !stamp.exists() {
        for f in ["bench.db", "bench.db-wal", "bench.db-shm", "bench.duckdb"] {
            let _ = std::fs::remove_file(work.join(f));
        }
        let store = Store::open(&url).await?;
        let t = Instant::now();
        let counts = load_demo(&store, &work, args, end).await?;
        eprintln!("loaded {counts} in {:.1} s", secs(t));
        store.close().await;
        std::fs::write(&stamp, counts)?;
    }
    Ok((url, work))
}

async fn load_demo(
    store: &Store,
    work: &Path,
    args: &BenchHealthArgs,
    end: Date,
) -> Result<String> {
    let demo = Demo::new(DemoConfig {
        accounts: args.accounts,
        seed: args.seed,
        end,
        days: args.days,
    });
    let csv_dir = work.join("csv");
    std::fs::create_dir_all(&csv_dir)?;
    let open = |name: &str, header: &str| -> Result<BufWriter<std::fs::File>> {
        let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(csv_dir.join(name))?);
        writeln!(w, "{header}")?;
        Ok(w)
    };
    let mut f_acc = open("accounts.csv", "id,trial_start,trial_end")?;
    let mut f_sub = open(
        "subscriptions.csv",
        "account_id,mrr_minor,currency,seats,start_date,end_date,renewal_date",
    )?;
    let mut f_ev = open("events.csv", "account_id,user_id,event,ts")?;
    let mut f_tix = open("tickets.csv", "account_id,opened_at,closed_at,priority")?;
    let mut f_sr = open("survey_responses.csv", "account_id,kind,score,responded_at")?;
    let mut f_eng = open("engagements.csv", "account_id,occurred_at")?;
    let opt = |x: Option<String>| x.unwrap_or_default();

    // One thread simulates, this one writes.
    let (tx, rx) = std::sync::mpsc::sync_channel(256);
    let n = demo.len();
    let generator = std::thread::spawn(move || {
        for i in 0..n {
            if tx.send(demo.account(i)).is_err() {
                break;
            }
        }
    });
    let mut writer = BulkWriter::default();
    let mut conn = store.pool().begin().await?;
    let mut events = 0u64;
    let t = Instant::now();
    let mut in_tx = 0;
    for (k, b) in rx.into_iter().enumerate() {
        let a = &b.account;
        writeln!(
            f_acc,
            "{},{},{}",
            a.id,
            opt(a.trial_start.map(|d| d.to_string())),
            opt(a.trial_end.map(|d| d.to_string()))
        )?;
        writer.push(&mut conn, &Record::Account(a.clone())).await?;
        for s in &b.subscriptions {
            writeln!(
                f_sub,
                "{},{},{},{},{},{},{}",
                s.account_id,
                s.mrr.minor,
                s.mrr.currency,
                opt(s.seats.map(|x| x.to_string())),
                s.start_date,
                opt(s.end_date.map(|d| d.to_string())),
                opt(s.renewal_date.map(|d| d.to_string()))
            )?;
            writer
                .push(&mut conn, &Record::Subscription(s.clone()))
                .await?;
        }
        for c in b.contacts {
            writer.push(&mut conn, &Record::Contact(c)).await?;
        }
        for e in b.events {
            writeln!(
                f_ev,
                "{},{},{},{}",
                e.account_id,
                e.user_id,
                e.event,
                e.timestamp.as_microsecond()
            )?;
            events += 1;
            writer.push(&mut conn, &Record::Event(e)).await?;
        }
        for x in b.tickets {
            writeln!(
                f_tix,
                "{},{},{},{}",
                x.account_id,
                x.opened_at.as_microsecond(),
                opt(x.closed_at.map(|t| t.as_microsecond().to_string())),
                opt(x.priority.map(|p| p.as_str().to_string()))
            )?;
            writer.push(&mut conn, &Record::Ticket(x)).await?;
        }
        for r in b.survey_responses {
            writeln!(
                f_sr,
                "{},{},{},{}",
                r.account_id,
                r.kind.as_str(),
                r.score,
                r.responded_at.as_microsecond()
            )?;
            writer.push(&mut conn, &Record::SurveyResponse(r)).await?;
        }
        for e in b.engagements {
            writeln!(f_eng, "{},{}", e.account_id, e.occurred_at.as_microsecond())?;
            writer.push(&mut conn, &Record::Engagement(e)).await?;
        }
        in_tx += 1;
        if in_tx >= 500 {
            writer.flush(&mut conn).await?;
            conn.commit().await?;
            conn = store.pool().begin().await?;
            in_tx = 0;
        }
        if (k + 1) % 5000 == 0 {
            eprintln!("  {} accounts, {events} events, {:.0} s", k + 1, secs(t));
        }
    }
    writer.flush(&mut conn).await?;
    conn.commit().await?;
    generator
        .join()
        .map_err(|_| anyhow::anyhow!("the demo generator panicked"))?;
    for mut f in [f_acc, f_sub, f_ev, f_tix, f_sr, f_eng] {
        f.flush()?;
    }
    Ok(format!("{} accounts, {events} events", args.accounts))
}

/// Runs `bench_health.py` with DuckDB from a virtual environment in the
/// work folder (created with `python3 -m venv` and `pip install duckdb`).
fn duckdb_reference(work: &Path, as_of: Date, runs: usize) -> Result<Value> {
    let venv = work.join("venv");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        eprintln!(
            "creating a Python virtual environment with DuckDB in {}",
            venv.display()
        );
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .context("running python3 -m venv")?
            .success();
        if !ok {
            bail!("python3 -m venv failed");
        }
    }
    let has_duckdb = Command::new(&python)
        .args(["-c", "import duckdb"])
        .status()?
        .success();
    if !has_duckdb {
        let ok = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "duckdb"])
            .status()
            .context("pip install duckdb")?
            .success();
        if !ok {
            bail!("pip install duckdb failed");
        }
    }
    let script = work.join("bench_health.py");
    std::fs::write(&script, include_str!("bench_health.py"))?;
    let out = Command::new(&python)
        .arg(&script)
        .arg(work)
        .arg(as_of.to_string())
        .arg(runs.to_string())
        .output()
        .context("running the DuckDB reference")?;
    if !out.status.success() {
        bail!(
            "the DuckDB reference failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}
