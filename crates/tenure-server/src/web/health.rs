//! The account page's health panel: the score computed now with each
//! measure explained, what changed against the stored score of a week
//! before (else the latest earlier one, core's `change_reference`), and
//! the score history.
//!
//! Stored scores are the daily snapshots `tenure health recompute` and the
//! background job write. The page scores its account live through the
//! application layer (`tenure_app::health::score_signals_ranked`, the path
//! the CLI and the API use), from every account's signals of the day kept
//! until the data changes ([`super::account_cache`]), so it is current even
//! between recomputes.

use jiff::civil::Date;
use tenure_app::health::Scored;
use tenure_core::health::{change_reference, change_sentence};
use tenure_core::model::{Account, add_days};
use tenure_store::health::{OverrideRow, Snapshot};

use super::account_cache::Freshness;
use super::charts::{self, Series};
use super::layout::{delta, num};
use crate::AppState;
use crate::error::AppError;

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
    /// Points of the score this measure holds back: its share of 100
    /// minus its contribution (0 without data). The largest are the
    /// score's top reasons (the account card).
    pub gap: f64,
}

/// The health panel of the account page.
#[derive(Debug, Clone)]
pub struct HealthPanel {
    pub score: String,
    /// The score as a number (`score` is its text).
    pub value: Option<f64>,
    pub band: &'static str,
    pub as_of: String,
    pub scorecard: String,
    pub measures: Vec<MeasureOut>,
    pub changes: Vec<String>,
    pub history_chart: String,
    pub override_note: Option<String>,
    pub missing: Vec<String>,
}

/// Scores the account now through the application layer's one scoring
/// path, from every account's signals of the day kept under `fresh`
/// ([`AccountCache::scorer`](super::account_cache::AccountCache::scorer));
/// `None` when the account is not in the store.
async fn score_now(
    state: &AppState,
    fresh: &Freshness,
    a: &Account,
    overrides: &[OverrideRow],
) -> Result<Option<Scored>, AppError> {
    let scorer = state.web.accounts.scorer(state, fresh).await?;
    Ok(scorer.score(state.web.model(), &a.id, overrides))
}

fn raw_text(kind: &str, raw: Option<f64>) -> String {
    match raw {
        None => "no data".into(),
        Some(x) => match kind {
            // An active-user count (`denominator = "none"`) is above 1.
            "active_user_ratio" if x > 1.0 => num(Some(x), 0),
            "active_user_ratio" | "seat_utilisation" | "feature_adoption" | "event_trend" => {
                format!("{:.0}%", x * 100.0)
            }
            "csat_average" => format!("{x:.2}"),
            "churn_risk" => format!("{:.1}%", x * 100.0),
            _ => num(Some(x), if x.fract() == 0.0 { 0 } else { 1 }),
        },
    }
}

/// The account's stored scores of the 180 days to `day` (the day
/// included): the panel's history.
pub async fn history(
    state: &AppState,
    account_id: &str,
    day: Date,
) -> Result<Vec<Snapshot>, AppError> {
    Ok(state
        .store
        .account_snapshots(account_id, Some(add_days(day, -180)), Some(day))
        .await?)
}

/// The health panel of account `a` on `fresh.day`.
pub async fn panel(
    state: &AppState,
    fresh: &Freshness,
    a: &Account,
) -> Result<Option<HealthPanel>, AppError> {
    let history = history(state, &a.id, fresh.day).await?;
    panel_with_history(state, fresh, a, history).await
}

/// [`panel`] with the account's [`history`] to `fresh.day` already read
/// (the account page also reads today's band from it).
pub async fn panel_with_history(
    state: &AppState,
    fresh: &Freshness,
    a: &Account,
    history: Vec<Snapshot>,
) -> Result<Option<HealthPanel>, AppError> {
    let today = fresh.day;
    let overrides = state.store.overrides(Some(&a.id)).await?;
    let now = score_now(state, fresh, a, &overrides).await?;
    let Some(Scored {
        score,
        override_row,
        ..
    }) = now
    else {
        return Ok(None);
    };
    if score.score.is_none() && history.is_empty() {
        return Ok(None);
    }
    // The stored score of a week before (else the latest earlier one), for
    // what changed: core's rule, never a snapshot of today itself.
    let scored: Vec<&Snapshot> = history.iter().filter(|s| s.score.is_some()).collect();
    let days: Vec<Date> = scored.iter().map(|s| s.day).collect();
    let reference = change_reference(&days, today);
    let before: Option<&Snapshot> = reference.map(|(i, _)| scored[i]);
    let comparable = before.filter(|b| *b.scorecard_version == *score.scorecard_version);
    let old = comparable.map(|b| &b.measures);
    let mut changes = Vec::new();
    let measures = score
        .measures
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let was = old.and_then(|o| o.get(k));
            // Compared when the measure has data now (without data then,
            // it contributed nothing).
            let change = match (was, m.raw) {
                (Some(w), Some(_)) => Some(m.contribution - w.contribution),
                _ => None,
            };
            if let (Some(c), Some(w)) = (change, was)
                && c.abs() >= 2.0
            {
                changes.push(format!(
                    "{}: {} → {} ({} points to the score)",
                    m.name,
                    raw_text(m.kind, w.raw),
                    raw_text(m.kind, m.raw),
                    delta(Some(c))
                ));
            }
            MeasureOut {
                name: m.name.to_string(),
                raw: match m.standing() {
                    Some(standing) => format!("{} ({standing})", raw_text(m.kind, m.raw)),
                    None => raw_text(m.kind, m.raw),
                },
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
                gap: m
                    .effective_weight
                    .map_or(0.0, |w| (w * 100.0 - m.contribution).max(0.0)),
            }
        })
        .collect();
    if let Some(s) = score.score {
        let earlier =
            reference.and_then(|(i, since)| Some((scored[i].day, since, scored[i].score?)));
        changes.insert(0, change_sentence(s, today, earlier));
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
            override_row
                .as_ref()
                .map_or(String::new(), |o| format!(" Override #{}.", o.id))
        )
    });
    Ok(Some(HealthPanel {
        score: num(score.score, 0),
        value: score.score,
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
