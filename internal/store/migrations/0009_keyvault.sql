-- 0009: key vaults (Microsoft.KeyVault/vaults) and their
-- secrets. Vault names are global and case-insensitive and stay taken while
-- a vault is soft-deleted (deleted <> 0), so the vault row has no foreign
-- key to its resource group: deleting a group soft-deletes its vaults (the
-- trigger below), as Azure does, and the vault can be recovered later into
-- a group of that name.

CREATE TABLE key_vaults (
	name             TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
	resource_group   TEXT NOT NULL COLLATE NOCASE,
	location         TEXT NOT NULL,
	tenant_id        TEXT NOT NULL,
	sku              TEXT NOT NULL,
	tags             TEXT NOT NULL DEFAULT '{}',
	properties       TEXT NOT NULL DEFAULT '{}', -- enableRbacAuthorization, accessPolicies, publicNetworkAccess
	retention_days   INTEGER NOT NULL CHECK (retention_days BETWEEN 7 AND 90),
	purge_protection INTEGER NOT NULL DEFAULT 0,
	created          INTEGER NOT NULL,
	deleted          INTEGER NOT NULL DEFAULT 0, -- Unix ns; 0 while active
	scheduled_purge  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX key_vaults_group ON key_vaults (resource_group, name);

-- Every version of every secret, deleted or not. The latest version of a
-- name is the one with the highest seq.
CREATE TABLE key_vault_secrets (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	vault        TEXT NOT NULL COLLATE NOCASE REFERENCES key_vaults (name) ON DELETE CASCADE,
	name         TEXT NOT NULL COLLATE NOCASE,
	version      TEXT NOT NULL,
	value        BLOB NOT NULL, -- AES-256-GCM sealed, bound to vault/name/version
	content_type TEXT NOT NULL DEFAULT '',
	enabled      INTEGER NOT NULL DEFAULT 1,
	nbf          INTEGER NOT NULL DEFAULT 0,
	exp          INTEGER NOT NULL DEFAULT 0,
	tags         TEXT NOT NULL DEFAULT '{}',
	created      INTEGER NOT NULL,
	updated      INTEGER NOT NULL,
	UNIQUE (vault, name, version)
);
CREATE INDEX key_vault_secrets_name ON key_vault_secrets (vault, name, seq);

-- A secret name in the soft-deleted state: its versions stay in
-- key_vault_secrets, hidden from the active operations.
CREATE TABLE key_vault_deleted_secrets (
	vault           TEXT NOT NULL COLLATE NOCASE REFERENCES key_vaults (name) ON DELETE CASCADE,
	name            TEXT NOT NULL COLLATE NOCASE,
	deleted         INTEGER NOT NULL,
	scheduled_purge INTEGER NOT NULL,
	PRIMARY KEY (vault, name)
);

CREATE TRIGGER key_vaults_soft_delete_with_group AFTER DELETE ON resource_groups
BEGIN
	UPDATE key_vaults
	SET deleted = CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER),
		scheduled_purge = CAST((julianday('now') - 2440587.5 + retention_days) * 86400000000000 AS INTEGER)
	WHERE resource_group = OLD.name AND deleted = 0;
END;
