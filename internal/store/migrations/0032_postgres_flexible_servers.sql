-- 0032: Azure Database for PostgreSQL flexible servers
-- (Microsoft.DBforPostgreSQL/flexibleServers), their databases and
-- firewall rules. A server's name is unique over the installation, as
-- Azure's are over Azure: it names the server's host
-- (<name>.postgres.database.azure.com) and the backend's cluster. The
-- administrator's password is not kept: the server keeps it. A server goes
-- with its resource group, its databases and rules with it.
CREATE TABLE postgres_servers (
	resource_group        TEXT NOT NULL COLLATE NOCASE REFERENCES resource_groups (name) ON DELETE CASCADE,
	name                  TEXT NOT NULL COLLATE NOCASE UNIQUE,
	location              TEXT NOT NULL,
	tags                  TEXT NOT NULL DEFAULT '{}',
	sku_name              TEXT NOT NULL,
	sku_tier              TEXT NOT NULL,
	version               TEXT NOT NULL,
	administrator_login   TEXT NOT NULL,
	storage_gb            INTEGER NOT NULL,
	backup_retention_days INTEGER NOT NULL,
	stopped               INTEGER NOT NULL DEFAULT 0,
	created               INTEGER NOT NULL,
	PRIMARY KEY (resource_group, name)
);

CREATE TABLE postgres_databases (
	server    TEXT NOT NULL COLLATE NOCASE REFERENCES postgres_servers (name) ON DELETE CASCADE,
	name      TEXT NOT NULL COLLATE NOCASE,
	charset   TEXT NOT NULL DEFAULT '',
	collation TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (server, name)
);

CREATE TABLE postgres_firewall_rules (
	server   TEXT NOT NULL COLLATE NOCASE REFERENCES postgres_servers (name) ON DELETE CASCADE,
	name     TEXT NOT NULL COLLATE NOCASE,
	start_ip TEXT NOT NULL,
	end_ip   TEXT NOT NULL,
	PRIMARY KEY (server, name)
);
