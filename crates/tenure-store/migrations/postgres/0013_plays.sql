-- Playbooks (docs/REACT.md): each enrolment of an account in a playbook
-- with its trace (the playbook's version, the trigger as written and the
-- values it read), the actions run or skipped, and the notes playbooks
-- add to an account's timeline. Days are TEXT YYYY-MM-DD (see 0001).
CREATE TABLE play_enrolments (
    id          TEXT PRIMARY KEY,
    playbook    TEXT NOT NULL,
    version     TEXT NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    enrolled_on TEXT NOT NULL,
    exited_on   TEXT,
    exit_reason TEXT,                  -- finished or exit
    trigger     TEXT NOT NULL,
    inputs      TEXT NOT NULL          -- JSON object: field -> value seen
);
CREATE INDEX play_enrolments_playbook ON play_enrolments (playbook, account_id);
CREATE INDEX play_enrolments_account ON play_enrolments (account_id, enrolled_on);

CREATE TABLE play_actions (
    enrolment_id TEXT NOT NULL REFERENCES play_enrolments (id) ON DELETE CASCADE,
    action       BIGINT NOT NULL,      -- index in the playbook's actions
    run_on       TEXT NOT NULL,
    result       TEXT NOT NULL,        -- done or skipped
    detail       TEXT,                 -- the task made, or the note
    PRIMARY KEY (enrolment_id, action)
);

CREATE TABLE account_notes (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    day        TEXT NOT NULL,
    text       TEXT NOT NULL,
    source     TEXT NOT NULL           -- playbook:NAME
);
CREATE INDEX account_notes_account ON account_notes (account_id, day);
