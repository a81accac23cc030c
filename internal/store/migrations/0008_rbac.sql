-- 0008: role assignments
-- (Microsoft.Authorization/roleAssignments). The name is a GUID, unique
-- across scopes as on Azure; one role per principal per scope (ARM's
-- RoleAssignmentExists). Scopes are stored in internal/rbac's canonical
-- form and compared without case. Times are Unix nanoseconds.

CREATE TABLE role_assignments (
	name               TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
	scope              TEXT NOT NULL COLLATE NOCASE,
	role_definition_id TEXT NOT NULL COLLATE NOCASE,
	principal_id       TEXT NOT NULL COLLATE NOCASE,
	principal_type     TEXT NOT NULL,
	description        TEXT NOT NULL DEFAULT '',
	condition          TEXT NOT NULL DEFAULT '',
	condition_version  TEXT NOT NULL DEFAULT '',
	created            INTEGER NOT NULL,
	updated            INTEGER NOT NULL,
	created_by         TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX role_assignments_trio ON role_assignments (scope, role_definition_id, principal_id);
CREATE INDEX role_assignments_principal ON role_assignments (principal_id);
