-- 0010: managed identities of apps (docs/appservice.md §8). A user-assigned
-- identity is an ARM resource (Microsoft.ManagedIdentity/
-- userAssignedIdentities) whose principal is a row of principals (kind
-- UserAssigned); a site's system-assigned identity is the principal of kind
-- SystemAssigned whose resource_id is the site's ARM id. A principal goes
-- with what it belongs to, as in Azure: the identity resource, the site.

CREATE TABLE user_assigned_identities (
	resource_group TEXT NOT NULL COLLATE NOCASE REFERENCES resource_groups (name) ON DELETE CASCADE,
	name           TEXT NOT NULL COLLATE NOCASE,
	location       TEXT NOT NULL,
	tags           TEXT NOT NULL DEFAULT '{}',
	object_id      TEXT NOT NULL UNIQUE REFERENCES principals (object_id),
	created        INTEGER NOT NULL,
	PRIMARY KEY (resource_group, name)
);

-- The user-assigned identities assigned to a site (its identity property's
-- userAssignedIdentities); detached when either side is deleted.
CREATE TABLE site_user_identities (
	site      TEXT NOT NULL COLLATE NOCASE REFERENCES sites (name) ON DELETE CASCADE,
	object_id TEXT NOT NULL REFERENCES user_assigned_identities (object_id) ON DELETE CASCADE,
	PRIMARY KEY (site, object_id)
);
CREATE INDEX site_user_identities_object ON site_user_identities (object_id);

-- Deleting an identity resource, alone or with its group, deletes its
-- principal (its tokens stop at once: the token service finds no principal).
CREATE TRIGGER user_assigned_identities_principal AFTER DELETE ON user_assigned_identities BEGIN
	DELETE FROM principals WHERE object_id = OLD.object_id;
END;

-- Deleting a site, alone or with its group, deletes its system-assigned
-- identity. Site names are global and only letters, digits and '-', so the
-- suffix names exactly one site.
CREATE TRIGGER sites_system_identity AFTER DELETE ON sites BEGIN
	DELETE FROM principals WHERE kind = 'SystemAssigned'
		AND resource_id LIKE '%/providers/Microsoft.Web/sites/' || OLD.name;
END;
