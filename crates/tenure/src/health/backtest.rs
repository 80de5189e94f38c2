//! `tenure health backtest`: does the score predict churn?

use std::io::Write;

use anyhow::{Context, Result};
use jiff::civil::Date;
use tenure_app::health::backtest::report_json;
use tenure_app::health::{BacktestResult, monthly_dates};
use tenure_core::config::Config;
use tenure_core::model::add_days;
use tenure_store::Store;

use super::{BacktestArgs, Format, fmt_opt, opt_date, print_json, truncate};
use crate::BadInput;
use tenure_app::command::load_config;

pub(super) async fn backtest(store: &Store, config: &Config, args: BacktestArgs) -> Result<()> {
    if args.horizon == 0 {
        return Err(BadInput("--horizon must be at least 1 day".into()).into());
    }
    let to = opt_date(args.to.as_deref(), "--to")?
        .unwrap_or_else(|| add_days(tenure_app::clock::today(), -(args.horizon as i32)));
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
        if !path.exists() {
            return Err(BadInput(format!("{} does not exist", path.display())).into());
        }
        let mut c = load_config(path).with_context(|| format!("reading {}", path.display()))?;
        // Only the [health] section differs; money follows the main config.
        c.currency = config.currency.clone();
        configs.push((path.display().to_string(), c));
    }
    let results = tenure_app::health::backtest(store, &configs, &dates, args.horizon).await?;
    if args.format == Format::Json {
        return print_json(&report_json(args.horizon, &dates, &results));
    }
    print_table(&mut std::io::stdout().lock(), &args, &dates, &results)?;
    Ok(())
}

fn print_table(
    out: &mut dyn Write,
    args: &BacktestArgs,
    dates: &[Date],
    results: &[BacktestResult],
) -> std::io::Result<()> {
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
    for r in results {
        write!(out, " {:>w$}", truncate(&r.label, w))?;
    }
    writeln!(out)?;
    let pct = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{:.1}%", x * 100.0));
    let mut line = |name: &str, f: &dyn Fn(&BacktestResult) -> String| -> std::io::Result<()> {
        write!(out, "{name:<28}")?;
        for r in results {
            write!(out, " {:>w$}", f(r))?;
        }
        writeln!(out)
    };
    line("account-months", &|r| r.stats.accounts.to_string())?;
    line("churned", &|r| r.stats.churned.to_string())?;
    line("churn rate", &|r| pct(r.stats.churn_rate))?;
    line("AUC", &|r| fmt_opt(r.stats.auc, 3))?;
    line("churn rate: red", &|r| pct(r.stats.red.churn_rate))?;
    line("churn rate: yellow", &|r| pct(r.stats.yellow.churn_rate))?;
    line("churn rate: green", &|r| pct(r.stats.green.churn_rate))?;
    line("share red / yellow / green", &|r| {
        let n = r.stats.accounts.max(1) as f64;
        format!(
            "{:.0}/{:.0}/{:.0}%",
            r.stats.red.accounts as f64 * 100.0 / n,
            r.stats.yellow.accounts as f64 * 100.0 / n,
            r.stats.green.accounts as f64 * 100.0 / n
        )
    })?;
    line("churned while green", &|r| pct(r.stats.churned_while_green))?;
    line("worst decile churn rate", &|r| {
        pct(r.stats.worst_decile_churn_rate)
    })?;
    line("worst decile lift", &|r| {
        fmt_opt(r.stats.worst_decile_lift, 2)
    })
}
