-- Surveys (docs/VOICE.md): the send log, one row per survey sent to a
-- contact (by email or in the product), with the SHA-256 hash of its
-- single-use token (never the token), when it expires and when it was
-- answered; and the contacts who unsubscribed from surveys. Answers are
-- rows of survey_responses (0001), so metrics and health read them as
-- they read imported ones. Days are TEXT YYYY-MM-DD (see 0001); times are
-- microseconds since the Unix epoch.
CREATE TABLE survey_sends (
    id           TEXT PRIMARY KEY,
    survey       TEXT NOT NULL,
    kind         TEXT NOT NULL,        -- nps, csat or ces
    channel      TEXT NOT NULL,        -- email or in_app
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contact_id   TEXT NOT NULL,
    segment      TEXT,                 -- the account's segment when sent
    csm_email    TEXT,                 -- the account's CSM when sent
    token_hash   TEXT NOT NULL UNIQUE,
    sent_on      TEXT NOT NULL,
    sent_at      BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    answered_at  BIGINT,
    response_id  TEXT,
    message_id   TEXT                  -- the outbox email, if any
);
CREATE INDEX survey_sends_contact ON survey_sends (contact_id, sent_on);
CREATE INDEX survey_sends_survey ON survey_sends (survey, sent_on);

CREATE TABLE survey_unsubscribes (
    contact_id      TEXT PRIMARY KEY,
    unsubscribed_at BIGINT NOT NULL
);
