//! Two `tenure serve` processes on one database (docs/OPERATIONS.md,
//! "Running several servers"): both run the background jobs every second,
//! and each pass is made once, by one of them. Runs on SQLite, and on
//! PostgreSQL when `TEST_DATABASE_URL` is set (the test script does).

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{Env, ok};
use tenure_store::Store;
use tenure_store::jobs::JobRun;

/// Starts `tenure serve` on `url` with jobs every second, logging to `log`.
fn server(env: &Env, url: &str, log: &str) -> Child {
    let log = std::fs::File::create(env.path(log)).unwrap();
    env.command(&["serve", "--addr", "127.0.0.1:0", "--job-interval", "1"])
        .env("TENURE_DB", url)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Waits until `n` daily passes are recorded.
async fn wait_for_runs(store: &Store, n: usize) -> Vec<JobRun> {
    let start = Instant::now();
    loop {
        let runs = store.job_runs(Some("daily")).await.unwrap();
        if runs.len() >= n || start.elapsed() > Duration::from_secs(90) {
            return runs;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn two_servers_on_one_database_make_each_pass_once() {
    let env = Env::new();
    let db = tenure_store::testing::test_db().await;
    let url = db.url.clone();
    let run = |args: &[&str]| env.command(args).env("TENURE_DB", &url).output().unwrap();
    ok(&run(&[
        "demo",
        "--accounts",
        "40",
        "--days",
        "120",
        "--no-serve",
        "--quiet",
    ]));
    let store = &db.store;
    assert!(store.job_runs(None).await.unwrap().is_empty());
    let mut servers = [server(&env, &url, "a.log"), server(&env, &url, "b.log")];

    // The first pass, then several ticks of both servers on the same data.
    let first = wait_for_runs(store, 1).await;
    assert_eq!(first.len(), 1, "no pass within 90 s");
    tokio::time::sleep(Duration::from_secs(4)).await;

    // New data: one event of a paying account, now.
    let account = store
        .snapshot_scores(tenure_app::clock::today(), tenure_app::clock::today())
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("a scored account")
        .0;
    let event = format!(
        "{{\"timestamp\":\"{}\",\"account_id\":\"{account}\",\"user_id\":\"u-new\",\"event\":\"login\"}}\n",
        jiff::Timestamp::now()
    );
    env.write("events.ndjson", event);
    ok(&run(&["import", "events", "events.ndjson"]));
    let runs = wait_for_runs(store, 2).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    for s in &mut servers {
        s.kill().unwrap();
        s.wait().unwrap();
    }

    let runs_after = store.job_runs(Some("daily")).await.unwrap();
    assert_eq!(runs_after, runs, "a pass after the data settled");
    assert_eq!(runs.len(), 2, "one pass per state of the data: {runs:#?}");
    assert_ne!(runs[0].data_key, runs[1].data_key, "{runs:#?}");
    assert!(
        runs[0].finished_at <= runs[1].started_at,
        "overlap: {runs:#?}"
    );
    assert!(
        runs.iter().all(|r| r.outcome == "ok" && r.written > 0),
        "{runs:#?}"
    );
    // Both servers ran their jobs, under different names.
    let instances: Vec<String> = ["a.log", "b.log"]
        .iter()
        .map(|log| {
            let text = std::fs::read_to_string(env.path(log)).unwrap();
            let line = text
                .lines()
                .find(|l| l.contains("background jobs started"))
                .unwrap_or_else(|| panic!("{log}: jobs did not start:\n{text}"));
            line.split("instance=").nth(1).unwrap().to_string()
        })
        .collect();
    assert_ne!(instances[0], instances[1]);
}
