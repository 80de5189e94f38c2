-- The weekly digest of the risk board to leaders (docs/REACT.md): one row
-- per digest day, written in the transaction that queues its emails, so
-- the daily pass (run many times a day, or by two processes at once)
-- queues each digest once.
CREATE TABLE risk_digests (
    day         TEXT PRIMARY KEY,          -- YYYY-MM-DD, the digest's day
    recipients  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
