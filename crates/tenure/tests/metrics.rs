//! `tenure metrics`, `tenure mrr movements` and `tenure cohorts` as a user
//! runs them, on the example of docs/METRICS.md (the files in
//! crates/tenure-store/tests/fixtures/metrics).

use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;

use common::{Env, ok, text};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tenure-store/tests/fixtures/metrics")
        .join(name)
}

/// A database with the example imported through `tenure import`, and its
/// tenure.toml (gross margin 0.8, CS cost 1000, EUR and GBP rates).
fn env() -> Env {
    let env = Env::new();
    std::fs::copy(fixture("tenure.toml"), env.path("tenure.toml")).unwrap();
    for (kind, file) in [
        ("accounts", "accounts.csv"),
        ("subscriptions", "subscriptions.csv"),
        ("survey_responses", "survey_responses.csv"),
        ("tickets", "tickets.csv"),
        ("events", "events.ndjson"),
    ] {
        ok(&env.run(&["import", kind, fixture(file).to_str().unwrap(), "-q"]));
    }
    env
}

fn json(env: &Env, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    serde_json::from_str(&ok(&env.run(&all))).unwrap()
}

const MOVEMENT_KEYS: [&str; 5] = [
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
];

#[test]
fn metrics_json_has_every_design_key_with_the_documented_values() {
    let env = env();
    let m = json(
        &env,
        &["metrics", "--from", "2025-01-01", "--to", "2025-03-31"],
    );
    let obj = m.as_object().unwrap();
    assert_eq!(obj.len(), 31);
    assert_eq!(obj.keys().next().unwrap(), "mrr_start");
    assert_eq!(m["mrr_start"], 860.0);
    assert_eq!(m["mrr_end"], 740.0);
    assert_eq!(m["new_mrr"], 130.0);
    assert_eq!(m["logo_churn_rate"], 0.2);
    assert_eq!(m["accounts_end"], 6);
    assert_eq!(m["csat"], 0.5);
    assert_eq!(m["avg_time_on_platform_minutes"], 16.25);
    let crc = m["crc"].as_f64().unwrap();
    assert!((crc - 1000.0 * 90.0 / 30.4375 / 4.0).abs() < 1e-9, "{crc}");
}

#[test]
fn ledger_totals_equal_the_movements_of_metrics_for_any_period() {
    let env = env();
    for (from, to) in [
        ("2025-01-01", "2025-03-31"),
        ("2025-02-01", "2025-02-15"),
        ("2025-02-16", "2025-06-30"),
        ("2023-01-01", "2025-12-31"),
    ] {
        let m = json(&env, &["metrics", "--from", from, "--to", to]);
        let l = json(&env, &["mrr", "movements", "--from", from, "--to", to]);
        for key in MOVEMENT_KEYS {
            assert_eq!(m[key], l["totals"][key], "{key} for {from}..{to}");
        }
        let net = m["mrr_end"].as_f64().unwrap() - m["mrr_start"].as_f64().unwrap();
        assert!((l["totals"]["net_mrr"].as_f64().unwrap() - net).abs() < 1e-9);
    }
}

#[test]
fn the_ledger_lists_movements_with_their_subscriptions_and_filters() {
    let env = env();
    let l = json(
        &env,
        &[
            "mrr",
            "movements",
            "--from",
            "2025-01-01",
            "--to",
            "2025-03-31",
        ],
    );
    let rows = l["movements"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[0]["date"], "2025-01-01");
    assert_eq!(rows[0]["account_id"], "a5");
    assert_eq!(rows[0]["type"], "new");
    assert_eq!(rows[0]["amount"], 80.0);
    assert_eq!(rows[0]["subscription_ids"], serde_json::json!(["s7"]));
    let churn = json(
        &env,
        &["mrr", "movements", "--type", "churn", "--account", "a6"],
    );
    let rows = churn["movements"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["mrr_before"], 60.0);
    assert_eq!(churn["totals"]["churned_mrr"], 60.0);

    let table = ok(&env.run(&[
        "mrr",
        "movements",
        "--from",
        "2025-01-01",
        "--to",
        "2025-03-31",
    ]));
    assert!(
        table.contains("2025-03-01  a4       contraction"),
        "{table}"
    );
    let totals: Vec<&str> = table.lines().rev().take(6).collect();
    assert!(totals[0].starts_with("net"), "{table}");
    assert!(totals[0].ends_with("-120.00 USD"), "{table}");

    let csv = ok(&env.run(&["mrr", "movements", "--account", "a3", "--format", "csv"]));
    assert_eq!(
        csv,
        "date,account_id,type,amount,mrr_before,mrr_after,subscription_ids\n\
         2024-03-01,a3,new,100.00,0.00,100.00,s3\n\
         2025-01-10,a3,expansion,50.00,100.00,150.00,s4\n"
    );

    let out = env.run(&["mrr", "movements", "--account", "nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn the_table_shows_why_a_metric_is_undefined() {
    let env = env();
    let table = ok(&env.run(&["metrics", "--from", "2020-01-01", "--to", "2020-01-31"]));
    assert!(table.starts_with("Metrics 2020-01-01 to 2020-01-31 (31 days, USD)"));
    assert!(
        table.contains("n/a (no NPS response in the period)"),
        "{table}"
    );
    let report = json(
        &env,
        &["metrics", "--from", "2020-01-01", "--to", "2020-01-31"],
    );
    assert!(report["nps"].is_null());
}

#[test]
fn a_series_has_one_row_per_interval_in_every_format() {
    let env = env();
    let args = [
        "metrics",
        "--from",
        "2025-01-01",
        "--to",
        "2025-03-31",
        "--interval",
        "month",
    ];
    let series = json(&env, &args);
    let rows = series.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["from"], "2025-02-01");
    assert_eq!(rows[1]["mrr_start"], rows[0]["mrr_end"]);

    let mut csv_args = args.to_vec();
    csv_args.extend(["--format", "csv"]);
    let csv = ok(&env.run(&csv_args));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].starts_with("from,to,mrr_start,mrr_end,arr_end,"));
    assert!(lines[3].starts_with("2025-03-01,2025-03-31,840,740,8880,"));

    let table = ok(&env.run(&args));
    assert_eq!(table.lines().filter(|l| l.starts_with("2025-")).count(), 3);

    let weeks = json(
        &env,
        &[
            "metrics",
            "--from",
            "2025-01-01",
            "--to",
            "2025-01-20",
            "--interval",
            "week",
        ],
    );
    assert_eq!(weeks.as_array().unwrap().len(), 4);
}

#[test]
fn a_currency_without_a_rate_is_bad_input_naming_it() {
    let env = env();
    std::fs::write(
        env.dir.path().join("tenure.toml"),
        "[currency]\nreporting = \"USD\"\n[currency.rates]\nEUR = 1.08\n",
    )
    .unwrap();
    for args in [
        &["metrics", "--from", "2025-01-01", "--to", "2025-03-31"][..],
        &["mrr", "movements"][..],
        &["cohorts"][..],
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains("GBP"), "{}", text(&out.stderr));
    }
}

#[test]
fn bad_periods_are_bad_input() {
    let env = env();
    let out = env.run(&["metrics", "--from", "2025-03-01", "--to", "2025-01-01"]);
    assert_eq!(out.status.code(), Some(2));
    let out = env.run(&["metrics", "--from", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn cohorts_show_logo_and_revenue_retention_by_month_of_first_mrr() {
    let env = env();
    let logo = json(
        &env,
        &["cohorts", "--from", "2025-01-01", "--to", "2025-03-31"],
    );
    let rows = logo.as_array().unwrap();
    // 2025-01: a5 (first MRR on 01-01); 2025-02: a7.
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["cohort"], "2025-01");
    assert_eq!(rows[0]["size"], 1);
    assert_eq!(rows[0]["retention"], serde_json::json!([1.0, 1.0, 1.0]));
    assert_eq!(rows[1]["starting_mrr"], 50.0);
    let revenue = json(
        &env,
        &["cohorts", "--metric", "revenue", "--to", "2025-03-31"],
    );
    // Every account's first month, from a2's (2024-01) on.
    assert_eq!(revenue[0]["cohort"], "2024-01");
    let table = ok(&env.run(&["cohorts", "--to", "2025-03-31"]));
    assert!(
        table.starts_with("Logo retention by cohort month"),
        "{table}"
    );
}
