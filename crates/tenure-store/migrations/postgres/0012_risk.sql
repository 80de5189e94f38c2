-- The early-warning risk board and leadership reviews (docs/REACT.md).
-- Days are TEXT YYYY-MM-DD, times BIGINT microseconds, money BIGINT minor
-- units of the reporting currency (see 0001).

-- Accounts put on the board: by hand, by a playbook or for a red band.
CREATE TABLE risk_flags (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    reason         TEXT NOT NULL,
    source         TEXT NOT NULL,          -- manual, playbook:NAME, band
    flagged_on     TEXT NOT NULL,
    flagged_by     TEXT,
    next_step      TEXT,
    next_step_due  TEXT,
    resolved_on    TEXT,
    outcome        TEXT,                   -- saved, churned, downgraded; NULL: left the red band
    notes          TEXT,
    -- A band flag resolved by hand keeps a red account off the board until
    -- the daily pass first sees it out of the red band, on this day.
    cleared_on     TEXT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX risk_flags_account ON risk_flags (account_id, resolved_on);
CREATE INDEX risk_flags_open ON risk_flags (resolved_on, flagged_on);

-- Each day's measure of the board, for the book (segment '') and per segment.
CREATE TABLE risk_measures (
    day               TEXT NOT NULL,
    segment           TEXT NOT NULL,
    accounts_at_risk  BIGINT NOT NULL,
    arr_at_risk       BIGINT NOT NULL,
    total_arr         BIGINT NOT NULL,
    PRIMARY KEY (day, segment)
);

-- The thresholds a measure was above on the last measured day.
CREATE TABLE risk_threshold_state (
    threshold  TEXT PRIMARY KEY,           -- arr_at_risk, SEGMENT/accounts_at_risk, ...
    above      BIGINT NOT NULL,
    since      TEXT NOT NULL,
    last_day   TEXT NOT NULL
);

CREATE TABLE risk_reviews (
    id          TEXT PRIMARY KEY,
    opened_on   TEXT NOT NULL,
    crossed     TEXT NOT NULL,             -- the thresholds that crossed, in words
    status      TEXT NOT NULL,             -- open, held
    held_on     TEXT,
    attendees   TEXT,                      -- comma-separated
    created_at  BIGINT NOT NULL
);
CREATE INDEX risk_reviews_opened ON risk_reviews (opened_on);

CREATE TABLE risk_review_items (
    review_id    TEXT NOT NULL REFERENCES risk_reviews (id) ON DELETE CASCADE,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    arr          BIGINT NOT NULL,          -- ARR at risk when the review opened
    reason       TEXT NOT NULL,
    decision     TEXT,
    action       TEXT,
    owner_email  TEXT,
    due_on       TEXT,
    task_id      TEXT,
    PRIMARY KEY (review_id, account_id)
);
CREATE INDEX risk_review_items_account ON risk_review_items (account_id);
