-- 0013: the identity a site's Key Vault references resolve as (the site
-- property keyVaultReferenceIdentity, docs/appservice.md §7): '' for its
-- system-assigned identity (Azure's "SystemAssigned"), else the ARM id of a
-- user-assigned identity, which must be assigned to the site when a
-- reference is resolved.
ALTER TABLE sites ADD COLUMN key_vault_reference_identity TEXT NOT NULL DEFAULT '';
