-- 0001: Slipway's control-plane state: identity, resource groups, plans,
-- sites with their settings and credentials, deployments and their logs.
-- Names are compared case-insensitively everywhere (ARM.md §3.2).

CREATE TABLE meta (
	key   TEXT NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE resource_groups (
	name     TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
	location TEXT NOT NULL,
	tags     TEXT NOT NULL DEFAULT '{}',
	created  INTEGER NOT NULL
);

CREATE TABLE plans (
	resource_group TEXT NOT NULL COLLATE NOCASE REFERENCES resource_groups (name) ON DELETE CASCADE,
	name           TEXT NOT NULL COLLATE NOCASE,
	location       TEXT NOT NULL,
	sku_name       TEXT NOT NULL,
	sku_tier       TEXT NOT NULL,
	sku_capacity   INTEGER NOT NULL,
	linux          INTEGER NOT NULL,
	tags           TEXT NOT NULL DEFAULT '{}',
	created        INTEGER NOT NULL,
	PRIMARY KEY (resource_group, name)
);

-- Site names are globally unique (they are DNS labels), so the name alone is the key.
CREATE TABLE sites (
	name                  TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
	resource_group        TEXT NOT NULL COLLATE NOCASE REFERENCES resource_groups (name) ON DELETE CASCADE,
	plan                  TEXT NOT NULL COLLATE NOCASE,
	location              TEXT NOT NULL,
	linux_fx_version      TEXT NOT NULL DEFAULT '',
	app_command_line      TEXT NOT NULL DEFAULT '',
	health_check_path     TEXT NOT NULL DEFAULT '',
	always_on             INTEGER NOT NULL DEFAULT 0,
	client_affinity       INTEGER NOT NULL DEFAULT 0,
	number_of_workers     INTEGER NOT NULL DEFAULT 1,
	https_only            INTEGER NOT NULL DEFAULT 0,
	enabled               INTEGER NOT NULL DEFAULT 1,
	tags                  TEXT NOT NULL DEFAULT '{}',
	created               INTEGER NOT NULL,
	modified              INTEGER NOT NULL,
	publishing_user       TEXT NOT NULL,
	publishing_password   BLOB NOT NULL, -- AES-256-GCM sealed
	sticky_setting_names  TEXT NOT NULL DEFAULT '[]',
	sticky_connstr_names  TEXT NOT NULL DEFAULT '[]',
	logs_config           TEXT NOT NULL DEFAULT '',
	FOREIGN KEY (resource_group, plan) REFERENCES plans (resource_group, name)
);
CREATE INDEX sites_plan ON sites (resource_group, plan);

CREATE TABLE app_settings (
	site  TEXT NOT NULL COLLATE NOCASE REFERENCES sites (name) ON DELETE CASCADE,
	name  TEXT NOT NULL,
	value BLOB NOT NULL, -- AES-256-GCM sealed
	PRIMARY KEY (site, name)
);

CREATE TABLE connection_strings (
	site  TEXT NOT NULL COLLATE NOCASE REFERENCES sites (name) ON DELETE CASCADE,
	name  TEXT NOT NULL,
	type  TEXT NOT NULL,
	value BLOB NOT NULL, -- AES-256-GCM sealed
	PRIMARY KEY (site, name)
);

CREATE TABLE deployments (
	seq            INTEGER PRIMARY KEY AUTOINCREMENT, -- insertion order: newest = highest
	id             TEXT NOT NULL UNIQUE COLLATE NOCASE,
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
	active         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX deployments_site ON deployments (site, seq);
-- Exactly one active deployment per site, at most.
CREATE UNIQUE INDEX deployments_one_active ON deployments (site) WHERE active = 1;

CREATE TABLE deployment_log (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	deployment_id TEXT NOT NULL COLLATE NOCASE REFERENCES deployments (id) ON DELETE CASCADE,
	id            TEXT NOT NULL,
	time          INTEGER NOT NULL,
	message       TEXT NOT NULL,
	type          INTEGER NOT NULL,
	UNIQUE (deployment_id, id)
);

-- Details of a log entry arrive in chunks (a streaming build log); each chunk
-- is one row so that appending stays cheap, and readers concatenate them.
CREATE TABLE deployment_log_details (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	deployment_id TEXT NOT NULL COLLATE NOCASE,
	entry_id      TEXT NOT NULL,
	text          TEXT NOT NULL,
	FOREIGN KEY (deployment_id, entry_id) REFERENCES deployment_log (deployment_id, id) ON DELETE CASCADE
);
CREATE INDEX deployment_log_details_entry ON deployment_log_details (deployment_id, entry_id, seq);
