-- Usage totals: one row per account and day with its events of any name and
-- the set of names seen, so that today's health scores read one row per
-- account and day for event counts and feature adoption instead of one per
-- event name (`usage_days` stays for counts of named events). A name's bit
-- is its number in `usage_names` minus one, for the first 62 names; a name
-- numbered later has no bit and is read from `usage_days` instead.
CREATE TABLE usage_names (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE usage_totals (
    day        INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    n          INTEGER NOT NULL,
    names      INTEGER NOT NULL,
    PRIMARY KEY (day, account_id)
) WITHOUT ROWID;

INSERT INTO usage_names (name) SELECT DISTINCT event FROM usage_days ORDER BY event;

-- Each name appears once per account and day, so the sum of the bits is
-- their bitwise OR.
INSERT INTO usage_totals (day, account_id, n, names)
    SELECT d.day, d.account_id, SUM(d.n),
           SUM(CASE WHEN u.id <= 62 THEN 1 << (u.id - 1) ELSE 0 END)
    FROM usage_days d JOIN usage_names u ON u.name = d.event
    GROUP BY d.day, d.account_id;

CREATE TRIGGER events_usage_totals AFTER INSERT ON events BEGIN
    INSERT INTO usage_names (name)
        SELECT NEW.event WHERE NOT EXISTS (SELECT 1 FROM usage_names WHERE name = NEW.event);
    INSERT INTO usage_totals (day, account_id, n, names)
        SELECT (NEW.ts - ((NEW.ts % 86400000000) + 86400000000) % 86400000000) / 86400000000,
               NEW.account_id, 1, CASE WHEN id <= 62 THEN 1 << (id - 1) ELSE 0 END
        FROM usage_names WHERE name = NEW.event
        ON CONFLICT (day, account_id) DO UPDATE SET n = n + 1, names = names | excluded.names;
END;
