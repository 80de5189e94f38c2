//! `tenure metrics`, `tenure mrr movements` and `tenure cohorts`: load from
//! the store in bulk, compute with `tenure_core::metrics`, print as a table,
//! JSON or CSV. The definitions are in docs/METRICS.md.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use jiff::civil::Date;
use tenure_core::metrics::{
    CohortMetric, CohortQuery, Dataset, Interval, LedgerQuery, Metric, MetricKind, MovementKind,
    MovementTotals, Period, Report, Series,
};
use tenure_core::model::format_minor;

use crate::BadInput;
use crate::data::open_store;
use tenure_app::command::load_config;

/// Output format of the metrics commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people, rounded.
    Table,
    /// JSON, not rounded (the keys of docs/METRICS.md).
    Json,
    /// CSV with a header row, not rounded.
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IntervalArg {
    Week,
    Month,
    Quarter,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// First day of the period, YYYY-MM-DD (default: the first day of last
    /// month, or of --to's month when --to is given).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day of the period, inclusive (default: the last day of last
    /// month, or yesterday when --from is given).
    #[arg(long)]
    pub to: Option<String>,
    /// Report every week, month or quarter of the period, one row each.
    #[arg(long, value_enum)]
    pub interval: Option<IntervalArg>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum MrrCommand {
    /// The MRR movement ledger: one row per change of an account's MRR.
    ///
    /// Its totals equal the movements `tenure metrics` reports for the same
    /// period. See docs/METRICS.md, "The ledger".
    Movements(MovementsArgs),
}

#[derive(Debug, Args)]
pub struct MovementsArgs {
    /// First day, YYYY-MM-DD (default: the whole history).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, inclusive (default: the whole history).
    #[arg(long)]
    pub to: Option<String>,
    /// Only this account's movements (its id).
    #[arg(long)]
    pub account: Option<String>,
    /// Only movements of this type.
    #[arg(long = "type", value_enum)]
    pub kind: Option<KindArg>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    New,
    Expansion,
    Contraction,
    Churn,
    Reactivation,
}

#[derive(Debug, Args)]
pub struct CohortsArgs {
    /// How accounts are grouped: by the calendar month of their first MRR.
    #[arg(long, value_enum, default_value = "month")]
    pub by: CohortBy,
    /// Logo retention (accounts still active) or revenue retention (MRR).
    #[arg(long, value_enum, default_value = "logo")]
    pub metric: CohortMetricArg,
    /// Only cohorts from this month on (a date in the month, YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Measure on this day (default: today, UTC); the month in progress is
    /// measured on it.
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CohortBy {
    Month,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CohortMetricArg {
    Logo,
    Revenue,
}

fn parse_date(flag: &str, s: &str) -> Result<Date> {
    tenure_core::model::parse_date(s).map_err(|e| BadInput(format!("--{flag}: {e}")).into())
}

/// The period of `tenure metrics` from its optional flags, `today` being
/// the current UTC date.
pub fn resolve_period(from: Option<&str>, to: Option<&str>, today: Date) -> Result<Period> {
    let from = from.map(|s| parse_date("from", s)).transpose()?;
    let to = to.map(|s| parse_date("to", s)).transpose()?;
    let last_month_end = today.first_of_month().yesterday().expect("a valid date");
    let (from, to) = match (from, to) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, today.yesterday().expect("a valid date")),
        (None, Some(t)) => (t.first_of_month(), t),
        (None, None) => (last_month_end.first_of_month(), last_month_end),
    };
    Period::new(from, to).map_err(|e| BadInput(e.to_string()).into())
}

fn interval_of(arg: IntervalArg) -> Interval {
    match arg {
        IntervalArg::Week => Interval::Week,
        IntervalArg::Month => Interval::Month,
        IntervalArg::Quarter => Interval::Quarter,
    }
}

fn warn(dataset: &Dataset) {
    let warnings = dataset.warnings();
    for w in warnings.iter().take(10) {
        eprintln!("warning: {w}");
    }
    if warnings.len() > 10 {
        eprintln!("warning: ... and {} more", warnings.len() - 10);
    }
}

pub async fn run(db: &str, config_path: &Path, args: MetricsArgs) -> Result<()> {
    let period = resolve_period(
        args.from.as_deref(),
        args.to.as_deref(),
        tenure_app::clock::today(),
    )?;
    let config = load_config(config_path)?;
    let store = open_store(db).await?;
    let interval = args.interval.map(interval_of);
    let c = tenure_app::metrics::compute(&store, &config, period, interval).await?;
    warn(&c.dataset);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match interval {
        None => {
            let report = c.dataset.report(period, &c.settings, Some(&c.usage));
            match args.format {
                Format::Json => {
                    serde_json::to_writer_pretty(&mut out, &report)?;
                    writeln!(out)?;
                }
                Format::Csv => write_csv(&mut out, std::slice::from_ref(&report))?,
                Format::Table => write_report_table(&mut out, &report)?,
            }
        }
        Some(interval) => {
            let series = c
                .dataset
                .series(period, interval, &c.settings, Some(&c.usage));
            match args.format {
                Format::Json => {
                    serde_json::to_writer_pretty(&mut out, &series)?;
                    writeln!(out)?;
                }
                Format::Csv => write_csv(&mut out, &series.reports)?,
                Format::Table => write_series_table(&mut out, &series)?,
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// A value as CSV: not rounded, empty when undefined.
fn csv_value(metric: Metric, value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => {
            if metric.kind() == MetricKind::Count {
                format!("{}", v as u64)
            } else {
                format!("{v}")
            }
        }
        _ => String::new(),
    }
}

fn write_csv(out: &mut dyn Write, reports: &[Report]) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["from", "to"];
    header.extend(Metric::ALL.iter().map(|m| m.key()));
    w.write_record(&header)?;
    for r in reports {
        let mut row = vec![r.period.from().to_string(), r.period.to().to_string()];
        row.extend(r.values().iter().map(|v| csv_value(v.metric, v.value)));
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

fn write_report_table(out: &mut dyn Write, report: &Report) -> Result<()> {
    writeln!(
        out,
        "Metrics {} to {} ({} days, {})",
        report.period.from(),
        report.period.to(),
        report.period.days(),
        report.currency
    )?;
    let width = Metric::ALL
        .iter()
        .map(|m| m.label().len())
        .max()
        .unwrap_or(0);
    for v in report.values() {
        writeln!(
            out,
            "  {:<width$}  {}",
            v.metric.label(),
            v.display(report.currency)
        )?;
    }
    Ok(())
}

/// Prints rows as aligned columns: those listed in `left` left-aligned (text),
/// the others right-aligned (numbers).
fn write_columns(out: &mut dyn Write, rows: &[Vec<String>], left: &[usize]) -> Result<()> {
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
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let pad = widths[c] - cell.chars().count();
            if left.contains(&c) {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn write_series_table(out: &mut dyn Write, series: &Series) -> Result<()> {
    let Some(first) = series.reports.first() else {
        return Ok(());
    };
    writeln!(
        out,
        "Metrics by {} ({}; n/a: see the notes below)",
        series.interval.as_str(),
        first.currency
    )?;
    let mut header = vec!["period".to_string()];
    header.extend(Metric::ALL.iter().map(|m| m.key().to_string()));
    let mut rows = vec![header];
    let mut notes: BTreeSet<(usize, &str, String)> = BTreeSet::new();
    for r in &series.reports {
        let label = format!("{}..{}", r.period.from(), r.period.to());
        let mut row = vec![label.clone()];
        for v in r.values() {
            row.push(match v.value {
                Some(_) => {
                    let s = v.display(r.currency);
                    // The currency is in the title; keep cells short.
                    s.strip_suffix(&format!(" {}", r.currency))
                        .map(str::to_string)
                        .unwrap_or(s)
                }
                None => {
                    notes.insert((
                        v.metric as usize,
                        v.metric.key(),
                        v.reason.unwrap_or("undefined").to_string(),
                    ));
                    "n/a".to_string()
                }
            });
        }
        rows.push(row);
    }
    write_columns(out, &rows, &[0])?;
    if !notes.is_empty() {
        writeln!(out)?;
        for (_, key, reason) in notes {
            writeln!(out, "n/a {key}: {reason}")?;
        }
    }
    Ok(())
}

fn kind_of(arg: KindArg) -> MovementKind {
    match arg {
        KindArg::New => MovementKind::New,
        KindArg::Expansion => MovementKind::Expansion,
        KindArg::Contraction => MovementKind::Contraction,
        KindArg::Churn => MovementKind::Churn,
        KindArg::Reactivation => MovementKind::Reactivation,
    }
}

/// Loads accounts and subscriptions only (what the ledger and cohorts need).
async fn subscriptions_dataset(db: &str, config_path: &Path) -> Result<Dataset> {
    let config = load_config(config_path)?;
    let store = open_store(db).await?;
    let dataset = tenure_app::metrics::subscriptions_dataset(&store, &config)
        .await
        .context("loading accounts and subscriptions")?;
    warn(&dataset);
    Ok(dataset)
}

pub async fn movements(db: &str, config_path: &Path, args: MovementsArgs) -> Result<()> {
    let from = args
        .from
        .as_deref()
        .map(|s| parse_date("from", s))
        .transpose()?;
    let to = args
        .to
        .as_deref()
        .map(|s| parse_date("to", s))
        .transpose()?;
    let period = match (from, to) {
        (None, None) => None,
        (f, t) => Some(
            Period::new(f.unwrap_or(Date::MIN), t.unwrap_or(Date::MAX))
                .map_err(|e| BadInput(e.to_string()))?,
        ),
    };
    let dataset = subscriptions_dataset(db, config_path).await?;
    let account = match &args.account {
        Some(id) => Some(
            dataset
                .account_index(id)
                .ok_or_else(|| BadInput(format!("--account: no account with id {id:?}")))?,
        ),
        None => None,
    };
    let query = LedgerQuery {
        period,
        account,
        kind: args.kind.map(kind_of),
    };
    let ledger = dataset.ledger(&query);
    let totals = MovementTotals::of(&ledger);
    let currency = dataset.currency();
    let digits = currency.minor_digits();
    let dec = |minor: i64| format_minor(minor, digits);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        Format::Json => {
            let movements: Vec<_> = ledger.iter().map(|m| dataset.entry(m)).collect();
            let units = |minor: i64| dataset.units(minor);
            let doc = serde_json::json!({
                "currency": currency.as_str(),
                "from": period.map(|p| p.from().to_string()),
                "to": period.map(|p| p.to().to_string()),
                "movements": movements,
                "totals": {
                    "new_mrr": units(totals.new),
                    "expansion_mrr": units(totals.expansion),
                    "contraction_mrr": units(totals.contraction),
                    "churned_mrr": units(totals.churned),
                    "reactivation_mrr": units(totals.reactivation),
                    "net_mrr": units(totals.net()),
                },
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "date",
                "account_id",
                "type",
                "amount",
                "mrr_before",
                "mrr_after",
                "subscription_ids",
            ])?;
            for m in &ledger {
                w.write_record([
                    m.date.to_string(),
                    dataset.account_id(m.account).to_string(),
                    m.kind.as_str().to_string(),
                    dec(m.amount_minor),
                    dec(m.mrr_before_minor),
                    dec(m.mrr_after_minor),
                    m.subscription_ids.join(" "),
                ])?;
            }
            w.flush()?;
        }
        Format::Table => {
            let mut rows = vec![
                [
                    "date",
                    "account",
                    "type",
                    "amount",
                    "mrr before",
                    "mrr after",
                    "subscriptions",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for m in &ledger {
                rows.push(vec![
                    m.date.to_string(),
                    dataset.account_id(m.account).to_string(),
                    m.kind.as_str().to_string(),
                    dec(m.amount_minor),
                    dec(m.mrr_before_minor),
                    dec(m.mrr_after_minor),
                    m.subscription_ids.join(" "),
                ]);
            }
            write_columns(&mut out, &rows, &[0, 1, 2, 6])?;
            writeln!(out)?;
            let mut counts = [0usize; 5];
            for m in &ledger {
                counts[m.kind as usize] += 1;
            }
            let mut rows = vec![["total", "movements", "amount"].map(String::from).to_vec()];
            let amounts = [
                totals.new,
                totals.expansion,
                totals.contraction,
                totals.churned,
                totals.reactivation,
            ];
            for (k, kind) in MovementKind::ALL.iter().enumerate() {
                rows.push(vec![
                    kind.as_str().to_string(),
                    counts[k].to_string(),
                    format!("{} {currency}", dec(amounts[k])),
                ]);
            }
            rows.push(vec![
                "net".to_string(),
                ledger.len().to_string(),
                format!("{} {currency}", dec(totals.net())),
            ]);
            write_columns(&mut out, &rows, &[0])?;
        }
    }
    out.flush()?;
    Ok(())
}

pub async fn cohorts(db: &str, config_path: &Path, args: CohortsArgs) -> Result<()> {
    let CohortBy::Month = args.by;
    let from = args
        .from
        .as_deref()
        .map(|s| parse_date("from", s))
        .transpose()?;
    let as_of = match args.to.as_deref() {
        Some(s) => parse_date("to", s)?,
        None => tenure_app::clock::today(),
    };
    let metric = match args.metric {
        CohortMetricArg::Logo => CohortMetric::Logo,
        CohortMetricArg::Revenue => CohortMetric::Revenue,
    };
    let dataset = subscriptions_dataset(db, config_path).await?;
    let table = dataset.cohorts(&CohortQuery { from, as_of });
    let months = table.rows.iter().map(|r| r.months()).max().unwrap_or(0);
    let digits = table.currency.minor_digits();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &table.view(metric))?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            let mut header = vec![
                "cohort".to_string(),
                "size".to_string(),
                "starting_mrr".to_string(),
            ];
            header.extend((0..months).map(|k| format!("month_{k}")));
            w.write_record(&header)?;
            for r in &table.rows {
                let mut row = vec![
                    r.month.strftime("%Y-%m").to_string(),
                    r.size.to_string(),
                    format_minor(r.starting_mrr_minor, digits),
                ];
                row.extend((0..months).map(|k| {
                    r.retention(metric, k)
                        .map(|v| v.to_string())
                        .unwrap_or_default()
                }));
                w.write_record(&row)?;
            }
            w.flush()?;
        }
        Format::Table => {
            writeln!(
                out,
                "{} retention by cohort month, measured on {} (month 0 = the cohort's own month)",
                match metric {
                    CohortMetric::Logo => "Logo",
                    CohortMetric::Revenue => "Revenue",
                },
                as_of
            )?;
            let mut header = vec![
                "cohort".to_string(),
                "size".to_string(),
                format!("start MRR ({})", table.currency),
            ];
            header.extend((0..months).map(|k| k.to_string()));
            let mut rows = vec![header];
            for r in &table.rows {
                let mut row = vec![
                    r.month.strftime("%Y-%m").to_string(),
                    r.size.to_string(),
                    format_minor(r.starting_mrr_minor, digits),
                ];
                row.extend((0..r.months()).map(|k| {
                    r.retention(metric, k)
                        .map(|v| format!("{:.0}%", v * 100.0))
                        .unwrap_or_else(|| "n/a".to_string())
                }));
                rows.push(row);
            }
            write_columns(&mut out, &rows, &[0])?;
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn check(from: Option<&str>, to: Option<&str>, expected: (&str, &str)) {
        let p = resolve_period(from, to, d("2025-03-14")).unwrap();
        assert_eq!((p.from(), p.to()), (d(expected.0), d(expected.1)));
    }

    #[test]
    fn the_default_period_is_the_last_full_month() {
        check(None, None, ("2025-02-01", "2025-02-28"));
        check(Some("2025-01-01"), None, ("2025-01-01", "2025-03-13"));
        check(None, Some("2025-01-20"), ("2025-01-01", "2025-01-20"));
        check(
            Some("2024-10-01"),
            Some("2024-12-31"),
            ("2024-10-01", "2024-12-31"),
        );
        assert!(resolve_period(Some("2025-02-01"), Some("2025-01-01"), d("2025-03-14")).is_err());
        assert!(resolve_period(Some("2025-13-01"), None, d("2025-03-14")).is_err());
    }
}
