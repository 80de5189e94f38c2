//! `tenure segments suggest --k N`: segments suggested from the paying
//! accounts' revenue, size and usage (k-means in
//! `tenure_core::engage::suggest`, through `tenure_app::engage::suggest`),
//! each printed with its description and a rule to paste into
//! `[[engage.segments]]`. docs/ENGAGE.md ("Suggested segments") explains
//! the output.
//!
//! The JSON form (`--format json`) is stable: new keys may be added, none
//! renamed or removed.
//!
//! ```json
//! {
//!   "as_of": "2026-12-06",
//!   "k": 3,
//!   "accounts": 1234,
//!   "features": [{"field": "arr", "label": "ARR", "log": true, "median": 12000.0, "missing": 0}],
//!   "dropped": [{"field": "employees", "reason": "missing for every account"}],
//!   "clusters": [{
//!     "name": "cluster 1", "accounts": 120, "share": 0.097,
//!     "arr_total": 9800000.0, "arr_median": 84000.0,
//!     "medians": {"arr": 84000.0, "active_users_30d": 41.0},
//!     "mean_z": {"arr": 1.8, "active_users_30d": 1.1},
//!     "distinguishing": [{"field": "arr", "label": "ARR", "direction": "high", "mean_z": 1.8,
//!                         "text": "high ARR (median 84,000 vs 12,000 overall)"}],
//!     "description": "high ARR (median 84,000 vs 12,000 overall), ...",
//!     "rule": "arr >= 50000 && active_users_30d != null && active_users_30d >= 20",
//!     "precision": 0.93, "recall": 0.9
//!   }]
//! }
//! ```
//!
//! `medians` holds `null` for a feature none of the cluster's accounts has.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::Args;
use jiff::civil::Date;
use serde_json::{Map, Value, json};
use tenure_app::command::load_config;
use tenure_app::engage::suggest::{Suggested, suggest};
use tenure_core::engage::suggest::{Cluster, FEATURES, Suggestion};

use crate::BadInput;
use crate::data::{Format, open_store, print_json, thousands};

#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// How many segments to suggest, 2 to 12.
    #[arg(long)]
    pub k: usize,
    /// The day whose facts are clustered (default: today, UTC).
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub async fn run(db: &str, config_path: &Path, args: SuggestArgs) -> Result<()> {
    let config = load_config(config_path)?;
    let day = match &args.as_of {
        Some(s) => s.parse::<Date>().map_err(|_| {
            BadInput(format!(
                "--as-of: expected a date such as 2025-03-31, got {s:?}"
            ))
        })?,
        None => tenure_app::clock::today(),
    };
    let store = open_store(db).await?;
    let s = suggest(&store, &config, day, args.k).await?;
    match args.format {
        Format::Json => print_json(&to_json(&s)),
        Format::Table => print(&mut std::io::stdout().lock(), &s),
    }
}

fn field_label(field: &str) -> &'static str {
    FEATURES
        .iter()
        .find(|f| f.field == field)
        .map_or("", |f| f.label)
}

fn money(x: f64) -> String {
    thousands(x.max(0.0).round() as u64)
}

fn percent(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn print(out: &mut impl Write, s: &Suggested) -> Result<()> {
    let g = &s.suggestion;
    writeln!(
        out,
        "{} suggested segments of the {} paying accounts on {} (k-means over z-scores of {}).",
        g.clusters.len(),
        thousands(g.accounts as u64),
        s.day,
        g.features
            .iter()
            .map(|f| f.feature.label)
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    for (f, reason) in &g.dropped {
        writeln!(out, "Left out: {} ({}).", f.label, reason.as_str())?;
    }
    for c in &g.clusters {
        writeln!(out)?;
        cluster(out, c)?;
    }
    Ok(())
}

fn cluster(out: &mut impl Write, c: &Cluster) -> Result<()> {
    writeln!(
        out,
        "{}: {} accounts ({}), ARR {} in all, median {}.",
        c.name,
        thousands(c.members.len() as u64),
        percent(c.share),
        money(c.arr_total),
        money(c.arr_median)
    )?;
    let mut about = c.description.clone();
    if let Some(first) = about.get(..1) {
        about = first.to_uppercase() + &about[1..];
    }
    writeln!(out, "  {about}.")?;
    writeln!(
        out,
        "  The rule picks {} of this cluster; {} of the accounts it picks are in it:",
        percent(c.recall),
        percent(c.precision)
    )?;
    writeln!(out, "  rule = \"{}\"", c.rule)?;
    Ok(())
}

fn to_json(s: &Suggested) -> Value {
    let g: &Suggestion = &s.suggestion;
    let features: Vec<Value> = g
        .features
        .iter()
        .map(|f| {
            json!({"field": f.feature.field, "label": f.feature.label, "log": f.feature.log,
                   "median": f.median, "missing": f.missing})
        })
        .collect();
    let dropped: Vec<Value> = g
        .dropped
        .iter()
        .map(|(f, r)| json!({"field": f.field, "reason": r.as_str()}))
        .collect();
    let clusters: Vec<Value> = g
        .clusters
        .iter()
        .map(|c| {
            let mut medians = Map::new();
            let mut mean_z = Map::new();
            for f in &c.features {
                medians.insert(f.field.into(), json!(f.median));
                mean_z.insert(f.field.into(), json!(f.mean_z));
            }
            let distinguishing: Vec<Value> = c
                .distinguishing
                .iter()
                .map(|d| {
                    json!({"field": d.field, "label": field_label(d.field),
                           "direction": if d.high { "high" } else { "low" },
                           "mean_z": d.mean_z, "text": d.text})
                })
                .collect();
            json!({
                "name": c.name,
                "accounts": c.members.len(),
                "share": c.share,
                "arr_total": c.arr_total,
                "arr_median": c.arr_median,
                "medians": medians,
                "mean_z": mean_z,
                "distinguishing": distinguishing,
                "description": c.description,
                "rule": c.rule,
                "precision": c.precision,
                "recall": c.recall,
            })
        })
        .collect();
    json!({
        "as_of": s.day.to_string(),
        "k": g.k,
        "accounts": g.accounts,
        "features": features,
        "dropped": dropped,
        "clusters": clusters,
    })
}
