-- 0002: storage accounts (Microsoft.Storage/storageAccounts). Names are
-- global and case-insensitive, like site names (they are DNS labels).
-- Deleting a resource group cascades to its accounts.

CREATE TABLE storage_accounts (
	name           TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
	resource_group TEXT NOT NULL COLLATE NOCASE REFERENCES resource_groups (name) ON DELETE CASCADE,
	location       TEXT NOT NULL,
	sku            TEXT NOT NULL,
	kind           TEXT NOT NULL,
	tags           TEXT NOT NULL DEFAULT '{}',
	created        INTEGER NOT NULL,
	key1           BLOB NOT NULL, -- AES-256-GCM sealed, base64 text of 64 random bytes
	key2           BLOB NOT NULL, -- AES-256-GCM sealed
	key1_created   INTEGER NOT NULL,
	key2_created   INTEGER NOT NULL
);
CREATE INDEX storage_accounts_group ON storage_accounts (resource_group, name);
