//! `tenure health fit` (docs/HEALTH.md, "Fitting the scorecard"): the
//! configured scorecards' weights and cut-points fitted to history.
//!
//! Loads every paying account's signals at monthly as-of dates once (each
//! from the data as it was then), labels churn within the horizon as the
//! backtest does, splits the dates in time as the churn model does
//! ([`tenure_core::churn::split_dates`]), fits each scorecard on the
//! earlier dates with [`tenure_core::health::fit::fit_scorecard`], and
//! backtests the configured and the suggested scorecards on the later
//! dates, where the fit never looked. Nothing is stored.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use jiff::civil::Date;
use serde_json::{Value, json};
use tenure_core::churn::{MIN_CHURNED_TRAIN, split_dates};
use tenure_core::config::Config;
use tenure_core::health::fit::{FitRows, fit_scorecard, health_toml};
use tenure_core::health::{
    AccountSignals, BacktestStats, HealthConfig, HealthModel, RanksBuilder, backtest_stats,
    churned_within,
};
use tenure_core::model::Account;
use tenure_store::Store;
use tenure_store::health::{Shard, SignalsRequest};

use super::{check_rates, monthly_dates, shard_size};
use crate::churn::{Side, invalid, paying, side_json};
use crate::{Error, Result};

/// What to fit on: as-of dates the firsts of months in `from..=to`, churn
/// within `horizon` days.
#[derive(Debug, Clone, Copy)]
pub struct FitRequest {
    pub from: Date,
    pub to: Date,
    pub horizon: u32,
}

/// One scorecard's fit on the training dates.
#[derive(Debug, Clone)]
pub struct CardFit {
    /// `default`, or the scorecard's name.
    pub name: String,
    /// Training account-months scored with this scorecard, and those that
    /// churned.
    pub account_months: usize,
    pub churned: usize,
    /// Whether the scorecard was fitted: it needs [`MIN_CHURNED_TRAIN`]
    /// churned account-months of its own, else it is kept as configured.
    pub fitted: bool,
    /// AUC on the training account-months, as configured and as suggested.
    pub train_auc_before: Option<f64>,
    pub train_auc_after: Option<f64>,
    /// Scorecards tried by the search.
    pub evaluations: usize,
}

/// The fit and its judgement on the test dates.
#[derive(Debug, Clone)]
pub struct FitReport {
    pub horizon: u32,
    pub train: Side,
    pub test: Side,
    pub cards: Vec<CardFit>,
    /// The configured scorecards' backtest on the test dates.
    pub before: BacktestStats,
    /// The suggested scorecards' backtest on the same dates.
    pub after: BacktestStats,
    /// The configuration's health version, and the suggestion's.
    pub version_before: String,
    pub version_after: String,
    /// The `[health]` section with the suggested scorecards.
    pub suggested: HealthConfig,
    /// The same, as `tenure.toml` text to paste.
    pub toml: String,
    pub load_time: Duration,
    pub fit_time: Duration,
}

/// A paying account on one as-of date, kept until every shard is read.
struct Kept {
    account: usize,
    signals: AccountSignals,
    churned: bool,
}

/// Fits the configured scorecards to history (see the module
/// documentation). Too little history or too few churners is
/// [`Error::Invalid`] naming what is missing.
pub async fn fit(store: &Store, config: &Config, req: FitRequest) -> Result<FitReport> {
    if req.horizon == 0 {
        return Err(Error::Invalid("--horizon must be at least 1 day".into()));
    }
    let dates = monthly_dates(req.from, req.to);
    let (train_dates, test_dates) = split_dates(&dates, req.horizon).map_err(invalid)?;
    check_rates(store, config).await?;
    let model = HealthModel::new(&config.health);
    let accounts = store.health_accounts_with(model.reads_attributes()).await?;
    let started = Instant::now();
    let spans = paying(store).await?;
    let all: Vec<Date> = train_dates.iter().chain(&test_dates).copied().collect();
    let track_payments = store.payments_tracked().await?;

    // Every paying account of every date, and on the test dates every
    // customer, whose values place the others for relative measures.
    let relative = model.is_relative();
    let test_set: HashSet<Date> = test_dates.iter().copied().collect();
    let mut days: Vec<Date> = Vec::new();
    let mut kept: Vec<Vec<Kept>> = Vec::new();
    let mut customers: Vec<Vec<(usize, AccountSignals)>> = Vec::new();
    let mut ranks: Vec<RanksBuilder> = Vec::new();
    let mut offset = 0;
    for shard in Shard::split(&accounts, shard_size(&model, &all)) {
        let table = store
            .load_signals(SignalsRequest {
                plan: model.plan(),
                currency: &config.currency,
                dates: &all,
                shard,
                track_payments,
            })
            .await?;
        if days.is_empty() {
            days = table.dates().to_vec();
            kept = days.iter().map(|_| Vec::new()).collect();
            customers = days.iter().map(|_| Vec::new()).collect();
            ranks = vec![RanksBuilder::default(); days.len()];
        }
        for (d, day) in days.iter().enumerate() {
            for (i, account) in shard.accounts.iter().enumerate() {
                let signals = table.signals(d, i);
                if relative && account.is_customer_on(signals.mrr, *day) {
                    ranks[d].add(&model, model.scorecard_index(account), account, &signals);
                    if test_set.contains(day) {
                        customers[d].push((offset + i, signals.clone()));
                    }
                }
                if signals.mrr <= 0.0 {
                    continue;
                }
                let spans = spans.get(&account.id).map_or(&[][..], Vec::as_slice);
                kept[d].push(Kept {
                    account: offset + i,
                    churned: churned_within(spans, *day, req.horizon),
                    signals,
                });
            }
        }
        offset += shard.accounts.len();
    }

    // Each scorecard's training rows; the configured scores on the test
    // dates.
    let cards: Vec<_> = config.health.all_scorecards().cloned().collect();
    let mut rows: Vec<FitRows> = cards
        .iter()
        .map(|c| FitRows::new(c.measures.len()))
        .collect();
    let mut before = Vec::new();
    let mut train_side = (HashSet::new(), HashSet::new(), 0, 0);
    let mut test_side = (HashSet::new(), HashSet::new(), 0, 0);
    for ((day, kept), ranks) in days.iter().zip(&kept).zip(ranks) {
        let ranks = ranks.finish(&model);
        let is_test = test_set.contains(day);
        for k in kept {
            let account = &accounts[k.account];
            let card = model.scorecard_index(account);
            // Overrides are people's judgement, not the model's: left out.
            let score = model.score_ranked(card, &k.signals, Some((account, &ranks)), &[]);
            let side = if is_test {
                &mut test_side
            } else {
                &mut train_side
            };
            side.0.insert(k.account);
            side.2 += 1;
            if k.churned {
                side.1.insert(k.account);
                side.3 += 1;
            }
            if is_test {
                if let Some(s) = score.computed {
                    before.push((s, k.churned));
                }
            } else {
                rows[card].push(
                    score.measures.iter().map(|m| m.percentile.or(m.raw)),
                    k.churned,
                );
            }
        }
    }
    let side = |s: (HashSet<usize>, HashSet<usize>, usize, usize), dates: &[Date]| Side {
        as_of_dates: dates.to_vec(),
        account_months: s.2,
        churned_account_months: s.3,
        accounts: s.0.len(),
        churned_accounts: s.1.len(),
    };
    let train = side(train_side, &train_dates);
    let test = side(test_side, &test_dates);
    crate::churn::enough_churners(&train, &test, req.horizon, "the fit")?;
    let load_time = started.elapsed();

    // The fit, off the async threads.
    let started = Instant::now();
    let (fits, fitted_cards) = tokio::task::spawn_blocking(move || {
        let mut fits = Vec::new();
        let mut out = Vec::new();
        for (card, rows) in cards.into_iter().zip(rows) {
            let churned = rows.churned.iter().filter(|&&c| c).count();
            let mut fit = CardFit {
                name: card.name.clone(),
                account_months: rows.len(),
                churned,
                fitted: false,
                train_auc_before: None,
                train_auc_after: None,
                evaluations: 0,
            };
            if churned >= MIN_CHURNED_TRAIN {
                let f = fit_scorecard(&card, &rows);
                fit.fitted = true;
                fit.train_auc_before = f.auc_before;
                fit.train_auc_after = f.auc_after;
                fit.evaluations = f.evaluations;
                out.push(f.scorecard);
            } else {
                out.push(card);
            }
            fits.push(fit);
        }
        (fits, out)
    })
    .await?;
    let fit_time = started.elapsed();
    let mut suggested = config.health.clone();
    let mut fitted_cards = fitted_cards.into_iter();
    if let Some(d) = fitted_cards.next() {
        suggested.default = d;
    }
    suggested.scorecards = fitted_cards.collect();

    // The suggestion on the test dates, scored as the backtest scores it.
    let new_model = HealthModel::new(&suggested);
    let mut after = Vec::new();
    for ((day, kept), customers) in days.iter().zip(&kept).zip(&customers) {
        if !test_set.contains(day) {
            continue;
        }
        let mut b = RanksBuilder::default();
        for (a, signals) in customers {
            let account: &Account = &accounts[*a];
            b.add(
                &new_model,
                new_model.scorecard_index(account),
                account,
                signals,
            );
        }
        let ranks = b.finish(&new_model);
        for k in kept {
            let account = &accounts[k.account];
            let card = new_model.scorecard_index(account);
            let score = new_model.score_ranked(card, &k.signals, Some((account, &ranks)), &[]);
            if let Some(s) = score.computed {
                after.push((s, k.churned));
            }
        }
    }
    Ok(FitReport {
        horizon: req.horizon,
        train,
        test,
        cards: fits,
        before: backtest_stats(&before, &model.bands()),
        after: backtest_stats(&after, &new_model.bands()),
        version_before: model.version().to_string(),
        version_after: new_model.version().to_string(),
        toml: health_toml(&suggested),
        suggested,
        load_time,
        fit_time,
    })
}

fn stats_json(s: &BacktestStats, version: &str) -> Value {
    super::backtest::stats_json(
        [
            ("config_version", json!(version)),
            ("accounts", json!(s.accounts)),
        ],
        s,
    )
}

/// The report as JSON: the split, each scorecard's fit, the test dates'
/// backtest before and after (the shape of `tenure health backtest
/// --format json`'s scorecards) and the suggested `[health]` section.
pub fn report_json(r: &FitReport) -> Value {
    let weights = |card: &tenure_core::health::Scorecard| -> Value {
        card.measures
            .iter()
            .map(|m| (m.name.clone(), json!(m.weight)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    json!({
        "horizon_days": r.horizon,
        "train": side_json(&r.train),
        "test": side_json(&r.test),
        "scorecards": r.cards.iter().zip(r.suggested.all_scorecards()).map(|(c, card)| json!({
            "scorecard": c.name,
            "fitted": c.fitted,
            "train_account_months": c.account_months,
            "train_churned": c.churned,
            "train_auc_before": c.train_auc_before,
            "train_auc_after": c.train_auc_after,
            "evaluations": c.evaluations,
            "weights": weights(card),
        })).collect::<Vec<_>>(),
        "before": stats_json(&r.before, &r.version_before),
        "after": stats_json(&r.after, &r.version_after),
        "toml": r.toml,
        "load_seconds": r.load_time.as_secs_f64(),
        "fit_seconds": r.fit_time.as_secs_f64(),
    })
}
