-- Daily snapshots keyed by day first (see the SQLite migration of the same
-- number): a day's scores go side by side into the key instead of into
-- every account's run of it. An account's history is read day by day.
-- Without a foreign key, whose check on every account deletion would scan
-- all snapshots; deleting an account deletes its snapshots explicitly.
ALTER TABLE health_snapshots DROP CONSTRAINT health_snapshots_account_id_fkey;
ALTER TABLE health_snapshots DROP CONSTRAINT health_snapshots_pkey;
ALTER TABLE health_snapshots ADD PRIMARY KEY (day, account_id);
DROP INDEX health_snapshots_day;
