//! `tenure health` as a user runs it: explanation JSON, snapshots and
//! history, overrides with exit codes, and the backtest's JSON keys.

use serde_json::Value;

mod common;

use common::{Env, bad_input, ok};

/// Four accounts: two churn on 2025-04-01, three have February events.
fn env() -> Env {
    let env = Env::new();
    env.write(
        "accounts.csv",
        "id,name,plan\na1,Alpha,growth\na2,Beta,growth\na3,Gamma,starter\na4,Delta,starter\n",
    );
    env.write(
        "subscriptions.csv",
        "id,account_id,mrr,currency,seats,start_date,end_date,renewal_date\n\
             s1,a1,100,USD,10,2024-01-01,2025-04-01,\n\
             s2,a2,100,USD,10,2024-01-01,2025-04-01,\n\
             s3,a3,100,USD,10,2024-01-01,,2026-01-01\n\
             s4,a4,100,USD,10,2024-01-01,,2026-01-01\n",
    );
    let mut events = String::from("timestamp,account_id,user_id,event\n");
    for (account, n) in [("a2", 5), ("a3", 8), ("a4", 3)] {
        for i in 0..n {
            events.push_str(&format!(
                "2025-02-{:02}T10:00:00Z,{account},u{i},report_created\n",
                10 + i
            ));
        }
    }
    env.write("events.csv", &events);
    for kind in ["accounts", "subscriptions", "events"] {
        ok(&env.run(&["import", kind, &format!("{kind}.csv"), "--quiet"]));
    }
    env
}

fn json(env: &Env, args: &[&str]) -> Value {
    serde_json::from_str(&ok(&env.run(args))).unwrap()
}

/// One measure: events in the last 30 days, 0 → 0 points, 10+ → 100.
const EVENT_SCORECARD: &str = r#"
[[health.measures]]
name = "Events"
kind = "event_count"
window_days = 30
weight = 1
linear = { min = 0, max = 10 }
"#;

#[test]
fn health_json_explains_each_score_worst_first() {
    let env = env();
    let v = json(
        &env,
        &["health", "--as-of", "2025-03-01", "--format", "json"],
    );
    let accounts = v["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 4);
    let scores: Vec<f64> = accounts
        .iter()
        .map(|a| a["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");
    for a in accounts {
        let total: f64 = a["measures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["contribution"].as_f64().unwrap())
            .sum();
        assert_eq!(Some(total), a["score"].as_f64());
        assert!(
            a["missing"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == "Latest NPS")
        );
        assert!(a["scorecard_version"].is_string());
        assert!(a["delta_7d"].is_null());
    }
    let one = json(
        &env,
        &[
            "health",
            "--as-of",
            "2025-03-01",
            "--account",
            "a3",
            "--format",
            "json",
        ],
    );
    assert_eq!(one["account_id"], "a3");
    let table = ok(&env.run(&["health", "--as-of", "2025-03-01", "--account", "a3"]));
    assert!(table.contains("Active users"), "{table}");
    bad_input(&env.run(&["health", "--account", "nope"]));
    bad_input(&env.run(&["health", "--as-of", "March"]));
}

#[test]
fn recompute_stores_history_and_deltas() {
    let env = env();
    ok(&env.run(&[
        "health",
        "recompute",
        "--from",
        "2025-02-01",
        "--to",
        "2025-03-01",
        "--quiet",
    ]));
    let h = json(
        &env,
        &["health", "history", "--account", "a3", "--format", "json"],
    );
    assert_eq!(h["snapshots"].as_array().unwrap().len(), 29);
    let v = json(
        &env,
        &[
            "health",
            "--as-of",
            "2025-03-01",
            "--account",
            "a3",
            "--format",
            "json",
        ],
    );
    assert!(v["delta_7d"].is_f64() && v["delta_30d"].is_null(), "{v}");
    let g = json(
        &env,
        &[
            "health",
            "groups",
            "--by",
            "plan",
            "--from",
            "2025-02-01",
            "--to",
            "2025-03-01",
            "--interval",
            "month",
            "--format",
            "json",
        ],
    );
    let groups: Vec<&str> = g["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["day"] == "2025-03-01")
        .map(|r| r["group"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["growth", "starter"]);
}

#[test]
fn overrides_are_set_listed_applied_and_cleared() {
    let env = env();
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let in_a_month = today
        .checked_add(jiff::Span::new().days(30))
        .unwrap()
        .to_string();
    ok(&env.run(&[
        "health",
        "override",
        "a3",
        "--score",
        "12",
        "--reason",
        "Champion left",
        "--until",
        &in_a_month,
    ]));
    let list = json(&env, &["health", "overrides", "--format", "json"]);
    let o = &list["overrides"][0];
    assert_eq!(
        (o["author"].as_str(), o["applies_today"].as_bool()),
        (Some("tester"), Some(true))
    );
    let v = json(&env, &["health", "--account", "a3", "--format", "json"]);
    assert_eq!(v["score"], 12.0);
    assert_eq!(v["override"]["reason"], "Champion left");
    ok(&env.run(&[
        "health",
        "override",
        "clear",
        "a3",
        "--author",
        "boss@example.com",
    ]));
    let v = json(&env, &["health", "--account", "a3", "--format", "json"]);
    assert!(v["override"].is_null());
    let list = json(&env, &["health", "overrides", "--format", "json"]);
    assert_eq!(list["overrides"].as_array().unwrap().len(), 0);

    bad_input(&env.run(&[
        "health",
        "override",
        "nope",
        "--score",
        "1",
        "--reason",
        "x",
        "--until",
        &in_a_month,
    ]));
    bad_input(&env.run(&[
        "health",
        "override",
        "a3",
        "--score",
        "101",
        "--reason",
        "x",
        "--until",
        &in_a_month,
    ]));
    bad_input(&env.run(&[
        "health",
        "override",
        "a3",
        "--score",
        "50",
        "--reason",
        "x",
        "--until",
        "2000-01-01",
    ]));
    bad_input(&env.run(&[
        "health",
        "override",
        "a3",
        "--score",
        "50",
        "--until",
        &in_a_month,
    ]));
    // The rules every surface shares (tenure_core::health::check_override):
    // at most a year, a reason of at most 1,000 characters.
    let in_two_years = today
        .checked_add(jiff::Span::new().days(731))
        .unwrap()
        .to_string();
    let err = bad_input(&env.run(&[
        "health",
        "override",
        "a3",
        "--score",
        "50",
        "--reason",
        "x",
        "--until",
        &in_two_years,
    ]));
    assert!(
        err.contains("until: An override lasts at most a year."),
        "{err}"
    );
    let long = "x".repeat(1001);
    let err = bad_input(&env.run(&[
        "health",
        "override",
        "a3",
        "--score",
        "50",
        "--reason",
        &long,
        "--until",
        &in_a_month,
    ]));
    assert!(
        err.contains("reason: Keep the reason under 1,000 characters."),
        "{err}"
    );
    let list = json(&env, &["health", "overrides", "--format", "json", "--all"]);
    assert_eq!(
        list["overrides"].as_array().unwrap().len(),
        1,
        "refused overrides are not stored"
    );
}

#[test]
fn backtest_reports_auc_bands_and_lift_per_scorecard() {
    let env = env();
    env.write("events.toml", EVENT_SCORECARD);
    ok(&env.run(&["init"]));
    let v = json(
        &env,
        &[
            "health",
            "backtest",
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-01",
            "--horizon",
            "90",
            "--scorecard",
            "events.toml",
            "--scorecard",
            "tenure.toml",
            "--format",
            "json",
        ],
    );
    assert_eq!(v["as_of_dates"], serde_json::json!(["2025-03-01"]));
    let cards = v["scorecards"].as_array().unwrap();
    assert_eq!(cards.len(), 2);
    // Scores 0, 50 (churned) and 80, 30 (stayed): AUC 3/4.
    let e = &cards[0];
    assert_eq!(e["auc"], 0.75);
    assert_eq!(e["churned_while_green"], 0.0);
    assert_eq!(e["worst_decile_lift"], 2.0);
    // Red: 0 (churned) and 30; yellow: 50 (churned); green: 80.
    assert_eq!(e["churn_rate_by_band"]["red"]["churn_rate"], 0.5);
    assert_eq!(e["churn_rate_by_band"]["yellow"]["churn_rate"], 1.0);
    for key in [
        "auc",
        "churn_rate_by_band",
        "churned_while_green",
        "worst_decile_lift",
    ] {
        assert!(cards[1].get(key).is_some(), "{key}");
    }
    let diff = ok(&env.run(&["health", "diff", "--account", "a3", "--since", "2025-03-01"]));
    assert!(diff.contains("Active users"), "{diff}");
}

/// A scorecard chosen by a custom attribute, with a measure that is one:
/// recompute reads the attributes it needs.
#[test]
fn recompute_scores_by_custom_attributes() {
    let env = env();
    env.write(
        "tiers.csv",
        "id,name,plan,tier,health_index\na3,Gamma,starter,gold,55\na4,Delta,starter,silver,10\n",
    );
    ok(&env.run(&["import", "accounts", "tiers.csv", "--quiet"]));
    env.write(
        "tenure.toml",
        format!(
            "{EVENT_SCORECARD}
[[health.scorecards]]
name = \"gold\"
match = {{ attributes = {{ tier = \"gold\" }} }}

[[health.scorecards.measures]]
name = \"Health index\"
kind = \"custom_attribute\"
attribute = \"health_index\"
weight = 1
linear = {{ min = 0, max = 100 }}
"
        ),
    );
    ok(&env.run(&[
        "health",
        "recompute",
        "--from",
        "2025-03-01",
        "--to",
        "2025-03-01",
        "--quiet",
    ]));
    let score = |account: &str| {
        let h = json(
            &env,
            &[
                "health",
                "history",
                "--account",
                account,
                "--format",
                "json",
            ],
        );
        let s = h["snapshots"][0]["score"].as_f64().unwrap();
        (s * 1e6).round() / 1e6
    };
    assert_eq!(score("a3"), 55.0, "gold: its health index");
    assert_eq!(score("a4"), 30.0, "silver: 3 events of 10");
}

/// Events in the last 30 days as a percentile among the day's customers.
const PERCENTILE_SCORECARD: &str = r#"
[[health.measures]]
name = "Events"
kind = "event_count"
window_days = 30
percentile = { among = "all" }
weight = 1
"#;

/// Every path that scores places a percentile measure among the same
/// customers: the list, one account, the stored history and the backtest.
#[test]
fn percentile_measures_rank_accounts_alike_on_every_path() {
    let env = env();
    env.write("tenure.toml", PERCENTILE_SCORECARD);
    // 0, 5, 8 and 3 events: mid-ranks among the four customers.
    let expected = [("a1", 12.5), ("a2", 62.5), ("a3", 87.5), ("a4", 37.5)];
    let v = json(
        &env,
        &["health", "--as-of", "2025-03-01", "--format", "json"],
    );
    for (id, score) in expected {
        let a = v["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["account_id"] == id)
            .unwrap();
        assert_eq!(a["score"], score, "{id}");
        assert_eq!(a["measures"][0]["compared_with"], "all accounts");
    }
    let one = json(
        &env,
        &[
            "health",
            "--as-of",
            "2025-03-01",
            "--account",
            "a3",
            "--format",
            "json",
        ],
    );
    assert_eq!(one["score"], 87.5);
    assert_eq!(one["measures"][0]["percentile"], 87.5);
    let table = ok(&env.run(&["health", "--as-of", "2025-03-01", "--account", "a3"]));
    assert!(
        table.contains("Events: 88th percentile of all accounts"),
        "{table}"
    );
    ok(&env.run(&[
        "health",
        "recompute",
        "--from",
        "2025-03-01",
        "--to",
        "2025-03-01",
        "--quiet",
    ]));
    let h = json(
        &env,
        &["health", "history", "--account", "a4", "--format", "json"],
    );
    assert_eq!(h["snapshots"][0]["score"], 37.5, "{h}");
    // a1 (12.5) and a2 (62.5) churned, a3 (87.5) and a4 (37.5) stayed.
    let b = json(
        &env,
        &[
            "health",
            "backtest",
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-01",
            "--horizon",
            "90",
            "--format",
            "json",
        ],
    );
    assert_eq!(b["scorecards"][0]["auc"], 0.75);
}

#[test]
fn health_says_which_inputs_the_company_lacks() {
    let env = env();
    let run = env.run(&["health", "--as-of", "2025-03-01"]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("the company's data lacks") && err.contains("NPS survey answers (Latest NPS)"),
        "{err}"
    );
    let v = json(
        &env,
        &["health", "--as-of", "2025-03-01", "--format", "json"],
    );
    let lacking = v["lacking"].as_array().unwrap();
    assert!(
        lacking
            .iter()
            .any(|l| l["measure"] == "Latest NPS" && l["input"] == "NPS survey answers"),
        "{lacking:?}"
    );
    // Events exist: usage measures are not lacking.
    assert!(lacking.iter().all(|l| l["measure"] != "Active users"));
}
