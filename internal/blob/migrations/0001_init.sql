CREATE TABLE containers (
	account       TEXT NOT NULL,
	name          TEXT NOT NULL,
	etag          TEXT NOT NULL,
	last_modified INTEGER NOT NULL,
	metadata      TEXT NOT NULL DEFAULT '{}',
	public_access TEXT NOT NULL DEFAULT '',
	acl           TEXT NOT NULL DEFAULT '[]',
	lease         TEXT NOT NULL DEFAULT '{}',
	PRIMARY KEY (account, name)
) WITHOUT ROWID;

CREATE TABLE blobs (
	account             TEXT NOT NULL,
	container           TEXT NOT NULL,
	name                TEXT NOT NULL,
	snapshot            TEXT NOT NULL DEFAULT '',
	blob_type           TEXT NOT NULL,
	size                INTEGER NOT NULL,
	file                TEXT NOT NULL,
	etag                TEXT NOT NULL,
	created             INTEGER NOT NULL,
	last_modified       INTEGER NOT NULL,
	content_type        TEXT NOT NULL DEFAULT '',
	content_encoding    TEXT NOT NULL DEFAULT '',
	content_language    TEXT NOT NULL DEFAULT '',
	content_disposition TEXT NOT NULL DEFAULT '',
	cache_control       TEXT NOT NULL DEFAULT '',
	content_md5         BLOB,
	metadata            TEXT NOT NULL DEFAULT '{}',
	blocks              TEXT NOT NULL DEFAULT '[]',
	lease               TEXT NOT NULL DEFAULT '{}',
	copy                TEXT NOT NULL DEFAULT '{}',
	append_count        INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (account, container, name, snapshot)
) WITHOUT ROWID;
CREATE INDEX blobs_file ON blobs (file);

CREATE TABLE blocks (
	account   TEXT NOT NULL,
	container TEXT NOT NULL,
	blob      TEXT NOT NULL,
	block_id  TEXT NOT NULL,
	size      INTEGER NOT NULL,
	file      TEXT NOT NULL,
	created   INTEGER NOT NULL,
	PRIMARY KEY (account, container, blob, block_id)
) WITHOUT ROWID;
CREATE INDEX blocks_file ON blocks (file);

CREATE TABLE service_properties (
	account TEXT PRIMARY KEY,
	xml     TEXT NOT NULL
);
