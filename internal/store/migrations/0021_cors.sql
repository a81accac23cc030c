-- 0021: a site's platform CORS (siteConfig.cors), as validated by the
-- domain (cors.go): '' for none, else a JSON object
-- {"allowedOrigins": [...], "supportCredentials": bool}.
ALTER TABLE sites ADD COLUMN cors TEXT NOT NULL DEFAULT '';
