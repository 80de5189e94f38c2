-- SQLite's 0004 stores ingest_messages WITHOUT ROWID. PostgreSQL has no
-- rowid tables: its table and primary key stay as they are, and the two
-- schemas keep the same migration numbers.
SELECT 1;
