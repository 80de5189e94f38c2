//! `tenure feedback` and `tenure requests` as a user runs them
//! (docs/FEEDBACK.md): tickets imported with a subject and description,
//! feedback made by `feedback refresh` with its themes, filters, themes
//! and suggestions, a request made from a feedback item and by hand,
//! ranked by ARR, exported as CSV, and shipped with a task per asking
//! account; bad input exits 2 naming the flag or field.

use serde_json::Value;

mod common;

use common::{Env, bad_input, ok};

const CONFIG: &str = r#"
[[outbound.webhooks]]
name = "product"
url = "http://127.0.0.1:9/hooks"
secret = "s3cret"

[feedback]
requests_webhook = "product"

[[feedback.themes]]
name = "exports"
keywords = ["export*", "csv"]

[[feedback.themes]]
name = "unhappy"
rule = "sentiment == 'negative'"
"#;

fn json(env: &Env, args: &[&str]) -> Value {
    serde_json::from_str(&ok(&env.run(args))).unwrap()
}

#[test]
fn feedback_is_themed_and_a_shipped_request_closes_the_loop() {
    let env = Env::new();
    env.write("tenure.toml", CONFIG);
    env.write(
        "accounts.csv",
        "id,name,csm_email\na1,Alpha,ann@x.com\na2,Beta,bo@x.com\n",
    );
    env.write(
        "subscriptions.csv",
        "id,account_id,mrr,start_date\ns1,a1,100,2025-01-01\ns2,a2,900,2025-01-01\n",
    );
    env.write(
        "tickets.csv",
        "id,account_id,opened_at,csat,subject,description\n\
         t1,a1,2025-03-01T09:00:00Z,2,CSV export fails,\"It times out, every time\"\n\
         t2,a2,2025-03-02T09:00:00Z,,,\n",
    );
    env.write(
        "survey_responses.csv",
        "id,account_id,kind,score,responded_at,comment\n\
         r1,a2,nps,10,2025-03-03T10:00:00Z,Great <b>support</b>\n",
    );
    for kind in ["accounts", "subscriptions", "tickets", "survey_responses"] {
        ok(&env.run(&["import", kind, &format!("{kind}.csv"), "--quiet"]));
    }
    // The ticket's text round-trips through export.
    let exported = ok(&env.run(&["export", "tickets"]));
    assert!(
        exported.contains("CSV export fails,\"It times out, every time\""),
        "{exported}"
    );

    let out = ok(&env.run(&["feedback", "refresh"]));
    assert_eq!(out.trim(), "Feedback: 2 added, 0 updated, 0 removed");
    let out = ok(&env.run(&["feedback", "refresh"]));
    assert_eq!(out.trim(), "Feedback: 0 added, 0 updated, 0 removed");

    let v = json(&env, &["feedback", "--format", "json"]);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], "fb-survey-r1");
    assert_eq!(items[0]["sentiment"], "positive");
    assert_eq!(items[0]["text"], "Great <b>support</b>");
    assert_eq!(items[1]["id"], "fb-ticket-t1");
    assert_eq!(
        items[1]["themes"],
        serde_json::json!(["exports", "unhappy"])
    );
    let v = json(
        &env,
        &["feedback", "list", "--theme", "exports", "--format", "json"],
    );
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let table = ok(&env.run(&["feedback", "--source", "ticket"]));
    assert!(table.contains("CSV export fails It times out"), "{table}");
    let themes = ok(&env.run(&["feedback", "themes"]));
    assert!(themes.contains("exports"), "{themes}");
    ok(&env.run(&["feedback", "suggest"]));
    let err = bad_input(&env.run(&["feedback", "--sentiment", "angry"]));
    assert!(err.contains("--sentiment"), "{err}");

    let out = ok(&env.run(&[
        "feedback",
        "add",
        "a2",
        "--text",
        "Exports to Excel?",
        "--kind",
        "csat",
        "--score",
        "5",
    ]));
    assert!(out.contains("with themes exports"), "{out}");
    let err = bad_input(&env.run(&[
        "feedback", "add", "a2", "--text", "x", "--kind", "nps", "--score", "11",
    ]));
    assert!(err.contains("score:"), "{err}");

    // Requests: from the ticket's item (a1, 1,200 ARR) and by hand (a2,
    // 10,800): ranked by ARR.
    let out = ok(&env.run(&[
        "requests",
        "add",
        "Scheduled exports",
        "--feedback",
        "fb-ticket-t1",
    ]));
    let exports = out.split_whitespace().nth(1).unwrap().to_string();
    let out = ok(&env.run(&["requests", "add", "SSO", "--account", "a2"]));
    let sso = out.split_whitespace().nth(1).unwrap().to_string();
    let v = json(&env, &["requests", "--format", "json"]);
    let titles: Vec<&str> = v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["SSO", "Scheduled exports"]);
    assert_eq!(v["requests"][0]["arr"], 10800.0);
    // a2 joins "Scheduled exports": 12,000 now, first.
    let out = ok(&env.run(&["requests", "link", &exports, "--account", "a2"]));
    assert!(out.contains("Added"), "{out}");
    let csv = ok(&env.run(&["requests", "export"]));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("rank,id,title,status,accounts,arr,arr_at_risk,currency,account_ids")
    );
    assert_eq!(
        lines.next().unwrap(),
        format!("1,{exports},Scheduled exports,open,2,12000.00,0.00,USD,a1 a2")
    );
    let err = bad_input(&env.run(&["requests", "--by", "size"]));
    assert!(err.contains("--by"), "{err}");

    let out = ok(&env.run(&["requests", "status", &exports, "shipped"]));
    assert!(out.contains("open → shipped"), "{out}");
    assert!(out.contains("2 task(s) to tell the customers"), "{out}");
    assert!(
        out.contains("ann@x.com") && out.contains("bo@x.com"),
        "{out}"
    );
    assert!(out.contains("Webhook"), "{out}");
    let tasks = ok(&env.run(&["tasks", "--owner", "ann@x.com"]));
    assert!(tasks.contains("Scheduled exports"), "{tasks}");
    let err = bad_input(&env.run(&["requests", "status", &sso, "done"]));
    assert!(err.contains("status: expected open, planned"), "{err}");
}
