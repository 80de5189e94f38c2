-- Engage (docs/ENGAGE.md): the runs of days each account spent in a
-- journey stage and in a segment. A run is open while left_on is null;
-- the daily pass closes it on the day the account moves and opens the
-- next. Cadence counts an account as under a policy from the later of its
-- stage's and its segment's entry day.
CREATE TABLE engage_runs (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    dimension  TEXT NOT NULL,
    name       TEXT NOT NULL,
    tier       TEXT,
    entered_on TEXT NOT NULL,
    left_on    TEXT,
    PRIMARY KEY (account_id, dimension, entered_on)
);

CREATE INDEX engage_runs_open ON engage_runs (dimension, left_on);
