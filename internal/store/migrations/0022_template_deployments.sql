-- 0022: ARM template deployments (Microsoft.Resources/deployments at
-- resource-group scope, internal/arm/templatedeployments.go). The record is
-- kept as the JSON document the ARM layer answers with (provisioning state,
-- timestamps, parameters without secure values, outputs without secure
-- values, output resources, error) plus its operations; the store does not
-- read inside it. A deployment goes with its resource group, as in Azure.
CREATE TABLE template_deployments (
	resource_group TEXT NOT NULL COLLATE NOCASE REFERENCES resource_groups (name) ON DELETE CASCADE,
	name           TEXT NOT NULL COLLATE NOCASE,
	document       TEXT NOT NULL,
	operations     TEXT NOT NULL DEFAULT '[]',
	updated        INTEGER NOT NULL,
	PRIMARY KEY (resource_group, name)
);
