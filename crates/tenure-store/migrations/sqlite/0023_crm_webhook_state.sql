-- The account-change webhook (docs/CRM.md, "Account changes to your
-- CRM"): each account's watched fields as last queued for the CRM, and
-- the outbox message that carried them. The job compares the current
-- state with this row and queues only what changed; the row and the
-- message are written in one transaction. An account without a row has
-- never been sent; `message_id` is NULL for a state recorded without
-- sending (`tenure crm changes --mark-sent`).
CREATE TABLE crm_webhook_state (
    account_id  TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    health_band TEXT,
    at_risk     BIGINT NOT NULL,
    segment     TEXT,
    tier        TEXT,
    stage       TEXT,
    nps         BIGINT,
    queued_at   BIGINT NOT NULL,
    message_id  TEXT
);
