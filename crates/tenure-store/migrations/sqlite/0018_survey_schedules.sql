-- Surveys scheduled for a day (docs/VOICE.md, "Scheduling a survey"): a
-- leader picks a survey and a day; the background job sends it on that
-- day (or at its first pass after, if no pass ran that day) to every
-- contact of its audience the fatigue limit lets be surveyed, in the
-- same transaction that marks the schedule sent with how many contacts
-- it reached. Days are TEXT YYYY-MM-DD; times are microseconds since the
-- Unix epoch.
CREATE TABLE survey_schedules (
    id          TEXT PRIMARY KEY,
    survey      TEXT NOT NULL,
    send_on     TEXT NOT NULL,
    status      TEXT NOT NULL,      -- scheduled, sent or cancelled
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    done_at     BIGINT,             -- when it was sent or cancelled
    done_by     TEXT,               -- who cancelled it
    sent        BIGINT              -- contacts it was sent to
);
CREATE INDEX survey_schedules_due ON survey_schedules (status, send_on);
