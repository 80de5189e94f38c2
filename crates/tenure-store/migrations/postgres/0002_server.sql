-- What `tenure serve` needs (PostgreSQL): sessions, the scope of CSM keys, Segment
-- ingest state and Stripe billing state. Same conventions as 0001: timestamps are
-- BIGINT microseconds UTC, dates TEXT, booleans BIGINT 0/1, money BIGINT minor units.

-- A CSM key acts for one CSM (their email picks their accounts) unless it has
-- all_accounts = 1; users get the same flag for wider access.
ALTER TABLE api_keys ADD COLUMN user_email TEXT;
ALTER TABLE api_keys ADD COLUMN all_accounts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN all_accounts BIGINT NOT NULL DEFAULT 0;

-- Web sessions: the cookie holds a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Segment ingest: every messageId seen (for de-duplication of all message types).
CREATE TABLE ingest_messages (
    message_id  TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL
);

-- Segment users: traits from identify calls and the account of their last group call.
CREATE TABLE segment_users (
    user_id    TEXT PRIMARY KEY,
    account_id TEXT,
    email      TEXT,
    name       TEXT,
    role       TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX segment_users_account ON segment_users (account_id);

-- Track and page calls whose account is not known yet; moved into events when
-- the user's group call arrives.
CREATE TABLE pending_events (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     TEXT NOT NULL,
    event       TEXT NOT NULL,
    ts          BIGINT NOT NULL,
    properties  TEXT,
    message_id  TEXT,
    received_at BIGINT NOT NULL
);
CREATE INDEX pending_events_user ON pending_events (user_id);

-- Stripe: webhook event ids already processed (idempotency).
CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

-- Stripe customers and the account each maps to.
CREATE TABLE billing_customers (
    customer_id TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    updated_at  BIGINT NOT NULL
);

-- Stripe subscriptions and the subscriptions row that currently carries each:
-- an amount change ends that row and starts a new one (MRR history stays true).
CREATE TABLE billing_subscriptions (
    stripe_id   TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    current_row TEXT NOT NULL,
    rows_made   BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Failed payments (invoice.payment_failed), read by the health scorecard.
CREATE TABLE payment_failures (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    occurred_at  BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    invoice_id   TEXT
);
CREATE INDEX payment_failures_account ON payment_failures (account_id, occurred_at);
