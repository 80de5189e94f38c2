//! `tenure-bench metrics`: times `tenure metrics` end to end from the
//! database (load + compute, through `tenure_app::metrics::compute`) for one
//! quarter and for a 24-month monthly series, and prints the timings with
//! the metric values as JSON, so that scripts/bench.sh can compare both with
//! a reference computed by DuckDB. docs/PERFORMANCE.md has the figures and
//! how to reproduce them.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use jiff::civil::Date;
use tenure_core::metrics::{Interval, Period};
use tenure_store::Store;

use crate::{BadInput, load_config};

#[derive(Debug, Args)]
pub struct BenchMetricsArgs {
    /// Last day of both workloads, YYYY-MM-DD: the quarter is the last
    /// full quarter ending on or before it, the series the 24 full months
    /// ending on or before it (default: yesterday, UTC).
    #[arg(long)]
    pub end: Option<String>,
    /// Runs of each workload; every run's time is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
}

/// The last day of the last full calendar quarter ending on or before `day`.
fn quarter_end(day: Date) -> Date {
    let next = day.tomorrow().expect("a valid date");
    let q_first_month = (next.month() - 1) / 3 * 3 + 1;
    Date::new(next.year(), q_first_month, 1)
        .expect("a valid date")
        .yesterday()
        .expect("a valid date")
}

/// The last day of the last full calendar month ending on or before `day`.
fn month_end(day: Date) -> Date {
    let next = day.tomorrow().expect("a valid date");
    next.first_of_month().yesterday().expect("a valid date")
}

fn periods(end: Date) -> (Period, Period) {
    let q_end = quarter_end(end);
    let q_from = q_end
        .first_of_month()
        .checked_sub(jiff::Span::new().months(2))
        .expect("a valid date");
    let s_end = month_end(end);
    let s_from = s_end
        .first_of_month()
        .checked_sub(jiff::Span::new().months(23))
        .expect("a valid date");
    (
        Period::new(q_from, q_end).expect("ordered"),
        Period::new(s_from, s_end).expect("ordered"),
    )
}

pub async fn run(db: &str, config_path: &Path, args: BenchMetricsArgs) -> Result<()> {
    let end = match &args.end {
        Some(s) => {
            tenure_core::model::parse_date(s).map_err(|e| BadInput(format!("--end: {e}")))?
        }
        None => tenure_core::model::utc_date(jiff::Timestamp::now())
            .yesterday()
            .expect("a valid date"),
    };
    if args.runs == 0 {
        return Err(BadInput("--runs must be at least 1".into()).into());
    }
    let (quarter, months) = periods(end);
    let config = load_config(config_path)?;
    let store = Store::open(db)
        .await
        .context("opening the database given by --db")?;
    let mut workloads = serde_json::Map::new();
    for (name, period, interval) in [
        ("quarter", quarter, None),
        ("series", months, Some(Interval::Month)),
    ] {
        let mut runs = Vec::new();
        let mut last = serde_json::Value::Null;
        for _ in 0..args.runs {
            let started = Instant::now();
            let c = tenure_app::metrics::compute(&store, &config, period, interval).await?;
            let metrics = match interval {
                None => {
                    serde_json::to_value(c.dataset.report(period, &c.settings, Some(&c.usage)))?
                }
                Some(i) => {
                    serde_json::to_value(c.dataset.series(period, i, &c.settings, Some(&c.usage)))?
                }
            };
            let seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "{name} {}..{}: {seconds:.3} s (load {:.3} s, {} events and usage {:.3} s)",
                period.from(),
                period.to(),
                c.load_seconds,
                c.events,
                c.usage_seconds
            );
            runs.push(serde_json::json!({
                "seconds": seconds,
                "load_seconds": c.load_seconds,
                "usage_seconds": c.usage_seconds,
                "events": c.events,
                "accounts": c.dataset.accounts_len(),
            }));
            last = metrics;
        }
        workloads.insert(
            name.to_string(),
            serde_json::json!({
                "from": period.from().to_string(),
                "to": period.to().to_string(),
                "runs": runs,
                "metrics": last,
            }),
        );
    }
    // A closed pipe (`| head`) ends the command quietly, as elsewhere.
    let json = serde_json::to_string_pretty(&serde_json::Value::Object(workloads))?;
    writeln!(std::io::stdout().lock(), "{json}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_end_with_full_quarters_and_months() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let (q, s) = periods(d("2025-05-10"));
        assert_eq!((q.from(), q.to()), (d("2025-01-01"), d("2025-03-31")));
        assert_eq!((s.from(), s.to()), (d("2023-05-01"), d("2025-04-30")));
        let (q, s) = periods(d("2025-03-31"));
        assert_eq!((q.from(), q.to()), (d("2025-01-01"), d("2025-03-31")));
        assert_eq!((s.from(), s.to()), (d("2023-04-01"), d("2025-03-31")));
    }
}
