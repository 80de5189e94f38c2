#!/usr/bin/env bash
# Tenure's one test command (README and CI run exactly this):
#   formatting, lints, every test on SQLite, then the store contract suite and
#   the server tests again on a throwaway PostgreSQL server started here.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if cargo nextest --version >/dev/null 2>&1; then
  run_tests() { cargo nextest run --no-fail-fast "$@"; }
else
  run_tests() { cargo test --no-fail-fast "$@"; }
fi

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --quiet

step "tests on SQLite"
run_tests --workspace

step "tests on PostgreSQL"
eval "$(scripts/pg.sh start)"
trap 'scripts/pg.sh stop "$TENURE_PG_DIR"' EXIT
export TEST_DATABASE_URL
run_tests -p tenure-store --test contract --test metrics
run_tests -p tenure-server
