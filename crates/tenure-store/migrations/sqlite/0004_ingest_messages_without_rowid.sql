-- The ingest de-duplication table is a set of keys: stored WITHOUT ROWID it
-- is one B-tree instead of a table plus a unique index, one write less for
-- every ingested message.
CREATE TABLE ingest_messages_keys (
    message_id  TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO ingest_messages_keys (message_id, received_at)
    SELECT message_id, received_at FROM ingest_messages;
DROP TABLE ingest_messages;
ALTER TABLE ingest_messages_keys RENAME TO ingest_messages;
