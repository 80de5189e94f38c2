//! `tenure health`: today's scores with their explanation, daily snapshots
//! without look-ahead, history and group trends, manual overrides, what
//! changed since a date, and the churn backtest (DESIGN §5, docs/HEALTH.md).
//!
//! The scoring itself is `tenure_core::health`; the SQL is
//! `tenure_store::health`. This module picks dates and accounts, calls both,
//! and renders tables or JSON.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use jiff::civil::Date;
use serde_json::{Value, json};
use tenure_core::config::Config;
use tenure_core::health::{
    AccountSignals, HealthModel, HealthScore, MeasureResult, Override, SignalsTable,
    backtest_stats, churned_within, score_deltas,
};
use tenure_core::model::{Account, Currency, date_from_day, day_number};
use tenure_store::Store;
use tenure_store::health::{
    NewOverride, OverrideRow, Shard, SignalsRequest, Snapshot, StoredScorecard,
};

use crate::BadInput;
use crate::data::{open_store, progress_bar};
use crate::output::load_config;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HealthArgs {
    #[command(subcommand)]
    pub command: Option<HealthCommand>,
    #[command(flatten)]
    pub show: ShowArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Only this account, with the full explanation.
    #[arg(long)]
    pub account: Option<String>,
    /// Score as of the end of this UTC day (default: today).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Also list accounts that are neither paying nor in trial on that day.
    #[arg(long)]
    pub all: bool,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Interval {
    Day,
    Week,
    Month,
}

#[derive(Debug, Subcommand)]
pub enum HealthCommand {
    /// Compute and store daily snapshots, each from the data as it was on its day.
    Recompute {
        /// First day (default: today).
        #[arg(long)]
        from: Option<String>,
        /// Last day (default: today).
        #[arg(long)]
        to: Option<String>,
        /// No progress bar and no summary.
        #[arg(long, short)]
        quiet: bool,
    },
    /// An account's stored daily scores.
    History {
        #[arg(long)]
        account: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Mean score and band mix of groups of accounts over time, from snapshots.
    Groups {
        /// `plan`, `csm`, `region`, `industry` or a custom attribute such as `segment`.
        #[arg(long)]
        by: String,
        /// First day (default: 90 days before --to).
        #[arg(long)]
        from: Option<String>,
        /// Last day (default: today).
        #[arg(long)]
        to: Option<String>,
        /// One row per group and interval, from the interval's last snapshot day.
        #[arg(long, value_enum, default_value = "week")]
        interval: Interval,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Set a manual score (or clear it: `override clear ACCOUNT` or `--clear`).
    Override(OverrideArgs),
    /// List manual overrides: those that apply today or later, or --all.
    Overrides {
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// What changed in an account's score since a day, measure by measure.
    Diff {
        #[arg(long)]
        account: String,
        #[arg(long)]
        since: String,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// How well past scores predicted churn, at monthly as-of dates.
    Backtest(BacktestArgs),
}

#[derive(Debug, Args)]
pub struct OverrideArgs {
    /// ACCOUNT, or `clear ACCOUNT`.
    #[arg(num_args = 1..=2, required = true)]
    pub target: Vec<String>,
    /// The score to show, 0–100.
    #[arg(long)]
    pub score: Option<f64>,
    /// Why (shown with the score).
    #[arg(long)]
    pub reason: Option<String>,
    /// The last day it applies.
    #[arg(long)]
    pub until: Option<String>,
    /// Who sets it (default: $USER).
    #[arg(long)]
    pub author: Option<String>,
    /// Clear the account's overrides from today on.
    #[arg(long)]
    pub clear: bool,
}

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// Churned = MRR went to 0 within this many days after the as-of date.
    #[arg(long, default_value_t = 90)]
    pub horizon: u32,
    /// First as-of month (default: 12 months before --to).
    #[arg(long)]
    pub from: Option<String>,
    /// Last possible as-of date (default: today minus the horizon).
    #[arg(long)]
    pub to: Option<String>,
    /// Compare the health sections of these configuration files (default: the current one).
    #[arg(long = "scorecard")]
    pub scorecards: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub async fn run(db: &str, config_path: &std::path::Path, args: HealthArgs) -> Result<()> {
    let config = load_config(config_path)?;
    let store = open_store(db).await?;
    match args.command {
        None => show(&store, &config, args.show).await,
        Some(HealthCommand::Recompute { from, to, quiet }) => {
            let today = today();
            let to = opt_date(to.as_deref(), "--to")?.unwrap_or(today);
            let from = opt_date(from.as_deref(), "--from")?.unwrap_or(to);
            if from > to {
                return Err(BadInput("--from is after --to".into()).into());
            }
            let t = std::time::Instant::now();
            let n = recompute(&store, &config, from, to, quiet).await?;
            if !quiet {
                eprintln!(
                    "stored {n} snapshots for {} day(s), {from} to {to}, in {:.1?}",
                    day_number(to) - day_number(from) + 1,
                    t.elapsed()
                );
            }
            Ok(())
        }
        Some(HealthCommand::History {
            account,
            from,
            to,
            format,
        }) => history(&store, &account, from, to, format).await,
        Some(HealthCommand::Groups {
            by,
            from,
            to,
            interval,
            format,
        }) => groups(&store, &by, from, to, interval, format).await,
        Some(HealthCommand::Override(o)) => set_override(&store, o).await,
        Some(HealthCommand::Overrides { all, format }) => list_overrides(&store, all, format).await,
        Some(HealthCommand::Diff {
            account,
            since,
            format,
        }) => diff(&store, &config, &account, &since, format).await,
        Some(HealthCommand::Backtest(b)) => backtest(&store, &config, b).await,
    }
}

// ----- shared helpers ------------------------------------------------------

/// Today's UTC date.
pub fn today() -> Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

fn now_micros() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}

fn parse_date(s: &str, flag: &str) -> Result<Date> {
    s.parse::<Date>().map_err(|_| {
        BadInput(format!(
            "{flag}: expected a date such as 2025-03-31, got {s:?}"
        ))
        .into()
    })
}

fn opt_date(s: Option<&str>, flag: &str) -> Result<Option<Date>> {
    s.map(|s| parse_date(s, flag)).transpose()
}

fn add_days(d: Date, n: i32) -> Date {
    date_from_day(day_number(d) + n)
}

/// Every configured currency must have a rate before MRR can be compared.
async fn check_rates(store: &Store, config: &Config) -> Result<()> {
    for c in store.subscription_currencies().await? {
        let ok = Currency::parse(&c)
            .ok()
            .and_then(|cur| config.currency.rate(cur))
            .is_some();
        if !ok {
            return Err(BadInput(format!(
                "subscriptions use {c} but tenure.toml has no exchange rate for it: add it under [currency.rates]"
            ))
            .into());
        }
    }
    Ok(())
}

/// Accounts per shard so that the builder's memory stays around a
/// gigabyte whatever the date range: the demo data measured about 220 bytes
/// per account and day of horizon (1.9 GB for 20,000 accounts over 425 days).
/// A single date is loaded by aggregating its windows (`load_signals_on`),
/// whose memory does not grow with the look-back: one shard.
fn shard_size(model: &HealthModel, dates: &[Date]) -> usize {
    let (Some(first), Some(last)) = (dates.iter().min(), dates.iter().max()) else {
        return usize::MAX;
    };
    if first == last {
        return usize::MAX;
    }
    let horizon =
        (day_number(*last) - day_number(*first)) as usize + model.plan().lookback_days() as usize;
    (5_000_000 / horizon.max(1)).max(1_000)
}

/// Whether an account is scored on a day: paying (MRR > 0) or in trial.
fn is_scored(account: &Account, mrr: f64, day: Date) -> bool {
    mrr > 0.0
        || matches!((account.trial_start, account.trial_end), (Some(s), Some(e)) if s <= day && day <= e)
}

/// Overrides by account id, as stored.
async fn overrides_by_account(store: &Store) -> Result<HashMap<String, Vec<OverrideRow>>> {
    let mut map: HashMap<String, Vec<OverrideRow>> = HashMap::new();
    for o in store.overrides(None).await? {
        map.entry(o.account_id.clone()).or_default().push(o);
    }
    Ok(map)
}

/// Signals loaded for a shard: a table over many dates, or one day's
/// signals aggregated in the database (faster for a single day).
enum Loaded {
    Table(Box<SignalsTable>),
    Day(Vec<AccountSignals>),
}

impl Loaded {
    async fn load(store: &Store, req: SignalsRequest<'_>) -> Result<Loaded> {
        Ok(if req.dates.len() == 1 {
            Loaded::Day(store.load_signals_on(req).await?)
        } else {
            Loaded::Table(Box::new(store.load_signals(req).await?))
        })
    }

    fn signals(&self, date: usize, i: usize) -> AccountSignals {
        match self {
            Loaded::Table(t) => t.signals(date, i),
            Loaded::Day(v) => v[i].clone(),
        }
    }
}

/// Scores one account of a loaded table on its `date`-th date.
fn score_one(
    model: &HealthModel,
    table: &Loaded,
    date: usize,
    i: usize,
    account: &Account,
    overrides: &[OverrideRow],
) -> (HealthScore, f64, Option<i64>) {
    score_signals(model, table.signals(date, i), account, overrides)
}

/// [`score_one`] from signals already at hand.
fn score_signals(
    model: &HealthModel,
    signals: AccountSignals,
    account: &Account,
    overrides: &[OverrideRow],
) -> (HealthScore, f64, Option<i64>) {
    let active: Vec<(Override, i64)> = overrides
        .iter()
        .filter_map(|o| Some((o.to_override()?, o.id)))
        .collect();
    let plain: Vec<Override> = active.iter().map(|(o, _)| o.clone()).collect();
    let score = model.score(model.scorecard_index(account), &signals, &plain);
    let override_id = score
        .override_applied
        .as_ref()
        .and_then(|o| active.iter().find(|(a, _)| a == o).map(|(_, id)| *id));
    (score, signals.mrr, override_id)
}

fn measures_json(score: &HealthScore) -> String {
    let v: Vec<Value> = score
        .measures
        .iter()
        .map(|m| json!([m.raw, m.normalised, m.contribution]))
        .collect();
    Value::Array(v).to_string()
}

fn scorecards_of(model: &HealthModel, config: &Config) -> Vec<StoredScorecard> {
    config
        .health
        .all_scorecards()
        .enumerate()
        .map(|(i, card)| StoredScorecard {
            version: model.scorecard_version(i).to_string(),
            name: card.name.clone(),
            measures: Value::Array(
                card.measures
                    .iter()
                    .map(|m| json!({"name": m.name, "kind": m.kind.name(), "weight": m.weight}))
                    .collect(),
            )
            .to_string(),
        })
        .collect()
}

fn fmt_opt(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "-".to_string(), |x| format!("{x:.digits$}"))
}

fn fmt_delta(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |x| format!("{x:+.1}"))
}

fn fmt_raw(x: Option<f64>) -> String {
    match x {
        None => "-".to_string(),
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        Some(x) => format!("{x:.3}"),
    }
}

fn print_json(v: &Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

fn measure_json(m: &MeasureResult) -> Value {
    json!({
        "name": &*m.name,
        "kind": m.kind,
        "raw": m.raw,
        "normalised": m.normalised,
        "weight": m.weight,
        "effective_weight": m.effective_weight,
        "contribution": m.contribution,
    })
}

fn override_json(o: &OverrideRow) -> Value {
    json!({
        "id": o.id,
        "account_id": o.account_id,
        "score": o.score,
        "reason": o.reason,
        "author": o.author,
        "set_on": o.set_on.to_string(),
        "until": o.until.to_string(),
        "cleared_on": o.cleared_on.map(|d| d.to_string()),
        "cleared_by": o.cleared_by,
    })
}

// ----- tenure health -------------------------------------------------------

struct Scored {
    account: usize,
    score: HealthScore,
    mrr: f64,
    override_row: Option<OverrideRow>,
    d7: Option<f64>,
    d30: Option<f64>,
}

async fn show(store: &Store, config: &Config, args: ShowArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let as_of = opt_date(args.as_of.as_deref(), "--as-of")?.unwrap_or_else(today);
    check_rates(store, config).await?;
    let model = HealthModel::new(&config.health);
    let accounts = store.health_accounts().await?;
    let track_payments = store.payments_tracked().await?;
    let overrides = overrides_by_account(store).await?;
    let shards = match &args.account {
        Some(id) => {
            let i = accounts
                .iter()
                .position(|a| &a.id == id)
                .ok_or_else(|| BadInput(format!("no account with id {id:?}")))?;
            vec![Shard::one(&accounts, i)]
        }
        None => Shard::split(&accounts, shard_size(&model, &[as_of])),
    };
    // Deltas from stored snapshots around 7 and 30 days earlier.
    let mut history: HashMap<String, Vec<(Date, f64)>> = HashMap::new();
    for (id, day, score) in store
        .snapshot_scores(add_days(as_of, -33), add_days(as_of, -7))
        .await?
    {
        if let Some(s) = score {
            history.entry(id).or_default().push((day, s));
        }
    }
    let mut scored = Vec::new();
    let mut offset = 0;
    for shard in &shards {
        if args.account.is_some() {
            offset = accounts
                .iter()
                .position(|a| a.id == shard.accounts[0].id)
                .unwrap_or(0);
        }
        let table = Loaded::load(
            store,
            SignalsRequest {
                plan: model.plan(),
                currency: &config.currency,
                dates: &[as_of],
                shard: *shard,
                track_payments,
            },
        )
        .await?;
        for (i, account) in shard.accounts.iter().enumerate() {
            let ov = overrides.get(&account.id).map_or(&[][..], Vec::as_slice);
            let (score, mrr, oid) = score_one(&model, &table, 0, i, account, ov);
            if args.account.is_none() && !args.all && !is_scored(account, mrr, as_of) {
                continue;
            }
            let deltas = score_deltas(
                history.get(&account.id).map_or(&[][..], Vec::as_slice),
                as_of,
                score.score,
            );
            scored.push(Scored {
                account: offset + i,
                score,
                mrr,
                override_row: oid.and_then(|id| ov.iter().find(|o| o.id == id).cloned()),
                d7: deltas.d7,
                d30: deltas.d30,
            });
        }
        offset += shard.accounts.len();
    }
    // Worst first; accounts without a score last.
    scored.sort_by(|a, b| {
        let key = |s: &Scored| s.score.score.unwrap_or(f64::INFINITY);
        key(a)
            .total_cmp(&key(b))
            .then_with(|| accounts[a.account].id.cmp(&accounts[b.account].id))
    });

    if args.format == Format::Json {
        let list: Vec<Value> = scored
            .iter()
            .map(|s| {
                let a = &accounts[s.account];
                json!({
                    "account_id": a.id,
                    "name": a.name,
                    "as_of": as_of.to_string(),
                    "score": s.score.score,
                    "band": s.score.band.map(|b| b.as_str()),
                    "computed": s.score.computed,
                    "computed_band": s.score.computed_band.map(|b| b.as_str()),
                    "measures": s.score.measures.iter().map(measure_json).collect::<Vec<_>>(),
                    "missing": s.score.missing().collect::<Vec<_>>(),
                    "override": s.override_row.as_ref().map(override_json),
                    "delta_7d": s.d7,
                    "delta_30d": s.d30,
                    "scorecard": &*s.score.scorecard_name,
                    "scorecard_version": &*s.score.scorecard_version,
                    "mrr": s.mrr,
                })
            })
            .collect();
        let v = if args.account.is_some() {
            list.into_iter().next().unwrap_or(Value::Null)
        } else {
            json!({ "as_of": as_of.to_string(), "config_version": model.version(), "accounts": list })
        };
        return print_json(&v);
    }

    if args.account.is_some() {
        if let Some(s) = scored.first() {
            print_explanation(&mut out, &accounts[s.account], s)?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:<20} {:<28} {:>6} {:<7} {:>6} {:>6}  {:<9} note",
        "account", "name", "score", "band", "Δ7d", "Δ30d", "scorecard"
    )?;
    for s in &scored {
        let a = &accounts[s.account];
        let missing: Vec<&str> = s.score.missing().collect();
        let mut note = String::new();
        if let Some(o) = &s.override_row {
            note.push_str(&format!("override by {} until {}", o.author, o.until));
        }
        if !missing.is_empty() {
            if !note.is_empty() {
                note.push_str("; ");
            }
            note.push_str(&format!("missing: {}", missing.join(", ")));
        }
        writeln!(
            out,
            "{:<20} {:<28} {:>6} {:<7} {:>6} {:>6}  {:<9} {}",
            truncate(&a.id, 20),
            truncate(&a.name, 28),
            fmt_opt(s.score.score, 1),
            s.score.band.map_or("-", |b| b.as_str()),
            fmt_delta(s.d7),
            fmt_delta(s.d30),
            &*s.score.scorecard_version,
            note
        )?;
    }
    eprintln!("{} accounts as of {as_of}", scored.len());
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

fn print_explanation(out: &mut impl Write, a: &Account, s: &Scored) -> std::io::Result<()> {
    let sc = &s.score;
    writeln!(out, "{} ({}) as of {}", a.name, a.id, sc.as_of)?;
    writeln!(
        out,
        "scorecard {} version {}",
        sc.scorecard_name, sc.scorecard_version
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<28} {:>10} {:>7} {:>7} {:>6} {:>12}",
        "measure", "raw", "points", "weight", "share", "contribution"
    )?;
    for m in &sc.measures {
        writeln!(
            out,
            "{:<28} {:>10} {:>7} {:>7} {:>6} {:>12}",
            truncate(&m.name, 28),
            fmt_raw(m.raw),
            fmt_opt(m.normalised, 1),
            fmt_raw(Some(m.weight)),
            m.effective_weight
                .map_or("-".to_string(), |w| format!("{:.0}%", w * 100.0)),
            if m.raw.is_some() {
                format!("{:.2}", m.contribution)
            } else {
                "missing".to_string()
            },
        )?;
    }
    writeln!(
        out,
        "{:<28} {:>46}",
        "computed score",
        match (sc.computed, sc.computed_band) {
            (Some(c), Some(b)) => format!("{c:.2} ({})", b.as_str()),
            _ => "no data".to_string(),
        }
    )?;
    if let Some(o) = &s.override_row {
        writeln!(
            out,
            "override: {:.0} ({}) by {}, set {} until {}: {}",
            o.score,
            sc.band.map_or("-", |b| b.as_str()),
            o.author,
            o.set_on,
            o.until,
            o.reason
        )?;
    }
    writeln!(
        out,
        "score {} {}   Δ7d {}   Δ30d {}   MRR {:.2}",
        fmt_opt(sc.score, 2),
        sc.band.map_or("", |b| b.as_str()),
        fmt_delta(s.d7),
        fmt_delta(s.d30),
        s.mrr
    )?;
    let missing: Vec<&str> = sc.missing().collect();
    if !missing.is_empty() {
        writeln!(
            out,
            "missing (left out, others re-weighted): {}",
            missing.join(", ")
        )?;
    }
    Ok(())
}

// ----- recompute -----------------------------------------------------------

/// Computes and stores one snapshot per scored account and day from `from`
/// to `to`; returns how many were written.
pub async fn recompute(
    store: &Store,
    config: &Config,
    from: Date,
    to: Date,
    quiet: bool,
) -> Result<u64> {
    // Exchange rates are checked while the accounts load (both read
    // whole tables).
    let rates = tokio::spawn({
        let (store, config) = (store.clone(), config.clone());
        async move { check_rates(&store, &config).await }
    });
    let model = HealthModel::new(&config.health);
    let accounts = store.health_accounts_with(model.reads_attributes()).await;
    rates.await??;
    let accounts = accounts?;
    store
        .save_scorecards(&scorecards_of(&model, config), now_micros())
        .await?;
    let track_payments = store.payments_tracked().await?;
    let overrides = overrides_by_account(store).await?;
    let dates: Vec<Date> = (day_number(from)..=day_number(to))
        .map(date_from_day)
        .collect();
    let shards = Shard::split(&accounts, shard_size(&model, &dates));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pb = progress_bar((shards.len() * dates.len()) as u64, quiet, false);
    if let Some(pb) = &pb {
        pb.set_message("scoring");
    }
    let mut writer = SnapshotWriter {
        store: store.clone(),
        now: now_micros(),
        pending: None,
        written: 0,
    };
    let mut batch: Vec<Snapshot> = Vec::new();
    for shard in &shards {
        let table = Loaded::load(
            store,
            SignalsRequest {
                plan: model.plan(),
                currency: &config.currency,
                dates: &dates,
                shard: *shard,
                track_payments,
            },
        )
        .await
        .context("loading health signals")?;
        for (d, day) in dates.iter().enumerate() {
            let snapshot = |i: usize, account: &Account| {
                let ov = overrides.get(&account.id).map_or(&[][..], Vec::as_slice);
                let signals = table.signals(d, i);
                // Accounts neither paying nor in trial are scored only for
                // an override that may apply.
                if ov.is_empty() && !is_scored(account, signals.mrr, *day) {
                    return None;
                }
                let (score, mrr, override_id) = score_signals(&model, signals, account, ov);
                if !is_scored(account, mrr, *day) && override_id.is_none() {
                    return None;
                }
                Some(Snapshot {
                    account_id: account.id.clone(),
                    day: *day,
                    score: score.score,
                    band: score.band.map(|b| b.as_str().to_string()),
                    computed: score.computed,
                    override_id,
                    scorecard_version: score.scorecard_version.to_string(),
                    measures: measures_json(&score),
                })
            };
            // Scored a part at a time, each part cut into one run per core
            // (scoring is pure), so that the last part's snapshots are
            // stored while the next is scored.
            for (c, part) in shard.accounts.chunks(SCORE_PART).enumerate() {
                let per_run = part.len().div_ceil(cores).max(2_000);
                std::thread::scope(|scope| {
                    let handles: Vec<_> = part
                        .chunks(per_run)
                        .enumerate()
                        .map(|(k, run)| {
                            let snapshot = &snapshot;
                            let first = c * SCORE_PART + k * per_run;
                            scope.spawn(move || {
                                run.iter()
                                    .enumerate()
                                    .filter_map(|(j, a)| snapshot(first + j, a))
                                    .collect::<Vec<_>>()
                            })
                        })
                        .collect();
                    for h in handles {
                        batch.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
                    }
                });
                if batch.len() >= 10_000 {
                    writer.send(std::mem::take(&mut batch)).await?;
                }
            }
            if let Some(pb) = &pb {
                pb.inc(1);
            }
        }
    }
    writer.send(batch).await?;
    let written = writer.finish().await?;
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    Ok(written)
}

/// Accounts scored at a time by [`recompute`] before their snapshots go to
/// the [`SnapshotWriter`].
const SCORE_PART: usize = 25_000;

/// Stores batches of snapshots in the background while the next batch is
/// scored; one write at a time, so at most two batches are held.
struct SnapshotWriter {
    store: Store,
    now: i64,
    pending: Option<tokio::task::JoinHandle<Result<u64>>>,
    written: u64,
}

impl SnapshotWriter {
    /// Waits for the write before, then starts writing `batch`.
    async fn send(&mut self, batch: Vec<Snapshot>) -> Result<()> {
        self.wait().await?;
        if batch.is_empty() {
            return Ok(());
        }
        let (store, now) = (self.store.clone(), self.now);
        self.pending = Some(tokio::spawn(async move {
            Ok(store.write_snapshots(&batch, now).await?)
        }));
        Ok(())
    }

    async fn wait(&mut self) -> Result<()> {
        if let Some(h) = self.pending.take() {
            self.written += h.await??;
        }
        Ok(())
    }

    /// The number of snapshots written, once the last write is done.
    async fn finish(mut self) -> Result<u64> {
        self.wait().await?;
        Ok(self.written)
    }
}

// ----- history and groups ----------------------------------------------------

async fn history(
    store: &Store,
    account: &str,
    from: Option<String>,
    to: Option<String>,
    format: Format,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let from = opt_date(from.as_deref(), "--from")?;
    let to = opt_date(to.as_deref(), "--to")?;
    let snaps = store.account_snapshots(account, from, to).await?;
    if snaps.is_empty() && store.overrides(Some(account)).await?.is_empty() {
        let known = store
            .health_accounts()
            .await?
            .iter()
            .any(|a| a.id == account);
        if !known {
            return Err(BadInput(format!("no account with id {account:?}")).into());
        }
    }
    if format == Format::Json {
        let list: Vec<Value> = snaps
            .iter()
            .map(|s| {
                json!({
                    "day": s.day.to_string(),
                    "score": s.score,
                    "band": s.band,
                    "computed": s.computed,
                    "override_id": s.override_id,
                    "scorecard_version": s.scorecard_version,
                })
            })
            .collect();
        return print_json(&json!({ "account_id": account, "snapshots": list }));
    }
    writeln!(
        out,
        "{:<10} {:>6} {:<7} {:>8} {:<9} note",
        "day", "score", "band", "computed", "scorecard"
    )?;
    for s in &snaps {
        writeln!(
            out,
            "{:<10} {:>6} {:<7} {:>8} {:<9} {}",
            s.day.to_string(),
            fmt_opt(s.score, 1),
            s.band.as_deref().unwrap_or("-"),
            fmt_opt(s.computed, 1),
            s.scorecard_version,
            if s.override_id.is_some() {
                "override"
            } else {
                ""
            }
        )?;
    }
    if snaps.is_empty() {
        eprintln!("no snapshots for {account}: run `tenure health recompute --from DATE`");
    }
    Ok(())
}

/// The group key of an account for `--by`.
fn group_of(a: &Account, by: &str) -> String {
    let v = match by {
        "plan" => a.plan.clone(),
        "csm" | "csm_email" => a.csm_email.clone(),
        "region" => a.region.clone(),
        "industry" => a.industry.clone(),
        attr => a.attributes.get(attr).cloned(),
    };
    v.filter(|s| !s.is_empty())
        .unwrap_or_else(|| "(none)".to_string())
}

fn interval_key(d: Date, interval: Interval) -> i32 {
    match interval {
        Interval::Day => day_number(d),
        // Weeks start on Monday.
        Interval::Week => day_number(d) - i32::from(d.weekday().to_monday_zero_offset()),
        Interval::Month => i32::from(d.year()) * 12 + i32::from(d.month()),
    }
}

async fn groups(
    store: &Store,
    by: &str,
    from: Option<String>,
    to: Option<String>,
    interval: Interval,
    format: Format,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let to = opt_date(to.as_deref(), "--to")?.unwrap_or_else(today);
    let from = opt_date(from.as_deref(), "--from")?.unwrap_or(add_days(to, -90));
    let accounts = store.health_accounts().await?;
    let group: HashMap<&str, String> = accounts
        .iter()
        .map(|a| (a.id.as_str(), group_of(a, by)))
        .collect();
    // The last snapshot day of each interval.
    let mut days: BTreeMap<i32, Date> = BTreeMap::new();
    for d in store.snapshot_days(from, to).await? {
        days.insert(interval_key(d, interval), d);
    }
    #[derive(Default)]
    struct Acc {
        n: usize,
        sum: f64,
        scored: usize,
        bands: [usize; 3],
    }
    let mut rows = Vec::new();
    for day in days.values() {
        let mut by_group: BTreeMap<String, Acc> = BTreeMap::new();
        for (id, score, band) in store.snapshots_on(*day).await? {
            let key = group
                .get(id.as_str())
                .cloned()
                .unwrap_or_else(|| "(none)".into());
            let acc = by_group.entry(key).or_default();
            acc.n += 1;
            if let Some(s) = score {
                acc.sum += s;
                acc.scored += 1;
            }
            match band.as_deref() {
                Some("red") => acc.bands[0] += 1,
                Some("yellow") => acc.bands[1] += 1,
                Some("green") => acc.bands[2] += 1,
                _ => {}
            }
        }
        for (g, a) in by_group {
            rows.push((*day, g, a));
        }
    }
    if format == Format::Json {
        let list: Vec<Value> = rows
            .iter()
            .map(|(day, g, a)| {
                json!({
                    "day": day.to_string(), "group": g, "accounts": a.n,
                    "mean_score": (a.scored > 0).then(|| a.sum / a.scored as f64),
                    "red": a.bands[0], "yellow": a.bands[1], "green": a.bands[2],
                })
            })
            .collect();
        return print_json(&json!({ "by": by, "groups": list }));
    }
    writeln!(
        out,
        "{:<10} {:<30} {:>8} {:>6} {:>6} {:>6} {:>6}",
        "day", by, "accounts", "mean", "red", "yellow", "green"
    )?;
    for (day, g, a) in &rows {
        writeln!(
            out,
            "{:<10} {:<30} {:>8} {:>6} {:>6} {:>6} {:>6}",
            day.to_string(),
            truncate(g, 30),
            a.n,
            fmt_opt((a.scored > 0).then(|| a.sum / a.scored as f64), 1),
            a.bands[0],
            a.bands[1],
            a.bands[2]
        )?;
    }
    if rows.is_empty() {
        eprintln!(
            "no snapshots from {from} to {to}: run `tenure health recompute --from {from} --to {to}`"
        );
    }
    Ok(())
}

// ----- overrides -----------------------------------------------------------

async fn set_override(store: &Store, args: OverrideArgs) -> Result<()> {
    let (clear, account) = match args.target.as_slice() {
        [cmd, account] if cmd == "clear" => (true, account.clone()),
        [account] => (args.clear, account.clone()),
        _ => {
            return Err(BadInput(
                "expected `override ACCOUNT --score N ...` or `override clear ACCOUNT`".into(),
            )
            .into());
        }
    };
    let author = args
        .author
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .ok_or_else(|| BadInput("who sets it? pass --author EMAIL (or set $USER)".into()))?;
    let today = today();
    if clear {
        let n = store
            .clear_overrides(&account, &author, today, now_micros())
            .await?;
        if n == 0 {
            eprintln!("{account} has no override to clear");
        } else {
            eprintln!("cleared {n} override(s) of {account} from {today}");
        }
        return Ok(());
    }
    let score = args
        .score
        .ok_or_else(|| BadInput("--score is required (0 to 100)".into()))?;
    if !(0.0..=100.0).contains(&score) {
        return Err(BadInput(format!("--score must be from 0 to 100, got {score}")).into());
    }
    let reason = args
        .reason
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| BadInput("--reason is required: say why the data is wrong".into()))?;
    let until = parse_date(
        args.until
            .as_deref()
            .ok_or_else(|| BadInput("--until DATE is required: overrides expire".into()))?,
        "--until",
    )?;
    if until < today {
        return Err(BadInput(format!("--until {until} is in the past")).into());
    }
    let id = store
        .add_override(
            &NewOverride {
                account_id: account.clone(),
                score,
                reason,
                author: author.clone(),
                set_on: today,
                until,
            },
            now_micros(),
        )
        .await
        .map_err(|e| match e {
            tenure_store::StoreError::NotFound(what) => {
                anyhow::Error::from(BadInput(format!("{what} does not exist")))
            }
            e => e.into(),
        })?;
    eprintln!("override {id}: {account} scores {score} from {today} until {until} (by {author})");
    Ok(())
}

async fn list_overrides(store: &Store, all: bool, format: Format) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let today = today();
    let rows: Vec<OverrideRow> = store
        .overrides(None)
        .await?
        .into_iter()
        .filter(|o| all || o.last_day() >= today)
        .collect();
    if format == Format::Json {
        let list: Vec<Value> = rows
            .iter()
            .map(|o| {
                let mut v = override_json(o);
                v["applies_today"] = json!(o.applies_on(today));
                v
            })
            .collect();
        return print_json(&json!({ "overrides": list }));
    }
    writeln!(
        out,
        "{:>4} {:<20} {:>5} {:<10} {:<10} {:<24} {:<8} reason",
        "id", "account", "score", "set on", "until", "author", "status"
    )?;
    for o in &rows {
        let status = if o.applies_on(today) {
            "active"
        } else if o.cleared_on.is_some() {
            "cleared"
        } else if o.until < today {
            "expired"
        } else {
            "pending"
        };
        writeln!(
            out,
            "{:>4} {:<20} {:>5.0} {:<10} {:<10} {:<24} {:<8} {}",
            o.id,
            truncate(&o.account_id, 20),
            o.score,
            o.set_on.to_string(),
            o.until.to_string(),
            truncate(&o.author, 24),
            status,
            o.reason
        )?;
    }
    Ok(())
}

// ----- diff ----------------------------------------------------------------

/// One side of a diff: per measure name, (raw, points, contribution).
struct Side {
    day: Date,
    source: &'static str,
    score: Option<f64>,
    band: Option<String>,
    version: String,
    measures: Vec<(String, Option<f64>, Option<f64>, f64)>,
}

fn side_of(score: &HealthScore, source: &'static str) -> Side {
    Side {
        day: score.as_of,
        source,
        score: score.score,
        band: score.band.map(|b| b.as_str().to_string()),
        version: score.scorecard_version.to_string(),
        measures: score
            .measures
            .iter()
            .map(|m| (m.name.to_string(), m.raw, m.normalised, m.contribution))
            .collect(),
    }
}

async fn diff(
    store: &Store,
    config: &Config,
    account: &str,
    since: &str,
    format: Format,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let since = parse_date(since, "--since")?;
    let today = today();
    if since > today {
        return Err(BadInput("--since is in the future".into()).into());
    }
    check_rates(store, config).await?;
    let model = HealthModel::new(&config.health);
    let accounts = store.health_accounts().await?;
    let i = accounts
        .iter()
        .position(|a| a.id == account)
        .ok_or_else(|| BadInput(format!("no account with id {account:?}")))?;
    let ov = store.overrides(Some(account)).await?;
    let table = store
        .load_signals(SignalsRequest {
            plan: model.plan(),
            currency: &config.currency,
            dates: &[since, today],
            shard: Shard::one(&accounts, i),
            track_payments: store.payments_tracked().await?,
        })
        .await?;
    let then_idx = 0;
    let now_idx = table.dates().len() - 1;
    let table = Loaded::Table(Box::new(table));
    let (now_score, _, _) = score_one(&model, &table, now_idx, 0, &accounts[i], &ov);
    let now = side_of(&now_score, "computed now");
    // The stored snapshot is what Tenure said that day; without one, the
    // score is recomputed from the data as it was then.
    let then = match store.snapshot(account, since).await? {
        Some(s) => {
            let cards = store.scorecards().await?;
            let names: Vec<String> = cards
                .get(&s.scorecard_version)
                .and_then(|c| serde_json::from_str::<Vec<Value>>(&c.measures).ok())
                .map(|ms| {
                    ms.iter()
                        .map(|m| m["name"].as_str().unwrap_or("?").to_string())
                        .collect()
                })
                .unwrap_or_default();
            let values: Vec<Vec<Option<f64>>> =
                serde_json::from_str(&s.measures).unwrap_or_default();
            Side {
                day: since,
                source: "stored snapshot",
                score: s.score,
                band: s.band.clone(),
                version: s.scorecard_version.clone(),
                measures: names
                    .into_iter()
                    .zip(values)
                    .map(|(n, v)| {
                        let g = |k: usize| v.get(k).copied().flatten();
                        (n, g(0), g(1), g(2).unwrap_or(0.0))
                    })
                    .collect(),
            }
        }
        None => {
            let (s, _, _) = score_one(&model, &table, then_idx, 0, &accounts[i], &ov);
            side_of(&s, "recomputed from data as of that day")
        }
    };
    // Measures by name, in the current scorecard's order, then any only in the old one.
    let mut names: Vec<String> = now.measures.iter().map(|m| m.0.clone()).collect();
    for m in &then.measures {
        if !names.contains(&m.0) {
            names.push(m.0.clone());
        }
    }
    let find = |side: &Side, n: &str| side.measures.iter().find(|m| m.0 == n).cloned();
    let score_delta = now.score.zip(then.score).map(|(a, b)| a - b);
    if format == Format::Json {
        let list: Vec<Value> = names
            .iter()
            .map(|n| {
                let t = find(&then, n);
                let w = find(&now, n);
                json!({
                    "name": n,
                    "then": t.as_ref().map(|m| json!({"raw": m.1, "normalised": m.2, "contribution": m.3})),
                    "now": w.as_ref().map(|m| json!({"raw": m.1, "normalised": m.2, "contribution": m.3})),
                    "contribution_change": match (&t, &w) {
                        (Some(t), Some(w)) => Some(w.3 - t.3),
                        _ => None,
                    },
                })
            })
            .collect();
        let side = |s: &Side| {
            json!({"day": s.day.to_string(), "source": s.source, "score": s.score,
                   "band": s.band, "scorecard_version": s.version})
        };
        return print_json(&json!({
            "account_id": account, "since": side(&then), "now": side(&now),
            "score_change": score_delta, "measures": list,
        }));
    }
    writeln!(
        out,
        "{} ({account}): {since} ({}) → {today} ({})",
        accounts[i].name, then.source, now.source
    )?;
    if then.version != now.version {
        writeln!(
            out,
            "note: the scorecard changed ({} → {}); measures are matched by name",
            then.version, now.version
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<28} {:>10} {:>10} {:>7} {:>7} {:>8} {:>8} {:>8}",
        "measure", "raw then", "raw now", "pts then", "pts now", "contrib", "contrib", "change"
    )?;
    for n in &names {
        let t = find(&then, n);
        let w = find(&now, n);
        let c = |m: &Option<(String, Option<f64>, Option<f64>, f64)>| m.as_ref().map(|m| m.3);
        writeln!(
            out,
            "{:<28} {:>10} {:>10} {:>7} {:>7} {:>8} {:>8} {:>8}",
            truncate(n, 28),
            fmt_raw(t.as_ref().and_then(|m| m.1)),
            fmt_raw(w.as_ref().and_then(|m| m.1)),
            fmt_opt(t.as_ref().and_then(|m| m.2), 0),
            fmt_opt(w.as_ref().and_then(|m| m.2), 0),
            fmt_opt(c(&t), 2),
            fmt_opt(c(&w), 2),
            match (c(&t), c(&w)) {
                (Some(a), Some(b)) => format!("{:+.2}", b - a),
                _ => "-".into(),
            }
        )?;
    }
    writeln!(
        out,
        "{:<28} {:>10} {:>10} {:>7} {:>7} {:>8} {:>8} {:>8}",
        "score",
        "",
        "",
        "",
        "",
        fmt_opt(then.score, 2),
        fmt_opt(now.score, 2),
        fmt_delta(score_delta)
    )?;
    writeln!(
        out,
        "band: {} → {}",
        then.band.as_deref().unwrap_or("-"),
        now.band.as_deref().unwrap_or("-")
    )?;
    Ok(())
}

// ----- backtest ------------------------------------------------------------

/// First of each month from `from`'s month to `to` (both included).
fn monthly_dates(from: Date, to: Date) -> Vec<Date> {
    let mut out = Vec::new();
    let mut d = from.first_of_month();
    if d < from {
        d = d.last_of_month().tomorrow().unwrap_or(d);
    }
    while d <= to {
        out.push(d);
        match d.last_of_month().tomorrow() {
            Ok(n) => d = n,
            Err(_) => break,
        }
    }
    out
}

/// The backtest of one scorecard: pooled statistics over all as-of dates.
pub struct BacktestResult {
    pub label: String,
    pub version: String,
    pub stats: tenure_core::health::BacktestStats,
}

/// Runs the backtest for one configuration over the given as-of dates.
pub async fn backtest_one(
    store: &Store,
    config: &Config,
    label: &str,
    dates: &[Date],
    horizon: u32,
) -> Result<BacktestResult> {
    let model = HealthModel::new(&config.health);
    let accounts = store.health_accounts().await?;
    let track_payments = store.payments_tracked().await?;
    let mut spans: HashMap<String, Vec<(Date, Option<Date>)>> = HashMap::new();
    for (id, s, e) in store.paying_spans().await? {
        spans.entry(id).or_default().push((s, e));
    }
    let mut outcomes = Vec::new();
    for shard in Shard::split(&accounts, shard_size(&model, dates)) {
        let table = store
            .load_signals(SignalsRequest {
                plan: model.plan(),
                currency: &config.currency,
                dates,
                shard,
                track_payments,
            })
            .await?;
        for (d, day) in table.dates().iter().enumerate() {
            for (i, account) in shard.accounts.iter().enumerate() {
                let signals = table.signals(d, i);
                if signals.mrr <= 0.0 {
                    continue;
                }
                // Overrides are people's judgement, not the model's: left out.
                let score = model.score(model.scorecard_index(account), &signals, &[]);
                if let Some(s) = score.computed {
                    let paying = spans.get(&account.id).map_or(&[][..], Vec::as_slice);
                    outcomes.push((s, churned_within(paying, *day, horizon)));
                }
            }
        }
    }
    Ok(BacktestResult {
        label: label.to_string(),
        version: model.version().to_string(),
        stats: backtest_stats(&outcomes, &model.bands()),
    })
}

pub fn backtest_json(horizon: u32, dates: &[Date], results: &[BacktestResult]) -> Value {
    let band = |b: &tenure_core::health::BandOutcome| json!({"accounts": b.accounts, "churned": b.churned, "churn_rate": b.churn_rate});
    json!({
        "horizon_days": horizon,
        "as_of_dates": dates.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        "scorecards": results.iter().map(|r| json!({
            "scorecard": r.label,
            "config_version": r.version,
            "accounts": r.stats.accounts,
            "churned": r.stats.churned,
            "churn_rate": r.stats.churn_rate,
            "auc": r.stats.auc,
            "churn_rate_by_band": {
                "red": band(&r.stats.red),
                "yellow": band(&r.stats.yellow),
                "green": band(&r.stats.green),
            },
            "churned_while_green": r.stats.churned_while_green,
            "worst_decile_churn_rate": r.stats.worst_decile_churn_rate,
            "worst_decile_lift": r.stats.worst_decile_lift,
        })).collect::<Vec<_>>(),
    })
}

async fn backtest(store: &Store, config: &Config, args: BacktestArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if args.horizon == 0 {
        return Err(BadInput("--horizon must be at least 1 day".into()).into());
    }
    let to = opt_date(args.to.as_deref(), "--to")?
        .unwrap_or_else(|| add_days(today(), -(args.horizon as i32)));
    let from = match opt_date(args.from.as_deref(), "--from")? {
        Some(f) => f,
        None => to.saturating_sub(jiff::Span::new().months(12)),
    };
    let dates = monthly_dates(from, to);
    if dates.is_empty() {
        return Err(BadInput(format!("no first-of-month date from {from} to {to}")).into());
    }
    let mut configs = Vec::new();
    if args.scorecards.is_empty() {
        configs.push(("current".to_string(), config.clone()));
    }
    for path in &args.scorecards {
        let mut c = load_config(path).with_context(|| format!("reading {}", path.display()))?;
        if !path.exists() {
            return Err(BadInput(format!("{} does not exist", path.display())).into());
        }
        // Only the [health] section differs; money follows the main config.
        c.currency = config.currency.clone();
        configs.push((path.display().to_string(), c));
    }
    check_rates(store, config).await?;
    let mut results = Vec::new();
    for (label, c) in &configs {
        results.push(backtest_one(store, c, label, &dates, args.horizon).await?);
    }
    if args.format == Format::Json {
        return print_json(&backtest_json(args.horizon, &dates, &results));
    }
    writeln!(
        out,
        "as-of dates: {} monthly from {} to {}; churned = MRR went to 0 within {} days",
        dates.len(),
        dates[0],
        dates[dates.len() - 1],
        args.horizon
    )?;
    let w = 16;
    write!(out, "{:<28}", "")?;
    for r in &results {
        write!(out, " {:>w$}", truncate(&r.label, w))?;
    }
    writeln!(out)?;
    let pct = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{:.1}%", x * 100.0));
    let line = |out: &mut dyn Write,
                name: &str,
                f: &dyn Fn(&BacktestResult) -> String|
     -> std::io::Result<()> {
        write!(out, "{name:<28}")?;
        for r in &results {
            write!(out, " {:>w$}", f(r))?;
        }
        writeln!(out)
    };
    line(&mut out, "account-months", &|r| {
        r.stats.accounts.to_string()
    })?;
    line(&mut out, "churned", &|r| r.stats.churned.to_string())?;
    line(&mut out, "churn rate", &|r| pct(r.stats.churn_rate))?;
    line(&mut out, "AUC", &|r| fmt_opt(r.stats.auc, 3))?;
    line(&mut out, "churn rate: red", &|r| {
        pct(r.stats.red.churn_rate)
    })?;
    line(&mut out, "churn rate: yellow", &|r| {
        pct(r.stats.yellow.churn_rate)
    })?;
    line(&mut out, "churn rate: green", &|r| {
        pct(r.stats.green.churn_rate)
    })?;
    line(&mut out, "share red / yellow / green", &|r| {
        let n = r.stats.accounts.max(1) as f64;
        format!(
            "{:.0}/{:.0}/{:.0}%",
            r.stats.red.accounts as f64 * 100.0 / n,
            r.stats.yellow.accounts as f64 * 100.0 / n,
            r.stats.green.accounts as f64 * 100.0 / n
        )
    })?;
    line(&mut out, "churned while green", &|r| {
        pct(r.stats.churned_while_green)
    })?;
    line(&mut out, "worst decile churn rate", &|r| {
        pct(r.stats.worst_decile_churn_rate)
    })?;
    line(&mut out, "worst decile lift", &|r| {
        fmt_opt(r.stats.worst_decile_lift, 2)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monthly_dates_are_firsts_of_months_in_range() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let got: Vec<String> = monthly_dates(d("2025-01-15"), d("2025-04-01"))
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(got, ["2025-02-01", "2025-03-01", "2025-04-01"]);
    }

    #[test]
    fn weeks_start_on_monday() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        // 2025-03-31 is a Monday; 2025-04-06 the Sunday after.
        assert_eq!(
            interval_key(d("2025-03-31"), Interval::Week),
            interval_key(d("2025-04-06"), Interval::Week)
        );
        assert_ne!(
            interval_key(d("2025-04-06"), Interval::Week),
            interval_key(d("2025-04-07"), Interval::Week)
        );
    }
}
