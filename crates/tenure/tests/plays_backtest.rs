//! `tenure plays backtest` as a user runs it: the summary and the monthly
//! table, the same as JSON, and clear errors that exit 2.

use serde_json::Value;

mod common;

use common::{Env, bad_input, ok};

const CONFIG: &str = r#"
[engage]

[[engage.tiers]]
name = "high"

[[engage.stages]]
name = "customer"
entry = "paying"

[[engage.segments]]
name = "All"
rule = "paying"
tier = "high"

[[playbooks]]
name = "Small account"
trigger = "paying && mrr < 200"

[[playbooks.actions]]
kind = "task"
title = "Offer {{account.name}} the bigger plan"
"#;

/// a1 pays 100 until 2025-04-01, a2 900 and a3 150 throughout.
fn company() -> Env {
    let env = Env::new();
    env.write("tenure.toml", CONFIG);
    env.write(
        "accounts.csv",
        "id,name,csm_email\na1,Alpha,ann@x.com\na2,Beta,bo@x.com\na3,Gamma,bo@x.com\n",
    );
    env.write(
        "subscriptions.csv",
        "id,account_id,mrr,start_date,end_date\n\
         s1,a1,100,2025-01-01,2025-04-01\n\
         s2,a2,900,2025-01-01,\n\
         s3,a3,150,2025-01-01,\n",
    );
    for kind in ["accounts", "subscriptions"] {
        ok(&env.run(&["import", kind, &format!("{kind}.csv"), "--quiet"]));
    }
    env
}

const WINDOW: [&str; 6] = [
    "--from",
    "2025-01-06",
    "--to",
    "2025-03-31",
    "--every",
    "21",
];

#[test]
fn a_backtest_prints_precision_base_rate_and_the_months() {
    let env = company();
    let mut args = vec!["plays", "backtest", "Small account"];
    args.extend(WINDOW);
    // a1 and a3 enter on 2025-01-06, once in 90 days; a1 stops paying on
    // 2025-04-01. Every paying account-day of the audience: 15, a1's 5
    // churned within 90 days.
    let text = ok(&env.run(&args));
    assert!(
        text.contains("from 2025-01-06 to 2025-03-31, every 21 days (5 sampled days)"),
        "{text}"
    );
    for line in [
        "entries                    2",
        "judged                     2",
        "churned in 90 days         1  precision 50.0%",
        "base rate              33.3%  (5 of 15 paying account-days",
        "lift                   1.50x",
        "caught                100.0%  (1 of 1 churns",
        "ARR entered 3000, judged 3000, churned 1200",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    let months: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("2025-"))
        .collect();
    assert_eq!(months.len(), 3, "{text}");
    assert!(months[0].contains("2025-01"), "{}", months[0]);

    args.extend(["--format", "json"]);
    let v: Value = serde_json::from_str(&ok(&env.run(&args))).unwrap();
    assert_eq!(v["playbook"]["name"], "Small account");
    assert_eq!(v["totals"]["entries"], 2);
    assert_eq!(v["totals"]["churned"], 1);
    assert_eq!(v["totals"]["precision"], 0.5);
    assert_eq!(v["months"][0]["month"], "2025-01");
    assert_eq!(v["months"][0]["counts"]["entries"], 2);
    let churned: Vec<(&str, &Value)> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["account_id"].as_str().unwrap(), &e["churned"]))
        .collect();
    assert_eq!(
        churned,
        [("a1", &Value::Bool(true)), ("a3", &Value::Bool(false))]
    );
    // Nothing was done.
    let h: Value =
        serde_json::from_str(&ok(&env.run(&["plays", "history", "--format", "json"]))).unwrap();
    assert_eq!(h.as_array().unwrap().len(), 0);
}

#[test]
fn a_backtest_names_its_bad_input() {
    let env = company();
    let e = bad_input(&env.run(&["plays", "backtest", "Nope"]));
    assert!(e.contains("unknown playbook \"Nope\""), "{e}");
    let e = bad_input(&env.run(&["plays", "backtest", "Small account", "--from", "2025-13-01"]));
    assert!(e.contains("--from"), "{e}");
    let e = bad_input(&env.run(&[
        "plays",
        "backtest",
        "Small account",
        "--from",
        "2025-03-01",
        "--to",
        "2025-02-01",
    ]));
    assert!(e.contains("2025-03-01 is after to (2025-02-01)"), "{e}");
    let e = bad_input(&env.run(&["plays", "backtest", "Small account", "--every", "0"]));
    assert!(e.contains("expected 1 to 366"), "{e}");
}
