-- 0038: Microsoft Entra sign-in to PostgreSQL flexible servers: each
-- server's authConfig (passwords, Entra tokens, the tenant) and its Entra
-- administrators (flexibleServers/administrators/{objectId}). Servers made
-- before keep what they had: passwords only.
ALTER TABLE postgres_servers ADD COLUMN password_auth INTEGER NOT NULL DEFAULT 1;
ALTER TABLE postgres_servers ADD COLUMN entra_auth INTEGER NOT NULL DEFAULT 0;
ALTER TABLE postgres_servers ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';

CREATE TABLE postgres_entra_admins (
	server         TEXT NOT NULL COLLATE NOCASE REFERENCES postgres_servers (name) ON DELETE CASCADE,
	object_id      TEXT NOT NULL COLLATE NOCASE,
	principal_name TEXT NOT NULL,
	principal_type TEXT NOT NULL,
	tenant_id      TEXT NOT NULL,
	PRIMARY KEY (server, object_id)
);
