//! The "Renewal forecast" panel of the overview and the risk board
//! (docs/FORECAST.md; `templates/forecast_panel.html`): per window the ARR
//! renewing, the ARR expected to renew with its 90 % interval and the ARR
//! at risk; on the risk board also the 180 days by band and the biggest
//! renewals at risk. Built from the forecast the dashboard cache computed
//! with its view, so it costs nothing per request. Without stored churn
//! predictions it shows the ARR renewing and how to get the rest.

use tenure_app::forecast::RenewalForecast;
use tenure_core::forecast::{FallbackSource, LEVEL};

use super::layout::{money, pct, thousands, urlencode};

/// One window as shown.
#[derive(Debug, Clone)]
pub struct WindowRow {
    pub days: u32,
    pub label: String,
    pub accounts: String,
    pub arr: String,
    /// Empty without predictions.
    pub expected: String,
    pub interval: String,
    pub at_risk: String,
}

/// One group of the longest window as shown.
#[derive(Debug, Clone)]
pub struct GroupRow {
    /// `red`, `yellow`, `green`, `beyond_horizon`, `not_predicted`.
    pub key: &'static str,
    pub label: &'static str,
    pub accounts: String,
    pub arr: String,
    pub expected: String,
}

/// A renewal at risk as shown.
#[derive(Debug, Clone)]
pub struct AtRiskRow {
    pub id: String,
    pub href: String,
    pub name: String,
    pub renewal: String,
    pub arr: String,
    pub churn: String,
    pub at_risk: String,
    pub why: String,
}

/// The panel.
#[derive(Debug, Clone)]
pub struct ForecastPanel {
    /// Whether predictions were read (otherwise only the ARR renewing).
    pub predicted: bool,
    /// Where the probabilities come from, or how to get them.
    pub note: String,
    /// How renewals the model does not cover are taken; empty without.
    pub fallback_note: String,
    pub level: String,
    pub windows: Vec<WindowRow>,
    /// The longest window's groups; shown on the risk board.
    pub groups: Vec<GroupRow>,
    pub at_risk: Vec<AtRiskRow>,
    /// Whether to show the groups and the renewals at risk.
    pub full: bool,
}

/// The panel of `f`; `full` adds the groups and the renewals at risk.
pub fn panel(f: &RenewalForecast, full: bool) -> ForecastPanel {
    let cur = f.currency.as_str();
    let digits = 10f64.powi(f.currency.minor_digits() as i32);
    let m = |minor: i64| money(minor as f64 / digits, cur, true);
    let fc = &f.forecast;
    let note = match fc.model {
        Some(model) => format!(
            "P(renew) = 1 − the churn model's probability of churn within {} days, from its predictions of {} (model {}).",
            model.horizon_days, model.day, model.version
        ),
        None => "No churn predictions stored yet: train a churn model (`tenure churn train`); the daily job then stores its predictions (or `tenure churn predict --save`). Until then only the ARR renewing is shown.".into(),
    };
    let fallback_note = match (fc.model, fc.fallback) {
        (Some(model), Some(fb)) => format!(
            "Renewals after {} (the end of the model's horizon) and accounts without a prediction are taken at {}: {}.",
            model.horizon_end(),
            pct(Some(fb.rate)),
            match fb.source {
                FallbackSource::RenewalRate { due } => format!(
                    "the renewal rate of the last 365 days ({} renewals due)",
                    thousands(due as i64)
                ),
                FallbackSource::ModelMean { accounts } => format!(
                    "the mean P(renew) of {} predicted accounts (no renewal fell due in the last 365 days)",
                    thousands(accounts as i64)
                ),
            }
        ),
        (Some(_), None) => "No renewal fell due in the last 365 days and no account is predicted: renewals the model does not cover have no probability.".into(),
        (None, _) => String::new(),
    };
    let windows = fc
        .windows
        .iter()
        .map(|w| {
            let e = w.expected;
            WindowRow {
                days: w.days,
                label: format!("Next {} days", w.days),
                accounts: thousands(w.accounts as i64),
                arr: m(w.arr),
                expected: e.map_or(String::new(), |e| m(e.renewed)),
                interval: e.map_or(String::new(), |e| format!("{} – {}", m(e.low), m(e.high))),
                at_risk: e.map_or(String::new(), |e| m(e.at_risk)),
            }
        })
        .collect();
    let groups = fc
        .windows
        .last()
        .map(|w| {
            w.groups
                .iter()
                .map(|g| GroupRow {
                    key: g.basis.as_str(),
                    label: g.basis.label(),
                    accounts: thousands(g.accounts as i64),
                    arr: m(g.arr),
                    expected: g.renewed.map_or("–".into(), m),
                })
                .collect()
        })
        .unwrap_or_default();
    let at_risk = f
        .at_risk
        .iter()
        .map(|r| AtRiskRow {
            href: format!("/accounts/{}", urlencode(&r.account_id)),
            id: r.account_id.clone(),
            name: r.name.clone(),
            renewal: r.renewal.to_string(),
            arr: m(r.arr),
            churn: pct(Some(r.churn)),
            at_risk: m((r.arr as f64 * r.churn).round() as i64),
            why: r.reason.clone().unwrap_or_default(),
        })
        .collect();
    ForecastPanel {
        predicted: fc.model.is_some(),
        note,
        fallback_note,
        level: format!("{:.0} %", LEVEL * 100.0),
        windows,
        groups,
        at_risk,
        full,
    }
}
