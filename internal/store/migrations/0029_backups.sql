-- 0029: an app's custom backups (az webapp config backup create|list|
-- delete|restore): one row per backup taken, with its name, the blob it
-- was written to, and the container URL it was written with — its SAS
-- sealed with the master key (url_sealed), since the record is used to
-- delete the blob later, and shown masked. A site's deletion deletes its
-- records, never the blobs.
CREATE TABLE backups (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	site        TEXT NOT NULL COLLATE NOCASE REFERENCES sites (name) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	blob_name   TEXT NOT NULL,
	url_shown   TEXT NOT NULL,
	url_sealed  BLOB NOT NULL,
	status      TEXT NOT NULL,
	log         TEXT NOT NULL DEFAULT '',
	size        INTEGER NOT NULL DEFAULT 0,
	site_size   INTEGER NOT NULL DEFAULT 0,
	created     INTEGER NOT NULL,
	finished    INTEGER NOT NULL DEFAULT 0,
	restored    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX backups_site ON backups (site, id);
