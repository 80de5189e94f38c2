//! Trained churn models (docs/CHURN.md, migration 0021): each
//! `tenure churn train` adds a row with the next version number; the
//! latest is the one that predicts. The model (feature names, scaling,
//! coefficients, the bands' cut-offs) and its validation metrics are JSON
//! text, encoded and decoded only here.
//!
//! The daily predictions (migration 0022): one row per paying account and
//! day with the probability, the band and the reasons in words; a day is
//! written whole.

use jiff::civil::Date;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;
use tenure_core::churn::{ChurnModel, Column, ModelBands, Scaling};
use tenure_core::model::day_number;

use crate::api::{Scope, scoped};
use crate::bulk::{numbered_placeholders, push_value_tuples};
use crate::health::{decode, get_day};
use crate::{Result, Store};

/// One account's prediction on one day.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPrediction {
    pub day: Date,
    pub account_id: String,
    pub model_version: i64,
    /// Probability of churn within the model's horizon after `day`.
    pub probability: f64,
    /// `red`, `yellow` or `green`: the model's bands.
    pub band: String,
    /// The features that raise the risk most, in words, with their
    /// contribution in log-odds.
    pub reasons: Vec<(String, f64)>,
}

/// A model to store: what `tenure churn train` fitted and measured.
#[derive(Debug, Clone)]
pub struct NewChurnModel<'a> {
    /// Microseconds since the epoch.
    pub trained_at: i64,
    pub horizon_days: u32,
    pub train_from: Date,
    pub train_to: Date,
    pub test_from: Date,
    pub test_to: Date,
    /// The health configuration's version whose measures are features.
    pub health_version: &'a str,
    pub features: &'a [String],
    /// The event names with features of their own, in feature order
    /// (`FeatureSet::event_names`): predicting rebuilds the features
    /// from them.
    pub event_names: &'a [String],
    pub model: &'a ChurnModel,
    /// The validation report, as `tenure churn train --format json` prints it.
    pub metrics: &'a Value,
}

/// A stored model in brief ([`Store::latest_churn_model_brief`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnModelBrief {
    pub version: i64,
    pub horizon_days: u32,
    /// Microseconds since the epoch.
    pub trained_at: i64,
}

/// A stored model.
#[derive(Debug, Clone)]
pub struct StoredChurnModel {
    pub version: i64,
    pub trained_at: i64,
    pub horizon_days: u32,
    pub train_from: Date,
    pub train_to: Date,
    pub test_from: Date,
    pub test_to: Date,
    pub health_version: String,
    pub features: Vec<String>,
    /// The event names with features of their own; none for a model
    /// stored before there were such features.
    pub event_names: Vec<String>,
    pub model: ChurnModel,
    pub metrics: Value,
}

fn encode_model(features: &[String], event_names: &[String], m: &ChurnModel) -> String {
    json!({
        "features": features,
        "event_names": event_names,
        "intercept": m.intercept,
        "columns": m.scaling.columns.iter().zip(&m.coefficients).map(|(c, w)| json!({
            "name": c.name,
            "feature": c.feature,
            "missing_indicator": c.missing_indicator,
            "fill": c.fill,
            "mean": c.mean,
            "sd": c.sd,
            "coefficient": w,
        })).collect::<Vec<_>>(),
        "bands": {"red_from": m.bands.red_from, "yellow_from": m.bands.yellow_from},
    })
    .to_string()
}

/// The model's feature names, its event names (none when the JSON, stored
/// before they existed, has no `event_names`) and the model.
fn decode_model(text: &str) -> Result<(Vec<String>, Vec<String>, ChurnModel)> {
    let bad = |what: &str| decode(format!("churn model: {what}"));
    let v: Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    let f64_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64).ok_or_else(|| bad(k));
    let features = v
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("features"))?
        .iter()
        .map(|f| {
            f.as_str()
                .map(str::to_string)
                .ok_or_else(|| bad("features"))
        })
        .collect::<Result<Vec<_>>>()?;
    let event_names = match v.get("event_names") {
        None => Vec::new(),
        Some(list) => list
            .as_array()
            .ok_or_else(|| bad("event_names"))?
            .iter()
            .map(|f| {
                f.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad("event_names"))
            })
            .collect::<Result<Vec<_>>>()?,
    };
    let mut columns = Vec::new();
    let mut coefficients = Vec::new();
    for c in v
        .get("columns")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("columns"))?
    {
        let feature = c
            .get("feature")
            .and_then(Value::as_u64)
            .filter(|&f| (f as usize) < features.len())
            .ok_or_else(|| bad("feature"))? as usize;
        columns.push(Column {
            name: c
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("name"))?
                .to_string(),
            feature,
            missing_indicator: c
                .get("missing_indicator")
                .and_then(Value::as_bool)
                .ok_or_else(|| bad("missing_indicator"))?,
            fill: f64_of(c, "fill")?,
            mean: f64_of(c, "mean")?,
            sd: f64_of(c, "sd")?,
        });
        coefficients.push(f64_of(c, "coefficient")?);
    }
    let bands = v.get("bands").ok_or_else(|| bad("bands"))?;
    let model = ChurnModel {
        scaling: Scaling { columns },
        intercept: f64_of(&v, "intercept")?,
        coefficients,
        bands: ModelBands {
            red_from: f64_of(bands, "red_from")?,
            yellow_from: f64_of(bands, "yellow_from")?,
        },
    };
    Ok((features, event_names, model))
}

const COLUMNS: &str = "version, trained_at, horizon_days, train_from, train_to, test_from, \
                       test_to, health_version, model, metrics";

fn stored(row: &AnyRow) -> Result<StoredChurnModel> {
    let model: String = row.try_get(8)?;
    let (features, event_names, model) = decode_model(&model)?;
    let metrics: String = row.try_get(9)?;
    let horizon: i64 = row.try_get(2)?;
    Ok(StoredChurnModel {
        version: row.try_get(0)?,
        trained_at: row.try_get(1)?,
        horizon_days: u32::try_from(horizon).map_err(|_| decode("churn model: horizon".into()))?,
        train_from: get_day(row, 3)?,
        train_to: get_day(row, 4)?,
        test_from: get_day(row, 5)?,
        test_to: get_day(row, 6)?,
        health_version: row.try_get(7)?,
        features,
        event_names,
        model,
        metrics: serde_json::from_str(&metrics)
            .map_err(|e| decode(format!("churn metrics: {e}")))?,
    })
}

impl Store {
    /// Stores a trained model as the next version (1 for the first) and
    /// returns that version.
    pub async fn save_churn_model(&self, m: &NewChurnModel<'_>) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let version: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM churn_models")
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO churn_models (version, trained_at, horizon_days, train_from, train_to, \
             test_from, test_to, health_version, model, metrics) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(version)
        .bind(m.trained_at)
        .bind(i64::from(m.horizon_days))
        .bind(m.train_from.to_string())
        .bind(m.train_to.to_string())
        .bind(m.test_from.to_string())
        .bind(m.test_to.to_string())
        .bind(m.health_version)
        .bind(encode_model(m.features, m.event_names, m.model))
        .bind(m.metrics.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Each event name with its events dated from `from` to `to` (both
    /// included, UTC days), from the usage rollup, in name order: what the
    /// churn model chooses its per-name features from.
    pub async fn event_name_totals(&self, from: Date, to: Date) -> Result<Vec<(String, u64)>> {
        let rows = sqlx::query(
            "SELECT event, CAST(SUM(n) AS BIGINT) FROM usage_days WHERE day >= $1 AND day <= $2 \
             GROUP BY event ORDER BY event",
        )
        .bind(i64::from(day_number(from)))
        .bind(i64::from(day_number(to)))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get(1)?;
                Ok((r.try_get(0)?, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }

    /// The first day with any product event (from the usage rollups), if
    /// any: the default training window starts after it.
    pub async fn first_usage_day(&self) -> Result<Option<Date>> {
        let day: Option<i64> =
            sqlx::query_scalar("SELECT CAST(MIN(day) AS BIGINT) FROM usage_days")
                .fetch_one(&self.pool)
                .await?;
        day.map(|d| {
            i32::try_from(d)
                .map(tenure_core::model::date_from_day)
                .map_err(|_| decode(format!("usage day {d}")))
        })
        .transpose()
    }

    /// The latest stored model's version, horizon and training time,
    /// without reading the model itself (the account page shows them).
    pub async fn latest_churn_model_brief(&self) -> Result<Option<ChurnModelBrief>> {
        let row = sqlx::query(
            "SELECT version, horizon_days, trained_at FROM churn_models \
             ORDER BY version DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let horizon: i64 = r.try_get(1)?;
            Ok(ChurnModelBrief {
                version: r.try_get(0)?,
                horizon_days: u32::try_from(horizon)
                    .map_err(|_| decode("churn model: horizon".into()))?,
                trained_at: r.try_get(2)?,
            })
        })
        .transpose()
    }

    /// The latest stored model, if any.
    pub async fn latest_churn_model(&self) -> Result<Option<StoredChurnModel>> {
        let sql = format!("SELECT {COLUMNS} FROM churn_models ORDER BY version DESC LIMIT 1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(stored).transpose()
    }
}

fn encode_reasons(reasons: &[(String, f64)]) -> String {
    Value::Array(
        reasons
            .iter()
            .map(|(r, c)| json!({"reason": r, "log_odds": c}))
            .collect(),
    )
    .to_string()
}

fn decode_reasons(text: &str) -> Result<Vec<(String, f64)>> {
    let bad = || decode("churn prediction: reasons".into());
    let v: Value = serde_json::from_str(text).map_err(|_| bad())?;
    v.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|r| {
            Ok((
                r.get("reason")
                    .and_then(Value::as_str)
                    .ok_or_else(bad)?
                    .to_string(),
                r.get("log_odds").and_then(Value::as_f64).ok_or_else(bad)?,
            ))
        })
        .collect()
}

const PREDICTION_COLUMNS: &str = "day, account_id, model_version, probability, band, reasons";

fn prediction(row: &AnyRow) -> Result<StoredPrediction> {
    let reasons: String = row.try_get(5)?;
    Ok(StoredPrediction {
        day: get_day(row, 0)?,
        account_id: row.try_get(1)?,
        model_version: row.try_get(2)?,
        probability: row.try_get(3)?,
        band: row.try_get(4)?,
        reasons: decode_reasons(&reasons)?,
    })
}

impl Store {
    /// Writes one day's predictions whole: that day's earlier rows are
    /// replaced, in one transaction.
    pub async fn save_churn_predictions(&self, day: Date, rows: &[StoredPrediction]) -> Result<()> {
        let day_text = day.to_string();
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM churn_predictions WHERE day = $1")
            .bind(day_text.as_str())
            .execute(&mut *tx)
            .await?;
        let numbered = numbered_placeholders(&tx);
        for chunk in rows.chunks(500) {
            let mut sql = format!("INSERT INTO churn_predictions ({PREDICTION_COLUMNS}) VALUES ");
            push_value_tuples(&mut sql, chunk.len(), 6, numbered);
            let reasons: Vec<String> = chunk.iter().map(|p| encode_reasons(&p.reasons)).collect();
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (p, r) in chunk.iter().zip(&reasons) {
                q = q
                    .bind(day_text.as_str())
                    .bind(p.account_id.as_str())
                    .bind(p.model_version)
                    .bind(p.probability)
                    .bind(p.band.as_str())
                    .bind(r.as_str());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The latest stored model's version, if any: a cheap check for the
    /// daily job (no model decoded).
    pub async fn latest_churn_model_version(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT MAX(version) FROM churn_models")
            .fetch_one(&self.pool)
            .await?)
    }

    /// The model version of the predictions stored on `day`, if any (a day
    /// is written whole, by one model).
    pub async fn churn_prediction_version_on(&self, day: Date) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar(
                "SELECT model_version FROM churn_predictions WHERE day = $1 LIMIT 1",
            )
            .bind(day.to_string())
            .fetch_optional(&self.pool)
            .await?,
        )
    }

    /// The latest day with stored predictions, if any.
    pub async fn latest_churn_prediction_day(&self) -> Result<Option<Date>> {
        let day: Option<String> = sqlx::query_scalar("SELECT MAX(day) FROM churn_predictions")
            .fetch_one(&self.pool)
            .await?;
        day.map(|d| {
            d.parse()
                .map_err(|_| decode(format!("churn prediction: day {d}")))
        })
        .transpose()
    }

    /// Every account's prediction on `day`, riskiest first.
    pub async fn churn_predictions_on(&self, day: Date) -> Result<Vec<StoredPrediction>> {
        let sql = format!(
            "SELECT {PREDICTION_COLUMNS} FROM churn_predictions WHERE day = $1 \
             ORDER BY probability DESC, account_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(day.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(prediction).collect()
    }

    /// The predictions on `day` of the accounts `scope` sees, each with
    /// the account's name, riskiest first.
    pub async fn churn_predictions_in_scope(
        &self,
        day: Date,
        scope: &Scope,
    ) -> Result<Vec<(StoredPrediction, String)>> {
        let (own, email) = scoped(scope, "p.account_id", 2);
        let sql = format!(
            "SELECT p.day, p.account_id, p.model_version, p.probability, p.band, p.reasons, \
             a.name FROM churn_predictions p JOIN accounts a ON a.id = p.account_id \
             WHERE p.day = $1{own} ORDER BY p.probability DESC, p.account_id"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(day.to_string());
        if let Some(e) = email {
            q = q.bind(e);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((prediction(r)?, r.try_get::<String, _>(6)?)))
            .collect()
    }

    /// One account's predictions, newest first, at most `limit`.
    pub async fn churn_predictions_of(
        &self,
        account_id: &str,
        limit: i64,
    ) -> Result<Vec<StoredPrediction>> {
        let sql = format!(
            "SELECT {PREDICTION_COLUMNS} FROM churn_predictions WHERE account_id = $1 \
             ORDER BY day DESC LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(prediction).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_json_round_trips() {
        let model = ChurnModel {
            scaling: Scaling {
                columns: vec![
                    Column {
                        name: "a".into(),
                        feature: 0,
                        missing_indicator: false,
                        fill: 2.0,
                        mean: 2.0,
                        sd: 0.5,
                    },
                    Column {
                        name: "a: missing".into(),
                        feature: 0,
                        missing_indicator: true,
                        fill: 0.0,
                        mean: 0.1,
                        sd: 0.3,
                    },
                ],
            },
            intercept: -2.5,
            coefficients: vec![0.25, -1.0],
            bands: ModelBands {
                red_from: 0.4,
                yellow_from: 0.1,
            },
        };
        let features = vec!["a".to_string()];
        let events = vec!["sent".to_string(), "login".to_string()];
        let (f, e, m) = decode_model(&encode_model(&features, &events, &model)).unwrap();
        assert_eq!(f, features);
        assert_eq!(e, events);
        assert_eq!(m, model);
        // A model stored before event names were features decodes with
        // none, so it rebuilds the features it was trained on.
        let mut old: Value = serde_json::from_str(&encode_model(&features, &[], &model)).unwrap();
        old.as_object_mut().unwrap().remove("event_names");
        let (f, e, m) = decode_model(&old.to_string()).unwrap();
        assert_eq!((f, m), (features.clone(), model.clone()));
        assert!(e.is_empty());
        // Event names that are not a list of text are refused by name.
        old["event_names"] = json!([1]);
        let err = decode_model(&old.to_string()).unwrap_err().to_string();
        assert!(err.contains("event_names"), "{err}");
    }

    #[test]
    fn reasons_round_trip_and_bad_text_is_refused() {
        let reasons = vec![
            ("messages sent fell 60 %".to_string(), 0.75),
            ("x".into(), 0.1),
        ];
        assert_eq!(decode_reasons(&encode_reasons(&reasons)).unwrap(), reasons);
        assert!(decode_reasons("[{\"reason\": 1}]").is_err());
    }
}
