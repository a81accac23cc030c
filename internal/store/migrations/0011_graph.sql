-- 0011: Microsoft Graph's applications (app registrations), for the Graph
-- subset at graph.<domain> (internal/graph). In Azure an application and
-- its service principal are two directory objects with their own object
-- ids, joined by the appId: `az ad sp create-for-rbac` creates the
-- application, adds a password to it, then creates the service principal
-- (a row of principals whose app_id is the application's). Deleting an
-- application deletes its service principal (in the store's transaction,
-- not by a foreign key: managed identities' app ids name no application).

CREATE TABLE applications (
	object_id    TEXT NOT NULL PRIMARY KEY,
	app_id       TEXT NOT NULL UNIQUE,
	display_name TEXT NOT NULL,
	created      INTEGER NOT NULL
);

-- An application's passwords (Graph's application addPassword), kept as
-- principal_secrets keeps a service principal's: only the keyed hash. The
-- token endpoint accepts the secrets of the service principal and of its
-- application alike, as Azure AD does.
CREATE TABLE application_secrets (
	key_id       TEXT NOT NULL PRIMARY KEY,
	object_id    TEXT NOT NULL REFERENCES applications (object_id) ON DELETE CASCADE,
	display_name TEXT NOT NULL DEFAULT '',
	hint         TEXT NOT NULL,
	salt         BLOB NOT NULL,
	hash         BLOB NOT NULL,
	start_time   INTEGER NOT NULL,
	end_time     INTEGER NOT NULL
);
CREATE INDEX application_secrets_object ON application_secrets (object_id);
