-- Target (docs/TARGET.md): success plans with goals, milestones and proven
-- value, and tasks. Days are TEXT YYYY-MM-DD, times BIGINT microseconds,
-- booleans BIGINT 0/1 (see 0001). Every row names its account so that a
-- CSM's scope and the account's deletion reach it directly.
CREATE TABLE success_plans (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,            -- active, completed, cancelled
    started_on  TEXT NOT NULL,
    closed_on   TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX success_plans_account ON success_plans (account_id, status);

-- The templates applied to a plan, so that each is applied once.
CREATE TABLE plan_templates (
    plan_id     TEXT NOT NULL REFERENCES success_plans (id) ON DELETE CASCADE,
    template    TEXT NOT NULL,
    applied_on  TEXT NOT NULL,
    PRIMARY KEY (plan_id, template)
);

CREATE TABLE plan_goals (
    id          TEXT PRIMARY KEY,
    plan_id     TEXT NOT NULL REFERENCES success_plans (id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    metric      TEXT,                     -- NULL: the value is set by hand
    target      DOUBLE PRECISION NOT NULL,
    at_most     BIGINT NOT NULL DEFAULT 0,
    value       DOUBLE PRECISION,                       -- by hand, or the metric's last value
    measured_on TEXT,
    achieved_on TEXT,                     -- the first day the target was met
    template    TEXT,
    position    BIGINT NOT NULL
);
CREATE INDEX plan_goals_plan ON plan_goals (plan_id);

CREATE TABLE plan_milestones (
    id          TEXT PRIMARY KEY,
    plan_id     TEXT NOT NULL REFERENCES success_plans (id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    due_on      TEXT NOT NULL,
    owner_role  TEXT NOT NULL,
    owner_email TEXT,
    status      TEXT NOT NULL,            -- open, done, missed, dropped
    done_on     TEXT,
    template    TEXT,
    position    BIGINT NOT NULL
);
CREATE INDEX plan_milestones_plan ON plan_milestones (plan_id);
CREATE INDEX plan_milestones_due ON plan_milestones (due_on);

CREATE TABLE proven_value (
    id           TEXT PRIMARY KEY,
    plan_id      TEXT NOT NULL REFERENCES success_plans (id) ON DELETE CASCADE,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    evidence     TEXT,
    delivered_on TEXT NOT NULL,
    confirmed    BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);
CREATE INDEX proven_value_plan ON proven_value (plan_id);

CREATE TABLE tasks (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    owner_email   TEXT,
    due_on        TEXT,
    status        TEXT NOT NULL,          -- open, done, dropped
    priority      TEXT NOT NULL,          -- low, normal, high, urgent
    source        TEXT NOT NULL,          -- manual, milestone, playbook, review
    source_id     TEXT,                   -- the milestone (or play, review) behind it
    notes         TEXT,
    log_kind      TEXT,                   -- the engagement kind completing it logs
    engagement_id TEXT,                   -- the engagement it logged
    created_at    BIGINT NOT NULL,
    completed_on  TEXT
);
CREATE INDEX tasks_owner ON tasks (owner_email, status, due_on);
CREATE INDEX tasks_account ON tasks (account_id, status);
CREATE INDEX tasks_source ON tasks (source, source_id);
