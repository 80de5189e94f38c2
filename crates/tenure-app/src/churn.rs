//! The churn model's pipelines (docs/CHURN.md): [`train`] loads every
//! paying account's health signals at monthly as-of dates (each from the
//! data as it was then), labels churn within the horizon as the health
//! backtest does, splits the dates in time, fits core's logistic
//! regression on the earlier ones, judges it on the later ones beside the
//! configured scorecard, and stores the model; [`predict`] reads the
//! latest model and gives each paying account its probability of churn
//! with the three features that weigh most; [`save_predictions`] stores
//! them for their day, and [`daily`] is the background job's step that
//! does so once a day per model. [`predictions_on`] and [`account_churn`]
//! read what was stored, for the API and the account page.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use jiff::civil::Date;
use serde_json::{Value, json};
use tenure_core::churn::{
    ChurnError, ChurnModel, DEFAULT_ALPHA, EVENT_NAME_FEATURES, EVENT_NAME_LOOKBACK_DAYS,
    Evaluation, FeatureSet, MIN_CHURNED_TEST, MIN_CHURNED_TRAIN, ModelBands, Scaling, evaluate,
    fit, pr_auc, split_dates, top_event_names,
};
use tenure_core::config::Config;
use tenure_core::health::{
    AccountSignals, BacktestStats, Band, HealthModel, RanksBuilder, backtest_stats, churned_within,
};
use tenure_core::model::add_days;
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::churn::{NewChurnModel, StoredChurnModel, StoredPrediction};
use tenure_store::health::{Shard, SignalsRequest};

use crate::health::{check_rates, monthly_dates};
use crate::{Error, Result};

/// What to train on.
#[derive(Debug, Clone, Copy)]
pub struct TrainRequest {
    /// The first and last as-of dates are the firsts of months in
    /// `from..=to`; `to` should leave a horizon of data after it.
    pub from: Date,
    pub to: Date,
    pub horizon: u32,
    /// The L2 penalty, [`DEFAULT_ALPHA`] unless tuned.
    pub alpha: f64,
    /// Microseconds since the epoch, stored with the model.
    pub now: i64,
}

impl TrainRequest {
    pub fn new(from: Date, to: Date, horizon: u32, now: i64) -> TrainRequest {
        TrainRequest {
            from,
            to,
            horizon,
            alpha: DEFAULT_ALPHA,
            now,
        }
    }
}

/// Account-months of one side of the split.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Side {
    pub as_of_dates: Vec<Date>,
    /// Paying accounts summed over the as-of dates.
    pub account_months: usize,
    pub churned_account_months: usize,
    /// Distinct accounts, and those that churned after some as-of date.
    pub accounts: usize,
    pub churned_accounts: usize,
}

/// The training run: the split, the model and its validation beside the
/// scorecard on the same test account-months.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// The stored model's version.
    pub version: i64,
    pub horizon: u32,
    pub alpha: f64,
    pub health_version: String,
    pub train: Side,
    pub test: Side,
    pub features: Vec<String>,
    /// The event names with features of their own, most frequent in the
    /// training window first.
    pub event_names: Vec<String>,
    pub model: ChurnModel,
    pub evaluation: Evaluation,
    /// The scorecard's backtest on the test account-months.
    pub scorecard: BacktestStats,
    /// The scorecard's PR-AUC (its ranking: lower score, higher risk).
    pub scorecard_pr_auc: Option<f64>,
    /// Time spent loading the features and labels, and fitting.
    pub load_time: Duration,
    pub fit_time: Duration,
}

/// The rows read from the database: raw features (NaN = missing), labels,
/// and the scorecard's score on the test dates.
struct Rows {
    width: usize,
    raw: Vec<f64>,
    churned: Vec<bool>,
    account: Vec<usize>,
    test: Vec<bool>,
    /// The scorecard's computed score; NaN when none (and on train dates).
    score: Vec<f64>,
}

/// Accounts per shard so that the signals builder stays around a gigabyte
/// (the health backtest's rule: about 220 bytes per account and day).
fn shard_size(features: &FeatureSet, dates: &[Date]) -> usize {
    let (Some(first), Some(last)) = (dates.iter().min(), dates.iter().max()) else {
        return usize::MAX;
    };
    let days = (last.since(*first).map_or(0, |s| s.get_days()) as usize)
        + features.plan().lookback_days() as usize;
    (5_000_000 / days.max(1)).max(1_000)
}

/// Each account's first day of paid MRR, and its paying spans.
pub(crate) type Spans = HashMap<String, Vec<(Date, Option<Date>)>>;

pub(crate) async fn paying(store: &Store) -> Result<Spans> {
    let mut spans: Spans = HashMap::new();
    for (id, s, e) in store.paying_spans().await? {
        spans.entry(id).or_default().push((s, e));
    }
    Ok(spans)
}

fn first_paid(spans: &Spans, id: &str) -> Option<Date> {
    spans.get(id)?.iter().map(|s| s.0).min()
}

/// Loads the features of every paying account on `train` and `test`
/// dates, with labels, and the scorecard's scores on the test dates.
#[allow(clippy::too_many_arguments)]
async fn load_rows(
    store: &Store,
    config: &Config,
    model: &HealthModel,
    features: &FeatureSet,
    accounts: &[tenure_core::model::Account],
    spans: &Spans,
    train: &[Date],
    test: &[Date],
    horizon: u32,
) -> Result<Rows> {
    let dates: Vec<Date> = train.iter().chain(test).copied().collect();
    let track_payments = store.payments_tracked().await?;
    let width = features.len();
    let mut rows = Rows {
        width,
        raw: Vec::new(),
        churned: Vec::new(),
        account: Vec::new(),
        test: Vec::new(),
        score: Vec::new(),
    };
    let relative = model.is_relative();
    let test_set: HashSet<Date> = test.iter().copied().collect();
    let mut kept: Vec<Vec<(usize, usize, AccountSignals)>> = Vec::new();
    let mut ranks: Vec<RanksBuilder> = Vec::new();
    let mut offset = 0;
    for shard in Shard::split(accounts, shard_size(features, &dates)) {
        let table = store
            .load_signals(SignalsRequest {
                plan: features.plan(),
                currency: &config.currency,
                dates: &dates,
                shard,
                track_payments,
            })
            .await?;
        let days = table.dates();
        if kept.is_empty() {
            kept = vec![Vec::new(); days.len()];
            ranks = vec![RanksBuilder::default(); days.len()];
        }
        for (d, day) in days.iter().enumerate() {
            let is_test = test_set.contains(day);
            for (i, account) in shard.accounts.iter().enumerate() {
                let signals = table.signals(d, i);
                if is_test && relative && account.is_customer_on(signals.mrr, *day) {
                    ranks[d].add(model, model.scorecard_index(account), account, &signals);
                }
                if signals.mrr <= 0.0 {
                    continue;
                }
                let paying = spans.get(&account.id).map_or(&[][..], Vec::as_slice);
                features.row(
                    model,
                    &signals,
                    first_paid(spans, &account.id),
                    &mut rows.raw,
                );
                rows.churned.push(churned_within(paying, *day, horizon));
                rows.account.push(offset + i);
                rows.test.push(is_test);
                let mut score = f64::NAN;
                if is_test {
                    if relative {
                        kept[d].push((rows.score.len(), offset + i, signals));
                    } else {
                        let s = model.score(model.scorecard_index(account), &signals, &[]);
                        score = s.computed.unwrap_or(f64::NAN);
                    }
                }
                rows.score.push(score);
            }
        }
        offset += shard.accounts.len();
    }
    for (kept, ranks) in kept.into_iter().zip(ranks) {
        if kept.is_empty() {
            continue;
        }
        let ranks = ranks.finish(model);
        for (row, a, signals) in kept {
            let account = &accounts[a];
            let card = model.scorecard_index(account);
            // Overrides are people's judgement, not the model's: left out.
            let s = model.score_ranked(card, &signals, Some((account, &ranks)), &[]);
            rows.score[row] = s.computed.unwrap_or(f64::NAN);
        }
    }
    Ok(rows)
}

fn side(rows: &Rows, test: bool, dates: &[Date]) -> Side {
    let mut accounts = HashSet::new();
    let mut churned = HashSet::new();
    let mut s = Side {
        as_of_dates: dates.to_vec(),
        ..Side::default()
    };
    for r in (0..rows.churned.len()).filter(|&r| rows.test[r] == test) {
        s.account_months += 1;
        accounts.insert(rows.account[r]);
        if rows.churned[r] {
            s.churned_account_months += 1;
            churned.insert(rows.account[r]);
        }
    }
    s.accounts = accounts.len();
    s.churned_accounts = churned.len();
    s
}

pub(crate) fn invalid(e: ChurnError) -> Error {
    match e {
        ChurnError::Input(m) => Error::Invalid(m),
        e @ ChurnError::Fit(_) => Error::Internal(e.to_string()),
    }
}

/// Trains, validates and stores a churn model (see the module
/// documentation). Too little history or too few churners is
/// [`Error::Invalid`] naming what is missing.
pub async fn train(store: &Store, config: &Config, req: TrainRequest) -> Result<TrainReport> {
    if req.horizon == 0 {
        return Err(Error::Invalid("--horizon must be at least 1 day".into()));
    }
    let dates = monthly_dates(req.from, req.to);
    let (train_dates, test_dates) = split_dates(&dates, req.horizon).map_err(invalid)?;
    check_rates(store, config).await?;
    let model = HealthModel::new(&config.health);
    let started = Instant::now();
    let event_names = training_event_names(store, &train_dates).await?;
    let features = FeatureSet::with_event_names(&model, &event_names);
    let accounts = store.health_accounts_with(model.reads_attributes()).await?;
    let spans = paying(store).await?;
    let rows = load_rows(
        store,
        config,
        &model,
        &features,
        &accounts,
        &spans,
        &train_dates,
        &test_dates,
        req.horizon,
    )
    .await?;
    let train = side(&rows, false, &train_dates);
    let test = side(&rows, true, &test_dates);
    enough_churners(&train, &test, req.horizon, "the model")?;

    let load_time = started.elapsed();
    let started = Instant::now();
    // Fit on the training rows.
    let w = rows.width;
    let mut train_raw = Vec::with_capacity(train.account_months * w);
    let mut train_y = Vec::with_capacity(train.account_months);
    for r in (0..rows.churned.len()).filter(|&r| !rows.test[r]) {
        train_raw.extend_from_slice(&rows.raw[r * w..(r + 1) * w]);
        train_y.push(rows.churned[r]);
    }
    let scaling = Scaling::fit(features.names(), &train_raw);
    let mut x = Vec::with_capacity(train_y.len() * scaling.columns.len());
    for row in train_raw.chunks_exact(w) {
        scaling.transform_into(row, &mut x);
    }
    drop(train_raw);
    let columns = scaling.columns.len();
    let (intercept, coefficients) =
        tokio::task::spawn_blocking(move || fit(x, columns, &train_y, req.alpha))
            .await?
            .map_err(invalid)?;
    let fit_time = started.elapsed();
    let mut fitted = ChurnModel {
        scaling,
        intercept,
        coefficients,
        bands: ModelBands {
            red_from: 1.0,
            yellow_from: 1.0,
        },
    };

    // Judge on the test rows the scorecard scored, beside it.
    let mut predictions = Vec::new();
    let mut scored = Vec::new();
    for r in (0..rows.churned.len()).filter(|&r| rows.test[r] && !rows.score[r].is_nan()) {
        let p = fitted.probability(&rows.raw[r * w..(r + 1) * w]);
        predictions.push((p, rows.churned[r]));
        scored.push((rows.score[r], rows.churned[r]));
    }
    let scorecard = backtest_stats(&scored, &model.bands());
    let n = scorecard.accounts.max(1) as f64;
    let probs: Vec<f64> = predictions.iter().map(|p| p.0).collect();
    fitted.bands = ModelBands::matching(
        &probs,
        scorecard.red.accounts as f64 / n,
        scorecard.yellow.accounts as f64 / n,
    );
    let evaluation = evaluate(&predictions, &fitted.bands);
    let scorecard_pr_auc = pr_auc(
        &scored
            .iter()
            .map(|&(s, c)| ((100.0 - s) / 100.0, c))
            .collect::<Vec<_>>(),
    );

    let mut report = TrainReport {
        version: 0,
        horizon: req.horizon,
        alpha: req.alpha,
        health_version: model.version().to_string(),
        train,
        test,
        features: features.names().to_vec(),
        event_names,
        model: fitted,
        evaluation,
        scorecard,
        scorecard_pr_auc,
        load_time,
        fit_time,
    };
    let metrics = metrics_json(&report);
    report.version = store
        .save_churn_model(&NewChurnModel {
            trained_at: req.now,
            horizon_days: req.horizon,
            train_from: report.train.as_of_dates[0],
            train_to: *report.train.as_of_dates.last().unwrap_or(&req.from),
            test_from: report.test.as_of_dates[0],
            test_to: *report.test.as_of_dates.last().unwrap_or(&req.to),
            health_version: &report.health_version,
            features: &report.features,
            event_names: &report.event_names,
            model: &report.model,
            metrics: &metrics,
        })
        .await?;
    Ok(report)
}

/// The event names that get features of their own: the
/// [`EVENT_NAME_FEATURES`] with the most events from the first of the
/// [`EVENT_NAME_LOOKBACK_DAYS`] days ending on the first training date to
/// the last training date, so neither the test dates nor anything after
/// them choose them.
async fn training_event_names(store: &Store, train_dates: &[Date]) -> Result<Vec<String>> {
    let (Some(first), Some(last)) = (train_dates.iter().min(), train_dates.iter().max()) else {
        return Ok(Vec::new());
    };
    let from = add_days(*first, 1 - EVENT_NAME_LOOKBACK_DAYS as i32);
    let totals = store.event_name_totals(from, *last).await?;
    Ok(top_event_names(&totals, EVENT_NAME_FEATURES))
}

/// The churn model's or the scorecard's backtest as JSON, counting
/// account-months.
fn stats_json(s: &BacktestStats) -> Value {
    crate::health::backtest::stats_json([("account_months", json!(s.accounts))], s)
}

/// One side of the time split as JSON (also `tenure health fit`'s).
pub(crate) fn side_json(s: &Side) -> Value {
    json!({
        "as_of_dates": s.as_of_dates.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        "account_months": s.account_months,
        "churned_account_months": s.churned_account_months,
        "accounts": s.accounts,
        "churned_accounts": s.churned_accounts,
    })
}

/// The validation metrics (stored with the model).
fn metrics_json(r: &TrainReport) -> Value {
    let mut model = stats_json(&r.evaluation.stats);
    if let Value::Object(m) = &mut model {
        m.insert("pr_auc".into(), json!(r.evaluation.pr_auc));
        m.insert("brier".into(), json!(r.evaluation.brier));
        m.insert(
            "band_cutoffs".into(),
            json!({"red_from": r.model.bands.red_from, "yellow_from": r.model.bands.yellow_from}),
        );
        m.insert(
            "reliability".into(),
            r.evaluation
                .reliability
                .iter()
                .map(|d| {
                    json!({
                        "accounts": d.accounts,
                        "churned": d.churned,
                        "min_predicted": d.min_predicted,
                        "max_predicted": d.max_predicted,
                        "mean_predicted": d.mean_predicted,
                        "observed": d.observed,
                    })
                })
                .collect(),
        );
    }
    let mut scorecard = stats_json(&r.scorecard);
    if let Value::Object(m) = &mut scorecard {
        m.insert("config_version".into(), json!(r.health_version));
        m.insert("pr_auc".into(), json!(r.scorecard_pr_auc));
    }
    json!({
        "horizon_days": r.horizon,
        "alpha": r.alpha,
        "train": side_json(&r.train),
        "test": side_json(&r.test),
        "model": model,
        "scorecard": scorecard,
    })
}

/// The report as `tenure churn train --format json` prints it: the
/// version, the metrics stored with it, and the coefficients by weight.
pub fn report_json(r: &TrainReport) -> Value {
    let mut v = metrics_json(r);
    if let Value::Object(m) = &mut v {
        m.insert("version".into(), json!(r.version));
        m.insert("features".into(), json!(r.features));
        m.insert("event_names".into(), json!(r.event_names));
        m.insert(
            "coefficients".into(),
            coefficients(&r.model)
                .into_iter()
                .map(|(name, w)| json!({"column": name, "coefficient": w}))
                .collect(),
        );
        m.insert("intercept".into(), json!(r.model.intercept));
    }
    v
}

/// The columns with their coefficients, the largest in size first.
pub fn coefficients(model: &ChurnModel) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = model
        .scaling
        .columns
        .iter()
        .zip(&model.coefficients)
        .map(|(c, w)| (c.name.clone(), *w))
        .collect();
    out.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    out
}

/// Days of product events an as-of date needs before it to be a default
/// training date: the 28-day counts and the 28 days before them that the
/// trends compare.
pub const USAGE_BEFORE_FIRST_DATE: i32 = 56;

/// The default first as-of date of a training window ending on `to`:
/// `months` before it, but not before the first day of the month after
/// [`USAGE_BEFORE_FIRST_DATE`] days of product events, so that a company
/// whose billing history is longer than its usage history does not train
/// on dates where every usage feature is empty. When the events start too
/// late for any date, the `months` rule stands (and the training says
/// what is missing).
pub async fn default_from(store: &Store, to: Date, months: i64) -> Result<Date> {
    let by_months = to.saturating_sub(jiff::Span::new().months(months));
    let Some(first) = store.first_usage_day().await? else {
        return Ok(by_months);
    };
    let ready = add_days(first, USAGE_BEFORE_FIRST_DATE);
    let ready = if ready.day() == 1 {
        ready
    } else {
        add_days(ready.last_of_month(), 1)
    };
    Ok(if ready > by_months && ready <= to {
        ready
    } else {
        by_months
    })
}

/// Refuses a split with too few churned accounts to train on
/// ([`MIN_CHURNED_TRAIN`]) or to judge `what` on ([`MIN_CHURNED_TEST`]),
/// naming what is missing; shared by the churn model and the scorecard fit.
pub(crate) fn enough_churners(train: &Side, test: &Side, horizon: u32, what: &str) -> Result<()> {
    let window = |s: &Side| match (s.as_of_dates.first(), s.as_of_dates.last()) {
        (Some(a), Some(b)) => format!("{a} to {b}"),
        _ => "none".to_string(),
    };
    if train.churned_accounts < MIN_CHURNED_TRAIN {
        return Err(Error::Invalid(format!(
            "{} churned accounts in the training window (as-of dates {}, {} paying accounts); \
             at least {MIN_CHURNED_TRAIN} needed: widen --from / --to or wait for more history",
            train.churned_accounts,
            window(train),
            train.accounts
        )));
    }
    if test.churned_accounts < MIN_CHURNED_TEST {
        return Err(Error::Invalid(format!(
            "{} churned accounts on the test dates ({}); at least {MIN_CHURNED_TEST} needed to \
             judge {what}: move --to later (it must leave {horizon} days of data after it)",
            test.churned_accounts,
            window(test),
        )));
    }
    Ok(())
}

/// One paying account's prediction.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub account_id: String,
    pub name: String,
    pub probability: f64,
    pub band: Band,
    /// The three features that raise the risk most (coefficient ×
    /// standardised value, in log-odds), in words.
    pub reasons: Vec<(String, f64)>,
}

/// Predictions of the latest model on `as_of`, riskiest first.
pub struct Predictions {
    pub version: i64,
    pub as_of: Date,
    pub horizon_days: u32,
    pub accounts: Vec<Prediction>,
}

/// The raw features (NaN = missing, in [`FeatureSet::names`] order, with
/// per-name features for `event_names`) of every account paying on
/// `as_of`, from the data as it was on that day.
pub async fn features_at(
    store: &Store,
    config: &Config,
    event_names: &[String],
    as_of: Date,
) -> Result<Vec<(String, Vec<f64>)>> {
    check_rates(store, config).await?;
    let model = HealthModel::new(&config.health);
    let features = FeatureSet::with_event_names(&model, event_names);
    let accounts = store.health_accounts_with(model.reads_attributes()).await?;
    load_features(store, config, &model, &features, &accounts, as_of).await
}

async fn load_features(
    store: &Store,
    config: &Config,
    model: &HealthModel,
    features: &FeatureSet,
    accounts: &[tenure_core::model::Account],
    as_of: Date,
) -> Result<Vec<(String, Vec<f64>)>> {
    let spans = paying(store).await?;
    let track_payments = store.payments_tracked().await?;
    let mut out = Vec::new();
    for shard in Shard::split(accounts, shard_size(features, &[as_of])) {
        let table = store
            .load_signals(SignalsRequest {
                plan: features.plan(),
                currency: &config.currency,
                dates: &[as_of],
                shard,
                track_payments,
            })
            .await?;
        for (i, account) in shard.accounts.iter().enumerate() {
            let signals = table.signals(0, i);
            if signals.mrr <= 0.0 {
                continue;
            }
            let mut raw = Vec::with_capacity(features.len());
            features.row(model, &signals, first_paid(&spans, &account.id), &mut raw);
            out.push((account.id.clone(), raw));
        }
    }
    Ok(out)
}

/// The latest model's probability of churn within its horizon after
/// `as_of` for every account paying on that day, with its reasons.
pub async fn predict(store: &Store, config: &Config, as_of: Date) -> Result<Predictions> {
    let Some(stored) = store.latest_churn_model().await? else {
        return Err(Error::Invalid(
            "no churn model stored: run `tenure churn train` first".into(),
        ));
    };
    let StoredChurnModel {
        version,
        horizon_days,
        features: names,
        event_names,
        model: fitted,
        ..
    } = stored;
    check_rates(store, config).await?;
    let model = HealthModel::new(&config.health);
    // The event names stored with the model, never chosen again.
    let features = FeatureSet::with_event_names(&model, &event_names);
    check_features(version, &names, &features)?;
    // Each feature's training mean, from its value column.
    let mut typical = vec![f64::NAN; features.len()];
    for c in fitted
        .scaling
        .columns
        .iter()
        .filter(|c| !c.missing_indicator)
    {
        typical[c.feature] = c.fill;
    }
    let accounts = store.health_accounts_with(model.reads_attributes()).await?;
    let names_by_id: HashMap<&str, &str> = accounts
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    let mut out = Vec::new();
    for (account_id, raw) in
        load_features(store, config, &model, &features, &accounts, as_of).await?
    {
        let probability = fitted.probability(&raw);
        let mut contrib: Vec<(usize, f64)> =
            fitted.contributions(&raw).into_iter().enumerate().collect();
        contrib.sort_by(|a, b| b.1.total_cmp(&a.1));
        let reasons = contrib
            .into_iter()
            .filter(|&(f, c)| c > 0.0 && features.reads_as_risk(f, &raw, &typical))
            .take(3)
            .map(|(f, c)| (features.words(f, &raw, &typical), c))
            .collect();
        let band = if probability >= fitted.bands.red_from {
            Band::Red
        } else if probability >= fitted.bands.yellow_from {
            Band::Yellow
        } else {
            Band::Green
        };
        out.push(Prediction {
            name: names_by_id
                .get(account_id.as_str())
                .unwrap_or(&"")
                .to_string(),
            account_id,
            probability,
            band,
            reasons,
        });
    }
    out.sort_by(|a, b| {
        b.probability
            .total_cmp(&a.probability)
            .then_with(|| a.account_id.cmp(&b.account_id))
    });
    Ok(Predictions {
        version,
        as_of,
        horizon_days,
        accounts: out,
    })
}

/// [`Error::Invalid`] when the model `version` was trained on features
/// `names` other than those of the configured `[health]` measures.
fn check_features(version: i64, names: &[String], features: &FeatureSet) -> Result<()> {
    if features.names() != names {
        return Err(Error::Invalid(format!(
            "churn model {version} was trained on other features (the [health] measures changed \
             since): run `tenure churn train` again"
        )));
    }
    Ok(())
}

/// The rows [`save_predictions`] stores for a day.
fn stored_rows(p: &Predictions) -> Vec<StoredPrediction> {
    p.accounts
        .iter()
        .map(|a| StoredPrediction {
            day: p.as_of,
            account_id: a.account_id.clone(),
            model_version: p.version,
            probability: a.probability,
            band: a.band.as_str().to_string(),
            reasons: a.reasons.clone(),
        })
        .collect()
}

/// [`predict`] on `as_of`, and the predictions stored as that day's
/// (replacing what the day held, in one transaction).
pub async fn save_predictions(store: &Store, config: &Config, as_of: Date) -> Result<Predictions> {
    let p = predict(store, config, as_of).await?;
    store
        .save_churn_predictions(as_of, &stored_rows(&p))
        .await?;
    Ok(p)
}

/// What the daily job's churn step did on a day.
#[derive(Debug, Clone, PartialEq)]
pub enum DailyPredictions {
    /// No model is stored: nothing to do.
    NoModel,
    /// The day's predictions by the latest model were stored already.
    UpToDate { version: i64 },
    /// The latest model was trained on other features than the configured
    /// `[health]` measures give: nothing stored, `message` says what to do.
    Stale { version: i64, message: String },
    /// The day's predictions were stored, one per paying account.
    Saved { version: i64, accounts: usize },
}

/// The background job's step: when a model is stored and the day's
/// predictions by it are not, predicts every paying account on `day` and
/// stores them ([`save_predictions`]). Without a model it costs one small
/// query; with the day already stored by the latest model, two. A model
/// that no longer fits the measures is [`DailyPredictions::Stale`], not an
/// error.
pub async fn daily(store: &Store, config: &Config, day: Date) -> Result<DailyPredictions> {
    let Some(version) = store.latest_churn_model_version().await? else {
        return Ok(DailyPredictions::NoModel);
    };
    if store.churn_prediction_version_on(day).await? == Some(version) {
        return Ok(DailyPredictions::UpToDate { version });
    }
    let Some(stored) = store.latest_churn_model().await? else {
        return Ok(DailyPredictions::NoModel);
    };
    let features =
        FeatureSet::with_event_names(&HealthModel::new(&config.health), &stored.event_names);
    if let Err(e) = check_features(stored.version, &stored.features, &features) {
        return Ok(DailyPredictions::Stale {
            version: stored.version,
            message: e.to_string(),
        });
    }
    let p = save_predictions(store, config, day).await?;
    Ok(DailyPredictions::Saved {
        version: p.version,
        accounts: p.accounts.len(),
    })
}

/// The stored predictions of one day, of the accounts a caller sees.
#[derive(Debug, Clone)]
pub struct DayPredictions {
    pub day: Date,
    /// Each with the account's name, riskiest first.
    pub accounts: Vec<(StoredPrediction, String)>,
}

/// The predictions stored on `day` (default: the latest day stored) of
/// the accounts `scope` sees; `None` when no day is stored at all.
pub async fn predictions_on(
    store: &Store,
    scope: &Scope,
    day: Option<Date>,
) -> Result<Option<DayPredictions>> {
    let day = match day {
        Some(d) => d,
        None => match store.latest_churn_prediction_day().await? {
            Some(d) => d,
            None => return Ok(None),
        },
    };
    let accounts = store.churn_predictions_in_scope(day, scope).await?;
    Ok(Some(DayPredictions { day, accounts }))
}

/// The latest stored model, in brief.
pub type ModelSummary = tenure_store::churn::ChurnModelBrief;

/// One account's churn risk: the latest model, if any, and the account's
/// stored predictions, newest first (the first is its latest).
#[derive(Debug, Clone)]
pub struct AccountChurn {
    pub model: Option<ModelSummary>,
    pub history: Vec<StoredPrediction>,
}

/// How many of an account's predictions [`account_churn`] reads by
/// default: a month of daily ones.
pub const ACCOUNT_HISTORY: i64 = 30;

/// The account's stored predictions (at most `limit`, newest first) and
/// the latest model. The caller checks the account is in its scope.
pub async fn account_churn(store: &Store, account_id: &str, limit: i64) -> Result<AccountChurn> {
    let model = store.latest_churn_model_brief().await?;
    let history = store.churn_predictions_of(account_id, limit).await?;
    Ok(AccountChurn { model, history })
}

/// The predictions as JSON (`tenure churn predict --format json`).
pub fn predictions_json(p: &Predictions) -> Value {
    json!({
        "model_version": p.version,
        "as_of": p.as_of.to_string(),
        "horizon_days": p.horizon_days,
        "accounts": p.accounts.iter().map(|a| json!({
            "account_id": a.account_id,
            "name": a.name,
            "probability": a.probability,
            "band": a.band.as_str(),
            "reasons": a.reasons.iter().map(|(w, c)| json!({"reason": w, "log_odds": c})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
