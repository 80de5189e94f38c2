//! `tenure health fit` as a user runs it: the suggested `[health]`
//! section pasted into the `tenure.toml` that `tenure init` writes passes
//! `tenure config check`, and `tenure health backtest` with it on the test
//! dates prints the fit's "after" figures; too few churners exits 2 naming
//! what is missing. The fit itself is tested in tenure-app
//! (tests/health_fit.rs).

mod common;

use common::{Env, bad_input, ok};
use serde_json::Value;

/// `n` accounts paying since 2023-01-01, every fourth stopping on a day
/// spread over 2024-03..2025-11, with steady usage; everyone answers NPS
/// each quarter, churners 0 to 4 in their last 150 days, others 6 to 10.
fn company(env: &Env, n: usize) {
    let day = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
    let add = |d: jiff::civil::Date, n: i64| d.checked_add(jiff::Span::new().days(n)).unwrap();
    let mut accounts = String::from("id,name\n");
    let mut subs = String::from("id,account_id,mrr,start_date,end_date\n");
    let mut events = String::new();
    let mut nps = String::from("id,account_id,contact_id,kind,score,responded_at\n");
    let last = day("2026-03-01");
    for i in 0..n {
        let id = format!("a{i:04}");
        accounts.push_str(&format!("{id},Account {i}\n"));
        let end = (i % 4 == 0).then(|| add(day("2024-03-01"), ((i * 13) % 640) as i64));
        subs.push_str(&format!(
            "s{i},{id},{}.00,2023-01-01,{}\n",
            100 + (i % 7) * 50,
            end.map_or(String::new(), |e| e.to_string())
        ));
        let stop = end.unwrap_or(last).min(last);
        let users = 1 + (i * 7 + i / 3) % 5;
        let mut d = add(day("2023-09-01"), (i % 14) as i64);
        while d < stop {
            for u in 0..users {
                events.push_str(&format!(
                    "{{\"timestamp\":\"{d}T10:00:00Z\",\"account_id\":\"{id}\",\"user_id\":\"{id}-u{u}\",\"event\":\"login\"}}\n"
                ));
            }
            d = add(d, 14);
        }
        let mut d = add(day("2023-06-01"), (i % 90) as i64);
        let mut k = 0;
        while d < stop {
            let unhappy = end.is_some_and(|e| add(d, 150) >= e);
            let score = if unhappy {
                (i + k) % 5
            } else {
                6 + (i * 3 + k) % 5
            };
            nps.push_str(&format!("r{i}-{k},{id},,nps,{score},{d}T12:00:00Z\n"));
            d = add(d, 91);
            k += 1;
        }
    }
    ok(&env.run(&["init"]));
    for (kind, name, body) in [
        ("accounts", "accounts.csv", accounts),
        ("subscriptions", "subscriptions.csv", subs),
        ("survey_responses", "nps.csv", nps),
        ("events", "events.ndjson", events),
    ] {
        let path = env.write(name, body);
        ok(&env.run(&["import", kind, path.to_str().unwrap(), "-q"]));
    }
}

const WINDOW: [&str; 4] = ["--from", "2024-01-01", "--to", "2025-12-01"];

#[test]
fn the_suggested_section_pasted_into_tenure_toml_backtests_to_the_after_figures() {
    let env = Env::new();
    company(&env, 480);
    let mut args = vec!["health", "fit", "--format", "json"];
    args.extend(WINDOW);
    let report: Value = serde_json::from_str(&ok(&env.run(&args))).unwrap();
    let section = report["toml"].as_str().unwrap();
    let mut args = vec!["health", "fit", "--format", "toml"];
    args.extend(WINDOW);
    assert_eq!(
        ok(&env.run(&args)),
        section,
        "--format toml prints the section"
    );

    // Pasted over the [health] part of tenure init's file.
    let base = std::fs::read_to_string(env.path("tenure.toml")).unwrap();
    let start = base.find("[health.bands]").unwrap();
    let end = start + base[start..].find("\n# ----").unwrap();
    let pasted = format!("{}{section}{}", &base[..start], &base[end..]);
    env.write("pasted.toml", &pasted);
    let pasted_path = env.path("pasted.toml");
    let pasted_path = pasted_path.to_str().unwrap();
    ok(&env.run(&["config", "check", "--config", pasted_path]));

    let test_dates = report["test"]["as_of_dates"].as_array().unwrap();
    let (first, last) = (
        test_dates[0].as_str().unwrap(),
        test_dates[test_dates.len() - 1].as_str().unwrap(),
    );
    let backtest = |config: &str| -> Value {
        let out = ok(&env.run(&[
            "health", "backtest", "--config", config, "--from", first, "--to", last, "--format",
            "json",
        ]));
        let v: Value = serde_json::from_str(&out).unwrap();
        v["scorecards"][0].clone()
    };
    let after = backtest(pasted_path);
    let before_path = env.path("tenure.toml");
    let before = backtest(before_path.to_str().unwrap());
    for (side, got) in [("after", &after), ("before", &before)] {
        for key in [
            "config_version",
            "accounts",
            "auc",
            "churned_while_green",
            "churn_rate_by_band",
        ] {
            assert_eq!(got[key], report[side][key], "{side} {key}");
        }
    }
    // On this company NPS tells churners apart, and the fit found it.
    let (b, a) = (
        report["before"]["auc"].as_f64().unwrap(),
        report["after"]["auc"].as_f64().unwrap(),
    );
    assert!(a > b, "{b} -> {a}");

    // The table names both sides and ends with the section to paste.
    let mut args = vec!["health", "fit"];
    args.extend(WINDOW);
    let table = ok(&env.run(&args));
    assert!(table.contains("configured") && table.contains("suggested"));
    assert!(table.contains("churned while green"));
    assert!(table.ends_with(section), "{table}");
}

#[test]
fn too_few_churners_and_bad_input_exit_2_naming_what_is_missing() {
    let env = Env::new();
    company(&env, 40);
    let mut args = vec!["health", "fit"];
    args.extend(WINDOW);
    let err = bad_input(&env.run(&args));
    assert!(
        err.contains("churned accounts in the training window") && err.contains("at least 50"),
        "{err}"
    );
    let err = bad_input(&env.run(&["health", "fit", "--to", "2999-01-01"]));
    assert!(err.contains("not known yet"), "{err}");
    let err = bad_input(&env.run(&["health", "fit", "--from", "2025-13-01"]));
    assert!(err.contains("--from"), "{err}");
    let err = bad_input(&env.run(&["health", "fit", "--horizon", "0"]));
    assert!(err.contains("--horizon"), "{err}");
}
