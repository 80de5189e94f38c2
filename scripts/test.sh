#!/usr/bin/env bash
# Tenure's one test command (README and CI run exactly this):
#   formatting, lints, every test on SQLite (the dashboard's browser suite
#   included, in headless Chromium), then the store contract suite and the
#   server tests again on a throwaway PostgreSQL server started here.
#   Screenshots of every dashboard page land in target/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if cargo nextest --version >/dev/null 2>&1; then
  run_tests() { cargo nextest run --no-fail-fast "$@"; }
else
  run_tests() { cargo test --no-fail-fast "$@"; }
fi

# The browser suite drives Debian's Chromium through chromedriver; install
# them when missing (as root, e.g. in CI) and make the suite mandatory then.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing chromium and chromium-driver"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
  fi
fi
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  export TENURE_REQUIRE_BROWSER=1
else
  echo "warning: chromium or chromedriver is missing: the browser suite will be skipped" >&2
fi
mkdir -p target/screenshots

# The outbound tests send email to a real SMTP server, Python's aiosmtpd:
# installed once into a virtual environment under target/, and the tests
# pointed at it (they fail without it).
SMTP_VENV=target/smtp-venv
if ! "$SMTP_VENV/bin/python" -c 'import aiosmtpd' >/dev/null 2>&1; then
  step "installing aiosmtpd into $SMTP_VENV"
  # Debian ships venv apart (python3-venv); install it when missing, as root.
  if ! python3 -m venv "$SMTP_VENV" >/dev/null 2>&1; then
    rm -rf "$SMTP_VENV"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    fi
    python3 -m venv "$SMTP_VENV"
  fi
  "$SMTP_VENV/bin/python" -m pip install --quiet --disable-pip-version-check aiosmtpd
fi
export TENURE_TEST_PYTHON="$PWD/$SMTP_VENV/bin/python"
# The CLV tests fit on CDNOW, the data set of the BG/NBD and Gamma-Gamma
# papers (docs/CLV.md), which ships inside the Python lifetimes package: its
# wheel is downloaded once (not installed), the two data files the tests
# read are taken out of it and checked, and the tests pointed at them (they
# fail without them).
CDNOW_DIR=target/cdnow
if ! (cd "$CDNOW_DIR" 2>/dev/null && sha256sum --check --status <<'SUMS'
6fae10155c0b0ba363c2c386e30f77990d22328220efd862a5edd1443420d94a  CDNOW_sample.txt
7ddd11b55be3227edfc1d58675154e96971b0de3ad37ddd9280d1dba154b8b2f  cdnow_customers_summary_with_transactions.csv
SUMS
); then
  step "downloading the CDNOW data (the lifetimes 0.11.3 wheel) into $CDNOW_DIR"
  mkdir -p "$CDNOW_DIR"
  "$SMTP_VENV/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: -d "$CDNOW_DIR" lifetimes==0.11.3
  "$SMTP_VENV/bin/python" - "$CDNOW_DIR" <<'PY'
import glob, os, sys, zipfile
folder = sys.argv[1]
wheel = glob.glob(os.path.join(folder, "[Ll]ifetimes-0.11.3-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    for name in ("CDNOW_sample.txt", "cdnow_customers_summary_with_transactions.csv"):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(z.read("lifetimes/datasets/" + name))
PY
fi
export TENURE_CDNOW_DIR="$PWD/$CDNOW_DIR"
# The SMTP test over STARTTLS and TLS makes its throwaway certificates with
# the openssl command; install it when missing, as root.
if ! command -v openssl >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  step "installing openssl"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >/dev/null
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
run_tests -p tenure-store --test contract --test metrics --test health --test migrations --test backup --test crm --test partitioned
run_tests -p tenure-app
run_tests -p tenure-server
run_tests -p tenure --test jobs
