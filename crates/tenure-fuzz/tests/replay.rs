//! The short fuzz run of the normal test suite (docs/OPERATIONS.md,
//! "Fuzzing"): every harness of `tenure_fuzz` on stable, over the
//! checked-in seeds (`fuzz/seeds/TARGET/`), every input that once crashed
//! it (`fuzz/regressions/TARGET/`), and a fixed set of mutations of those
//! inputs (bits flipped, bytes inserted, deleted, replaced by characters
//! that matter to CSV, JSON, TOML and CEL, slices repeated, the end cut),
//! the same on every run so that a failure here is reproducible.
//! libFuzzer's long runs (`scripts/fuzz.sh`) explore much further.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use tenure_fuzz::TARGETS;

/// Mutated inputs tried per target.
const CASES: u32 = 5_000;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `fuzz/FOLDER/TARGET/`, by name (none when it is missing).
fn files(folder: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fuzz_dir().join(folder).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| {
            let path = e.expect("a folder entry").path();
            let bytes = std::fs::read(&path).expect("reading an input");
            (
                format!(
                    "{folder}/{target}/{}",
                    path.file_name().unwrap().to_string_lossy()
                ),
                bytes,
            )
        })
        .collect();
    out.sort();
    out
}

fn harness(target: &str) -> tenure_fuzz::Harness {
    TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no harness named {target}"))
        .1
}

/// Runs a harness, turning its panic into a message that quotes the input.
fn run(target: &str, input: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| harness(target)(input))).map_err(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!(
            "{target} failed on the input {:?}: {why}",
            String::from_utf8_lossy(input)
        )
    })
}

/// Characters that change how CSV, JSON, TOML or CEL read.
const SPECIAL: &[u8] = b"\",\n\r{}[]\\\0\xff-9 .='#:()!?&|\t";

/// One mutation: `(what, where, byte)`.
fn mutate(seed: &[u8], ops: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for &(op, at, byte) in ops {
        let len = out.len();
        let i = if len == 0 { 0 } else { at % len };
        match op {
            0 if len > 0 => out[i] ^= 1 << (byte % 8),
            1 => out.insert(at % (len + 1), byte),
            2 if len > 0 => {
                out.remove(i);
            }
            3 if len > 0 => out[i] = SPECIAL[byte as usize % SPECIAL.len()],
            4 if len > 0 => {
                let end = (i + 1 + byte as usize % 16).min(len);
                let slice = out[i..end].to_vec();
                out.splice(i..i, slice);
            }
            5 => out.truncate(at % (len + 1)),
            _ => {}
        }
    }
    out
}

/// Every seed and regression input of `target`, then [`CASES`] mutations.
fn replay(target: &str) {
    let mut inputs = files("seeds", target);
    assert!(!inputs.is_empty(), "no seeds for {target} in fuzz/seeds/");
    inputs.extend(files("regressions", target));
    for (name, bytes) in &inputs {
        if let Err(e) = run(target, bytes) {
            panic!("{name}: {e}");
        }
    }
    let seeds: Vec<Vec<u8>> = inputs.into_iter().map(|(_, b)| b).collect();
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let strategy = (
        0..seeds.len(),
        vec((0u8..6, any::<usize>(), any::<u8>()), 1..8),
    );
    let ran = AtomicU32::new(0);
    runner
        .run(&strategy, |(i, ops)| {
            ran.fetch_add(1, Ordering::Relaxed);
            run(target, &mutate(&seeds[i], &ops)).map_err(TestCaseError::fail)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ran.into_inner(), CASES, "not every mutation ran");
}

#[test]
fn import_csv() {
    replay("import_csv");
}

#[test]
fn import_ndjson() {
    replay("import_ndjson");
}

#[test]
fn segment_ingest() {
    replay("segment_ingest");
}

#[test]
fn stripe_webhook() {
    replay("stripe_webhook");
}

#[test]
fn config() {
    replay("config");
}

#[test]
fn cel_rule() {
    replay("cel_rule");
}

/// Every harness has its test above and its cargo-fuzz target.
#[test]
fn every_target_is_replayed_and_fuzzed() {
    let this = include_str!("replay.rs");
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for (name, _) in TARGETS {
        assert!(
            this.contains(&format!("fn {name}()")),
            "no test replays {name}"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no target {name}"
        );
        assert!(
            fuzz_dir().join(format!("fuzz_targets/{name}.rs")).exists(),
            "fuzz/fuzz_targets/{name}.rs is missing"
        );
    }
}
