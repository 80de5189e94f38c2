//! `tenure survival` as a user runs it, on the example of docs/METRICS.md
//! (the files in crates/tenure-store/tests/fixtures/metrics): the worked
//! example of the "Survival" section, the table, and bad input.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

mod common;

use common::{Env, bad_input, ok};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tenure-store/tests/fixtures/metrics")
        .join(name)
}

/// The example's accounts and subscriptions, and its tenure.toml (the
/// EUR and GBP rates).
fn env() -> Env {
    let env = Env::new();
    std::fs::copy(fixture("tenure.toml"), env.path("tenure.toml")).unwrap();
    for (kind, file) in [
        ("accounts", "accounts.csv"),
        ("subscriptions", "subscriptions.csv"),
    ] {
        ok(&env.run(&["import", kind, fixture(file).to_str().unwrap(), "-q"]));
    }
    env
}

#[test]
fn survival_of_the_documented_example() {
    let env = env();
    let out = ok(&env.run(&["survival", "--as-of", "2025-03-31", "--format", "json"]));
    let b: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(b["by"], "all");
    let g = &b["groups"][0];
    // a1..a7 paid by 03-31; only a2 is lost (a6 came back), after 411
    // days, with a2 and a6 (456 days so far) at risk: S = 0.5.
    assert_eq!(g["name"], "all accounts");
    assert_eq!(
        (g["accounts"].as_u64(), g["churned"].as_u64()),
        (Some(7), Some(1))
    );
    assert_eq!(
        g["median"],
        json!({"days": 411, "lower": 411, "upper": null})
    );
    let churn = g["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["churned"] == 1)
        .unwrap();
    assert_eq!(
        (churn["day"].as_u64(), churn["at_risk"].as_u64()),
        (Some(411), Some(2))
    );
    assert_eq!(churn["survival"], 0.5);
    let m: Vec<(Option<f64>, u64)> = g["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["survival"].as_f64(), m["at_risk"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        m,
        [(Some(1.0), 5), (Some(1.0), 5), (Some(1.0), 3), (None, 0)]
    );

    let table = ok(&env.run(&["survival", "--as-of", "2025-03-31"]));
    assert!(table.starts_with("Survival from first MRR"), "{table}");
    assert!(table.contains("all accounts"), "{table}");
    assert!(table.contains("411 (411–n.r.)"), "{table}");
}

#[test]
fn bad_survival_arguments_are_bad_input() {
    let env = env();
    let err = bad_input(&env.run(&["survival", "--as-of", "2025-02-30"]));
    assert!(err.contains("--as-of"), "{err}");
    let out = env.run(&["survival", "--by", "region"]);
    assert_eq!(out.status.code(), Some(2));
}
