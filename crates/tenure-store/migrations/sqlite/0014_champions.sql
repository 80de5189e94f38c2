-- Champion facts for playbooks (docs/REACT.md): the day a contact left
-- the company (imported), and the day a champion lost the champion flag,
-- kept by the database itself so that every way a contact is updated
-- (file import, API, CRM sync) records it. Getting the flag back clears
-- it. Days are TEXT YYYY-MM-DD (see 0001), in UTC.
ALTER TABLE contacts ADD COLUMN left_on TEXT;
ALTER TABLE contacts ADD COLUMN champion_lost_on TEXT;

CREATE TRIGGER contacts_champion_lost AFTER UPDATE OF champion ON contacts
WHEN OLD.champion = 1 AND (NEW.champion IS NULL OR NEW.champion <> 1)
BEGIN
    UPDATE contacts SET champion_lost_on = date('now') WHERE id = NEW.id;
END;

CREATE TRIGGER contacts_champion_back AFTER UPDATE OF champion ON contacts
WHEN NEW.champion = 1 AND (OLD.champion IS NULL OR OLD.champion <> 1)
BEGIN
    UPDATE contacts SET champion_lost_on = NULL WHERE id = NEW.id;
END;
