//! `tenure segments`, `journey`, `cadence` and `config check` of
//! `[engage]`, as a user runs them, on a portfolio worked by hand.

use serde_json::Value;

mod common;

use common::{Env, bad_input, ok};

const CONFIG: &str = r#"
[engage]
engagement_kinds = ["call", "qbr"]

[[engage.tiers]]
name = "high"

[[engage.tiers]]
name = "tech"

[[engage.stages]]
name = "onboarding"
entry = "paying"
target_days = 30

[[engage.stages]]
name = "renewal"
entry = "paying && days_to_renewal != null && days_to_renewal <= 30"

[[engage.stages]]
name = "churned"
entry = "churned"

[[engage.segments]]
name = "Big"
rule = "arr_percentile != null && arr_percentile >= 0.3"
tier = "high"

[[engage.segments]]
name = "Small"
rule = "paying"
tier = "tech"

[[engage.cadence]]
tier = "high"
kind = "call"
every_days = 10
"#;

/// a1 pays 100 and renews on 07-15; a2 pays 400; a3 pays 500 with a call
/// on 06-25; a4 paid 200 until 05-01.
fn env() -> Env {
    let env = Env::new();
    env.write("tenure.toml", CONFIG);
    env.write(
        "accounts.csv",
        "id,name,csm_email\na1,Alpha,ann@x.com\na2,Beta,bo@x.com\na3,Gamma,ann@x.com\na4,Delta,bo@x.com\n",
    );
    env.write(
        "subscriptions.csv",
        "id,account_id,mrr,start_date,end_date,renewal_date\n\
         s1,a1,100,2025-01-01,,2025-07-15\n\
         s2,a2,400,2025-01-01,,\n\
         s3,a3,500,2025-01-01,,\n\
         s4,a4,200,2025-01-01,2025-05-01,\n",
    );
    env.write(
        "engagements.csv",
        "id,account_id,kind,occurred_at\ne1,a3,call,2025-06-25T10:00:00Z\n",
    );
    for kind in ["accounts", "subscriptions", "engagements"] {
        ok(&env.run(&["import", kind, &format!("{kind}.csv"), "--quiet"]));
    }
    env
}

fn json(env: &Env, args: &[&str]) -> Value {
    serde_json::from_str(&ok(&env.run(args))).unwrap()
}

#[test]
fn segments_journey_and_cadence_show_the_day() {
    let env = env();
    let v = json(
        &env,
        &["segments", "--as-of", "2025-07-20", "--format", "json"],
    );
    let seg: Vec<(&str, &str, u64, f64)> = v["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["segment"].as_str().unwrap(),
                s["tier"].as_str().unwrap(),
                s["accounts"].as_u64().unwrap(),
                s["arr"].as_f64().unwrap(),
            )
        })
        .collect();
    // Paying MRRs 100, 400, 500: percentiles 0, 1/3, 2/3.
    assert_eq!(
        seg,
        [("Big", "high", 2, 10_800.0), ("Small", "tech", 1, 1_200.0)]
    );

    // Nothing recorded yet: every account counts as entering today.
    let v = json(
        &env,
        &["journey", "--as-of", "2025-07-20", "--format", "json"],
    );
    let stages: Vec<(&str, u64)> = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap(),
                s["accounts"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(stages, [("onboarding", 3), ("renewal", 0), ("churned", 1)]);

    // a3's call on 06-25 fell due on 07-05; a2 entered today: not due yet.
    // Nothing recorded before today, so compliance covers today alone:
    // a2 on time, a3 not.
    let v = json(
        &env,
        &["cadence", "--as-of", "2025-07-20", "--format", "json"],
    );
    assert_eq!(
        (&v["compliance"]["on_time_days"], &v["compliance"]["days"]),
        (&serde_json::json!(1), &serde_json::json!(2))
    );
    let o = &v["overdue"].as_array().unwrap();
    assert_eq!(o.len(), 1);
    assert_eq!(
        (
            o[0]["account_id"].as_str(),
            o[0]["overdue_days"].as_i64(),
            o[0]["csm_email"].as_str()
        ),
        (Some("a3"), Some(15), Some("ann@x.com"))
    );
    // A CSM's own list.
    let v = json(
        &env,
        &[
            "cadence",
            "--as-of",
            "2025-07-20",
            "--csm",
            "bo@x.com",
            "--format",
            "json",
        ],
    );
    assert_eq!(v["overdue"].as_array().unwrap().len(), 0);
    let table = ok(&env.run(&["cadence", "--as-of", "2025-07-20"]));
    assert!(
        table.contains(
            "cadence compliance 2025-04-22 to 2025-07-20: 50% (1 of 2 required days on time)"
        ) && table.contains("1 engagements overdue on 2025-07-20"),
        "{table}"
    );
}

#[test]
fn bad_rules_and_names_are_config_errors_with_their_line() {
    let env = env();
    ok(&env.run(&["config", "check"]));
    env.write(
        "tenure.toml",
        CONFIG
            .replace("rule = \"paying\"", "rule = \"payin\"")
            .replace("kind = \"call\"", "kind = \"party\""),
    );
    let err = bad_input(&env.run(&["config", "check"]));
    assert!(
        err.contains("line 31: engage.segments \"Small\": rule: unknown field \"payin\" (did you mean \"paying\"?)"),
        "{err}"
    );
    assert!(
        err.contains("line 36: unknown engagement kind \"party\""),
        "{err}"
    );
    // Commands refuse the file too.
    bad_input(&env.run(&["segments"]));
}

#[test]
fn bad_days_and_periods_name_the_flag() {
    let env = env();
    for (args, message) in [
        (&["journey", "--as-of", "2025-13-01"][..], "--as-of: "),
        (
            &["cadence", "--as-of", "9999-12-31"][..],
            "--as-of: pick a day between 1970-01-01 and",
        ),
        (
            &["segments", "--from", "2025-08-01", "--as-of", "2025-07-20"][..],
            "--from: the period starts on 2025-08-01 after its last day, 2025-07-20",
        ),
    ] {
        let err = bad_input(&env.run(args));
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

#[test]
fn engagements_logged_from_the_command_line_count_at_once() {
    let env = env();
    let err = bad_input(&env.run(&[
        "engagements",
        "log",
        "a3",
        "--kind",
        "party",
        "--date",
        "2099-01-01",
    ]));
    assert!(err.contains("--kind: Choose one of: call, qbr."), "{err}");
    assert!(
        err.contains("--date: The date cannot be in the future."),
        "{err}"
    );
    bad_input(&env.run(&[
        "engagements",
        "log",
        "nobody",
        "--kind",
        "call",
        "--date",
        "2025-07-18",
    ]));
    // a3's call on 07-18 puts it back on time on 07-20.
    ok(&env.run(&[
        "engagements",
        "log",
        "a3",
        "--kind",
        "CALL",
        "--date",
        "2025-07-18",
        "--notes",
        "check-in",
    ]));
    let v = json(
        &env,
        &["cadence", "--as-of", "2025-07-20", "--format", "json"],
    );
    assert_eq!(v["overdue"].as_array().unwrap().len(), 0, "{v}");
    let out = ok(&env.run(&["export", "engagements", "--format", "csv"]));
    assert!(out.contains(",a3,call,2025-07-18T12:00:00Z"), "{out}");
}

#[test]
fn segments_suggest_gives_k_clusters_whose_rules_paste_into_the_config() {
    let env = Env::new();
    ok(&env.run(&[
        "demo",
        "--accounts",
        "120",
        "--days",
        "90",
        "--end",
        "2025-06-30",
        "--seed",
        "5",
        "--no-serve",
        "--quiet",
    ]));
    let args = [
        "segments",
        "suggest",
        "--k",
        "3",
        "--as-of",
        "2025-06-30",
        "--format",
        "json",
    ];
    let v = json(&env, &args);
    let clusters = v["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 3, "{v}");
    let paying = v["accounts"].as_u64().unwrap();
    let sizes: u64 = clusters
        .iter()
        .map(|c| c["accounts"].as_u64().unwrap())
        .sum();
    assert_eq!(sizes, paying);
    // Largest median ARR first.
    let medians: Vec<f64> = clusters
        .iter()
        .map(|c| c["arr_median"].as_f64().unwrap())
        .collect();
    assert!(medians.windows(2).all(|w| w[0] >= w[1]), "{medians:?}");
    // The same data gives the same suggestion.
    assert_eq!(json(&env, &args), v);

    // Every rule pastes into [[engage.segments]] and passes the check.
    let mut toml = String::from("[engage]\n[[engage.tiers]]\nname = \"t\"\n");
    for c in clusters {
        let rule = c["rule"].as_str().unwrap();
        assert!(!c["description"].as_str().unwrap().is_empty());
        toml += &format!(
            "[[engage.segments]]\nname = \"{}\"\nrule = \"{rule}\"\ntier = \"t\"\n",
            c["name"].as_str().unwrap()
        );
    }
    env.write("pasted.toml", &toml);
    ok(&env.run(&["--config", "pasted.toml", "config", "check"]));

    // The human form ends each cluster with the line to paste.
    let out = ok(&env.run(&["segments", "suggest", "--k", "3", "--as-of", "2025-06-30"]));
    for c in clusters {
        let line = format!("  rule = \"{}\"\n", c["rule"].as_str().unwrap());
        assert!(out.contains(&line), "{out}");
    }

    for k in ["1", "99999"] {
        let err = bad_input(&env.run(&["segments", "suggest", "--k", k]));
        assert!(
            err.contains(&format!("--k must be between 2 and 12, got {k}")),
            "{err}"
        );
    }
}
