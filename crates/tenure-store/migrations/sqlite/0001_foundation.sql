-- Tenure's foundation schema (SQLite). Append-only: never edit a shipped migration.
-- Dates are TEXT 'YYYY-MM-DD'; timestamps are BIGINT microseconds since the Unix
-- epoch (UTC); money is BIGINT minor units plus a currency code. The PostgreSQL
-- schema uses the same column names and types so that one set of queries serves both;
-- booleans are BIGINT 0/1 because sqlx's Any driver cannot read SQLite BOOLEAN columns.

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    industry    TEXT,
    employees   BIGINT,
    region      TEXT,
    plan        TEXT,
    csm_email   TEXT,
    created_at  TEXT,
    trial_start TEXT,
    trial_end   TEXT,
    attributes  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX accounts_csm ON accounts (csm_email);

CREATE TABLE contacts (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    name       TEXT,
    role       TEXT,
    champion   BIGINT
);
CREATE INDEX contacts_account ON contacts (account_id);

CREATE TABLE subscriptions (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    mrr_minor    BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    plan         TEXT,
    seats        BIGINT,
    start_date   TEXT NOT NULL,
    end_date     TEXT,
    renewal_date TEXT
);
CREATE INDEX subscriptions_account ON subscriptions (account_id);

-- Events carry no foreign key: they arrive in bulk and the importer checks
-- accounts itself; deleting an account deletes its events explicitly.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    event      TEXT NOT NULL,
    ts         BIGINT NOT NULL,
    properties TEXT,
    message_id TEXT
);
CREATE INDEX events_account_ts ON events (account_id, ts);
-- Covers the window scans of metrics and health (time range, then who and what).
CREATE INDEX events_ts ON events (ts, account_id, user_id, event);
CREATE UNIQUE INDEX events_message_id ON events (message_id) WHERE message_id IS NOT NULL;

CREATE TABLE tickets (
    id                     TEXT PRIMARY KEY,
    account_id             TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    opened_at              BIGINT NOT NULL,
    closed_at              BIGINT,
    priority               TEXT,
    first_contact_resolved BIGINT,
    csat                   BIGINT
);
CREATE INDEX tickets_account ON tickets (account_id, opened_at);

CREATE TABLE survey_responses (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contact_id   TEXT,
    kind         TEXT NOT NULL,
    score        BIGINT NOT NULL,
    responded_at BIGINT NOT NULL,
    comment      TEXT
);
CREATE INDEX survey_responses_account ON survey_responses (account_id, responded_at);

CREATE TABLE engagements (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    csm_email   TEXT,
    notes       TEXT
);
CREATE INDEX engagements_account ON engagements (account_id, occurred_at);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT,
    role          TEXT NOT NULL,
    password_hash TEXT,
    created_at    BIGINT NOT NULL,
    disabled      BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    role         TEXT,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);

CREATE TABLE import_log (
    id          INTEGER PRIMARY KEY,
    file_name   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    rows_read   BIGINT NOT NULL,
    inserted    BIGINT NOT NULL,
    updated     BIGINT NOT NULL,
    checksum    TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL
);
