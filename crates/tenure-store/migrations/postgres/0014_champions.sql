-- Champion facts for playbooks (docs/REACT.md): the day a contact left
-- the company (imported), and the day a champion lost the champion flag,
-- kept by the database itself so that every way a contact is updated
-- (file import, API, CRM sync) records it. Getting the flag back clears
-- it. Days are TEXT YYYY-MM-DD (see 0001), in UTC.
ALTER TABLE contacts ADD COLUMN left_on TEXT;
ALTER TABLE contacts ADD COLUMN champion_lost_on TEXT;

CREATE FUNCTION contacts_champion_change() RETURNS trigger AS $$
BEGIN
    IF OLD.champion = 1 AND NEW.champion IS DISTINCT FROM 1 THEN
        NEW.champion_lost_on := to_char((now() AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD');
    ELSIF NEW.champion = 1 AND OLD.champion IS DISTINCT FROM 1 THEN
        NEW.champion_lost_on := NULL;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER contacts_champion_change BEFORE UPDATE OF champion ON contacts
FOR EACH ROW EXECUTE FUNCTION contacts_champion_change();
