-- Daily snapshots keyed by day first: a day's recompute writes its rows
-- side by side at the end of the table instead of into every account's run
-- of rows (one page per account). At 100,000 accounts with a year of
-- history that made storing a new day's 54,000 scores take seconds. An
-- account's history is read day by day (`day IN (...)`), one seek per day.
-- Without a foreign key: checking one on every account deletion would scan
-- all snapshots; deleting an account deletes its snapshots explicitly.
CREATE TABLE health_snapshots_by_day (
    day               TEXT NOT NULL,
    account_id        TEXT NOT NULL,
    score             REAL,
    band              TEXT,
    computed          REAL,
    override_id       BIGINT,
    scorecard_version TEXT NOT NULL,
    measures          TEXT NOT NULL,
    computed_at       BIGINT NOT NULL,
    PRIMARY KEY (day, account_id)
) WITHOUT ROWID;

INSERT INTO health_snapshots_by_day
    SELECT day, account_id, score, band, computed, override_id, scorecard_version,
           measures, computed_at
    FROM health_snapshots ORDER BY day, account_id;

DROP TABLE health_snapshots;
ALTER TABLE health_snapshots_by_day RENAME TO health_snapshots;
