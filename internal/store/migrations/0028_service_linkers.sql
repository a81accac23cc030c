-- 0028: Service Connector connections of a site (Microsoft.ServiceLinker/
-- linkers, `az webapp connection create`): one row per connection, with
-- its target, authentication type and client type, and the names of the
-- app settings it wrote. A site's deletion deletes its connections.
CREATE TABLE service_linkers (
	site        TEXT NOT NULL COLLATE NOCASE REFERENCES sites (name) ON DELETE CASCADE,
	name        TEXT NOT NULL COLLATE NOCASE,
	target_id   TEXT NOT NULL,
	auth_type   TEXT NOT NULL,
	client_type TEXT NOT NULL,
	client_id   TEXT NOT NULL DEFAULT '',
	settings    TEXT NOT NULL DEFAULT '[]',
	created     INTEGER NOT NULL,
	PRIMARY KEY (site, name)
);
