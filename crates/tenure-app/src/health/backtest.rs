//! The churn backtest: scores at past as-of dates, each from the data as
//! it was then, against whether the account stopped paying within a
//! horizon.

use std::collections::HashMap;

use jiff::civil::Date;
use serde_json::{Value, json};
use tenure_core::config::Config;
use tenure_core::health::{
    AccountSignals, BacktestStats, BandOutcome, HealthModel, RanksBuilder, backtest_stats,
    churned_within,
};
use tenure_store::Store;
use tenure_store::health::{Shard, SignalsRequest};

use super::{check_rates, shard_size};
use crate::{Error, Result};

/// First of each month from `from`'s month to `to` (both included).
pub fn monthly_dates(from: Date, to: Date) -> Vec<Date> {
    let mut out = Vec::new();
    let mut d = from.first_of_month();
    if d < from {
        d = d.last_of_month().tomorrow().unwrap_or(d);
    }
    while d <= to {
        out.push(d);
        match d.last_of_month().tomorrow() {
            Ok(n) => d = n,
            Err(_) => break,
        }
    }
    out
}

/// The backtest of one scorecard: pooled statistics over all as-of dates.
#[derive(Debug, Clone)]
pub struct BacktestResult {
    pub label: String,
    /// The configuration's health version.
    pub version: String,
    pub stats: BacktestStats,
}

/// The backtest as JSON: the horizon, the as-of dates and each scorecard's
/// statistics. `tenure health backtest --format json` prints it and the
/// health benchmark (`tenure-bench health`) stores it in its report.
pub fn report_json(horizon: u32, dates: &[Date], results: &[BacktestResult]) -> Value {
    json!({
        "horizon_days": horizon,
        "as_of_dates": dates.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        "scorecards": results.iter().map(|r| stats_json(
            [
                ("scorecard", json!(r.label)),
                ("config_version", json!(r.version)),
                ("accounts", json!(r.stats.accounts)),
            ],
            &r.stats,
        )).collect::<Vec<_>>(),
    })
}

/// A backtest's statistics as JSON, after the `lead` fields (what was
/// scored and counted): the shape `tenure health backtest`, `tenure health
/// fit` and the churn model's validation share.
pub(crate) fn stats_json<const N: usize>(lead: [(&str, Value); N], s: &BacktestStats) -> Value {
    let band = |b: &BandOutcome| json!({"accounts": b.accounts, "churned": b.churned, "churn_rate": b.churn_rate});
    let mut m: serde_json::Map<String, Value> =
        lead.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    m.insert("churned".into(), json!(s.churned));
    m.insert("churn_rate".into(), json!(s.churn_rate));
    m.insert("auc".into(), json!(s.auc));
    m.insert(
        "churn_rate_by_band".into(),
        json!({"red": band(&s.red), "yellow": band(&s.yellow), "green": band(&s.green)}),
    );
    m.insert("churned_while_green".into(), json!(s.churned_while_green));
    m.insert(
        "worst_decile_churn_rate".into(),
        json!(s.worst_decile_churn_rate),
    );
    m.insert("worst_decile_lift".into(), json!(s.worst_decile_lift));
    Value::Object(m)
}

/// Backtests each `(label, config)` over the as-of `dates`: churned = MRR
/// went to 0 within `horizon` days. Exchange rates are checked against the
/// first configuration.
pub async fn backtest(
    store: &Store,
    configs: &[(String, Config)],
    dates: &[Date],
    horizon: u32,
) -> Result<Vec<BacktestResult>> {
    if horizon == 0 {
        return Err(Error::Invalid("--horizon must be at least 1 day".into()));
    }
    if dates.is_empty() {
        return Err(Error::Invalid("no as-of date to backtest".into()));
    }
    if let Some((_, first)) = configs.first() {
        check_rates(store, first).await?;
    }
    let mut out = Vec::with_capacity(configs.len());
    for (label, config) in configs {
        out.push(backtest_one(store, config, label, dates, horizon).await?);
    }
    Ok(out)
}

async fn backtest_one(
    store: &Store,
    config: &Config,
    label: &str,
    dates: &[Date],
    horizon: u32,
) -> Result<BacktestResult> {
    let model = HealthModel::new(&config.health);
    let accounts = store.health_accounts().await?;
    let track_payments = store.payments_tracked().await?;
    let mut spans: HashMap<String, Vec<(Date, Option<Date>)>> = HashMap::new();
    for (id, s, e) in store.paying_spans().await? {
        spans.entry(id).or_default().push((s, e));
    }
    let mut outcomes = Vec::new();
    // With relative measures, the paying accounts' signals of each date
    // are kept until every shard is read, then scored among the day's
    // customers.
    let relative = model.is_relative();
    let mut kept: Vec<Vec<(usize, AccountSignals)>> = vec![Vec::new(); dates.len()];
    let mut ranks = vec![RanksBuilder::default(); dates.len()];
    let mut offset = 0;
    let mut days: Vec<Date> = Vec::new();
    for shard in Shard::split(&accounts, shard_size(&model, dates)) {
        let table = store
            .load_signals(SignalsRequest {
                plan: model.plan(),
                currency: &config.currency,
                dates,
                shard,
                track_payments,
            })
            .await?;
        days = table.dates().to_vec();
        for (d, day) in table.dates().iter().enumerate() {
            for (i, account) in shard.accounts.iter().enumerate() {
                let signals = table.signals(d, i);
                if relative && account.is_customer_on(signals.mrr, *day) {
                    ranks[d].add(&model, model.scorecard_index(account), account, &signals);
                }
                if signals.mrr <= 0.0 {
                    continue;
                }
                if relative {
                    kept[d].push((offset + i, signals));
                    continue;
                }
                // Overrides are people's judgement, not the model's: left out.
                let score = model.score(model.scorecard_index(account), &signals, &[]);
                if let Some(s) = score.computed {
                    let paying = spans.get(&account.id).map_or(&[][..], Vec::as_slice);
                    outcomes.push((s, churned_within(paying, *day, horizon)));
                }
            }
        }
        offset += shard.accounts.len();
    }
    for ((day, kept), ranks) in days.iter().zip(kept).zip(ranks) {
        let ranks = ranks.finish(&model);
        for (a, signals) in kept {
            let account = &accounts[a];
            let card = model.scorecard_index(account);
            let score = model.score_ranked(card, &signals, Some((account, &ranks)), &[]);
            if let Some(s) = score.computed {
                let paying = spans.get(&account.id).map_or(&[][..], Vec::as_slice);
                outcomes.push((s, churned_within(paying, *day, horizon)));
            }
        }
    }
    Ok(BacktestResult {
        label: label.to_string(),
        version: model.version().to_string(),
        stats: backtest_stats(&outcomes, &model.bands()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monthly_dates_are_firsts_of_months_in_range() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let got: Vec<String> = monthly_dates(d("2025-01-15"), d("2025-04-01"))
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(got, ["2025-02-01", "2025-03-01", "2025-04-01"]);
    }
}
