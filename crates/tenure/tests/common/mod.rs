//! Running the `tenure` binary in a temporary folder, for the command tests.
#![allow(dead_code)] // Each test binary uses a different part.

use std::path::PathBuf;
use std::process::{Command, Output};

/// A temporary folder with its own database (`t.db`) and `tenure.toml`.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, body: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    /// `tenure ARGS` set up to run in the folder.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tenure"));
        c.args(args)
            .current_dir(self.dir.path())
            .env(
                "TENURE_DB",
                format!("sqlite://{}", self.path("t.db").display()),
            )
            .env("TENURE_CONFIG", self.path("tenure.toml"))
            .env("USER", "tester")
            .env_remove("TEST_DATABASE_URL");
        c
    }

    /// Runs `tenure ARGS` in the folder.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Starts `tenure ARGS` in the folder with standard output and error
    /// piped back.
    pub fn spawn_piped(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts success; returns standard output.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "expected success, got {:?}\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Asserts exit code 2 (bad input); returns standard error.
pub fn bad_input(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit code 2\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}
