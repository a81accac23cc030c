-- 0025: siteConfig ftpsState as set ('' reads as Disabled, Slipway's
-- default: it serves no FTP). Only Disabled and FtpsOnly can be set, both
-- true of a server without FTP; kept so that a template or tool that sets
-- FtpsOnly (azd's App Service module does) reads back what it wrote.
ALTER TABLE sites ADD COLUMN ftps_state TEXT NOT NULL DEFAULT '';
