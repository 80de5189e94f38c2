//! `tenure health fit`: the scorecard's weights and cut-points fitted to
//! history, with the backtest on later dates before and after, and the
//! `[health]` section to paste.

use std::io::Write;
use std::time::Instant;

use anyhow::Result;
use tenure_app::health::fit::{FitReport, FitRequest, fit, report_json};
use tenure_core::config::Config;
use tenure_core::health::BacktestStats;
use tenure_core::model::add_days;
use tenure_store::Store;

use super::{FitArgs, FitFormat, fmt_opt, opt_date};
use crate::BadInput;
use crate::data::print_json;

pub(super) async fn run(store: &Store, config: &Config, args: FitArgs) -> Result<()> {
    if args.horizon == 0 {
        return Err(BadInput("--horizon must be at least 1 day".into()).into());
    }
    let known = add_days(tenure_app::clock::today(), -(args.horizon as i32));
    let to = opt_date(args.to.as_deref(), "--to")?.unwrap_or(known);
    let from = match opt_date(args.from.as_deref(), "--from")? {
        Some(f) => f,
        None => tenure_app::churn::default_from(store, to, 24).await?,
    };
    if to > known {
        return Err(BadInput(format!(
            "--to {to} is less than --horizon {} days before today: churn after it is not known yet (use {known} or earlier)",
            args.horizon
        ))
        .into());
    }
    if from > to {
        return Err(BadInput(format!("--from {from} is after --to {to}")).into());
    }
    let started = Instant::now();
    let report = fit(
        store,
        config,
        FitRequest {
            from,
            to,
            horizon: args.horizon,
        },
    )
    .await?;
    match args.format {
        FitFormat::Json => print_json(&report_json(&report))?,
        FitFormat::Toml => print!("{}", report.toml),
        FitFormat::Table => {
            let mut out = std::io::stdout().lock();
            print_table(&mut out, &report)?;
            writeln!(out)?;
            write_toml(&mut out, &report)?;
        }
    }
    eprintln!(
        "fitted in {:.1?} (signals and labels loaded in {:.1?}, search {:.1?})",
        started.elapsed(),
        report.load_time,
        report.fit_time
    );
    Ok(())
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".to_string(), |x| format!("{:.1}%", x * 100.0))
}

fn print_table(out: &mut dyn Write, r: &FitReport) -> std::io::Result<()> {
    let span =
        |d: &[jiff::civil::Date]| format!("{} to {} ({} monthly)", d[0], d[d.len() - 1], d.len());
    writeln!(
        out,
        "fitted on as-of dates {}: {} account-months, {} churned ({} accounts)",
        span(&r.train.as_of_dates),
        r.train.account_months,
        r.train.churned_account_months,
        r.train.churned_accounts
    )?;
    writeln!(
        out,
        "judged on as-of dates {}: {} account-months, {} churned ({} accounts); churned = MRR went to 0 within {} days",
        span(&r.test.as_of_dates),
        r.test.account_months,
        r.test.churned_account_months,
        r.test.churned_accounts,
        r.horizon
    )?;
    for c in &r.cards {
        if c.fitted {
            writeln!(
                out,
                "scorecard {}: training AUC {} -> {} ({} scorecards tried)",
                c.name,
                fmt_opt(c.train_auc_before, 3),
                fmt_opt(c.train_auc_after, 3),
                c.evaluations
            )?;
        } else {
            writeln!(
                out,
                "scorecard {}: kept as configured ({} churned training account-months; at least {} needed)",
                c.name,
                c.churned,
                tenure_core::churn::MIN_CHURNED_TRAIN
            )?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<28} {:>12} {:>12}",
        "test dates", "configured", "suggested"
    )?;
    let mut line = |name: &str, f: &dyn Fn(&BacktestStats) -> String| {
        writeln!(out, "{name:<28} {:>12} {:>12}", f(&r.before), f(&r.after))
    };
    line("account-months scored", &|s| s.accounts.to_string())?;
    line("AUC", &|s| fmt_opt(s.auc, 3))?;
    line("churned while green", &|s| pct(s.churned_while_green))?;
    line("churn rate: red", &|s| pct(s.red.churn_rate))?;
    line("churn rate: yellow", &|s| pct(s.yellow.churn_rate))?;
    line("churn rate: green", &|s| pct(s.green.churn_rate))?;
    line("share red / yellow / green", &|s| {
        let n = s.accounts.max(1) as f64;
        format!(
            "{:.0}/{:.0}/{:.0}%",
            s.red.accounts as f64 * 100.0 / n,
            s.yellow.accounts as f64 * 100.0 / n,
            s.green.accounts as f64 * 100.0 / n
        )
    })?;
    line("worst decile lift", &|s| fmt_opt(s.worst_decile_lift, 2))?;
    if let (Some(a), Some(b)) = (r.before.auc, r.after.auc)
        && b <= a
    {
        writeln!(
            out,
            "\nThe suggestion does not rank churners better on the test dates: keep your scorecard."
        )?;
    }
    Ok(())
}

fn write_toml(out: &mut dyn Write, r: &FitReport) -> std::io::Result<()> {
    writeln!(
        out,
        "# The suggested [health] section: replace yours in tenure.toml with it,\n\
         # or compare first: tenure health backtest --scorecard FILE"
    )?;
    write!(out, "{}", r.toml)
}
