-- 0023: a deployment's id is unique within its site, not across the server.
-- Kudu's PUT /api/deployments/{id} records a deployment under the id its
-- client chose; each app's Kudu has its own deployments, and an id taken in
-- one app must neither be refused to another nor tell it that it exists.
-- The deployment log is keyed by (site, deployment id) to match. SQLite
-- cannot change a table's constraints, so the three tables are rebuilt:
-- new tables, rows copied, old tables dropped (children first, so no cascade
-- touches a copied row), new tables renamed (which updates the foreign
-- keys that name them).
CREATE TABLE deployments_v23 (
	seq            INTEGER PRIMARY KEY AUTOINCREMENT, -- insertion order: newest = highest
	id             TEXT NOT NULL COLLATE NOCASE,
	site           TEXT NOT NULL COLLATE NOCASE REFERENCES sites (name) ON DELETE CASCADE,
	resource_group TEXT NOT NULL,
	status         INTEGER NOT NULL,
	status_text    TEXT NOT NULL DEFAULT '',
	author         TEXT NOT NULL DEFAULT '',
	author_email   TEXT NOT NULL DEFAULT '',
	deployer       TEXT NOT NULL DEFAULT '',
	message        TEXT NOT NULL DEFAULT '',
	progress       TEXT NOT NULL DEFAULT '',
	build          INTEGER NOT NULL DEFAULT 0,
	package_sha256 TEXT NOT NULL DEFAULT '',
	artifact_dir   TEXT NOT NULL DEFAULT '',
	received_time  INTEGER NOT NULL DEFAULT 0,
	start_time     INTEGER NOT NULL DEFAULT 0,
	end_time       INTEGER NOT NULL DEFAULT 0,
	active         INTEGER NOT NULL DEFAULT 0,
	recorded       INTEGER NOT NULL DEFAULT 0,
	UNIQUE (site, id)
);
INSERT INTO deployments_v23 (seq, id, site, resource_group, status, status_text, author, author_email, deployer, message,
	progress, build, package_sha256, artifact_dir, received_time, start_time, end_time, active, recorded)
	SELECT seq, id, site, resource_group, status, status_text, author, author_email, deployer, message,
	progress, build, package_sha256, artifact_dir, received_time, start_time, end_time, active, recorded FROM deployments;

CREATE TABLE deployment_log_v23 (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	site          TEXT NOT NULL COLLATE NOCASE,
	deployment_id TEXT NOT NULL COLLATE NOCASE,
	id            TEXT NOT NULL,
	time          INTEGER NOT NULL,
	message       TEXT NOT NULL,
	type          INTEGER NOT NULL,
	UNIQUE (site, deployment_id, id),
	FOREIGN KEY (site, deployment_id) REFERENCES deployments_v23 (site, id) ON DELETE CASCADE
);
INSERT INTO deployment_log_v23 (seq, site, deployment_id, id, time, message, type)
	SELECT l.seq, d.site, l.deployment_id, l.id, l.time, l.message, l.type
	FROM deployment_log l JOIN deployments d ON d.id = l.deployment_id;

-- Details of a log entry arrive in chunks (a streaming build log); each chunk
-- is one row so that appending stays cheap, and readers concatenate them.
CREATE TABLE deployment_log_details_v23 (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	site          TEXT NOT NULL COLLATE NOCASE,
	deployment_id TEXT NOT NULL COLLATE NOCASE,
	entry_id      TEXT NOT NULL,
	text          TEXT NOT NULL,
	time          INTEGER NOT NULL DEFAULT 0,
	FOREIGN KEY (site, deployment_id, entry_id) REFERENCES deployment_log_v23 (site, deployment_id, id) ON DELETE CASCADE
);
INSERT INTO deployment_log_details_v23 (seq, site, deployment_id, entry_id, text, time)
	SELECT x.seq, d.site, x.deployment_id, x.entry_id, x.text, x.time
	FROM deployment_log_details x JOIN deployments d ON d.id = x.deployment_id;

DROP TABLE deployment_log_details;
DROP TABLE deployment_log;
DROP TABLE deployments;
ALTER TABLE deployments_v23 RENAME TO deployments;
ALTER TABLE deployment_log_v23 RENAME TO deployment_log;
ALTER TABLE deployment_log_details_v23 RENAME TO deployment_log_details;

CREATE INDEX deployments_site ON deployments (site, seq);
-- Exactly one active deployment per site, at most.
CREATE UNIQUE INDEX deployments_one_active ON deployments (site) WHERE active = 1;
CREATE INDEX deployment_log_details_entry ON deployment_log_details (site, deployment_id, entry_id, seq);
