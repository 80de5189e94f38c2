//! `tenure clv fit` and `tenure clv predict` as a user runs them
//! (docs/CLV.md): bad files refused by line and column, too little data
//! refused rather than modelled, and a fit handed to predict through the
//! model file. The fits on CDNOW against the published parameters are in
//! crates/tenure-core/tests/clv_cdnow.rs.

use std::fmt::Write;

use serde_json::Value;

mod common;

use common::{Env, bad_input, ok};

/// A customer base drawn from a process like the BG/NBD's, with a fixed
/// seed: 300 customers who first buy in the first 90 days of 2025, buy at
/// one of four daily rates and drop out after each purchase with one of
/// three probabilities, observed to 2025-06-30 (181 days).
fn simulated() -> String {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut uniform = move || {
        // xorshift64*: enough for test data.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    };
    let start = jiff::civil::Date::constant(2025, 1, 1);
    let mut out = String::from("customer_id,date,amount\n");
    for i in 0..300 {
        let rate = [0.01, 0.03, 0.08, 0.2][(uniform() * 4.0) as usize];
        let dropout = [0.05, 0.2, 0.5][(uniform() * 3.0) as usize];
        let typical = 10.0 + 40.0 * uniform();
        let mut day = (uniform() * 90.0).floor();
        loop {
            let amount = typical * (0.5 + uniform());
            let date = start
                .checked_add(jiff::Span::new().days(day as i64))
                .unwrap();
            writeln!(out, "cust-{i:03},{date},{amount:.2}").unwrap();
            if uniform() < dropout {
                break;
            }
            day += (-(1.0 - uniform()).ln() / rate).ceil();
            if day > 180.0 {
                break;
            }
        }
    }
    out
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&ok(out)).unwrap()
}

#[test]
fn fit_then_predict_through_the_model_file() {
    let env = Env::new();
    let file = env.write("tx.csv", simulated());
    let file = file.to_str().unwrap();
    let model_path = env.path("model.json");
    let fit = json(&env.run(&[
        "clv",
        "fit",
        "--transactions",
        file,
        "--calibration-end",
        "2025-06-30",
        "--unit",
        "week",
        "--format",
        "json",
        "--save",
        model_path.to_str().unwrap(),
    ]));
    assert_eq!(fit["unit"], "week");
    assert_eq!(fit["calibration_end"], "2025-06-30");
    assert_eq!(fit["customers"], 300);
    for key in ["r", "alpha", "a", "b"] {
        assert!(fit["bg_nbd"][key].as_f64().unwrap() > 0.0, "{fit}");
    }
    for key in ["p", "q", "v"] {
        assert!(fit["gamma_gamma"][key].as_f64().unwrap() > 0.0, "{fit}");
    }
    // The file --save wrote is the JSON printed.
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&model_path).unwrap()).unwrap();
    assert_eq!(saved, fit);

    let args = |extra: &[&str]| {
        let mut a = vec![
            "clv",
            "predict",
            "--transactions",
            file,
            "--calibration-end",
            "2025-06-30",
            "--format",
            "json",
        ];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        json(&env.run(&a.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    let with_model = run(&["--model", model_path.to_str().unwrap(), "--t", "90"]);
    let fitted_again = run(&["--unit", "week", "--t", "90"]);
    // The same models either way (serde_json may read a float back one
    // unit in the last place off, hence the tolerance).
    same_numbers(&with_model, &fitted_again, "");
    assert_eq!(with_model["horizon_days"], 90.0);
    assert_eq!(with_model["monthly_discount"], 0.01);
    let rows = with_model["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 300);
    let mut total_clv = 0.0;
    for r in rows {
        let p_alive = r["p_alive"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p_alive), "{r}");
        let purchases = r["expected_purchases"].as_f64().unwrap();
        let spend = r["expected_spend"].as_f64().unwrap();
        let clv = r["clv"].as_f64().unwrap();
        // Discounting makes CLV a little less than purchases × spend.
        assert!(
            clv <= purchases * spend + 1e-9 && clv > 0.95 * purchases * spend,
            "{r}"
        );
        total_clv += clv;
        if r["frequency"] == 0 {
            assert_eq!(
                p_alive, 1.0,
                "no repeat purchase: the model cannot see a dropout"
            );
        }
    }
    assert!((with_model["total_clv"].as_f64().unwrap() - total_clv).abs() < 1e-6);

    // A longer horizon means more purchases; the table and CSV say the same.
    let year = run(&["--model", model_path.to_str().unwrap(), "--t", "365"]);
    assert!(
        year["total_expected_purchases"].as_f64().unwrap()
            > with_model["total_expected_purchases"].as_f64().unwrap()
    );
    let csv = ok(&env.run(&[
        "clv",
        "predict",
        "--transactions",
        file,
        "--model",
        model_path.to_str().unwrap(),
        "--calibration-end",
        "2025-06-30",
        "--t",
        "90",
        "--format",
        "csv",
    ]));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "customer_id,frequency,recency,age,mean_spend,expected_purchases,p_alive,expected_spend,clv"
    );
    assert_eq!(lines.count(), 300);
    let table = ok(&env.run(&[
        "clv",
        "predict",
        "--transactions",
        file,
        "--model",
        model_path.to_str().unwrap(),
    ]));
    assert!(table.starts_with("300 customers as of "), "{table}");
    assert!(table.contains("cust-000"), "{table}");
}

/// Asserts two JSON values equal, numbers within a relative 1e-12.
fn same_numbers(a: &Value, b: &Value, at: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-12 * x.abs().max(1.0),
                "{at}: {x} != {y}"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                same_numbers(x, y, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (k, v) in x {
                same_numbers(v, &y[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

#[test]
fn a_bad_transactions_file_is_refused_with_line_and_column() {
    let env = Env::new();
    let file = env.write(
        "bad.csv",
        "customer_id,date,amount\n\
         a,2025-01-01,10.00\n\
         b,2025-13-01,5\n\
         c,2025-01-02,ten\n\
         ,2025-01-03,1\n\
         d,2025-01-04,-2.00\n",
    );
    let err = bad_input(&env.run(&["clv", "fit", "--transactions", file.to_str().unwrap()]));
    let name = file.display().to_string();
    for want in [
        format!("{name} line 3, column \"date\": expected a date YYYY-MM-DD"),
        format!("{name} line 4, column \"amount\": expected an amount such as 29.33, got \"ten\""),
        format!("{name} line 5, column \"customer_id\": must not be empty"),
        format!("{name} line 6, column \"amount\": \"-2.00\" is negative"),
    ] {
        assert!(err.contains(&want), "{want:?} not in:\n{err}");
    }
    assert!(!err.contains("line 2"), "{err}");

    let missing = env.write("missing.csv", "customer,date,amount\na,2025-01-01,1\n");
    let err = bad_input(&env.run(&[
        "clv",
        "predict",
        "--transactions",
        missing.to_str().unwrap(),
    ]));
    assert!(
        err.contains("line 1, column \"customer_id\": the column is missing"),
        "{err}"
    );
}

#[test]
fn too_little_data_gets_an_error_not_a_model() {
    let env = Env::new();
    let few = env.write(
        "few.csv",
        "customer_id,date,amount\na,2025-01-01,1\na,2025-01-05,2\nb,2025-01-02,3\n",
    );
    let err = bad_input(&env.run(&["clv", "fit", "--transactions", few.to_str().unwrap()]));
    assert!(
        err.contains(
            "2 customer(s) in the calibration period; the purchase model needs at least 10"
        ),
        "{err}"
    );

    let mut once = String::from("customer_id,date,amount\n");
    for i in 0..20 {
        writeln!(once, "c{i},2025-01-{:02},5.00", i + 1).unwrap();
    }
    let once = env.write("once.csv", once);
    let err = bad_input(&env.run(&["clv", "fit", "--transactions", once.to_str().unwrap()]));
    assert!(err.contains("no customer made a repeat purchase"), "{err}");

    // Customers who all keep buying and never drop out: the likelihood
    // grows without end as the dropout probability goes to 0.
    let mut steady = String::from("customer_id,date,amount\n");
    for i in 0..30 {
        for k in 0..6 {
            writeln!(
                steady,
                "c{i},2025-01-{:02},{}.00",
                1 + (i % 3) + 4 * k,
                10 + i
            )
            .unwrap();
        }
    }
    let steady = env.write("steady.csv", steady);
    let err = bad_input(&env.run(&["clv", "fit", "--transactions", steady.to_str().unwrap()]));
    assert!(err.contains("fit did not converge"), "{err}");
}
