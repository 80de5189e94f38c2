-- The records each CRM import has seen (docs/CRM.md, "Incremental sync"):
-- one row per CRM, object (accounts, contacts) and Tenure id, with the
-- time of the last import whose file held it. A full export that no
-- longer holds a record reports it as vanished; nothing is deleted. No
-- foreign key: the link outlives a record deleted in Tenure.
CREATE TABLE crm_records (
    crm        TEXT NOT NULL,
    object     TEXT NOT NULL,
    id         TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (crm, object, id)
);
