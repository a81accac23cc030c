-- 0030: scheduled backups (az webapp config backup update): one schedule
-- per site, with the container URL it writes to (its SAS sealed, as a
-- backup record's), how often and how long backups are kept, and when it
-- last ran; a backup record says whether the schedule took it. A site's
-- deletion deletes its schedule.
ALTER TABLE backups ADD COLUMN scheduled INTEGER NOT NULL DEFAULT 0;
CREATE TABLE backup_schedules (
	site           TEXT NOT NULL PRIMARY KEY COLLATE NOCASE REFERENCES sites (name) ON DELETE CASCADE,
	name           TEXT NOT NULL,
	url_shown      TEXT NOT NULL,
	url_sealed     BLOB NOT NULL,
	enabled        INTEGER NOT NULL,
	interval       INTEGER NOT NULL,
	unit           TEXT NOT NULL,
	retention_days INTEGER NOT NULL,
	keep_one       INTEGER NOT NULL,
	start_time     INTEGER NOT NULL,
	last_run       INTEGER NOT NULL DEFAULT 0
);
