#!/usr/bin/env bash
# Fuzzes Tenure's parsers of untrusted input with cargo-fuzz (libFuzzer) on
# the nightly toolchain (docs/OPERATIONS.md, "Fuzzing"):
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# runs each target (all six by default) for SECONDS (default 60), one after
# the other; TENURE_FUZZ_RUNS=N runs each for N executions instead. New
# inputs go to fuzz/corpus/TARGET/ (not checked in) beside the seeds of
# fuzz/seeds/TARGET/; a crash leaves its input in fuzz/artifacts/TARGET/
# and stops the script. Installs cargo-fuzz and the nightly toolchain when
# missing. The targets are built without a sanitizer: Tenure forbids unsafe
# code, so what fuzzing looks for is a panic, a hang or a broken invariant.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(import_csv import_ndjson segment_ingest stripe_webhook config cel_rule)
fi

if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

# Debug assertions on: an integer overflow is a crash too.
flags=(--sanitizer none --debug-assertions)
cargo +nightly fuzz build "${flags[@]}"

if [ -n "${TENURE_FUZZ_RUNS:-}" ]; then
  limit=(-runs="$TENURE_FUZZ_RUNS")
else
  limit=(-max_total_time="$seconds")
fi
logs=fuzz/target/logs
mkdir -p "$logs"
summary=()
# The binaries built above, run as they are: `cargo fuzz run` would build
# again whenever a source file changed in between.
bin=fuzz/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release
for t in "${targets[@]}"; do
  printf '\n==> fuzzing %s\n' "$t"
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  # A single input taking over 10 s counts as a hang.
  "$bin/$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -artifact_prefix="fuzz/artifacts/$t/" \
    "${limit[@]}" -timeout=10 -print_final_stats=1 2>&1 | tee "$logs/$t.log"
  summary+=("$t: $(grep -E '^Done [0-9]+ runs' "$logs/$t.log" | tail -1)")
done
printf '\n==> executions (libFuzzer'"'"'s own count)\n'
printf '%s\n' "${summary[@]}"
