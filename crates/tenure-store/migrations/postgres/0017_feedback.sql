-- Feedback and product requests (docs/FEEDBACK.md). Days are TEXT
-- YYYY-MM-DD, times BIGINT microseconds (see 0001).

-- A ticket's text, which becomes feedback.
ALTER TABLE tickets ADD COLUMN subject TEXT;
ALTER TABLE tickets ADD COLUMN description TEXT;

-- What customers said: survey comments, ticket text and CSM notes,
-- materialised each day with a stable id per source row
-- (fb-survey-ID, fb-ticket-ID, fb-note-ID), and items sent to the API.
CREATE TABLE feedback_items (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contact_id  TEXT,
    source      TEXT NOT NULL,             -- survey, ticket, note, api
    source_id   TEXT,                      -- the survey response, ticket or engagement
    text        TEXT NOT NULL,
    day         TEXT NOT NULL,
    kind        TEXT,                      -- nps, csat, ces: the score's scale
    score       BIGINT,
    sentiment   TEXT,                      -- negative, neutral, positive
    created_by  TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX feedback_items_day ON feedback_items (day, id);
CREATE INDEX feedback_items_account ON feedback_items (account_id, day);

-- The themes each item has, from [[feedback.themes]], rewritten when an
-- item or the rules change.
CREATE TABLE feedback_themes (
    item_id  TEXT NOT NULL REFERENCES feedback_items (id) ON DELETE CASCADE,
    theme    TEXT NOT NULL,
    position BIGINT NOT NULL,              -- the theme's place in the configuration
    PRIMARY KEY (item_id, theme)
);
CREATE INDEX feedback_themes_theme ON feedback_themes (theme, item_id);

CREATE TABLE product_requests (
    id           TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    description  TEXT,
    status       TEXT NOT NULL,            -- open, planned, shipped, declined
    created_by   TEXT,
    created_at   BIGINT NOT NULL,
    status_on    TEXT NOT NULL             -- the day the status was last set
);

-- The accounts asking for a request, each at most once, with the feedback
-- item it came from when there is one.
CREATE TABLE product_request_accounts (
    request_id   TEXT NOT NULL REFERENCES product_requests (id) ON DELETE CASCADE,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    feedback_id  TEXT,
    added_on     TEXT NOT NULL,
    added_by     TEXT,
    PRIMARY KEY (request_id, account_id)
);
CREATE INDEX product_request_accounts_account ON product_request_accounts (account_id);
