#!/usr/bin/env python3
"""Crash safety trials (docs/OPERATIONS.md, "Crash safety"), run by
scripts/crash.sh: only the Python standard library, the `tenure` binary
and, for PostgreSQL, `psql`.

Import trials: `tenure import` of an events file or an accounts file is
killed with SIGKILL at a random moment. Afterwards the database must open
(`tenure db status`), pass `PRAGMA integrity_check` (SQLite), and hold
either none or all of the file's rows: imports are all or nothing. After
an events import the events table has all its indexes and triggers (an
import into an empty SQLite table sets some aside until it commits) and
the usage rollups count every event stored.

Ingest trials: `tenure serve` takes Segment batches from a client thread
and is killed with SIGKILL at a random moment while requests are in
flight. After a restart, every event of a batch that was answered 2xx must
be stored (an acknowledged event is never lost), and no batch is stored in
part.

Prints one line per trial and a summary; exits 1 when any trial failed.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import base64


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Backend:
    """A fresh database per trial: a SQLite file, or a PostgreSQL database
    on the server of `--pg-url`."""

    def __init__(self, kind, work, pg_url):
        self.kind, self.work, self.pg_url, self.n = kind, work, pg_url, 0

    def fresh(self):
        self.n += 1
        if self.kind == "sqlite":
            path = os.path.join(self.work, f"trial-{self.n}.db")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
            self.path = path
            self.url = f"sqlite://{path}"
        else:
            name = f"crash_{os.getpid()}_{self.n}"
            self.psql(f"DROP DATABASE IF EXISTS {name}", db=self.pg_url)
            self.psql(f"CREATE DATABASE {name}", db=self.pg_url)
            prefix = self.pg_url.rsplit("/", 1)[0]
            self.url = f"{prefix}/{name}"
        return self.url

    def drop(self):
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(self.path + suffix):
                    os.remove(self.path + suffix)
        else:
            name = self.url.rsplit("/", 1)[1]
            self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", db=self.pg_url)

    def psql(self, sql, db=None):
        out = subprocess.run(
            ["psql", db or self.url, "-XAtqc", sql],
            check=True, capture_output=True, text=True,
        )
        return out.stdout.strip()

    def count(self, table):
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as c:
                return c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        return int(self.psql(f"SELECT COUNT(*) FROM {table}"))

    def message_ids(self):
        sql = "SELECT message_id FROM events WHERE message_id IS NOT NULL"
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as c:
                return {r[0] for r in c.execute(sql)}
        return set(self.psql(sql).split())

    def events_schema(self):
        """How many indexes and triggers the events table has: an import
        into an empty table sets some aside and must put them back."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as c:
                return c.execute(
                    "SELECT COUNT(*) FROM sqlite_master WHERE tbl_name = 'events' AND type IN ('index', 'trigger')"
                ).fetchone()[0]
        return int(self.psql(
            "SELECT (SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'events') + "
            "(SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal)"
        ))

    def rollup_total(self):
        """Events counted by the daily usage rollup: equal to the events."""
        sql = "SELECT COALESCE(SUM(n), 0) FROM usage_days"
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as c:
                return c.execute(sql).fetchone()[0]
        return int(self.psql(sql))

    def integrity(self):
        if self.kind != "sqlite":
            return "ok"
        with sqlite3.connect(self.path) as c:
            return c.execute("PRAGMA integrity_check").fetchone()[0]


def tenure(args, url, **kw):
    return subprocess.run([ARGS.tenure, "--db", url, *args], capture_output=True, text=True, **kw)


def must(out, what):
    if out.returncode != 0:
        sys.exit(f"{what} failed ({out.returncode}): {out.stderr.strip()}")
    return out


def rows_in(path):
    with open(path, "rb") as f:
        n = sum(1 for line in f if line.strip())
    return n - 1 if path.endswith(".csv") else n


def import_trials(b, kind, path, accounts, trials):
    """`tenure import KIND PATH` killed at random; returns failures."""
    rows = rows_in(path)
    # How long a whole import takes, to spread the kills over it.
    url = b.fresh()
    must(tenure(["db", "migrate"], url), "db migrate")
    if kind == "events":
        must(tenure(["import", "accounts", accounts, "--quiet"], url), "importing the accounts")
    t = time.monotonic()
    must(tenure(["import", kind, path, "--quiet"], url), f"importing {kind}")
    full = time.monotonic() - t
    assert b.count(kind) == rows, f"a whole import of {path} stored {b.count(kind)} of {rows} rows"
    b.drop()
    failures = 0
    for i in range(trials):
        url = b.fresh()
        must(tenure(["db", "migrate"], url), "db migrate")
        if kind == "events":
            must(tenure(["import", "accounts", accounts, "--quiet"], url), "importing the accounts")
        before = b.count(kind)
        schema = b.events_schema()
        delay = random.uniform(0.02, full * 1.1)
        p = subprocess.Popen(
            [ARGS.tenure, "--db", url, "import", kind, path, "--quiet"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        finished = p.poll() is not None
        p.kill()
        p.wait()
        status = tenure(["db", "status"], url)
        integrity = b.integrity()
        after = b.count(kind)
        ok = status.returncode == 0 and integrity == "ok" and after in (before, before + rows)
        # The events' indexes and triggers are all there, and the usage
        # rollups count every event stored.
        extra = ""
        if kind == "events":
            same_schema = b.events_schema() == schema
            rollups = b.rollup_total() == after
            ok = ok and same_schema and rollups
            extra = f" indexes+triggers={'ok' if same_schema else 'MISSING'} rollups={'ok' if rollups else 'WRONG'}"
        failures += not ok
        state = "all" if after == before + rows else ("none" if after == before else "PART")
        print(
            f"  {b.kind} import {kind} #{i + 1}: killed at {delay:.2f} s of ~{full:.2f} s"
            f"{' (had finished)' if finished else ''}: opens={status.returncode == 0} "
            f"integrity={integrity} rows={after - before}/{rows} ({state}){extra} {'ok' if ok else 'FAILED'}",
            flush=True,
        )
        b.drop()
    return failures


def wait_healthy(port, proc, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"tenure serve exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("tenure serve did not answer /healthz in time")


def ingest_trials(b, accounts, trials):
    """`tenure serve` killed while taking batches; returns failures."""
    failures = 0
    for i in range(trials):
        url = b.fresh()
        must(tenure(["db", "migrate"], url), "db migrate")
        must(tenure(["import", "accounts", accounts, "--quiet"], url), "importing the accounts")
        key = must(tenure(["keys", "create", "--ingest", "--name", "crash"], url), "keys create")
        key = key.stdout.strip().splitlines()[-1].strip()
        auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        port = free_port()
        serve = [ARGS.tenure, "--db", url, "serve", "--addr", f"127.0.0.1:{port}",
                 "--ingest-rate-limit", "100000"]
        env = dict(os.environ, RUST_LOG="warn")
        p = subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        wait_healthy(port, p)
        acked, sent, stop = [], [0], threading.Event()

        def client(tid):
            n = 0
            while not stop.is_set():
                batch = []
                for _ in range(50):
                    n += 1
                    batch.append({
                        "type": "track", "userId": f"u-{n % 40}", "event": "crash_trial",
                        "messageId": f"t{i}-c{tid}-m{n}",
                        "context": {"groupId": "acc-000001"},
                        "timestamp": "2026-11-01T12:00:00Z",
                    })
                body = json.dumps({"batch": batch}).encode()
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    c.request("POST", "/v1/batch", body,
                              {"Content-Type": "application/json", "Authorization": auth})
                    r = c.getresponse()
                    r.read()
                    sent[0] += 1
                    if 200 <= r.status < 300:
                        acked.append([m["messageId"] for m in batch])
                except OSError:
                    return

        threads = [threading.Thread(target=client, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        time.sleep(random.uniform(0.3, 3.0))
        p.kill()
        p.wait()
        stop.set()
        for t in threads:
            t.join()
        # Restart: the server opens the database again and answers.
        p = subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        wait_healthy(port, p)
        p.terminate()
        p.wait()
        stored = b.message_ids()
        lost = sum(1 for batch in acked for m in batch if m not in stored)
        # No batch in part: each batch sent is all stored or none.
        prefixes = {}
        for m in stored:
            tid, n = m.split("-c")[1].split("-m")
            prefixes.setdefault((tid, (int(n) - 1) // 50), set()).add(m)
        partial = sum(1 for s in prefixes.values() if len(s) not in (50,))
        integrity = b.integrity()
        ok = lost == 0 and partial == 0 and integrity == "ok"
        failures += not ok
        print(
            f"  {b.kind} ingest #{i + 1}: {len(acked)} batches acknowledged ({sent[0]} answered); "
            f"lost acknowledged events={lost} partial batches={partial} integrity={integrity} "
            f"{'ok' if ok else 'FAILED'}",
            flush=True,
        )
        b.drop()
    return failures


def accounts_file(path, n):
    with open(path, "w") as f:
        f.write("id,name,industry,employees\n")
        for k in range(n):
            f.write(f"big-{k:07d},Account {k},Software,{10 + k % 900}\n")


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tenure", required=True)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], required=True)
    ap.add_argument("--pg-url")
    ap.add_argument("--files", required=True, help="folder of `tenure demo --out`")
    ap.add_argument("--work", required=True)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ARGS = ap.parse_args()
    random.seed(ARGS.seed)
    os.makedirs(ARGS.work, exist_ok=True)
    b = Backend(ARGS.backend, ARGS.work, ARGS.pg_url)
    accounts = os.path.join(ARGS.files, "accounts.csv")
    big = os.path.join(ARGS.work, "accounts-200k.csv")
    if not os.path.exists(big):
        accounts_file(big, 200_000)
    failures = 0
    print(f"{ARGS.backend}: events file, {ARGS.trials} kills", flush=True)
    failures += import_trials(b, "events", os.path.join(ARGS.files, "events.ndjson"), accounts, ARGS.trials)
    print(f"{ARGS.backend}: accounts file, {ARGS.trials} kills", flush=True)
    failures += import_trials(b, "accounts", big, accounts, ARGS.trials)
    print(f"{ARGS.backend}: ingest, {ARGS.trials} kills", flush=True)
    failures += ingest_trials(b, accounts, ARGS.trials)
    total = ARGS.trials * 3
    print(f"{ARGS.backend}: {total - failures} of {total} trials passed")
    sys.exit(1 if failures else 0)


ARGS = None

if __name__ == "__main__":
    main()
