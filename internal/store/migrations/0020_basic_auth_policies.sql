-- 0020: basicPublishingCredentialsPolicies switched off. A row says Basic
-- authentication with publishing credentials is refused for the site's
-- policy ("scm": Kudu and Local Git; "ftp"); no row: allowed, App
-- Service's default.
CREATE TABLE basic_auth_off (
	site   TEXT NOT NULL COLLATE NOCASE REFERENCES sites (name) ON DELETE CASCADE,
	policy TEXT NOT NULL,
	PRIMARY KEY (site, policy)
);
