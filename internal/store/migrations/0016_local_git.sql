-- 0016: Local Git as az configures it (az webapp deployment source
-- config-local-git, az webapp deployment user set).

-- siteConfig.scmType: 'None' or 'LocalGit' (Azure's casing).
ALTER TABLE sites ADD COLUMN scm_type TEXT NOT NULL DEFAULT 'None';

-- User-level deployment credentials: one user name and password per
-- principal, valid at the Kudu of every app the principal may deploy to.
-- User names are unique across the platform (case-insensitive), as on
-- Azure. The password is never stored: only HMAC-SHA-256 under a key
-- derived from the master key over PBKDF2(password, salt) (store/
-- deploymentusers.go says why it is slow where client secrets' is not).
-- Deleting the principal frees its user name.
CREATE TABLE publishing_users (
	principal_id TEXT NOT NULL PRIMARY KEY REFERENCES principals (object_id) ON DELETE CASCADE,
	user_name    TEXT NOT NULL UNIQUE COLLATE NOCASE,
	salt         BLOB NOT NULL,
	hash         BLOB NOT NULL,
	modified     INTEGER NOT NULL
);
