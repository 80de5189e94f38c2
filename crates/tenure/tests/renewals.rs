//! `tenure renewals forecast` as a user runs it (docs/FORECAST.md): the ARR
//! renewing per window before any churn model, in the table and in the
//! API's JSON, and a subscription in a currency without a rate refused as
//! bad input.

use jiff::civil::Date;
use serde_json::Value;
use tenure_core::model::add_days;

mod common;

use common::{Env, bad_input, ok};

fn today() -> Date {
    tenure_app::clock::today()
}

/// a1 pays 100 a month renewing in 10 days, a2 250 renewing in 100 days,
/// a3 50 whose subscription ended yesterday (its renewal date, in 20
/// days, no longer counts).
fn env(currency: &str) -> Env {
    let env = Env::new();
    ok(&env.run(&["init"]));
    env.write(
        "accounts.csv",
        "id,name\na1,Account 1\na2,Account 2\na3,Account 3\n",
    );
    let day = |n: i32| add_days(today(), n).to_string();
    env.write(
        "subscriptions.csv",
        format!(
            "id,account_id,mrr,currency,start_date,end_date,renewal_date\n\
             s1,a1,100,{currency},{},,{}\n\
             s2,a2,250,USD,{},,{}\n\
             s3,a3,50,USD,{},{},{}\n",
            day(-200),
            day(10),
            day(-200),
            day(100),
            day(-200),
            day(-1),
            day(20),
        ),
    );
    ok(&env.run(&["import", "accounts", "accounts.csv", "-q"]));
    ok(&env.run(&["import", "subscriptions", "subscriptions.csv", "-q"]));
    env
}

#[test]
fn the_arr_renewing_before_any_churn_model() {
    let env = env("USD");
    let out = ok(&env.run(&["renewals", "forecast", "--format", "json"]));
    let b: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(b["model"], Value::Null);
    let windows: Vec<(u64, u64, f64)> = b["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["days"].as_u64().unwrap(),
                w["accounts"].as_u64().unwrap(),
                w["arr"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        windows,
        [(30, 1, 1200.0), (90, 1, 1200.0), (180, 2, 4200.0)]
    );
    assert!(b["windows"][0]["expected_renewed"].is_null());

    let table = ok(&env.run(&["renewals", "forecast"]));
    assert!(table.contains("No churn predictions stored"), "{table}");
    assert!(table.contains("tenure churn train"), "{table}");
    let row = table
        .lines()
        .find(|l| l.starts_with("next 180 days"))
        .unwrap_or_else(|| panic!("{table}"));
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["next", "180", "days", "2", "4,200"]
    );
}

#[test]
fn a_currency_without_a_rate_is_bad_input() {
    let env = env("JPY");
    let err = bad_input(&env.run(&["renewals", "forecast"]));
    assert!(err.contains("JPY"), "{err}");
}
