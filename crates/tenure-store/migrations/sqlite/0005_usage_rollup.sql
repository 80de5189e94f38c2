-- Usage rollups: what today's health scores need from the events, kept up
-- to date by a trigger as events are written, so that scoring reads one row
-- per account, day and event name (and one per user and 64 days, and one per
-- user ever seen) instead of every event. The first two are keyed by day (or
-- block) first: the days a score looks back over are one contiguous range.
-- Days are whole UTC days since 1970-01-01 (floor division, so a timestamp
-- before 1970 falls on the right day).
CREATE TABLE usage_days (
    day        INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    event      TEXT NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (day, account_id, event)
) WITHOUT ROWID;

-- Bit k of `days` is set when the user had an event on day block * 64 + k.
CREATE TABLE usage_users (
    block      INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    days       INTEGER NOT NULL,
    PRIMARY KEY (block, account_id, user_id)
) WITHOUT ROWID;

-- Each user's first day, for users ever seen (known users).
CREATE TABLE usage_user_first (
    account_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    first_day  INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id)
) WITHOUT ROWID;

INSERT INTO usage_days (day, account_id, event, n)
    SELECT (ts - ((ts % 86400000000) + 86400000000) % 86400000000) / 86400000000,
           account_id, event, COUNT(*)
    FROM events GROUP BY 1, 2, 3;

-- The sum of distinct powers of two is their bitwise OR (bit 63 included:
-- adding it last or first never leaves the 64-bit range).
INSERT INTO usage_users (block, account_id, user_id, days)
    SELECT (d - ((d % 64) + 64) % 64) / 64, account_id, user_id,
           SUM(DISTINCT 1 << (((d % 64) + 64) % 64))
    FROM (SELECT (ts - ((ts % 86400000000) + 86400000000) % 86400000000) / 86400000000 AS d,
                 account_id, user_id FROM events)
    GROUP BY 1, 2, 3;

INSERT INTO usage_user_first (account_id, user_id, first_day)
    SELECT account_id, user_id, MIN((ts - ((ts % 86400000000) + 86400000000) % 86400000000) / 86400000000)
    FROM events GROUP BY account_id, user_id;

CREATE TRIGGER events_usage AFTER INSERT ON events BEGIN
    INSERT INTO usage_days (day, account_id, event, n)
        VALUES ((NEW.ts - ((NEW.ts % 86400000000) + 86400000000) % 86400000000) / 86400000000,
                NEW.account_id, NEW.event, 1)
        ON CONFLICT (day, account_id, event) DO UPDATE SET n = n + 1;
    INSERT INTO usage_users (block, account_id, user_id, days)
        SELECT (d - ((d % 64) + 64) % 64) / 64, NEW.account_id, NEW.user_id,
               1 << (((d % 64) + 64) % 64)
        FROM (SELECT (NEW.ts - ((NEW.ts % 86400000000) + 86400000000) % 86400000000)
                     / 86400000000 AS d)
        WHERE true
        ON CONFLICT (block, account_id, user_id) DO UPDATE SET days = days | excluded.days;
    INSERT INTO usage_user_first (account_id, user_id, first_day)
        VALUES (NEW.account_id, NEW.user_id,
                (NEW.ts - ((NEW.ts % 86400000000) + 86400000000) % 86400000000) / 86400000000)
        ON CONFLICT (account_id, user_id) DO UPDATE SET first_day = excluded.first_day
        WHERE excluded.first_day < first_day;
END;
