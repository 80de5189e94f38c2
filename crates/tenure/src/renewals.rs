//! `tenure renewals forecast` (docs/FORECAST.md): the ARR renewing in the
//! next 30, 90 and 180 days and the ARR expected to renew from the churn
//! model's latest stored predictions, with a 90 % interval, the 180 days
//! by band and the biggest renewals at risk, from
//! `tenure_app::forecast`. `--format json` prints the API's shape
//! (`GET /api/v1/renewals/forecast`).

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::{Args, Subcommand};
use tenure_app::command::load_config;
use tenure_app::forecast::{RenewalForecast, renewals};
use tenure_core::forecast::{FallbackSource, LEVEL};
use tenure_server::api::renewals::forecast_out;
use tenure_store::api::Scope;

use crate::data::{Format, open_store, print_json, thousands};

#[derive(Debug, Args)]
pub struct RenewalsArgs {
    #[command(subcommand)]
    pub command: RenewalsCommand,
}

#[derive(Debug, Subcommand)]
pub enum RenewalsCommand {
    /// ARR renewing in 30, 90 and 180 days and expected to renew from the churn model, with a 90 % interval.
    Forecast(ForecastArgs),
}

#[derive(Debug, Args)]
pub struct ForecastArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub async fn run(db: &str, config_path: &Path, args: RenewalsArgs) -> Result<()> {
    let RenewalsCommand::Forecast(a) = args.command;
    let config = load_config(config_path)?;
    let store = open_store(db).await?;
    let f = renewals(&store, &config, &Scope::All, tenure_app::clock::today()).await?;
    if a.format == Format::Json {
        return print_json(&forecast_out(&f));
    }
    table(&mut std::io::stdout().lock(), &f)
}

fn table(out: &mut impl Write, f: &RenewalForecast) -> Result<()> {
    let scale = 10f64.powi(f.currency.minor_digits() as i32);
    let m = |minor: i64| thousands((minor.max(0) as f64 / scale).round() as u64);
    let fc = &f.forecast;
    writeln!(
        out,
        "Renewal forecast on {}, {} (running subscriptions renewing after today)",
        fc.today,
        f.currency.as_str()
    )?;
    match fc.model {
        Some(model) => writeln!(
            out,
            "P(renew) = 1 - P(churn within {} days) from churn model {}'s predictions of {}; {:.0}% intervals, renewals taken as independent",
            model.horizon_days,
            model.version,
            model.day,
            LEVEL * 100.0
        )?,
        None => writeln!(
            out,
            "No churn predictions stored: only the ARR renewing is shown. Train a model with `tenure churn train`; the daily job then stores its predictions (or `tenure churn predict --save`)."
        )?,
    }
    let mut rows = vec![
        ["window", "accounts", "ARR renewing"]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    ];
    if fc.model.is_some() {
        rows[0].extend(["expected renewed", "90% interval", "at risk", "method"].map(String::from));
    }
    for w in &fc.windows {
        let mut row = vec![
            format!("next {} days", w.days),
            thousands(w.accounts as u64),
            m(w.arr),
        ];
        if fc.model.is_some() {
            match w.expected {
                Some(e) => row.extend([
                    m(e.renewed),
                    format!("{} - {}", m(e.low), m(e.high)),
                    m(e.at_risk),
                    e.method.as_str().to_string(),
                ]),
                None => row.extend(["n/a", "n/a", "n/a", ""].map(String::from)),
            }
        }
        rows.push(row);
    }
    columns(out, &rows)?;
    let (Some(model), Some(last)) = (fc.model, fc.windows.last()) else {
        return Ok(());
    };
    match fc.fallback {
        Some(fb) => writeln!(
            out,
            "Renewals after {} (the horizon's end) and accounts without a prediction: P(renew) {:.1}%, {}",
            model.horizon_end(),
            fb.rate * 100.0,
            match fb.source {
                FallbackSource::RenewalRate { due } =>
                    format!("the renewal rate of the last 365 days ({due} due)"),
                FallbackSource::ModelMean { accounts } =>
                    format!("the mean P(renew) of {accounts} predicted accounts"),
            }
        )?,
        None => writeln!(
            out,
            "Renewals the model does not cover have no probability: nothing fell due in the last 365 days and no account is predicted."
        )?,
    }
    writeln!(out, "\nNext {} days by band", last.days)?;
    let mut rows = vec![
        ["group", "accounts", "ARR renewing", "expected renewed"]
            .map(String::from)
            .to_vec(),
    ];
    for g in &last.groups {
        rows.push(vec![
            g.basis.label().to_string(),
            thousands(g.accounts as u64),
            m(g.arr),
            g.renewed.map_or("n/a".into(), m),
        ]);
    }
    columns(out, &rows)?;
    if f.at_risk.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nBiggest renewals at risk within the model's horizon (ARR x P(churn), next {} days)",
        last.days
    )?;
    let mut rows = vec![
        [
            "account", "name", "renews", "ARR", "P(churn)", "at risk", "why",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in &f.at_risk {
        rows.push(vec![
            r.account_id.clone(),
            r.name.clone(),
            r.renewal.to_string(),
            m(r.arr),
            format!("{:.1}%", r.churn * 100.0),
            m((r.arr as f64 * r.churn).round() as i64),
            r.reason.clone().unwrap_or_default(),
        ]);
    }
    columns(out, &rows)
}

/// Aligned columns: text left-aligned, numbers right-aligned.
fn columns(out: &mut impl Write, rows: &[Vec<String>]) -> Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric = |c: usize| {
        rows.iter()
            .skip(1)
            .filter_map(|r| r.get(c))
            .all(|s| s.is_empty() || s == "n/a" || s.starts_with(|ch: char| ch.is_ascii_digit()))
    };
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[c] - cell.chars().count());
            if c > 0 {
                line.push_str("  ");
            }
            if c > 0 && numeric(c) {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
