-- 0026: siteConfig minTlsCipherSuite ('' = the listener's suites; else the
-- weakest suite the app's host names accept, which the front door
-- applies), siteConfig autoHealEnabled (the switch alone: App Service acts
-- only on autoHealRules, which Slipway refuses) and the site's
-- endToEndEncryptionEnabled (traffic from the front door to an instance
-- never leaves the machine; the setting is kept and shown).
ALTER TABLE sites ADD COLUMN min_tls_cipher_suite TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN auto_heal_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sites ADD COLUMN end_to_end_encryption INTEGER NOT NULL DEFAULT 0;
