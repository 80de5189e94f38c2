-- Tenure on PostgreSQL: the events table partitioned by month.
--
-- Converts Tenure's `events` table into a table partitioned by month of `ts`
-- (declarative RANGE partitioning, PostgreSQL 13 or later), in one
-- transaction: any error rolls everything back and leaves the table as it
-- was. Run it once, with Tenure stopped (or expect writes to wait for it):
--
--   psql "$TENURE_DB" -v ON_ERROR_STOP=1 -f partition-events.sql
--
-- Upgrade Tenure first: older builds insert events with `ON CONFLICT
-- (message_id) ...`, which PostgreSQL refuses on a partitioned table.
--
-- What it makes (docs/SCALE.md explains the plan):
--   * `events`, partitioned by RANGE (ts), with the same columns and the
--     same indexes: `events_account_ts`, `events_ts`, and a primary key of
--     (seq, ts), because a unique index on a partitioned table must hold the
--     partition key. `seq` keeps counting from where it stood.
--   * One partition per month that holds events (`events_2026_01` holds
--     January 2026, UTC), the current month and the next three, and
--     `events_default` for anything else.
--   * `event_message_ids`: every stored event's `message_id`, unique. A
--     unique index on `message_id` alone is not allowed on a partitioned
--     table, so a BEFORE INSERT trigger claims the id here and skips the row
--     when the id is already taken: an event whose `message_id` is stored
--     already is skipped exactly as before, across all months, also when two
--     writers race. Deleting events (with their account) releases the ids.
--   * The usage rollup triggers (`events_usage`, `events_usage_totals`) on
--     the new table, so `usage_days`, `usage_users`, `usage_user_first` and
--     `usage_totals` keep following every insert. The rows moved here are
--     already counted in them and are not counted again.
--   * `events_add_partitions(ahead)`: creates the partitions of the current
--     month and the `ahead` months after it that are missing; run it monthly
--     (cron). `events_add_month(day)` creates one month's partition and
--     moves that month's rows out of `events_default`.
--
-- Dropping a month (retention) is `DROP TABLE events_2024_01;`: the usage
-- rollups keep that month's per-day counts.

BEGIN;

DO $$
BEGIN
    IF current_setting('server_version_num')::int < 130000 THEN
        RAISE EXCEPTION 'partition-events.sql needs PostgreSQL 13 or later; this server is %',
            current_setting('server_version');
    END IF;
    IF to_regclass('events') IS NULL THEN
        RAISE EXCEPTION 'there is no events table in this database (schema search path: %); run any tenure command with --db pointing here first, so that it creates the tables',
            current_setting('search_path');
    END IF;
    IF EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'events'::regclass) THEN
        RAISE EXCEPTION 'events is already partitioned: nothing to do (new months: SELECT events_add_partitions(3))';
    END IF;
    IF to_regclass('events_before_partitioning') IS NOT NULL
        OR to_regclass('event_message_ids') IS NOT NULL THEN
        RAISE EXCEPTION 'events_before_partitioning or event_message_ids already exists; remove it first';
    END IF;
END
$$;

-- Writers wait until the conversion commits.
LOCK TABLE events IN ACCESS EXCLUSIVE MODE;

-- The old table steps aside with its indexes and sequence, freeing the names.
ALTER TABLE events RENAME TO events_before_partitioning;
ALTER TABLE events_before_partitioning RENAME CONSTRAINT events_pkey TO events_before_partitioning_pkey;
ALTER INDEX events_account_ts RENAME TO events_before_partitioning_account_ts;
ALTER INDEX events_ts RENAME TO events_before_partitioning_ts;
ALTER INDEX events_message_id RENAME TO events_before_partitioning_message_id;
DO $$
BEGIN
    EXECUTE format('ALTER SEQUENCE %s RENAME TO events_before_partitioning_seq_seq',
        pg_get_serial_sequence('events_before_partitioning', 'seq'));
END
$$;

CREATE TABLE events (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    event      TEXT NOT NULL,
    ts         BIGINT NOT NULL,
    properties TEXT,
    message_id TEXT
) PARTITION BY RANGE (ts);

CREATE TABLE events_default PARTITION OF events DEFAULT;

-- Every stored message id, for de-duplication across partitions; `ts` lets
-- retention forget the ids of the months it drops.
CREATE TABLE event_message_ids (
    message_id TEXT PRIMARY KEY,
    ts         BIGINT NOT NULL
);

-- One month's partition, named events_YYYY_MM, for the UTC month holding
-- `day`; rows of that month already in events_default move into it. Returns
-- the partition's name, or NULL when it exists already. The table is made
-- on its own and attached, which blocks writers to events only while the
-- default partition is checked, not while rows move.
CREATE FUNCTION events_add_month(day date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', day)::date;
    lo bigint := extract(epoch FROM first::timestamp)::bigint * 1000000;
    hi bigint := extract(epoch FROM (first + interval '1 month')::timestamp)::bigint * 1000000;
    part text := 'events_' || to_char(first, 'YYYY_MM');
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        IF NOT EXISTS (SELECT 1 FROM pg_inherits
                       WHERE inhrelid = to_regclass(part) AND inhparent = 'events'::regclass) THEN
            RAISE EXCEPTION 'a table named % exists but is not a partition of events; rename or drop it first',
                part;
        END IF;
        RETURN NULL;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE events)', part);
    -- A statement on the default partition itself fires none of the
    -- statement triggers of events: the moved rows are not counted again.
    EXECUTE format(
        'WITH moved AS (DELETE FROM events_default WHERE ts >= %s AND ts < %s RETURNING *) '
        'INSERT INTO %I SELECT * FROM moved', lo, hi, part);
    EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)',
        part, lo, hi);
    RETURN part;
END
$$;

-- The partitions of the current month and the `ahead` months after it that
-- do not exist yet; returns how many it made. Run monthly, e.g. from cron:
--   psql "$TENURE_DB" -c 'SELECT events_add_partitions(3)'
CREATE FUNCTION events_add_partitions(ahead integer DEFAULT 3) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    made integer := 0;
    this_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
BEGIN
    IF ahead < 0 THEN
        RAISE EXCEPTION 'events_add_partitions: ahead must be 0 or more, got %', ahead;
    END IF;
    FOR i IN 0..ahead LOOP
        IF events_add_month((this_month + make_interval(months => i))::date) IS NOT NULL THEN
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END
$$;

-- A partition for each month that holds events, found by walking the
-- events_ts index from month to month rather than reading every row.
DO $$
DECLARE
    t bigint := (SELECT MIN(ts) FROM events_before_partitioning);
    first date;
BEGIN
    WHILE t IS NOT NULL LOOP
        first := date_trunc('month', to_timestamp(t / 1000000.0) AT TIME ZONE 'UTC')::date;
        PERFORM events_add_month(first);
        t := (SELECT MIN(ts) FROM events_before_partitioning
              WHERE ts >= extract(epoch FROM (first + interval '1 month')::timestamp)::bigint * 1000000);
    END LOOP;
END
$$;
SELECT events_add_partitions(3);

-- The rows move with their seq; no trigger is on the new table yet, so the
-- rollups, which count these rows already, stay as they are.
INSERT INTO events (seq, account_id, user_id, event, ts, properties, message_id)
    OVERRIDING SYSTEM VALUE
    SELECT seq, account_id, user_id, event, ts, properties, message_id
    FROM events_before_partitioning;
INSERT INTO event_message_ids (message_id, ts)
    SELECT message_id, ts FROM events_before_partitioning WHERE message_id IS NOT NULL;

-- The indexes, built once the rows are in (one per partition).
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (seq, ts);
CREATE INDEX events_account_ts ON events (account_id, ts);
-- Covers the window scans of metrics and health (time range, then who and what).
CREATE INDEX events_ts ON events (ts, account_id, user_id, event);

-- seq continues after the last value the old table handed out.
SELECT setval(pg_get_serial_sequence('events', 'seq'), GREATEST(
    (SELECT last_value FROM events_before_partitioning_seq_seq),
    (SELECT COALESCE(MAX(seq), 1) FROM events_before_partitioning)));

-- A stored message id skips the row, as the unique index did before.
CREATE FUNCTION events_claim_message_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_message_ids (message_id, ts) VALUES (NEW.message_id, NEW.ts)
        ON CONFLICT (message_id) DO NOTHING;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_message_id BEFORE INSERT ON events
    FOR EACH ROW WHEN (NEW.message_id IS NOT NULL)
    EXECUTE FUNCTION events_claim_message_id();

-- Events are deleted only with their account; their ids become free again.
CREATE FUNCTION events_release_message_ids() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM event_message_ids m USING old_events o WHERE m.message_id = o.message_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_message_ids_release AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_release_message_ids();

-- The usage rollups of migrations 0005 and 0006, on the partitioned table.
CREATE TRIGGER events_usage AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_usage_insert();
CREATE TRIGGER events_usage_totals AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_usage_totals_insert();

DROP TABLE events_before_partitioning;

ANALYZE events;
ANALYZE event_message_ids;

COMMIT;
