-- 0036: a site's App Service authentication (config/authsettingsV2), as
-- the domain type slipway.AuthSettings holds it: '' for never configured,
-- else its JSON. The settings stay with the row: a slot swap does not move
-- them (they are among the settings applied from the target slot), and
-- they go with the site, its slots and its resource group.
ALTER TABLE sites ADD COLUMN auth_settings TEXT NOT NULL DEFAULT '';
