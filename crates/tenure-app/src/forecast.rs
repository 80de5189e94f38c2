//! The renewal forecast (docs/FORECAST.md) from the database: the latest
//! day of stored churn predictions with the model's horizon, the metrics
//! dataset's running subscriptions and their renewal dates, and core's
//! `forecast` over the accounts the caller sees. `tenure renewals
//! forecast`, `/api/v1/renewals/forecast` and the overview and risk pages
//! (through the dashboard cache, with [`load`] and [`compute`]) all come
//! here.

use std::collections::HashMap;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::forecast::{Basis, Forecast, Inputs, ModelRun, Predicted, forecast};
use tenure_core::health::Band;
use tenure_core::metrics::Dataset;
use tenure_core::model::Currency;
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::churn::StoredPrediction;

use crate::Result;

/// The latest stored predictions, by account id.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// `None` when no prediction is stored.
    pub model: Option<ModelRun>,
    pub predictions: HashMap<String, StoredPrediction>,
}

/// The predictions of the latest day that has any, with the horizon of
/// the latest stored model.
pub async fn load(store: &Store) -> Result<Loaded> {
    let Some(day) = store.latest_churn_prediction_day().await? else {
        return Ok(Loaded::default());
    };
    let Some(model) = store.latest_churn_model().await? else {
        return Ok(Loaded::default());
    };
    let rows = store.churn_predictions_on(day).await?;
    let version = rows.first().map_or(model.version, |p| p.model_version);
    Ok(Loaded {
        model: Some(ModelRun {
            day,
            horizon_days: model.horizon_days,
            version,
        }),
        predictions: rows
            .into_iter()
            .map(|p| (p.account_id.clone(), p))
            .collect(),
    })
}

/// A renewal among the biggest at risk, as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct AtRisk {
    pub account_id: String,
    pub name: String,
    /// The account's first renewal date in the window.
    pub renewal: Date,
    /// The ARR renewing, reporting minor units.
    pub arr: i64,
    /// 1 − P(renew).
    pub churn: f64,
    pub basis: Basis,
    /// The model's first reason, when the model's probability was used.
    pub reason: Option<String>,
}

/// The forecast with what it is shown with.
#[derive(Debug, Clone, PartialEq)]
pub struct RenewalForecast {
    pub forecast: Forecast,
    pub currency: Currency,
    pub at_risk: Vec<AtRisk>,
}

/// The forecast of `ds`'s visible accounts on `today` from the loaded
/// predictions; `name` gives an account's name by its index in `ds`.
pub fn compute(
    ds: &Dataset,
    loaded: &Loaded,
    today: Date,
    visible: &dyn Fn(usize) -> bool,
    name: &dyn Fn(usize) -> String,
) -> RenewalForecast {
    let predictions: Vec<Option<Predicted>> = (0..ds.accounts_len())
        .map(|i| {
            let p = loaded.predictions.get(ds.account_id(i))?;
            Some(Predicted {
                churn: p.probability,
                band: Band::parse(&p.band)?,
            })
        })
        .collect();
    let f = forecast(
        ds,
        &Inputs {
            today,
            model: loaded.model,
            predictions: &predictions,
            visible,
        },
    );
    let at_risk = f
        .at_risk
        .iter()
        .map(|r| {
            let id = ds.account_id(r.due.account);
            AtRisk {
                account_id: id.to_string(),
                name: name(r.due.account),
                renewal: r.due.first_renewal,
                arr: r.due.arr,
                churn: 1.0 - r.renew.unwrap_or(1.0),
                basis: r.basis,
                reason: match r.basis {
                    Basis::Model(_) => loaded
                        .predictions
                        .get(id)
                        .and_then(|p| p.reasons.first())
                        .map(|(words, _)| words.clone()),
                    _ => None,
                },
            }
        })
        .collect();
    RenewalForecast {
        forecast: f,
        currency: ds.currency(),
        at_risk,
    }
}

/// The renewal forecast on `today` of the accounts `scope` sees.
pub async fn renewals(
    store: &Store,
    config: &Config,
    scope: &Scope,
    today: Date,
) -> Result<RenewalForecast> {
    let ds = crate::risk::dataset(store, config).await?;
    let accounts: HashMap<String, (String, Option<String>)> = store
        .health_accounts_with(false)
        .await?
        .into_iter()
        .map(|a| (a.id, (a.name, a.csm_email)))
        .collect();
    let loaded = load(store).await?;
    let own = match scope {
        Scope::All => None,
        Scope::Csm(email) => Some(email.trim().to_ascii_lowercase()),
    };
    let account = |i: usize| accounts.get(ds.account_id(i));
    let visible = |i: usize| match &own {
        None => true,
        Some(own) => account(i)
            .and_then(|(_, csm)| csm.as_deref())
            .is_some_and(|c| c.trim().eq_ignore_ascii_case(own)),
    };
    let name = |i: usize| account(i).map(|(n, _)| n.clone()).unwrap_or_default();
    Ok(compute(&ds, &loaded, today, &visible, &name))
}
