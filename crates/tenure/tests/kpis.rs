//! `tenure kpis` as a user runs it, on three accounts worked by hand:
//! Ann's a1 (100 a month) and a2 (200, until 06-01; her address in
//! capitals), Bo's a3 (300) and a4 without a CSM (50), all since
//! 2025-01-01, with NPS and CSAT answers in the period 04-01..06-30.

use serde_json::Value;

mod common;

use common::{Env, bad_input, ok};

const CONFIG: &str = r#"
[target.kpis]
nrr = 1.0
nps = 10

[[target.csm]]
email = "bo@x.com"
kpis = { nrr = 0.9 }
"#;

const PERIOD: [&str; 4] = ["--from", "2025-04-01", "--as-of", "2025-06-30"];

fn env() -> Env {
    let env = Env::new();
    env.write("tenure.toml", CONFIG);
    env.write(
        "accounts.csv",
        "id,name,csm_email\na1,Alpha,ann@x.com\na2,Beta,ANN@X.COM\na3,Gamma,bo@x.com\na4,Delta,\n",
    );
    env.write(
        "subscriptions.csv",
        "id,account_id,mrr,start_date,end_date\n\
         s1,a1,100,2025-01-01,\n\
         s2,a2,200,2025-01-01,2025-06-01\n\
         s3,a3,300,2025-01-01,\n\
         s4,a4,50,2025-01-01,\n",
    );
    env.write(
        "survey_responses.csv",
        "id,account_id,contact_id,kind,score,responded_at\n\
         r1,a1,c1,nps,10,2025-05-01T10:00:00Z\n\
         r2,a2,c2,nps,3,2025-05-02T10:00:00Z\n\
         r3,a3,,csat,5,2025-05-03T10:00:00Z\n\
         r4,a3,,csat,2,2025-05-04T10:00:00Z\n",
    );
    for kind in ["accounts", "subscriptions", "survey_responses"] {
        ok(&env.run(&["import", kind, &format!("{kind}.csv"), "--quiet"]));
    }
    env
}

fn json(env: &Env, args: &[&str]) -> Value {
    serde_json::from_str(&ok(&env.run(args))).unwrap()
}

fn kpis(args: &[&'static str]) -> Vec<&'static str> {
    let mut all = vec!["kpis"];
    all.extend(PERIOD);
    all.extend(args);
    all
}

#[test]
fn kpis_of_each_csm_and_the_team_against_targets() {
    let env = env();
    let v = json(&env, &kpis(&["--format", "json"]));
    assert_eq!(
        (v["as_of"].as_str(), v["from"].as_str()),
        (Some("2025-06-30"), Some("2025-04-01"))
    );
    let rows: Vec<&str> = v["csms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["csm"].as_str().unwrap())
        .collect();
    assert_eq!(rows, ["ann@x.com", "bo@x.com"]);
    let ann = &v["csms"][0]["values"];
    let bo = &v["csms"][1]["values"];
    let team = &v["team"]["values"];
    // Paying on 06-30: a1; a3; and a4 too for the team.
    assert_eq!(
        (&ann["accounts"]["value"], &ann["arr"]["value"]),
        (&Value::from(1.0), &Value::from(1200.0))
    );
    assert_eq!(bo["arr"]["value"], 3600.0);
    assert_eq!(team["arr"]["value"], 5400.0);
    assert_eq!(v["team"]["accounts_in_portfolio"], 4);
    // NRR: Ann's 300 at the start keep 100; Bo's 300 keep 300 (his own
    // target 0.9); the team's 650 keep 450.
    assert_eq!(ann["nrr"]["value"].as_f64().unwrap(), 1.0 / 3.0);
    assert_eq!(ann["nrr"]["rag"], "red");
    assert_eq!(
        (&bo["nrr"]["value"], &bo["nrr"]["target"], &bo["nrr"]["rag"]),
        (&Value::from(1.0), &Value::from(0.9), &Value::from("green"))
    );
    assert!((team["nrr"]["value"].as_f64().unwrap() - 450.0 / 650.0).abs() < 1e-12);
    // NPS: Ann's promoter and detractor, 0 against 10; Bo has no answer.
    assert_eq!(
        (&ann["nps"]["value"], &ann["nps"]["rag"]),
        (&Value::from(0.0), &Value::from("red"))
    );
    assert!(bo["nps"]["value"].is_null() && bo["nps"]["rag"].is_null());
    assert_eq!(bo["csat"]["value"], 0.5);
    assert!(v.get("history").is_none());

    let table = ok(&env.run(&kpis(&[])));
    let line = |label: &str| -> Vec<String> {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{label} ")))
            .unwrap_or_else(|| panic!("no {label} line:\n{table}"))
            .split("  ")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        line("KPI"),
        ["KPI", "ann@x.com", "bo@x.com", "Team", "target"]
    );
    assert_eq!(line("ARR"), ["ARR", "1,200", "3,600", "5,400", "-"]);
    assert_eq!(
        line("NRR"),
        [
            "NRR",
            "33.3% red",
            "100.0% green (90.0%)",
            "69.2% red",
            "100.0%"
        ]
    );
    assert_eq!(line("NPS"), ["NPS", "0.0 red", "-", "0.0 red", "10.0"]);

    // One CSM, any case, with two months.
    let v = json(
        &env,
        &kpis(&["--csm", "BO@x.com", "--months", "2", "--format", "json"]),
    );
    assert_eq!(v["csms"].as_array().unwrap().len(), 1);
    assert_eq!(v["csms"][0]["csm"], "bo@x.com");
    let months: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["month"].as_str().unwrap())
        .collect();
    assert_eq!(months, ["2025-05", "2025-06"]);
    // June alone: Ann's a2 stopped on 06-01, so the team's 650 keep 450.
    let june = &v["history"][1];
    assert!(
        (june["team"]["values"]["nrr"]["value"].as_f64().unwrap() - 450.0 / 650.0).abs() < 1e-12
    );
    assert_eq!(june["csms"][0]["values"]["nrr"]["value"], 1.0);
    let table = ok(&env.run(&kpis(&["--csm", "bo@x.com", "--months", "2"])));
    assert!(
        table.contains("By month (each month its own period): bo@x.com, then the team"),
        "{table}"
    );
    assert!(table.lines().any(|l| l.starts_with("NRR (CSM)")), "{table}");
}

#[test]
fn bad_days_and_months_name_the_flag() {
    let env = env();
    for (args, message) in [
        (&["kpis", "--as-of", "2025-13-01"][..], "--as-of: "),
        (
            &["kpis", "--from", "2025-07-01", "--as-of", "2025-06-30"][..],
            "--from: ",
        ),
        (&["kpis", "--months", "0"][..], "--months: "),
        (&["kpis", "--months", "37"][..], "--months: "),
    ] {
        let err = bad_input(&env.run(args));
        assert!(err.contains(message), "{args:?}: {err}");
    }
}
