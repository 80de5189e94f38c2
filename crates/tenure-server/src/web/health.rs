//! Health for the pages: the account page's panel (score, each measure
//! explained, what changed, history chart), the latest scores of every
//! account for the cache, and saving overrides.

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::model::Account;
use tenure_store::Store;

use super::account::{CheckedOverride, OverrideErrors};
use super::cache::HealthData;
use crate::AppState;
use crate::auth::Principal;
use crate::error::AppError;

/// True when overrides can be saved.
pub const OVERRIDES: bool = false;

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

pub async fn panel(
    _state: &AppState,
    _a: &Account,
    _today: Date,
) -> Result<Option<HealthPanel>, AppError> {
    Ok(None)
}

pub async fn load_health_data(
    _store: &Store,
    _config: &Config,
    _today: Date,
) -> Result<HealthData, AppError> {
    Ok(HealthData::default())
}

pub async fn save_override(
    _state: &AppState,
    _p: &Principal,
    _a: &Account,
    _o: &CheckedOverride,
    _today: Date,
) -> Result<(), OverrideErrors> {
    Err(OverrideErrors {
        form: Some("Health overrides are not available on this server.".into()),
        ..OverrideErrors::default()
    })
}
