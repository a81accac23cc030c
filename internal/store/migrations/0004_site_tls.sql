-- 0004: a site's minimum TLS versions for its app and its Kudu host
-- (siteConfig minTlsVersion and scmMinTlsVersion; "" is App Service's default, 1.2).
ALTER TABLE sites ADD COLUMN min_tls_version TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN scm_min_tls_version TEXT NOT NULL DEFAULT '';
