//! The account page's "Churn risk" section (docs/CHURN.md): the churn
//! model's latest stored prediction of the account (its probability as a
//! percent, the model's band, the model version and day, the reasons in
//! words) and a small chart of the last predictions; without a model, the
//! command that trains one. One read of its own
//! (`tenure_app::churn::account_churn`), apart from the rest of the page.
//! The caller's scope was checked when the account was read.

use super::charts::{self, Series};
use crate::AppState;
use crate::error::AppError;

/// The latest prediction, as shown.
pub struct ChurnLatest {
    /// "23.4 %".
    pub percent: String,
    /// `red`, `yellow` or `green`.
    pub band: String,
    pub day: String,
    pub version: i64,
    pub reasons: Vec<String>,
}

pub struct ChurnPanel {
    /// The latest model's version and horizon; `None` when none is trained.
    pub model: Option<(i64, u32)>,
    pub latest: Option<ChurnLatest>,
    /// Said when the latest prediction is by an older model than the
    /// latest one.
    pub older_model: Option<String>,
    /// The probability over the last predictions (SVG), empty with fewer
    /// than two.
    pub trend_chart: String,
}

impl ChurnPanel {
    /// "High", "Medium" or "Low" for a band.
    pub fn band_label(band: &str) -> &'static str {
        match band {
            "red" => "High risk",
            "yellow" => "Medium risk",
            _ => "Low risk",
        }
    }
}

pub async fn panel(state: &AppState, account_id: &str) -> Result<ChurnPanel, AppError> {
    let c = tenure_app::churn::account_churn(
        &state.store,
        account_id,
        tenure_app::churn::ACCOUNT_HISTORY,
    )
    .await?;
    let model = c.model.as_ref().map(|m| (m.version, m.horizon_days));
    let latest = c.history.first().map(|p| ChurnLatest {
        percent: format!("{:.1} %", p.probability * 100.0),
        band: p.band.clone(),
        day: p.day.to_string(),
        version: p.model_version,
        reasons: p.reasons.iter().map(|(r, _)| r.clone()).collect(),
    });
    let older_model = match (&c.model, c.history.first()) {
        (Some(m), Some(p)) if p.model_version != m.version => Some(format!(
            "Made by model {}; model {} has not predicted yet (the daily job does so on its next pass).",
            p.model_version, m.version
        )),
        _ => None,
    };
    let mut oldest_first = c.history.clone();
    oldest_first.reverse();
    let trend_chart = if oldest_first.len() >= 2 {
        charts::lines(
            "churn-trend",
            "Probability of churn by day (%)",
            &oldest_first
                .iter()
                .map(|p| p.day.strftime("%d %b").to_string())
                .collect::<Vec<_>>(),
            &[Series::new(
                "Probability of churn",
                "s-score",
                oldest_first
                    .iter()
                    .map(|p| Some(p.probability * 100.0))
                    .collect(),
            )],
            None,
            &|x| format!("{x:.0} %"),
        )
    } else {
        String::new()
    };
    Ok(ChurnPanel {
        model,
        latest,
        older_model,
        trend_chart,
    })
}
