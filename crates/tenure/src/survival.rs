//! `tenure survival`: Kaplan–Meier survival curves of accounts from first
//! MRR (docs/METRICS.md, "Survival"), from `tenure_app::survival`: per
//! group, its accounts, churns, median lifetime and the survival at 3, 6,
//! 12 and 24 months with 95 % bands. `--format json` prints the API's
//! shape (`GET /api/v1/survival`), every step of every curve included.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::{Args, ValueEnum};
use tenure_app::command::load_config;
use tenure_app::survival::{SurvivalReport, survival};
use tenure_core::survival::{GroupBy, MILESTONES};
use tenure_server::api::survival::{SurvivalParams, query, survival_out};
use tenure_store::api::Scope;

use crate::BadInput;
use crate::data::{Format, open_store, print_json, thousands};

#[derive(Debug, Args)]
pub struct SurvivalArgs {
    /// One curve per current segment, per plan (the account's) or per
    /// current tier (default: one curve of every account).
    #[arg(long, value_enum)]
    pub by: Option<ByArg>,
    /// Censor lifetimes on this day, YYYY-MM-DD (default: today, UTC).
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ByArg {
    Segment,
    Plan,
    Tier,
}

pub async fn run(db: &str, config_path: &Path, args: SurvivalArgs) -> Result<()> {
    let config = load_config(config_path)?;
    let by = match args.by {
        None => GroupBy::All,
        Some(ByArg::Segment) => GroupBy::Segment,
        Some(ByArg::Plan) => GroupBy::Plan,
        Some(ByArg::Tier) => GroupBy::Tier,
    };
    // The API's reading of the day, so that both refuse the same days.
    let q = query(
        &SurvivalParams {
            by: Some(by.as_str().to_string()),
            as_of: args.as_of.clone(),
        },
        tenure_app::clock::today(),
    )
    .map_err(|m| match m.strip_prefix("as_of: ") {
        Some(rest) => BadInput(format!("--as-of: {rest}")),
        None => BadInput(m),
    })?;
    let store = open_store(db).await?;
    let report = survival(&store, &config, &Scope::All, q).await?;
    if args.format == Format::Json {
        return print_json(&survival_out(&report));
    }
    let mut out = std::io::stdout().lock();
    table(&mut out, &report)?;
    Ok(())
}

/// A share as a percentage with its band: `92.1% (89.0–94.4)`.
fn share(p: Option<tenure_core::survival::Point>) -> String {
    match p {
        None => "n/a".into(),
        Some(p) => format!(
            "{:.1}% ({:.1}–{:.1})",
            p.survival * 100.0,
            p.lower * 100.0,
            p.upper * 100.0
        ),
    }
}

/// Days, or `n.r.` when not reached.
fn days(d: Option<u32>) -> String {
    d.map_or_else(|| "n.r.".into(), |d| d.to_string())
}

fn table(out: &mut impl Write, r: &SurvivalReport) -> Result<()> {
    writeln!(
        out,
        "Survival from first MRR, censored on {}{} (Kaplan–Meier; 95% log-log band, Greenwood variance)",
        r.as_of,
        match r.by {
            GroupBy::All => String::new(),
            by => format!(", by {}", by.as_str()),
        }
    )?;
    let mut rows = vec![
        ["group", "accounts", "churned", "median days (95% CI)"]
            .iter()
            .map(|s| s.to_string())
            .chain(MILESTONES.iter().map(|(m, _)| format!("{m} months")))
            .collect::<Vec<String>>(),
    ];
    for g in &r.groups {
        let median = match (g.median.days, g.median.lower) {
            (None, None) => "not reached".to_string(),
            (None, Some(lower)) => format!("not reached (≥ {lower})"),
            (Some(d), _) => format!("{d} ({}–{})", days(g.median.lower), days(g.median.upper)),
        };
        let mut row = vec![
            g.name.clone(),
            thousands(g.curve.accounts),
            thousands(g.curve.churned),
            median,
        ];
        row.extend(MILESTONES.iter().map(|&(_, d)| share(g.curve.at(d))));
        rows.push(row);
    }
    if r.groups.is_empty() {
        writeln!(out, "No account had MRR by {}.", r.as_of)?;
        return Ok(());
    }
    columns(out, &rows)?;
    writeln!(
        out,
        "n.r. = not reached; n/a = past the longest lifetime observed; months are 91, 183, 365 and 730 days."
    )?;
    Ok(())
}

/// Aligned columns: the first left-aligned, the others right-aligned.
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
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[c] - cell.chars().count());
            if c == 0 {
                line.push_str(cell);
                line.push_str(&pad);
            } else {
                line.push_str("  ");
                line.push_str(&pad);
                line.push_str(cell);
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
