-- The account page lists the latest surveys sent to an account's
-- contacts (docs/VOICE.md): read by account, newest first.
CREATE INDEX survey_sends_account ON survey_sends (account_id, sent_at);
