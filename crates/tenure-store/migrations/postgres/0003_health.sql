-- Health scores (DESIGN §5, PostgreSQL): daily snapshots, the scorecards they were computed
-- with, manual overrides, and an audit log of changes made by people.
-- Same columns and portable types as the SQLite file; DOUBLE PRECISION and
-- SQLite's REAL both read back as 64-bit floats.

-- One row per scorecard version ever used: the measure names, kinds and
-- weights, so that snapshots only store numbers.
CREATE TABLE health_scorecards (
    version  TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    measures TEXT NOT NULL,  -- JSON: [{"name", "kind", "weight"}, ...]
    first_used_at BIGINT NOT NULL
);

-- An account's score as of the end of a UTC day, computed from the data as it
-- was on that day.
CREATE TABLE health_snapshots (
    account_id        TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    day               TEXT NOT NULL,
    score             DOUBLE PRECISION, -- NULL when no measure has data
    band              TEXT,           -- red, yellow, green
    computed          DOUBLE PRECISION, -- the computed score (differs when overridden)
    override_id       BIGINT,
    scorecard_version TEXT NOT NULL,
    measures          TEXT NOT NULL,  -- JSON: [[raw, points, contribution], ...] in scorecard order
    computed_at       BIGINT NOT NULL,
    PRIMARY KEY (account_id, day)
);
CREATE INDEX health_snapshots_day ON health_snapshots (day);

CREATE TABLE health_overrides (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    score       DOUBLE PRECISION NOT NULL,
    reason      TEXT NOT NULL,
    author      TEXT NOT NULL,
    set_on      TEXT NOT NULL,   -- first day it applies
    valid_until TEXT NOT NULL,   -- last day it applies
    created_at  BIGINT NOT NULL,
    cleared_on  TEXT,            -- cleared: no longer applies from this day
    cleared_by  TEXT
);
CREATE INDEX health_overrides_account ON health_overrides (account_id);

CREATE TABLE audit_log (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,   -- e.g. health.override.set
    entity    TEXT NOT NULL,   -- e.g. account
    entity_id TEXT,
    details   TEXT NOT NULL DEFAULT '{}'  -- JSON
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
