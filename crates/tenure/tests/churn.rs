//! `tenure churn` as a user runs it, on the small example of
//! docs/METRICS.md (the files in crates/tenure-store/tests/fixtures/metrics):
//! far too few churners to train, each bad input named with exit code 2.
//! Training itself is tested in tenure-app (tests/churn.rs).

use std::path::{Path, PathBuf};

mod common;

use common::{Env, bad_input};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tenure-store/tests/fixtures/metrics")
        .join(name)
}

fn env() -> Env {
    let env = Env::new();
    std::fs::copy(fixture("tenure.toml"), env.path("tenure.toml")).unwrap();
    for (kind, file) in [
        ("accounts", "accounts.csv"),
        ("subscriptions", "subscriptions.csv"),
    ] {
        common::ok(&env.run(&["import", kind, fixture(file).to_str().unwrap(), "-q"]));
    }
    env
}

#[test]
fn too_few_churners_and_bad_input_exit_2_naming_what_is_missing() {
    let env = env();
    let err = bad_input(&env.run(&[
        "churn",
        "train",
        "--from",
        "2024-01-01",
        "--to",
        "2025-06-01",
    ]));
    assert!(
        err.contains("churned accounts in the training window") && err.contains("at least 50"),
        "{err}"
    );
    let err = bad_input(&env.run(&[
        "churn",
        "train",
        "--from",
        "2025-04-01",
        "--to",
        "2025-06-01",
    ]));
    assert!(err.contains("training as-of date"), "{err}");
    let err = bad_input(&env.run(&["churn", "train", "--to", "2999-01-01"]));
    assert!(err.contains("not known yet"), "{err}");
    let err = bad_input(&env.run(&["churn", "train", "--from", "2025-13-01"]));
    assert!(err.contains("--from"), "{err}");
    let err = bad_input(&env.run(&["churn", "predict", "--as-of", "2025-03-31"]));
    assert!(err.contains("tenure churn train"), "{err}");
    let err = bad_input(&env.run(&["churn", "predict", "--save", "--as-of", "2025-03-31"]));
    assert!(err.contains("tenure churn train"), "{err}");
}
