#!/usr/bin/env bash
# Benchmark of `tenure clv fit` against Python's lifetimes on CDNOW
# (docs/PERFORMANCE.md, "Customer lifetime value (BG/NBD + Gamma-Gamma)"):
#
#   scripts/bench-clv.sh [RUNS]      default: 10
#
# 1. Builds the release `tenure` binary.
# 2. Installs lifetimes 0.11.3 and its dependencies, at versions known to
#    work on Python 3.11, into a virtual environment (target/bench-clv/venv).
# 3. Writes CDNOW's transactions (CDNOW_sample.txt from the lifetimes
#    package: 2,357 customers, 6,919 transactions) as the CSV file
#    `tenure clv` reads: customer_id, date, amount.
# 4. In the same run, RUNS times each: lifetimes (pandas summary of the
#    transactions, BG/NBD fit, Gamma-Gamma fit, timed inside one Python
#    process after its imports, so without Python's start-up) and
#    `tenure clv fit` (the whole command: process start, reading the CSV,
#    summary, both fits, JSON out; and, from its `--timings`, the same work
#    inside the process). Also a fresh Python process doing the same, and
#    `tenure --version` (the binary's start alone). Calibration to
#    1997-09-30, time in weeks, as in the papers.
# 5. Prints the times (median and best), the ratios, both sets of
#    parameters and their differences, and whether the issue's goals hold
#    (Tenure at least 20 times faster, parameters within 1e-3).
# Work files go to target/bench-clv/ (ignored by git); BENCH_DIR overrides it.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${1:-10}
WORK=${BENCH_DIR:-target/bench-clv}
step() { printf '\n==> %s\n' "$*" >&2; }

step "cargo build --release -p tenure"
cargo build --release -p tenure >&2
TENURE=$PWD/target/release/tenure

VENV="$WORK/venv"
if ! "$VENV/bin/python" -c 'import lifetimes' >/dev/null 2>&1; then
  step "installing lifetimes into $VENV"
  rm -rf "$VENV"
  mkdir -p "$WORK"
  python3 -m venv "$VENV"
  # lifetimes 0.11.3 (2020) installs with today's numpy, scipy and pandas;
  # these are the versions measured. It loads its data sets through
  # pkg_resources, which setuptools < 81 still has.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    lifetimes==0.11.3 numpy==2.4.6 scipy==1.17.1 pandas==3.1.1 autograd==1.9.1 \
    dill==0.4.1 'setuptools<81'
fi

step "versions"
"$VENV/bin/python" -c 'import sys, lifetimes, numpy, scipy, pandas; print("python", sys.version.split()[0], "lifetimes", lifetimes.__version__, "numpy", numpy.__version__, "scipy", scipy.__version__, "pandas", pandas.__version__)' >&2
"$TENURE" --version >&2
echo "cores: $(nproc)" >&2

TX="$WORK/cdnow_transactions.csv"
"$VENV/bin/python" - "$TX" <<'PY'
import os, sys, lifetimes
src = os.path.join(os.path.dirname(lifetimes.__file__), "datasets", "CDNOW_sample.txt")
with open(src) as f, open(sys.argv[1], "w") as out:
    out.write("customer_id,date,amount\n")
    for line in f:
        p = line.split()
        if p:
            d = p[2]
            out.write(f"{p[0]},{d[:4]}-{d[4:6]}-{d[6:]},{p[4]}\n")
PY
wc -l "$TX" >&2

step "timing lifetimes and tenure clv fit, $RUNS runs each"
"$VENV/bin/python" - "$TX" "$TENURE" "$RUNS" <<'PY'
import json, statistics, subprocess, sys, time, warnings

warnings.filterwarnings("ignore")
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

tx_file, tenure, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
END = "1997-09-30"


def lifetimes_fit():
    df = pd.read_csv(tx_file, dtype={"customer_id": str})
    s = summary_data_from_transaction_data(
        df, "customer_id", "date", monetary_value_col="amount",
        observation_period_end=END, freq="D", freq_multiplier=7,
    )
    bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    repeat = s[s["frequency"] > 0]
    gg = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    return {**{k: float(v) for k, v in bg.params_.items()},
            **{k: float(v) for k, v in gg.params_.items()}}


inside = []  # tenure's own time for the work, from --timings


def tenure_fit():
    run = subprocess.run(
        [tenure, "clv", "fit", "--transactions", tx_file, "--calibration-end", END,
         "--unit", "week", "--format", "json", "--timings"],
        check=True, capture_output=True, text=True,
    )
    inside.append(float(run.stderr.rsplit("total ", 1)[1].split(" ms")[0]) / 1000)
    m = json.loads(run.stdout)
    return {**{k: m["bg_nbd"][k] for k in ("r", "alpha", "a", "b")},
            **{k: m["gamma_gamma"][k] for k in ("p", "q", "v")}}


def timed(f):
    t = time.perf_counter()
    params = f()
    return time.perf_counter() - t, params


# One untimed run each to warm caches; then alternate the two.
lifetimes_fit(), tenure_fit()
inside.clear()
py_times, rs_times = [], []
for _ in range(runs):
    t, py = timed(lifetimes_fit)
    py_times.append(t)
    t, rs = timed(tenure_fit)
    rs_times.append(t)

# Python as a user runs it: a fresh process with its imports.
script = (
    "import pandas as pd\n"
    "from lifetimes import BetaGeoFitter, GammaGammaFitter\n"
    "from lifetimes.utils import summary_data_from_transaction_data\n"
    f"df = pd.read_csv({tx_file!r}, dtype={{'customer_id': str}})\n"
    f"s = summary_data_from_transaction_data(df, 'customer_id', 'date', monetary_value_col='amount', observation_period_end={END!r}, freq='D', freq_multiplier=7)\n"
    "BetaGeoFitter().fit(s['frequency'], s['recency'], s['T'])\n"
    "r = s[s['frequency'] > 0]\n"
    "GammaGammaFitter().fit(r['frequency'], r['monetary_value'])\n"
)
cold = []
for _ in range(3):
    t = time.perf_counter()
    subprocess.run([sys.executable, "-W", "ignore", "-c", script], check=True)
    cold.append(time.perf_counter() - t)

start = []
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run([tenure, "--version"], check=True, capture_output=True)
    start.append(time.perf_counter() - t)

med = statistics.median
print(f"lifetimes (in process: summary + both fits): median {med(py_times)*1000:.1f} ms, best {min(py_times)*1000:.1f} ms")
print(f"lifetimes (fresh process, imports included):  median {med(cold)*1000:.0f} ms")
print(f"tenure clv fit (whole command):              median {med(rs_times)*1000:.2f} ms, best {min(rs_times)*1000:.2f} ms")
print(f"tenure clv fit (in process, its --timings):   median {med(inside)*1000:.2f} ms, best {min(inside)*1000:.2f} ms")
ratio = med(py_times) / med(rs_times)
ratio_inside = med(py_times) / med(inside)
print(f"ratios of medians: in process to in process {ratio_inside:.1f}x; lifetimes in process to the whole tenure command {ratio:.1f}x; "
      f"a fresh Python process to the whole tenure command {med(cold)/med(rs_times):.0f}x")
print(f"starting the tenure binary alone (`tenure --version`): median {med(start)*1000:.2f} ms")
print()
print(f"{'param':<6} {'lifetimes':>12} {'tenure':>12} {'difference':>12}")
worst = 0.0
for k in ("r", "alpha", "a", "b", "p", "q", "v"):
    d = rs[k] - py[k]
    worst = max(worst, abs(d))
    print(f"{k:<6} {py[k]:>12.6f} {rs[k]:>12.6f} {d:>12.2e}")
print()
print(f"goal: tenure at least 20x faster, in process: {'yes' if ratio_inside >= 20 else 'NO'} ({ratio_inside:.1f}x); "
      f"counting tenure's process start against lifetimes in process: {'yes' if ratio >= 20 else 'NO'} ({ratio:.1f}x)")
print(f"goal: parameters within 1e-3: {'yes' if worst <= 1e-3 else 'NO'} (largest difference {worst:.2e})")
PY
