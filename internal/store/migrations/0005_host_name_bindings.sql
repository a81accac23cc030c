-- 0005: custom host names bound to sites, and the subscription's domain
-- verification ID that their TXT records (asuid.<name>) must hold
-- (docs/appservice.md §12).

-- A host name belongs to one site on the whole platform: the name alone
-- is the key. Its certificate state (ssl_state, thumbprint) stays
-- 'Disabled' and '' until a certificate is bound.
CREATE TABLE host_name_bindings (
	host_name   TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
	site        TEXT NOT NULL COLLATE NOCASE REFERENCES sites (name) ON DELETE CASCADE,
	record_type TEXT NOT NULL DEFAULT 'CName',
	ssl_state   TEXT NOT NULL DEFAULT 'Disabled',
	thumbprint  TEXT NOT NULL DEFAULT '',
	created     INTEGER NOT NULL
);
CREATE INDEX host_name_bindings_site ON host_name_bindings (site);

-- customDomainVerificationId: 32 random bytes as 64 upper-case hex digits,
-- made once. It is published in DNS, so it is no secret; it only has to be
-- unguessable before it is shown.
INSERT INTO meta (key, value) VALUES ('custom_domain_verification_id', upper(hex(randomblob(32))))
	ON CONFLICT (key) DO NOTHING;
