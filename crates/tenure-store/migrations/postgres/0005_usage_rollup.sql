-- Usage rollups: what today's health scores need from the events, kept up
-- to date by a trigger as events are written, so that scoring reads one row
-- per account, day and event name (and one per user and 64 days, and one per
-- user ever seen) instead of every event. The first two are keyed by day (or
-- block) first: the days a score looks back over are one contiguous range.
-- Days are whole UTC days since 1970-01-01 (floor division, so a timestamp
-- before 1970 falls on the right day).
CREATE TABLE usage_days (
    day        BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    event      TEXT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (day, account_id, event)
);

-- Bit k of `days` is set when the user had an event on day block * 64 + k.
CREATE TABLE usage_users (
    block      BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    days       BIGINT NOT NULL,
    PRIMARY KEY (block, account_id, user_id)
);

-- Each user's first day, for users ever seen (known users).
CREATE TABLE usage_user_first (
    account_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    first_day  BIGINT NOT NULL,
    PRIMARY KEY (account_id, user_id)
);

-- One statement-level trigger per INSERT statement: the new rows are
-- grouped and upserted once, in key order (so that concurrent writers lock
-- rollup rows in the same order).
CREATE FUNCTION events_usage_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_days (day, account_id, event, n)
        SELECT d, account_id, event, COUNT(*)
        FROM (SELECT (ts - ((ts % 86400000000) + 86400000000) % 86400000000) / 86400000000 AS d,
                     account_id, event FROM new_events) e
        GROUP BY d, account_id, event
        ORDER BY d, account_id, event
        ON CONFLICT (day, account_id, event) DO UPDATE SET n = usage_days.n + excluded.n;
    INSERT INTO usage_users (block, account_id, user_id, days)
        SELECT (d - ((d % 64) + 64) % 64) / 64 AS b, account_id, user_id,
               bit_or(1::bigint << (((d % 64) + 64) % 64)::int)
        FROM (SELECT (ts - ((ts % 86400000000) + 86400000000) % 86400000000) / 86400000000 AS d,
                     account_id, user_id FROM new_events) e
        GROUP BY b, account_id, user_id
        ORDER BY b, account_id, user_id
        ON CONFLICT (block, account_id, user_id)
            DO UPDATE SET days = usage_users.days | excluded.days;
    INSERT INTO usage_user_first (account_id, user_id, first_day)
        SELECT account_id, user_id,
               MIN((ts - ((ts % 86400000000) + 86400000000) % 86400000000) / 86400000000)
        FROM new_events
        GROUP BY account_id, user_id
        ORDER BY account_id, user_id
        ON CONFLICT (account_id, user_id) DO UPDATE SET first_day = excluded.first_day
            WHERE excluded.first_day < usage_user_first.first_day;
    RETURN NULL;
END
$$;

INSERT INTO usage_days (day, account_id, event, n)
    SELECT d, account_id, event, COUNT(*)
    FROM (SELECT (ts - ((ts % 86400000000) + 86400000000) % 86400000000) / 86400000000 AS d,
                 account_id, event FROM events) e
    GROUP BY d, account_id, event;
INSERT INTO usage_users (block, account_id, user_id, days)
    SELECT (d - ((d % 64) + 64) % 64) / 64 AS b, account_id, user_id,
           bit_or(1::bigint << (((d % 64) + 64) % 64)::int)
    FROM (SELECT (ts - ((ts % 86400000000) + 86400000000) % 86400000000) / 86400000000 AS d,
                 account_id, user_id FROM events) e
    GROUP BY b, account_id, user_id;

INSERT INTO usage_user_first (account_id, user_id, first_day)
    SELECT account_id, user_id,
           MIN((ts - ((ts % 86400000000) + 86400000000) % 86400000000) / 86400000000)
    FROM events GROUP BY account_id, user_id;

CREATE TRIGGER events_usage AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_usage_insert();
