-- Outbound (docs/REACT.md): the outbox of emails and webhook calls, which
-- is also their send log. A message is queued, then claimed and attempted
-- by the background job until it is sent or, after the configured number
-- of attempts, dead. Times are BIGINT microseconds (see 0001). No secret is
-- ever stored here: an email names its recipient, a webhook its endpoint's
-- name in tenure.toml.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,            -- email, webhook
    target          TEXT NOT NULL,            -- recipient address or endpoint name
    subject         TEXT,                     -- emails only
    body            TEXT NOT NULL,            -- email text or JSON payload
    status          TEXT NOT NULL,            -- queued, sent, failed, dead
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,                   -- NULL once sent or dead
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    source          TEXT NOT NULL,            -- e.g. playbook:NAME, test
    account_id      TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    claimed_until   BIGINT                    -- a sender holds it until then
);
-- The job's scan: what is due, oldest first.
CREATE INDEX outbox_due ON outbox (next_attempt_at);
-- The log, newest first.
CREATE INDEX outbox_created ON outbox (created_at);
CREATE INDEX outbox_account ON outbox (account_id);
