//! Architecture invariants of tenure-core, checked rather than hoped for
//! (see ARCHITECTURE.md): the core does no IO, reads no clock and draws no
//! randomness except from seeds it is given.

use std::path::Path;

/// Crates that would let the core do IO or async work.
const FORBIDDEN_DEPENDENCIES: &[&str] = &[
    "sqlx",
    "tokio",
    "axum",
    "hyper",
    "reqwest",
    "tower",
    "async-std",
    "futures",
    "mio",
    "rusqlite",
    "postgres",
    "tenure-store",
    "tenure-app",
    "tenure-server",
    "getrandom",
];

/// Source patterns that mean IO, a clock or an unseeded random source.
const FORBIDDEN_SOURCE: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "std::env",
    "std::io::stdin",
    "SystemTime::now",
    "Instant::now",
    "Timestamp::now",
    "Zoned::now",
    "thread_rng",
    "rand::rng()",
    "OsRng",
    "from_os_rng",
    "from_entropy",
    "async fn",
];

#[test]
fn core_depends_on_no_io_crate() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("reading tenure-core's Cargo.toml");
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .expect("a [dependencies] section")
        .split("\n[")
        .next()
        .unwrap_or_default();
    let names: Vec<&str> = deps
        .lines()
        .filter_map(|l| l.split(['=', '.']).next())
        .map(str::trim)
        .filter(|n| !n.is_empty() && !n.starts_with('#'))
        .collect();
    assert!(
        !names.is_empty(),
        "no dependencies found: the parser is wrong"
    );
    for n in &names {
        assert!(
            !FORBIDDEN_DEPENDENCIES.contains(n),
            "tenure-core must not depend on {n}: it has no IO, no async and no SQL"
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading the source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn core_source_reads_no_clock_file_or_entropy() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(
        files.len() > 1,
        "no source files found: the walker is wrong"
    );
    for file in files {
        let text = std::fs::read_to_string(&file).expect("reading a source file");
        for pattern in FORBIDDEN_SOURCE {
            assert!(
                !text.contains(pattern),
                "{} uses {pattern}: tenure-core takes time, files and seeds as arguments",
                file.display()
            );
        }
    }
}
