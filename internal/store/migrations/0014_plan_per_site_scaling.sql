-- 0014: a plan's perSiteScaling (az appservice plan create|update --per-site-scaling):
-- on, each app runs on its own siteConfig.numberOfWorkers of the plan's workers.
ALTER TABLE plans ADD COLUMN per_site_scaling INTEGER NOT NULL DEFAULT 0;
