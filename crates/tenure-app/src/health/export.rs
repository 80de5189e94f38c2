//! `tenure export health`: one row per account in a shape a CRM import
//! accepts (docs/CRM.md, "Health in your CRM"): the CRM's id column when
//! an import from that CRM saw the account (Salesforce `Id`, HubSpot
//! `Record ID`; Tenure keeps the CRM's ids as its own), Tenure's id, name,
//! the latest stored health score and band, whether the account is on the
//! risk board, segment, journey stage, latest NPS answer, ARR and next
//! renewal date.
//!
//! Everything is read in bulk: the store's [`HealthExportBase`], the
//! latest day of snapshots, the open Engage runs, and the risk board with
//! the metrics dataset it builds (ARR is read from the same dataset).

use std::collections::HashMap;
use std::io::Write;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::crm::Crm;
use tenure_core::model::{add_days, format_minor};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::engage::Dimension;
use tenure_store::export::HealthExportBase;

use crate::{Error, Result};

/// One account's row.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthRow {
    /// The CRM's id: Tenure's id when an import of the CRM saw it.
    pub crm_id: Option<String>,
    pub id: String,
    pub name: String,
    pub score: Option<f64>,
    /// red, yellow, green; empty when not scored.
    pub band: String,
    pub at_risk: bool,
    pub segment: Option<String>,
    /// The segment's touch tier.
    pub tier: Option<String>,
    pub stage: Option<String>,
    pub latest_nps: Option<i64>,
    /// ARR on the day, in the reporting currency, as a decimal.
    pub arr: String,
    pub renewal: Option<Date>,
}

/// Every account's row on `day`, by id.
pub async fn rows(
    store: &Store,
    config: &Config,
    crm: Option<Crm>,
    day: Date,
) -> Result<Vec<HealthRow>> {
    let HealthExportBase {
        accounts,
        crm_ids,
        renewals,
        latest_nps,
    } = store
        .health_export_base(crm.map(|c| c.as_str()), day)
        .await?;
    let mut scores = HashMap::new();
    if let Some(&latest) = store.snapshot_days(add_days(day, -400), day).await?.last() {
        for (id, score, band) in store.snapshots_on(latest).await? {
            scores.insert(id, (score, band));
        }
    }
    let (mut segments, mut stages) = (HashMap::new(), HashMap::new());
    for r in store.engage_runs(Some(day)).await? {
        if r.entered_on > day || r.left_on.is_some_and(|l| l <= day) {
            continue;
        }
        match r.dimension {
            Dimension::Segment => segments.insert(r.account_id, (r.name, r.tier)),
            Dimension::Stage => stages.insert(r.account_id, (r.name, None)),
        };
    }
    let ds = crate::risk::dataset(store, config).await?;
    let board = crate::risk::board_with(store, config, &Scope::All, day, &ds).await?;
    let on_board: std::collections::HashSet<&str> =
        board.rows.iter().map(|r| r.account_id.as_str()).collect();
    let digits = config.currency.reporting.minor_digits();
    Ok(accounts
        .into_iter()
        .map(|(id, name)| {
            let (score, band) = scores.get(&id).copied().unwrap_or((None, None));
            let arr = ds.account_index(&id).map_or(0, |i| ds.mrr_on(i, day) * 12);
            HealthRow {
                crm_id: crm_ids.contains(&id).then(|| id.clone()),
                score,
                band: band.map_or(String::new(), |b| b.as_str().to_string()),
                at_risk: on_board.contains(id.as_str()),
                segment: segments.get(&id).map(|s| s.0.clone()),
                tier: segments.get(&id).and_then(|s| s.1.clone()),
                stage: stages.get(&id).map(|s| s.0.clone()),
                latest_nps: latest_nps.get(&id).copied(),
                arr: format_minor(arr, digits),
                renewal: renewals.get(&id).copied(),
                name,
                id,
            }
        })
        .collect())
}

/// The CRM's name of its record id column.
pub fn id_column(crm: Crm) -> &'static str {
    match crm {
        Crm::Salesforce => "Id",
        Crm::Hubspot => "Record ID",
    }
}

/// The rows as CSV: with `crm`, its id column first (empty for an account
/// no import of that CRM saw).
pub fn write_csv(rows: &[HealthRow], crm: Option<Crm>, out: impl Write) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let fail = |e: csv::Error| Error::Internal(format!("writing the CSV: {e}"));
    let mut header = Vec::new();
    if let Some(c) = crm {
        header.push(id_column(c));
    }
    header.extend([
        "Tenure ID",
        "Name",
        "Health Score",
        "Health Band",
        "At Risk",
        "Segment",
        "Stage",
        "Latest NPS",
        "ARR",
        "Renewal Date",
    ]);
    w.write_record(&header).map_err(fail)?;
    for r in rows {
        let mut rec: Vec<String> = Vec::with_capacity(header.len());
        if crm.is_some() {
            rec.push(r.crm_id.clone().unwrap_or_default());
        }
        rec.extend([
            r.id.clone(),
            r.name.clone(),
            r.score.map_or(String::new(), |s| format!("{s:.0}")),
            r.band.clone(),
            r.at_risk.to_string(),
            r.segment.clone().unwrap_or_default(),
            r.stage.clone().unwrap_or_default(),
            r.latest_nps.map_or(String::new(), |n| n.to_string()),
            r.arr.clone(),
            r.renewal.map_or(String::new(), |d| d.to_string()),
        ]);
        w.write_record(&rec).map_err(fail)?;
    }
    w.flush()
        .map_err(|e| Error::Internal(format!("writing the CSV: {e}")))?;
    Ok(())
}
