-- The background jobs' record (docs/OPERATIONS.md, "Running several
-- servers"): one row per pass of a job that ran (`daily`: scores, stages,
-- playbooks, surveys, risk board, CRM changes; `feedback`), with the
-- server that ran it, the day and the data it saw (`data_key`, the data
-- fingerprint), when it started and finished, and its outcome. Every
-- server reads the last row of a job before running it, so a pass one
-- server made is not made again by another for the same data and day.
CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY,
    job         TEXT NOT NULL,
    instance    TEXT NOT NULL,
    day         TEXT NOT NULL,
    data_key    TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    written     BIGINT NOT NULL,
    error       TEXT
);
CREATE INDEX job_runs_by_job ON job_runs (job, id);

-- Who holds a job now, on SQLite (PostgreSQL uses advisory locks and
-- leaves this table empty): a lease that runs out at `expires_at`
-- (microseconds), so a server that died holding a job gives it up.
CREATE TABLE job_leases (
    job        TEXT PRIMARY KEY,
    instance   TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
