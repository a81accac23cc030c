-- 0017: a site's access restrictions (siteConfig ipSecurityRestrictions,
-- scmIpSecurityRestrictions and their settings). The rule lists are JSON
-- arrays of {ipAddress, action, priority, name, description}, as validated
-- by the domain (access.go); a default action is '' (unset), 'Allow' or 'Deny'.
ALTER TABLE sites ADD COLUMN ip_security_restrictions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE sites ADD COLUMN scm_ip_security_restrictions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE sites ADD COLUMN scm_ip_security_restrictions_use_main INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sites ADD COLUMN ip_security_restrictions_default_action TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN scm_ip_security_restrictions_default_action TEXT NOT NULL DEFAULT '';
