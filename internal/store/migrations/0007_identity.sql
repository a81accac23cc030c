-- 0007: the token service's principals, their client secrets and its
-- signing keys (internal/identity). Object and app ids are lower-case GUIDs.
-- A managed identity names the ARM resource it belongs to: its site (system-
-- assigned) or its Microsoft.ManagedIdentity/userAssignedIdentities resource
-- (user-assigned); a system-assigned identity is unique per resource.

CREATE TABLE principals (
	object_id    TEXT NOT NULL PRIMARY KEY,
	app_id       TEXT NOT NULL UNIQUE,
	kind         TEXT NOT NULL CHECK (kind IN ('ServicePrincipal', 'SystemAssigned', 'UserAssigned')),
	display_name TEXT NOT NULL,
	resource_id  TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
	created      INTEGER NOT NULL
);
CREATE UNIQUE INDEX principals_system_assigned ON principals (resource_id) WHERE kind = 'SystemAssigned';
CREATE UNIQUE INDEX principals_user_assigned ON principals (resource_id) WHERE kind = 'UserAssigned';

-- Client secrets are never stored: only HMAC-SHA-256(k, salt || secret),
-- where k is derived from the master key (store/identity.go says why a fast
-- keyed hash is enough for Slipway-generated secrets).
CREATE TABLE principal_secrets (
	key_id       TEXT NOT NULL PRIMARY KEY,
	object_id    TEXT NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
	display_name TEXT NOT NULL DEFAULT '',
	hint         TEXT NOT NULL,
	salt         BLOB NOT NULL,
	hash         BLOB NOT NULL,
	start_time   INTEGER NOT NULL,
	end_time     INTEGER NOT NULL
);
CREATE INDEX principal_secrets_object ON principal_secrets (object_id);

-- Token signing keys: the RSA private key (PKCS #8 DER) sealed with
-- AES-256-GCM, the self-signed certificate over it (DER) whose SHA-1
-- thumbprint is the kid; retired = 0 for the current key, else when it
-- stopped signing.
CREATE TABLE signing_keys (
	kid         TEXT NOT NULL PRIMARY KEY,
	private_key BLOB NOT NULL,
	certificate BLOB NOT NULL,
	created     INTEGER NOT NULL,
	retired     INTEGER NOT NULL DEFAULT 0
);
