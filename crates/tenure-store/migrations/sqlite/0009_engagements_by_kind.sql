-- Cadence reads each account's latest engagement of each kind (every
-- account's in the daily pass, one account's on its page): this index
-- answers that from the index alone, in account and kind order.
CREATE INDEX engagements_kind ON engagements (account_id, kind, occurred_at);
