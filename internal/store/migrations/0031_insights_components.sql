-- 0031: Application Insights components (Microsoft.Insights/components):
-- one row per component, with the instrumentation key apps send telemetry
-- by and the application id the query API names it by — both random GUIDs
-- made at creation and never changed, each unique over the installation
-- (the ingestion endpoint finds a component by its key alone). A
-- component goes with its resource group, as in Azure.
CREATE TABLE insights_components (
	resource_group        TEXT NOT NULL COLLATE NOCASE REFERENCES resource_groups (name) ON DELETE CASCADE,
	name                  TEXT NOT NULL COLLATE NOCASE,
	location              TEXT NOT NULL,
	tags                  TEXT NOT NULL DEFAULT '{}',
	kind                  TEXT NOT NULL,
	application_type      TEXT NOT NULL,
	instrumentation_key   TEXT NOT NULL COLLATE NOCASE UNIQUE,
	app_id                TEXT NOT NULL COLLATE NOCASE UNIQUE,
	retention_days        INTEGER NOT NULL DEFAULT 90,
	ingestion_mode        TEXT NOT NULL DEFAULT 'ApplicationInsights',
	workspace_resource_id TEXT NOT NULL DEFAULT '',
	flow_type             TEXT NOT NULL DEFAULT '',
	request_source        TEXT NOT NULL DEFAULT '',
	sampling_percentage   REAL NOT NULL DEFAULT 0,
	disable_ip_masking    INTEGER NOT NULL DEFAULT 0,
	disable_local_auth    INTEGER NOT NULL DEFAULT 0,
	public_ingestion      TEXT NOT NULL DEFAULT 'Enabled',
	public_query          TEXT NOT NULL DEFAULT 'Enabled',
	created               INTEGER NOT NULL,
	PRIMARY KEY (resource_group, name)
);
