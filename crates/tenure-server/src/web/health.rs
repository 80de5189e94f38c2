//! Health for the pages: the account page's panel (the score computed now
//! with each measure explained, what changed against the stored score of 30
//! days ago, the score history), the latest stored scores of every account
//! for the cache, and saving overrides.
//!
//! Stored scores are the daily snapshots `tenure health recompute` writes.
//! The account page scores its account live with the core engine, so it is
//! current even between recomputes; saving an override also rewrites the
//! account's snapshot for today, so that lists and the overview show it at
//! once.

use std::collections::HashMap;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::health::{Band, HealthScore, Override};
use tenure_core::model::Account;
use tenure_store::Store;
use tenure_store::health::{NewOverride, OverrideRow, Shard, SignalsRequest, Snapshot};

use super::account::{CheckedOverride, OverrideErrors};
use super::cache::{Health, HealthData, View, add_days, month_back};
use super::charts::{self, Series};
use super::layout::{delta, num};
use crate::AppState;
use crate::auth::Principal;
use crate::error::AppError;

/// True when overrides can be saved.
pub const OVERRIDES: bool = true;

/// One measure of a score, explained.
#[derive(Debug, Clone)]
pub struct MeasureOut {
    pub name: String,
    pub raw: String,
    pub points: String,
    pub weight: String,
    pub contribution: String,
    pub change: String,
    pub change_class: &'static str,
}

/// The health panel of the account page.
#[derive(Debug, Clone)]
pub struct HealthPanel {
    pub score: String,
    pub band: &'static str,
    pub as_of: String,
    pub scorecard: String,
    pub measures: Vec<MeasureOut>,
    pub changes: Vec<String>,
    pub history_chart: String,
    pub override_note: Option<String>,
    pub missing: Vec<String>,
}

fn band_of(s: Option<&str>) -> Option<Band> {
    match s? {
        "red" => Some(Band::Red),
        "yellow" => Some(Band::Yellow),
        "green" => Some(Band::Green),
        _ => None,
    }
}

/// The latest stored scores of every account, their 30-day change, and the
/// band of every account at each of the last twelve month ends.
pub async fn load_health_data(
    store: &Store,
    _config: &Config,
    today: Date,
) -> Result<HealthData, AppError> {
    let days = store.snapshot_days(add_days(today, -400), today).await?;
    let Some(&day) = days.last() else {
        return Ok(HealthData::default());
    };
    let latest_on_or_before = |d: Date| days.iter().rev().find(|x| **x <= d).copied();
    let mut current: HashMap<String, Health> = HashMap::new();
    for (id, score, band) in store.snapshots_on(day).await? {
        current.insert(
            id,
            Health {
                score,
                band: band_of(band.as_deref()),
                delta30: None,
            },
        );
    }
    if let Some(before) = latest_on_or_before(add_days(day, -30))
        && before < day
    {
        for (id, score, _) in store.snapshots_on(before).await? {
            if let (Some(h), Some(old)) = (current.get_mut(&id), score)
                && let Some(now) = h.score
            {
                h.delta30 = Some(now - old);
            }
        }
    }
    let mut trend = Vec::new();
    let mut seen = Vec::new();
    for k in (0..12).rev() {
        let end = if k == 0 {
            day
        } else {
            add_days(month_back(day.first_of_month(), k - 1), -1)
        };
        let Some(d) = latest_on_or_before(end) else {
            continue;
        };
        if seen.contains(&d) {
            continue;
        }
        seen.push(d);
        let bands = store
            .snapshots_on(d)
            .await?
            .into_iter()
            .filter_map(|(id, _, b)| Some((id, band_of(b.as_deref())?)))
            .collect();
        trend.push((d, bands));
    }
    Ok(HealthData {
        day: Some(day),
        current,
        trend,
    })
}

fn core_overrides(rows: &[OverrideRow]) -> Vec<(Override, i64)> {
    rows.iter()
        .filter_map(|o| Some((o.to_override()?, o.id)))
        .collect()
}

/// Scores one account now with the core engine; `None` when the account is
/// not in the cached account list yet.
async fn score_now(
    state: &AppState,
    view: &View,
    a: &Account,
    today: Date,
    overrides: &[OverrideRow],
) -> Result<Option<(HealthScore, Option<i64>)>, AppError> {
    let accounts = &view.raw.portfolio.accounts;
    let Some(i) = accounts.iter().position(|x| x.id == a.id) else {
        return Ok(None);
    };
    let config = &state.web.config;
    let model = state.web.model();
    let signals = state
        .store
        .load_signals_on(SignalsRequest {
            plan: model.plan(),
            currency: &config.currency,
            dates: std::slice::from_ref(&today),
            shard: Shard::one(accounts, i),
            track_payments: view.raw.track_payments,
        })
        .await?;
    let Some(signals) = signals.first() else {
        return Ok(None);
    };
    let active = core_overrides(overrides);
    let plain: Vec<Override> = active.iter().map(|(o, _)| o.clone()).collect();
    let score = model.score(model.scorecard_index(a), signals, &plain);
    let id = score
        .override_applied
        .as_ref()
        .and_then(|o| active.iter().find(|(x, _)| x == o).map(|(_, id)| *id));
    Ok(Some((score, id)))
}

/// Parses a snapshot's measures: `[[raw, points, contribution], ...]`.
fn stored_measures(json: &str) -> Vec<(Option<f64>, Option<f64>, Option<f64>)> {
    serde_json::from_str::<Vec<Vec<Option<f64>>>>(json)
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            (
                m.first().copied().flatten(),
                m.get(1).copied().flatten(),
                m.get(2).copied().flatten(),
            )
        })
        .collect()
}

fn raw_text(kind: &str, raw: Option<f64>) -> String {
    match raw {
        None => "no data".into(),
        Some(x) => match kind {
            "active_user_ratio" | "seat_utilisation" | "feature_adoption" | "event_trend" => {
                format!("{:.0}%", x * 100.0)
            }
            "csat_average" => format!("{x:.2}"),
            _ => num(Some(x), if x.fract() == 0.0 { 0 } else { 1 }),
        },
    }
}

pub async fn panel(
    state: &AppState,
    view: &View,
    a: &Account,
    today: Date,
) -> Result<Option<HealthPanel>, AppError> {
    let overrides = state.store.overrides(Some(&a.id)).await?;
    let now = score_now(state, view, a, today, &overrides).await?;
    let history = state
        .store
        .account_snapshots(&a.id, Some(add_days(today, -180)), Some(today))
        .await?;
    let (score, override_id) = match now {
        Some(s) => s,
        None => return Ok(None),
    };
    if score.score.is_none() && history.is_empty() {
        return Ok(None);
    }
    // The stored score of about 30 days ago, for what changed.
    let before: Option<&Snapshot> = history
        .iter()
        .rev()
        .find(|s| s.day <= add_days(today, -30))
        .or(history.first());
    let comparable = before.filter(|b| *b.scorecard_version == *score.scorecard_version);
    let old = comparable.map(|b| stored_measures(&b.measures));
    let mut changes = Vec::new();
    let measures = score
        .measures
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let was = old.as_ref().and_then(|o| o.get(k).copied());
            let change = match (was.and_then(|w| w.2), m.raw.map(|_| m.contribution)) {
                (Some(w), Some(n)) => Some(n - w),
                _ => None,
            };
            if let (Some(c), Some((old_raw, _, _))) = (change, was)
                && c.abs() >= 2.0
            {
                changes.push(format!(
                    "{}: {} → {} ({} points to the score)",
                    m.name,
                    raw_text(m.kind, old_raw),
                    raw_text(m.kind, m.raw),
                    delta(Some(c))
                ));
            }
            MeasureOut {
                name: m.name.to_string(),
                raw: raw_text(m.kind, m.raw),
                points: num(m.normalised, 0),
                weight: m
                    .effective_weight
                    .map_or("–".into(), |w| format!("{:.0}%", w * 100.0)),
                contribution: if m.raw.is_some() {
                    format!("{:.1}", m.contribution)
                } else {
                    "–".into()
                },
                change: delta(change),
                change_class: match change {
                    Some(c) if c <= -2.0 => "down",
                    Some(c) if c >= 2.0 => "up",
                    _ => "",
                },
            }
        })
        .collect();
    if let (Some(b), Some(s)) = (before, score.score)
        && let Some(old) = b.score
    {
        changes.insert(
            0,
            format!(
                "Score {} since {} ({:.0} → {:.0}).",
                if s >= old { "up" } else { "down" },
                b.day,
                old,
                s
            ),
        );
    }
    if before.is_some() && comparable.is_none() {
        changes.push("The scorecard changed since then; measures are not compared.".into());
    }
    let labels: Vec<String> = history
        .iter()
        .map(|s| s.day.strftime("%d %b").to_string())
        .collect();
    let history_chart = if history.len() >= 2 {
        charts::lines(
            "health-history",
            "Health score by day",
            &labels,
            &[Series::new(
                "Score",
                "s-score",
                history.iter().map(|s| s.score).collect(),
            )],
            Some((0.0, 100.0)),
            &|x| format!("{x:.0}"),
        )
    } else {
        String::new()
    };
    let override_note = score.override_applied.as_ref().map(|o| {
        format!(
            "Overridden to {:.0} by {} until {}: {} (computed {}).{}",
            o.score,
            o.author,
            o.until,
            o.reason,
            num(score.computed, 0),
            override_id.map_or(String::new(), |id| format!(" Override #{id}."))
        )
    });
    Ok(Some(HealthPanel {
        score: num(score.score, 0),
        band: score.band.map_or("none", |b| b.as_str()),
        as_of: score.as_of.to_string(),
        scorecard: score.scorecard_name.to_string(),
        missing: score.missing().map(str::to_string).collect(),
        measures,
        changes,
        history_chart,
        override_note,
    }))
}

/// Saves an override, then rewrites the account's snapshot for today so
/// that every page shows it.
pub async fn save_override(
    state: &AppState,
    p: &Principal,
    a: &Account,
    o: &CheckedOverride,
    today: Date,
) -> Result<(), OverrideErrors> {
    let fail = |e: AppError| OverrideErrors {
        form: Some(if e.status.is_server_error() {
            tracing::error!(error = %e.message, "saving an override failed");
            "The override could not be saved; try again.".to_string()
        } else {
            e.message
        }),
        ..OverrideErrors::default()
    };
    let author = p.email.clone().unwrap_or_else(|| "unknown".into());
    let now = jiff::Timestamp::now().as_microsecond();
    state
        .store
        .add_override(
            &NewOverride {
                account_id: a.id.clone(),
                score: o.score,
                reason: o.reason.clone(),
                author,
                set_on: today,
                until: o.until,
            },
            now,
        )
        .await
        .map_err(|e| fail(e.into()))?;
    let refresh = async {
        let view = state.web.cache.view(state, &p.scope()).await?;
        let overrides = state.store.overrides(Some(&a.id)).await?;
        if let Some((s, override_id)) = score_now(state, &view, a, today, &overrides).await? {
            let measures = serde_json::to_string(
                &s.measures
                    .iter()
                    .map(|m| (m.raw, m.normalised, m.contribution))
                    .collect::<Vec<_>>(),
            )
            .map_err(AppError::internal)?;
            state
                .store
                .write_snapshots(
                    &[Snapshot {
                        account_id: a.id.clone(),
                        day: today,
                        score: s.score,
                        band: s.band.map(|b| b.as_str().to_string()),
                        computed: s.computed,
                        override_id,
                        scorecard_version: s.scorecard_version.to_string(),
                        measures,
                    }],
                    now,
                )
                .await?;
        }
        Ok::<(), AppError>(())
    };
    // The override is saved; a failed snapshot refresh only delays lists until the next recompute.
    if let Err(e) = refresh.await {
        tracing::warn!(error = %e.message, "refreshing the snapshot after an override failed");
    }
    Ok(())
}
