//! The workspace's layering, checked rather than hoped for (ARCHITECTURE.md,
//! "Invariants"): each crate depends only on the crates below it, so core
//! and the application layer never import server or binary code, and only
//! the store writes SQL.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The workspace crates a crate may depend on (normal dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    ("tenure-core", &[]),
    ("tenure-store", &["tenure-core"]),
    ("tenure-app", &["tenure-core", "tenure-store"]),
    (
        "tenure-server",
        &["tenure-core", "tenure-store", "tenure-app"],
    ),
    (
        "tenure",
        &["tenure-core", "tenure-store", "tenure-app", "tenure-server"],
    ),
    (
        "tenure-bench",
        &["tenure-core", "tenure-store", "tenure-app"],
    ),
    // The fuzz harnesses reach the parsers of every layer, the server's
    // ingest and webhooks included.
    (
        "tenure-fuzz",
        &["tenure-core", "tenure-store", "tenure-server"],
    ),
];

/// The names under `[dependencies]` of a crate's manifest.
fn dependencies(krate: &str) -> Vec<String> {
    let manifest =
        std::fs::read_to_string(workspace().join("crates").join(krate).join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("reading {krate}'s Cargo.toml: {e}"));
    let Some(deps) = manifest.split("\n[dependencies]").nth(1) else {
        return Vec::new();
    };
    deps.split("\n[")
        .next()
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(['=', '.']).next())
        .map(str::trim)
        .filter(|n| !n.is_empty() && !n.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// The crates of the workspace (folders under crates/).
fn crates() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(workspace().join("crates"))
        .expect("reading crates/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn each_crate_depends_only_on_the_layers_below_it() {
    let all = crates();
    assert!(all.len() >= 5, "crates not found: {all:?}");
    for krate in &all {
        let allowed = ALLOWED
            .iter()
            .find(|(k, _)| k == krate)
            .unwrap_or_else(|| panic!("{krate} is not in this test's layering: add it"))
            .1;
        for dep in dependencies(krate) {
            if dep.starts_with("tenure") {
                assert!(
                    allowed.contains(&dep.as_str()),
                    "{krate} must not depend on {dep} (allowed: {allowed:?})"
                );
            }
        }
    }
    // The parser sees the edges that exist.
    assert!(dependencies("tenure-app").contains(&"tenure-store".to_string()));
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_store_writes_sql() {
    let statements = [
        "SELECT ",
        "INSERT INTO",
        "UPDATE ",
        "DELETE FROM",
        "CREATE TABLE",
    ];
    let mut checked = 0;
    for krate in crates().iter().filter(|k| *k != "tenure-store") {
        let mut files = Vec::new();
        rust_files(
            &workspace().join("crates").join(krate).join("src"),
            &mut files,
        );
        for file in files {
            let text = std::fs::read_to_string(&file).expect("reading a source file");
            checked += 1;
            for s in statements {
                assert!(
                    !text.contains(s),
                    "{} contains {s:?}: SQL belongs in tenure-store",
                    file.display()
                );
            }
        }
    }
    assert!(checked > 10, "too few files checked: the walker is wrong");
}

/// The paragraph of ARCHITECTURE.md's "Crates" list about `krate`.
fn codemap_paragraph<'a>(doc: &'a str, krate: &str) -> &'a str {
    let start = doc
        .find(&format!("- **`crates/{krate}`**"))
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no paragraph for crates/{krate}"));
    let rest = &doc[start + 2..];
    let end = rest.find("\n- **").unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn the_codemap_names_every_module() {
    let doc = std::fs::read_to_string(workspace().join("ARCHITECTURE.md"))
        .expect("reading ARCHITECTURE.md");
    let mut checked = 0;
    for krate in crates() {
        let paragraph = codemap_paragraph(&doc, &krate);
        let src = workspace().join("crates").join(&krate).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in files {
            let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
            // A folder module is named by its folder.
            let name = if stem == "mod" {
                file.parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            } else {
                stem
            };
            if ["lib", "main"].contains(&name.as_str()) {
                continue;
            }
            checked += 1;
            assert!(
                paragraph.contains(&format!("`{name}`"))
                    || paragraph.contains(&format!("`{name}/`"))
                    || paragraph.contains(&format!("`{name}.rs`")),
                "ARCHITECTURE.md's paragraph on crates/{krate} does not name the module `{name}` ({})",
                file.display()
            );
        }
    }
    assert!(checked > 40, "too few modules checked: the walker is wrong");
}

/// The README's demo command, `cargo run --release -- demo`, needs the
/// workspace to say which of its two binaries `cargo run` runs.
#[test]
fn cargo_run_at_the_root_runs_the_tenure_binary() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    assert!(readme.contains("cargo run --release -- demo"));
    let manifest = std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("default-members = [\"crates/tenure\"]"),
        "the workspace's Cargo.toml must name crates/tenure as its default member"
    );
    let tenure = std::fs::read_to_string(workspace().join("crates/tenure/Cargo.toml")).unwrap();
    assert_eq!(
        tenure.matches("[[bin]]").count(),
        1,
        "one binary in crates/tenure"
    );
}
