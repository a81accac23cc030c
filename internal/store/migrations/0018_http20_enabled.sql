-- 0018: siteConfig http20Enabled (1, App Service's default for new apps:
-- the front door offers HTTP/2 by ALPN on the app's host names; 0: HTTP/1.1
-- only).
ALTER TABLE sites ADD COLUMN http20_enabled INTEGER NOT NULL DEFAULT 1;
