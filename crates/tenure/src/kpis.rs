//! `tenure kpis`: the CSM KPIs against their targets (docs/TARGET.md),
//! from `tenure_app::target::kpis`: the CSMs side by side (or the one
//! asked) with the team, each value with red / amber / green against its
//! target, and with `--months N` the same for each of the last N whole
//! months. `--format json` prints the API's shape (`GET /api/v1/kpis`,
//! with `history` holding the months of `GET /api/v1/kpis/history`).

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use tenure_app::command::load_config;
use tenure_app::target::kpis::{KpiRow, Kpis, kpis_and_history};
use tenure_core::config::Config;
use tenure_core::target::kpis::{Kpi, KpiCell};
use tenure_server::api::kpis::{
    HistoryParams, KpiParams, KpisOut, MonthOut, Refused, history_out, history_query, kpis_out,
    query,
};
use tenure_store::api::Scope;

use crate::BadInput;
use crate::data::{Format, open_store, print_json, thousands};

#[derive(Debug, Args)]
pub struct KpisArgs {
    /// The day (default: today, UTC): of the counts, ARR, health, usage,
    /// overdue tasks and time to value.
    #[arg(long)]
    pub as_of: Option<String>,
    /// The first day of the period of NPS, CSAT, plan execution, cadence
    /// compliance, GRR and NRR (default: 89 days before the day).
    #[arg(long)]
    pub from: Option<String>,
    /// Only this CSM (their email) beside the team.
    #[arg(long)]
    pub csm: Option<String>,
    /// Also the KPIs of each of the last N whole months (1 to 36).
    #[arg(long)]
    pub months: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// `--format json`: the API's `/kpis` object, and the months of
/// `/kpis/history` when `--months` is given.
#[derive(Serialize)]
struct KpisJson {
    #[serde(flatten)]
    now: KpisOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<MonthOut>>,
}

/// The API's error for a parameter, with the command's flag name.
fn flag_error(r: Refused) -> BadInput {
    let m = match r {
        Refused::Bad(m) | Refused::NotFound(m) => m,
    };
    for (param, flag) in [
        ("as_of: ", "--as-of: "),
        ("from: ", "--from: "),
        ("months: ", "--months: "),
    ] {
        if let Some(rest) = m.strip_prefix(param) {
            return BadInput(format!("{flag}{rest}"));
        }
    }
    BadInput(m)
}

pub async fn run(db: &str, config_path: &Path, args: KpisArgs) -> Result<()> {
    let config = load_config(config_path)?;
    let today = tenure_app::clock::today();
    // The API's reading of the day, the period, the CSM and the months.
    let q = query(
        &KpiParams {
            as_of: args.as_of.clone(),
            from: args.from.clone(),
            csm: args.csm.clone(),
        },
        &Scope::All,
        today,
    )
    .map_err(flag_error)?;
    let months = match &args.months {
        None => 0,
        Some(_) => {
            history_query(
                &HistoryParams {
                    as_of: args.as_of.clone(),
                    months: args.months.clone(),
                    csm: None,
                },
                &Scope::All,
                today,
            )
            .map_err(flag_error)?
            .1
        }
    };
    let store = open_store(db).await?;
    let (now, history) = kpis_and_history(&store, &config, &q, months).await?;
    if args.format == Format::Json {
        return print_json(&KpisJson {
            now: kpis_out(&now),
            history: (args.months.is_some())
                .then(|| history_out(now.day, &now.currency, &history).months),
        });
    }
    let mut out = std::io::stdout().lock();
    table(&mut out, &config, &now)?;
    if args.months.is_some() {
        writeln!(out)?;
        monthly(&mut out, &now, &history)?;
    }
    Ok(())
}

/// A KPI's value for people: money and counts whole, fractions as
/// percentages, trends signed.
pub fn value(kpi: Kpi, v: Option<f64>) -> String {
    let Some(v) = v else { return "-".into() };
    match kpi {
        Kpi::Accounts | Kpi::OverdueTasks | Kpi::Arr => {
            let s = thousands(v.abs().round() as u64);
            if v < 0.0 { format!("-{s}") } else { s }
        }
        Kpi::HealthMean => format!("{v:.1}"),
        Kpi::HealthTrend30d => format!("{v:+.1}"),
        Kpi::ActiveUsersTrend | Kpi::EventsTrend => format!("{:+.1}%", v * 100.0),
        Kpi::Nps => format!("{v:.1}"),
        Kpi::TimeToValueDays => format!("{v:.0} d"),
        Kpi::Csat | Kpi::PlanExecution | Kpi::CadenceCompliance | Kpi::Grr | Kpi::Nrr => {
            format!("{:.1}%", v * 100.0)
        }
    }
}

/// A cell: the value, its colour against the target, and the target when
/// it is the CSM's own.
fn cell(c: &KpiCell, team_target: Option<f64>) -> String {
    let mut s = value(c.kpi, c.value);
    if let Some(r) = c.rag {
        s.push(' ');
        s.push_str(r.as_str());
    }
    if c.target.is_some() && c.target != team_target {
        s.push_str(&format!(" ({})", value(c.kpi, c.target)));
    }
    s
}

/// The KPIs down, the CSMs and the team across, then the team's targets.
fn table(out: &mut impl Write, config: &Config, k: &Kpis) -> Result<()> {
    writeln!(
        out,
        "KPIs on {}; NPS, CSAT, plan execution, cadence, GRR and NRR from {} to {}; ARR in {}",
        k.day, k.from, k.day, k.currency
    )?;
    let rows: Vec<&KpiRow> = k.csms.iter().chain(std::iter::once(&k.team)).collect();
    let names: Vec<String> = rows
        .iter()
        .map(|r| r.csm.clone().unwrap_or_else(|| "Team".into()))
        .collect();
    let team_targets: Vec<Option<f64>> = Kpi::ALL
        .into_iter()
        .map(|kpi| config.target.target(kpi, None))
        .collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.cells
                .iter()
                .map(|c| cell(c, team_targets[c.kpi.index()]))
                .collect()
        })
        .collect();
    let label_w = Kpi::ALL.iter().map(|k| k.label().len()).max().unwrap_or(0);
    let widths: Vec<usize> = names
        .iter()
        .zip(&cells)
        .map(|(n, col)| {
            col.iter()
                .map(|c| c.chars().count())
                .chain([n.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    write!(out, "{:<label_w$}", "KPI")?;
    for (n, w) in names.iter().zip(&widths) {
        write!(out, "  {n:>w$}")?;
    }
    writeln!(out, "  target")?;
    write!(out, "{:<label_w$}", "accounts in portfolio")?;
    for (r, w) in rows.iter().zip(&widths) {
        write!(out, "  {:>w$}", thousands(r.members))?;
    }
    writeln!(out)?;
    for kpi in Kpi::ALL {
        write!(out, "{:<label_w$}", kpi.label())?;
        for (col, w) in cells.iter().zip(&widths) {
            write!(out, "  {:>w$}", col[kpi.index()])?;
        }
        writeln!(out, "  {}", value(kpi, team_targets[kpi.index()]))?;
    }
    if k.csms.is_empty() {
        writeln!(out, "(no account has a CSM: accounts.csm_email)")?;
    }
    Ok(())
}

/// Each KPI by month: the team's, and the CSM's when one was asked.
fn monthly(out: &mut impl Write, now: &Kpis, history: &[Kpis]) -> Result<()> {
    let one = (now.csms.len() == 1)
        .then(|| now.csms[0].csm.clone())
        .flatten();
    writeln!(
        out,
        "By month (each month its own period){}",
        one.as_deref()
            .map(|c| format!(": {c}, then the team"))
            .unwrap_or_else(|| ": the team".into())
    )?;
    if history.is_empty() {
        writeln!(out, "(no whole month before the day)")?;
        return Ok(());
    }
    let label_w = Kpi::ALL.iter().map(|k| k.label().len()).max().unwrap_or(0) + 7;
    write!(out, "{:<label_w$}", "KPI")?;
    for m in history {
        write!(
            out,
            "  {:>12}",
            format!("{:04}-{:02}", m.day.year(), m.day.month())
        )?;
    }
    writeln!(out)?;
    for kpi in Kpi::ALL {
        let mut lines: Vec<(String, Vec<Option<f64>>)> = Vec::new();
        if let Some(c) = &one {
            lines.push((
                format!("{} (CSM)", kpi.label()),
                history
                    .iter()
                    .map(|m| m.csm(c).and_then(|r| r.cells[kpi.index()].value))
                    .collect(),
            ));
        }
        let team_label = if one.is_some() {
            format!("{} (team)", kpi.label())
        } else {
            kpi.label().to_string()
        };
        lines.push((
            team_label,
            history
                .iter()
                .map(|m| m.team.cells[kpi.index()].value)
                .collect(),
        ));
        for (label, values) in lines {
            write!(out, "{label:<label_w$}")?;
            for v in values {
                write!(out, "  {:>12}", value(kpi, v))?;
            }
            writeln!(out)?;
        }
    }
    Ok(())
}
