-- 0027: a site's App Service plan may be in another resource group of the
-- subscription, as on App Service ("az webapp create -p <plan id>"): the
-- plan's group is its own column, plan_resource_group, and the foreign key
-- to plans names it instead of the site's group. SQLite cannot change a
-- table's constraints, so sites is rebuilt as its documented procedure
-- says (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of
-- Table Schema Changes"): the migration runs with foreign keys off (Store.
-- migrate checks them all before it commits), so dropping the old table
-- cascades to no child row; the new table, renamed, takes its place in
-- every foreign key that names sites. Its trigger and indexes are made
-- again.
CREATE TABLE sites_v27 (
	name                  TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
	resource_group        TEXT NOT NULL COLLATE NOCASE REFERENCES resource_groups (name) ON DELETE CASCADE,
	plan                  TEXT NOT NULL COLLATE NOCASE,
	plan_resource_group   TEXT NOT NULL COLLATE NOCASE,
	location              TEXT NOT NULL,
	linux_fx_version      TEXT NOT NULL DEFAULT '',
	app_command_line      TEXT NOT NULL DEFAULT '',
	health_check_path     TEXT NOT NULL DEFAULT '',
	always_on             INTEGER NOT NULL DEFAULT 0,
	client_affinity       INTEGER NOT NULL DEFAULT 0,
	number_of_workers     INTEGER NOT NULL DEFAULT 1,
	https_only            INTEGER NOT NULL DEFAULT 0,
	enabled               INTEGER NOT NULL DEFAULT 1,
	tags                  TEXT NOT NULL DEFAULT '{}',
	created               INTEGER NOT NULL,
	modified              INTEGER NOT NULL,
	publishing_user       TEXT NOT NULL,
	publishing_password   BLOB NOT NULL, -- AES-256-GCM sealed
	sticky_setting_names  TEXT NOT NULL DEFAULT '[]',
	sticky_connstr_names  TEXT NOT NULL DEFAULT '[]',
	logs_config           TEXT NOT NULL DEFAULT '',
	min_tls_version       TEXT NOT NULL DEFAULT '',
	scm_min_tls_version   TEXT NOT NULL DEFAULT '',
	slot_of               TEXT DEFAULT NULL COLLATE NOCASE REFERENCES sites (name) ON DELETE CASCADE,
	slot_name             TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
	auto_swap_slot        TEXT NOT NULL DEFAULT '',
	ramp_up_rules         TEXT NOT NULL DEFAULT '[]',
	key_vault_reference_identity TEXT NOT NULL DEFAULT '',
	scm_type              TEXT NOT NULL DEFAULT 'None',
	ip_security_restrictions TEXT NOT NULL DEFAULT '[]',
	scm_ip_security_restrictions TEXT NOT NULL DEFAULT '[]',
	scm_ip_security_restrictions_use_main INTEGER NOT NULL DEFAULT 0,
	ip_security_restrictions_default_action TEXT NOT NULL DEFAULT '',
	scm_ip_security_restrictions_default_action TEXT NOT NULL DEFAULT '',
	http20_enabled        INTEGER NOT NULL DEFAULT 1,
	cors                  TEXT NOT NULL DEFAULT '',
	web_sockets_enabled   INTEGER NOT NULL DEFAULT 1,
	ftps_state            TEXT NOT NULL DEFAULT '',
	min_tls_cipher_suite  TEXT NOT NULL DEFAULT '',
	auto_heal_enabled     INTEGER NOT NULL DEFAULT 0,
	end_to_end_encryption INTEGER NOT NULL DEFAULT 0,
	FOREIGN KEY (plan_resource_group, plan) REFERENCES plans (resource_group, name)
);
INSERT INTO sites_v27 (name, resource_group, plan, plan_resource_group, location, linux_fx_version, app_command_line,
	health_check_path, always_on, client_affinity, number_of_workers, https_only, enabled, tags, created, modified,
	publishing_user, publishing_password, sticky_setting_names, sticky_connstr_names, logs_config, min_tls_version,
	scm_min_tls_version, slot_of, slot_name, auto_swap_slot, ramp_up_rules, key_vault_reference_identity, scm_type,
	ip_security_restrictions, scm_ip_security_restrictions, scm_ip_security_restrictions_use_main,
	ip_security_restrictions_default_action, scm_ip_security_restrictions_default_action, http20_enabled, cors,
	web_sockets_enabled, ftps_state, min_tls_cipher_suite, auto_heal_enabled, end_to_end_encryption)
	SELECT name, resource_group, plan, resource_group, location, linux_fx_version, app_command_line,
	health_check_path, always_on, client_affinity, number_of_workers, https_only, enabled, tags, created, modified,
	publishing_user, publishing_password, sticky_setting_names, sticky_connstr_names, logs_config, min_tls_version,
	scm_min_tls_version, slot_of, slot_name, auto_swap_slot, ramp_up_rules, key_vault_reference_identity, scm_type,
	ip_security_restrictions, scm_ip_security_restrictions, scm_ip_security_restrictions_use_main,
	ip_security_restrictions_default_action, scm_ip_security_restrictions_default_action, http20_enabled, cors,
	web_sockets_enabled, ftps_state, min_tls_cipher_suite, auto_heal_enabled, end_to_end_encryption FROM sites;
DROP TABLE sites;
ALTER TABLE sites_v27 RENAME TO sites;

CREATE INDEX sites_plan ON sites (plan_resource_group, plan);
CREATE UNIQUE INDEX sites_slot ON sites (slot_of, slot_name) WHERE slot_of IS NOT NULL;
CREATE TRIGGER sites_system_identity AFTER DELETE ON sites BEGIN
	DELETE FROM principals WHERE kind = 'SystemAssigned'
		AND resource_id LIKE '%/providers/Microsoft.Web/sites/' || OLD.name;
END;
