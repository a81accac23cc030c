-- 0006: App Service certificates (Microsoft.Web/certificates): uploaded
-- PFX files and managed (ACME) certificates. The private key is sealed.
CREATE TABLE certificates (
	resource_group TEXT NOT NULL COLLATE NOCASE REFERENCES resource_groups (name) ON DELETE CASCADE,
	name           TEXT NOT NULL COLLATE NOCASE,
	location       TEXT NOT NULL,
	server_farm    TEXT NOT NULL DEFAULT '',
	thumbprint     TEXT NOT NULL COLLATE NOCASE,
	subject        TEXT NOT NULL,
	issuer         TEXT NOT NULL,
	host_names     TEXT NOT NULL DEFAULT '[]',
	not_before     INTEGER NOT NULL,
	not_after      INTEGER NOT NULL,
	canonical_name TEXT NOT NULL DEFAULT '', -- managed certificates: the host name they are issued for
	cert_pem       BLOB NOT NULL,
	key_pem        BLOB NOT NULL, -- AES-256-GCM sealed
	last_error     TEXT NOT NULL DEFAULT '',
	tags           TEXT NOT NULL DEFAULT '{}',
	created        INTEGER NOT NULL,
	PRIMARY KEY (resource_group, name)
);
CREATE INDEX certificates_thumbprint ON certificates (thumbprint);
