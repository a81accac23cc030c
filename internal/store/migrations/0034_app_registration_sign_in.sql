-- 0034: what an app registration needs to sign users in
-- (https://learn.microsoft.com/graph/api/resources/application): its web
-- redirect URIs and implicit-grant switches, its public-client (native)
-- redirect URIs, and its identifier URIs (api://<appId>). The lists are
-- JSON arrays of strings, validated by the store before they are written.

ALTER TABLE applications ADD COLUMN web_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE applications ADD COLUMN public_client_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE applications ADD COLUMN identifier_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE applications ADD COLUMN enable_id_token_issuance INTEGER NOT NULL DEFAULT 0;
ALTER TABLE applications ADD COLUMN enable_access_token_issuance INTEGER NOT NULL DEFAULT 0;
