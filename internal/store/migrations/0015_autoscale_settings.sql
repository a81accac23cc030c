-- 0015: autoscale settings (Microsoft.Insights/autoscalesettings) of App
-- Service plans (docs/appservice.md §11; internal/autoscale). profiles and
-- notifications are kept as the JSON the client sent (validated by the ARM
-- layer); target_resource_uri is the plan's ARM id. A setting goes with its
-- resource group, as in Azure.
CREATE TABLE autoscale_settings (
	resource_group      TEXT NOT NULL COLLATE NOCASE REFERENCES resource_groups (name) ON DELETE CASCADE,
	name                TEXT NOT NULL COLLATE NOCASE,
	location            TEXT NOT NULL,
	tags                TEXT NOT NULL DEFAULT '{}',
	enabled             INTEGER NOT NULL DEFAULT 1,
	target_resource_uri TEXT NOT NULL,
	properties          TEXT NOT NULL DEFAULT '{}',
	created             INTEGER NOT NULL,
	PRIMARY KEY (resource_group, name)
);
