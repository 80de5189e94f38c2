#!/usr/bin/env bash
# The JSON API against its own OpenAPI document, with schemathesis
# (docs/API.md, "Conformance"):
#
#   scripts/api-conformance.sh
#
# Builds the release binary, loads a small demo company into a fresh SQLite
# database in a temporary folder, creates an admin API key, serves it on a
# free port and runs schemathesis on /api/openapi.json: every operation,
# with valid and invalid data (its examples, coverage, fuzzing and stateful
# phases), a bounded number of examples each, checking that no answer is a
# server error (5xx), and that every status code, content type and response
# body is the one the document declares (the checks are listed below).
# Exits non-zero when any check fails or the server logs an internal
# error; the JUnit report is left in target/api-conformance/.
#
# Nothing is excluded: destructive operations (deleting accounts, sending
# surveys) run too, and take only a few of the demo's accounts.
#
# Settings: ACCOUNTS (demo size, 200), EXAMPLES (examples per operation,
# 25), SEED (schemathesis's seed, 1, so a run can be repeated; SEED= for a
# random one), TENURE_BIN (another build instead of the release binary),
# KEEP=1 keeps the work folder (database, server log).
#
# schemathesis (PyPI) is installed once into a virtual environment under
# target/, pinned, since its command line changes between major versions.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

accounts=${ACCOUNTS:-200}
examples=${EXAMPLES:-25}
seed=${SEED-1}
schemathesis_version=4.32.5

step() { printf '\n==> %s\n' "$*" >&2; }

if [ -z "${TENURE_BIN:-}" ]; then
  step "cargo build --release -p tenure"
  cargo build --release -p tenure >&2
fi
tenure=${TENURE_BIN:-$root/target/release/tenure}

# schemathesis in its own virtual environment, as scripts/test.sh installs
# aiosmtpd. Debian ships venv apart (python3-venv); installed when missing,
# as root.
VENV=target/schemathesis-venv
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "version $schemathesis_version\$"; then
  step "installing schemathesis $schemathesis_version into $VENV"
  if ! [ -x "$VENV/bin/python" ] && ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    rm -rf "$VENV"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    fi
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi
schemathesis=$root/$VENV/bin/schemathesis

work=$(mktemp -d -t tenure-conformance.XXXXXX)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "work folder: $work" >&2; fi
}
trap cleanup EXIT
cd "$work"
db=sqlite://$work/tenure.db

step "tenure demo --no-serve --accounts $accounts"
# The demo also writes its tenure.toml here, which serve reads.
"$tenure" demo --no-serve --quiet --accounts "$accounts" --db "$db" >/dev/null
key=$("$tenure" keys create --db "$db" --name conformance --role admin | tail -n 1)
case $key in tnr_*) ;; *) echo "no API key in the output of tenure keys create" >&2; exit 1 ;; esac

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
step "tenure serve on $base"
# A rate limit far above what schemathesis sends, so that its requests are
# answered rather than refused with 429.
"$tenure" serve --db "$db" --addr "127.0.0.1:$port" --rate-limit 100000 >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  if curl -fsS "$base/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "tenure serve exited:" >&2
    cat "$work/serve.log" >&2
    exit 1
  fi
  sleep 0.2
done
curl -fsS "$base/readyz" >/dev/null

# No 5xx; every status, content type, header and body as documented; a
# 405 for a method a route does not have; 401 without the key; and after a
# DELETE, the record gone (and, before it, there). Not checked:
# negative_data_rejection and positive_data_acceptance, which hold the API
# to constraints the document does not state (dates and amounts are
# documented as plain strings, so most "valid" strings are refused, and
# list limits over the maximum are clamped rather than refused).
checks=not_a_server_error,status_code_conformance,content_type_conformance
checks+=,response_schema_conformance,response_headers_conformance
checks+=,unsupported_method,missing_required_header,ignored_auth
checks+=,use_after_free,ensure_resource_availability

step "schemathesis run $base/api/openapi.json ($examples examples per operation)"
mkdir -p "$root/target/api-conformance"
rm -f "$root/target/api-conformance"/junit-*.xml
status=0
"$schemathesis" run "$base/api/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks "$checks" \
  --max-examples "$examples" \
  ${seed:+--seed "$seed"} \
  --generation-database none \
  --no-color \
  --report junit \
  --report-dir "$root/target/api-conformance" || status=$?

# An answer the server logged as an internal error is a failure even when
# schemathesis did not see it as one.
if grep -q "request failed" "$work/serve.log"; then
  echo "the server logged internal errors:" >&2
  grep "request failed" "$work/serve.log" | head -20 >&2
  [ "$status" -ne 0 ] || status=1
fi
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "tenure serve stopped during the run:" >&2
  tail -20 "$work/serve.log" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
