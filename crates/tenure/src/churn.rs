//! `tenure churn`: the churn model (docs/CHURN.md). `train` fits it on
//! monthly as-of dates, validates it on the later ones beside the
//! scorecard's backtest, stores it and prints the report; `predict` gives
//! each paying account its probability of churn with its reasons, and
//! with `--save` stores them as the day's (the daily job does so by
//! itself once a model exists).

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, Subcommand};
use jiff::civil::Date;
use tenure_app::churn::{
    Predictions, TrainReport, TrainRequest, coefficients, predict, predictions_json, report_json,
    save_predictions, train,
};
use tenure_app::command::load_config;
use tenure_core::health::BacktestStats;
use tenure_core::model::add_days;

use crate::BadInput;
use crate::data::{Format, open_store, print_json};

#[derive(Debug, Args)]
pub struct ChurnArgs {
    #[command(subcommand)]
    pub command: ChurnCommand,
}

#[derive(Debug, Subcommand)]
pub enum ChurnCommand {
    /// Train on monthly as-of dates, validate on the later ones beside the scorecard, store the model.
    Train(TrainArgs),
    /// Each paying account's probability of churn from the latest model, with the top 3 reasons.
    Predict(PredictArgs),
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Churned = MRR went to 0 within this many days after an as-of date.
    #[arg(long, default_value_t = 90)]
    pub horizon: u32,
    /// First as-of date's month, YYYY-MM-DD (default: 24 months before --to, or the first month with 56 days of product events before it when events start later).
    #[arg(long)]
    pub from: Option<String>,
    /// Last as-of date, YYYY-MM-DD (default: today minus the horizon).
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The day to predict from, YYYY-MM-DD (default: today, UTC).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Print only the riskiest N accounts (table only; 0 = all).
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Also store the predictions as the day's (replacing what that day held), as the daily job does.
    #[arg(long)]
    pub save: bool,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

fn date(s: Option<&str>, flag: &str) -> Result<Option<Date>> {
    s.map(|s| {
        s.parse::<Date>().map_err(|_| {
            BadInput(format!(
                "{flag}: expected a date such as 2025-03-31, got {s:?}"
            ))
            .into()
        })
    })
    .transpose()
}

pub async fn run(db: &str, config_path: &Path, args: ChurnArgs) -> Result<()> {
    match args.command {
        ChurnCommand::Train(a) => run_train(db, config_path, a).await,
        ChurnCommand::Predict(a) => run_predict(db, config_path, a).await,
    }
}

async fn run_train(db: &str, config_path: &Path, args: TrainArgs) -> Result<()> {
    if args.horizon == 0 {
        return Err(BadInput("--horizon must be at least 1 day".into()).into());
    }
    let to = date(args.to.as_deref(), "--to")?
        .unwrap_or_else(|| add_days(tenure_app::clock::today(), -(args.horizon as i32)));
    let from = date(args.from.as_deref(), "--from")?;
    let known = add_days(tenure_app::clock::today(), -(args.horizon as i32));
    if to > known {
        return Err(BadInput(format!(
            "--to {to} is less than --horizon {} days before today: churn after it is not known yet (use {known} or earlier)",
            args.horizon
        ))
        .into());
    }
    if let Some(from) = from
        && from > to
    {
        return Err(BadInput(format!("--from {from} is after --to {to}")).into());
    }
    let config = load_config(config_path)?;
    let store = open_store(db).await?;
    let from = match from {
        Some(f) => f,
        None => tenure_app::churn::default_from(&store, to, 24).await?,
    };
    let started = Instant::now();
    let report = train(
        &store,
        &config,
        TrainRequest::new(from, to, args.horizon, tenure_app::clock::now_micros()),
    )
    .await?;
    if args.format == Format::Json {
        return print_json(&report_json(&report));
    }
    print_report(&mut std::io::stdout().lock(), &report)?;
    eprintln!(
        "trained and validated in {:.1?} (features and labels loaded in {:.1?}, fitted in {:.1?})",
        started.elapsed(),
        report.load_time,
        report.fit_time
    );
    Ok(())
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".to_string(), |x| format!("{:.1}%", x * 100.0))
}

fn num(x: Option<f64>, digits: usize) -> String {
    x.map_or("-".to_string(), |x| format!("{x:.digits$}"))
}

fn print_report(out: &mut dyn Write, r: &TrainReport) -> std::io::Result<()> {
    let span = |d: &[Date]| format!("{} to {} ({} monthly)", d[0], d[d.len() - 1], d.len());
    writeln!(
        out,
        "churn model {} stored: logistic regression (L2, alpha {}) over {} features; churned = MRR went to 0 within {} days",
        r.version,
        r.alpha,
        r.features.len(),
        r.horizon
    )?;
    writeln!(
        out,
        "train: as-of {}: {} account-months, {} churned ({} of {} accounts)",
        span(&r.train.as_of_dates),
        r.train.account_months,
        r.train.churned_account_months,
        r.train.churned_accounts,
        r.train.accounts
    )?;
    writeln!(
        out,
        "test:  as-of {}: {} account-months, {} churned ({} of {} accounts)",
        span(&r.test.as_of_dates),
        r.test.account_months,
        r.test.churned_account_months,
        r.test.churned_accounts,
        r.test.accounts
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<30} {:>12} {:>12}",
        "on the test dates", "model", "scorecard"
    )?;
    let m = &r.evaluation.stats;
    let s = &r.scorecard;
    let mut line = |name: &str, a: String, b: String| writeln!(out, "{name:<30} {a:>12} {b:>12}");
    line(
        "account-months",
        m.accounts.to_string(),
        s.accounts.to_string(),
    )?;
    line("churn rate", pct(m.churn_rate), pct(s.churn_rate))?;
    line("AUC", num(m.auc, 3), num(s.auc, 3))?;
    line(
        "PR-AUC",
        num(r.evaluation.pr_auc, 3),
        num(r.scorecard_pr_auc, 3),
    )?;
    line("Brier score", num(r.evaluation.brier, 4), "-".into())?;
    let share = |st: &BacktestStats| {
        let n = st.accounts.max(1) as f64;
        format!(
            "{:.0}/{:.0}/{:.0}%",
            st.red.accounts as f64 * 100.0 / n,
            st.yellow.accounts as f64 * 100.0 / n,
            st.green.accounts as f64 * 100.0 / n
        )
    };
    line("share red / yellow / green", share(m), share(s))?;
    line(
        "churn rate: red",
        pct(m.red.churn_rate),
        pct(s.red.churn_rate),
    )?;
    line(
        "churn rate: yellow",
        pct(m.yellow.churn_rate),
        pct(s.yellow.churn_rate),
    )?;
    line(
        "churn rate: green",
        pct(m.green.churn_rate),
        pct(s.green.churn_rate),
    )?;
    line(
        "churned while green",
        pct(m.churned_while_green),
        pct(s.churned_while_green),
    )?;
    line(
        "worst decile churn rate",
        pct(m.worst_decile_churn_rate),
        pct(s.worst_decile_churn_rate),
    )?;
    line(
        "worst decile lift",
        num(m.worst_decile_lift, 2),
        num(s.worst_decile_lift, 2),
    )?;
    writeln!(
        out,
        "model bands: red when p >= {:.3}, yellow when p >= {:.3} (the scorecard's shares on the test dates)",
        r.model.bands.red_from, r.model.bands.yellow_from
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "reliability (tenths of the test account-months by predicted probability)"
    )?;
    writeln!(
        out,
        "{:>6} {:>16} {:>10} {:>10} {:>9}",
        "tenth", "predicted range", "predicted", "observed", "accounts"
    )?;
    for (i, d) in r.evaluation.reliability.iter().enumerate() {
        writeln!(
            out,
            "{:>6} {:>16} {:>9.1}% {:>9.1}% {:>9}",
            i + 1,
            format!("{:.3}-{:.3}", d.min_predicted, d.max_predicted),
            d.mean_predicted * 100.0,
            d.observed * 100.0,
            d.accounts
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "largest coefficients (log-odds per standard deviation; + raises risk)"
    )?;
    for (name, w) in coefficients(&r.model).iter().take(10) {
        writeln!(out, "{w:>+8.3}  {name}")?;
    }
    Ok(())
}

async fn run_predict(db: &str, config_path: &Path, args: PredictArgs) -> Result<()> {
    let as_of = date(args.as_of.as_deref(), "--as-of")?.unwrap_or_else(tenure_app::clock::today);
    let config = load_config(config_path)?;
    let store = open_store(db).await?;
    let p = if args.save {
        let p = save_predictions(&store, &config, as_of).await?;
        eprintln!(
            "stored {} predictions of churn model {} as {}'s",
            p.accounts.len(),
            p.version,
            p.as_of
        );
        p
    } else {
        predict(&store, &config, as_of).await?
    };
    if args.format == Format::Json {
        return print_json(&predictions_json(&p));
    }
    print_predictions(&mut std::io::stdout().lock(), &p, args.top)?;
    Ok(())
}

fn print_predictions(out: &mut dyn Write, p: &Predictions, top: usize) -> std::io::Result<()> {
    writeln!(
        out,
        "churn model {}: probability of churn within {} days after {}, {} paying accounts, riskiest first",
        p.version,
        p.horizon_days,
        p.as_of,
        p.accounts.len()
    )?;
    let n = if top == 0 { p.accounts.len() } else { top };
    for a in p.accounts.iter().take(n) {
        writeln!(
            out,
            "{:>6.1}%  {:<6}  {}  {}",
            a.probability * 100.0,
            a.band.as_str(),
            a.account_id,
            a.name
        )?;
        for (reason, _) in &a.reasons {
            writeln!(out, "{:>16}- {reason}", "")?;
        }
    }
    Ok(())
}
