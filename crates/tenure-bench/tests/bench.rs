//! The `tenure-bench` binary as scripts run it.

use std::process::{Command, Stdio};

use tenure_store::import::ImportOptions;
use tenure_store::{Kind, Store};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `tenure-bench metrics | head`: a reader that goes away before the report
/// is written ends the command quietly (exit 0, no panic).
#[test]
fn bench_metrics_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = Store::open(&db).await.unwrap();
        let events = "timestamp,account_id,user_id,event\n2025-01-01T00:00:00Z,acc-1,u1,login\n";
        let options = ImportOptions {
            create_missing_accounts: true,
            ..ImportOptions::default()
        };
        store
            .import_reader(
                Kind::Events,
                "events.csv",
                events.as_bytes(),
                &options,
                &mut |_| {},
            )
            .await
            .unwrap();
        store.close().await;
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenure-bench"))
        .args(["metrics", "--runs", "1", "--end", "2025-12-31"])
        .current_dir(dir.path())
        .env("TENURE_DB", &db)
        .env("TENURE_CONFIG", dir.path().join("tenure.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the report is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
}
