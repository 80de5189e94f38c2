//! `tenure health fit` against test databases (docs/HEALTH.md, "Fitting
//! the scorecard"), on two shapes of company: one whose churners fade
//! out of the product before they leave, and one whose churners use it as
//! much as anyone but say so in their NPS answers. On both, the suggested
//! `[health]` section reads back through the configuration loader as the
//! suggested scorecard, and the backtest run with it on the test dates
//! gives the "after" figures (and with the configured one, the "before"
//! figures). Too few churners is a clear error. Runs on SQLite, and on
//! PostgreSQL with TEST_DATABASE_URL.

use jiff::civil::Date;
use tenure_app::Error;
use tenure_app::health::fit::{FitReport, FitRequest, fit};
use tenure_app::health::{BacktestResult, backtest};
use tenure_core::config::{Config, parse_config};
use tenure_core::model::add_days;
use tenure_store::Kind;
use tenure_store::Store;
use tenure_store::import::ImportOptions;
use tenure_store::testing::test_db;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// Churners' active users drop to one in the 120 days before they
    /// leave; nobody answers surveys.
    Fading,
    /// Everyone's usage is steady (with one to five users, unrelated to
    /// churn); everyone answers NPS every quarter, and churners answer 0
    /// to 4 in the 150 days before they leave, the others 6 to 10.
    Detractors,
}

/// `n` accounts paying since 2023-01-01, every fourth stopping on a day
/// spread over 2024-03..2025-11; events every 14 days.
async fn company(store: &Store, n: usize, shape: Shape) {
    let mut accounts = String::from("id,name\n");
    let mut subs = String::from("id,account_id,mrr,start_date,end_date,seats,renewal_date\n");
    let mut events = String::new();
    let mut nps = String::from("id,account_id,contact_id,kind,score,responded_at\n");
    let last = d("2026-03-01");
    for i in 0..n {
        let id = format!("a{i:04}");
        accounts.push_str(&format!("{id},Account {i}\n"));
        let end = (i % 4 == 0).then(|| add_days(d("2024-03-01"), ((i * 13) % 640) as i32));
        subs.push_str(&format!(
            "s{i},{id},{}.00,2023-01-01,{},,\n",
            100 + (i % 7) * 50,
            end.map_or(String::new(), |e| e.to_string()),
        ));
        let stop = end.unwrap_or(last).min(last);
        // Users unrelated to churn: a hash of the index.
        let users = 1 + (i * 7 + i / 3) % 5;
        let mut day = add_days(d("2023-09-01"), (i % 14) as i32);
        while day < stop {
            let fading = shape == Shape::Fading && end.is_some_and(|e| add_days(day, 120) >= e);
            for u in 0..if fading { 1 } else { users } {
                events.push_str(&format!(
                    "{{\"timestamp\":\"{day}T10:00:00Z\",\"account_id\":\"{id}\",\"user_id\":\"{id}-u{u}\",\"event\":\"login\"}}\n"
                ));
            }
            day = add_days(day, 14);
        }
        if shape == Shape::Detractors {
            let mut day = add_days(d("2023-06-01"), (i % 90) as i32);
            let mut k = 0;
            while day < stop {
                let unhappy = end.is_some_and(|e| add_days(day, 150) >= e);
                let score = if unhappy {
                    (i + k) % 5
                } else {
                    6 + (i * 3 + k) % 5
                };
                nps.push_str(&format!("r{i}-{k},{id},,nps,{score},{day}T12:00:00Z\n"));
                day = add_days(day, 91);
                k += 1;
            }
        }
    }
    let opts = ImportOptions::default();
    let mut files = vec![
        (Kind::Accounts, "accounts.csv", accounts),
        (Kind::Subscriptions, "subscriptions.csv", subs),
        (Kind::Events, "events.ndjson", events),
    ];
    if shape == Shape::Detractors {
        files.push((Kind::SurveyResponses, "survey_responses.csv", nps));
    }
    for (kind, name, text) in files {
        store
            .import_reader(kind, name, text.as_bytes(), &opts, &mut |_| {})
            .await
            .unwrap();
    }
}

fn request() -> FitRequest {
    FitRequest {
        from: d("2024-01-01"),
        to: d("2025-12-01"),
        horizon: 90,
    }
}

async fn backtest_on_test_dates(store: &Store, config: Config, r: &FitReport) -> BacktestResult {
    backtest(
        store,
        &[("x".to_string(), config)],
        &r.test.as_of_dates,
        r.horizon,
    )
    .await
    .unwrap()
    .remove(0)
}

/// The checks every shape passes: the split, whole-percent weights, the
/// pasted section read back, and the backtest's figures before and after.
async fn check_report(store: &Store, config: &Config, r: &FitReport) {
    let last_train = *r.train.as_of_dates.last().unwrap();
    assert!(add_days(last_train, 90) <= r.test.as_of_dates[0]);
    assert!(r.cards[0].fitted);
    let weights: Vec<f64> = r
        .suggested
        .default
        .measures
        .iter()
        .map(|m| m.weight)
        .collect();
    assert_eq!(weights.iter().sum::<f64>(), 100.0, "{weights:?}");
    assert!(weights.iter().all(|w| *w >= 1.0 && w.fract() == 0.0));
    // Fitted on the training dates: no worse there.
    assert!(r.cards[0].train_auc_after >= r.cards[0].train_auc_before);

    // The section to paste, in a tenure.toml, reads back as the suggestion.
    let pasted = parse_config(&r.toml).unwrap_or_else(|e| panic!("{e:?}\n{}", r.toml));
    assert_eq!(pasted.health, r.suggested);
    assert_eq!(pasted.health.version(), r.version_after);

    // The backtest on the test dates gives the before and after figures.
    let before = backtest_on_test_dates(store, config.clone(), r).await;
    assert_eq!(before.stats, r.before);
    let mut after_config = config.clone();
    after_config.health = pasted.health;
    let after = backtest_on_test_dates(store, after_config, r).await;
    assert_eq!(after.stats, r.after);
    assert_eq!(after.version, r.version_after);
}

fn weight_of(r: &FitReport, name: &str) -> (f64, f64) {
    let w = |c: &tenure_core::health::Scorecard| {
        c.measures.iter().find(|m| m.name == name).unwrap().weight
    };
    let total: f64 = Config::default()
        .health
        .default
        .measures
        .iter()
        .map(|m| m.weight)
        .sum();
    (
        w(&Config::default().health.default) * 100.0 / total,
        w(&r.suggested.default),
    )
}

#[tokio::test]
async fn churners_who_fade_out_of_the_product() {
    let db = test_db().await;
    company(&db.store, 480, Shape::Fading).await;
    let config = Config::default();
    let r = fit(&db.store, &config, request()).await.unwrap();
    check_report(&db.store, &config, &r).await;
    // Usage already carries the default card: the fit keeps it ranking
    // churners at least as well on the later dates.
    let (before, after) = (r.before.auc.unwrap(), r.after.auc.unwrap());
    assert!(after >= before - 0.01, "{before} -> {after}");
}

#[tokio::test]
async fn churners_who_say_so_in_their_nps_answers() {
    let db = test_db().await;
    company(&db.store, 480, Shape::Detractors).await;
    let config = Config::default();
    let r = fit(&db.store, &config, request()).await.unwrap();
    check_report(&db.store, &config, &r).await;
    // NPS is what tells churners apart here: it gains weight, and the
    // suggestion ranks churners better on dates the fit never saw.
    let (was, now) = weight_of(&r, "Latest NPS");
    assert!(now > was + 10.0, "Latest NPS weight {was} -> {now}");
    let (before, after) = (r.before.auc.unwrap(), r.after.auc.unwrap());
    assert!(after > before + 0.05, "{before} -> {after}");
    let (green_before, green_after) = (
        r.before.churned_while_green.unwrap(),
        r.after.churned_while_green.unwrap(),
    );
    assert!(
        green_after <= green_before,
        "{green_before} -> {green_after}"
    );
}

#[tokio::test]
async fn too_few_churners_is_an_error_naming_what_is_missing() {
    let db = test_db().await;
    company(&db.store, 40, Shape::Fading).await;
    let err = fit(&db.store, &Config::default(), request())
        .await
        .unwrap_err();
    let Error::Invalid(msg) = err else {
        panic!("{err}")
    };
    assert!(
        msg.contains("churned accounts in the training window") && msg.contains("at least 50"),
        "{msg}"
    );
    let short = FitRequest {
        from: d("2025-10-01"),
        ..request()
    };
    let err = fit(&db.store, &Config::default(), short).await.unwrap_err();
    assert!(
        matches!(&err, Error::Invalid(m) if m.contains("training as-of date")),
        "{err}"
    );
}
