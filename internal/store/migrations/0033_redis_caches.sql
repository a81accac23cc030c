-- 0033: Azure Cache for Redis (Microsoft.Cache/redis) and its firewall
-- rules. A cache's name is unique over the installation, as Azure's are
-- over Azure: it names the cache's host (<name>.redis.cache.windows.net)
-- and the backend's server. Its two access keys are kept sealed with the
-- master key (keys_sealed: primary NUL secondary, bound to the name), as
-- listKeys must answer them. A cache goes with its resource group, its
-- rules with it.
CREATE TABLE redis_caches (
	resource_group TEXT NOT NULL COLLATE NOCASE REFERENCES resource_groups (name) ON DELETE CASCADE,
	name           TEXT NOT NULL COLLATE NOCASE UNIQUE,
	location       TEXT NOT NULL,
	tags           TEXT NOT NULL DEFAULT '{}',
	sku_name       TEXT NOT NULL,
	sku_family     TEXT NOT NULL,
	sku_capacity   INTEGER NOT NULL,
	version        TEXT NOT NULL,
	keys_sealed    BLOB NOT NULL,
	created        INTEGER NOT NULL,
	PRIMARY KEY (resource_group, name)
);

CREATE TABLE redis_firewall_rules (
	cache    TEXT NOT NULL COLLATE NOCASE REFERENCES redis_caches (name) ON DELETE CASCADE,
	name     TEXT NOT NULL COLLATE NOCASE,
	start_ip TEXT NOT NULL,
	end_ip   TEXT NOT NULL,
	PRIMARY KEY (cache, name)
);
