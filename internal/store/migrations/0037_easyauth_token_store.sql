-- 0037: App Service authentication's token store (login.tokenStore), so
-- that the provider's tokens of signed-in users outlive a restart of
-- Slipway, as App Service's file-based token store outlives a restart of
-- the app. One row per session: the tokens' JSON sealed with the master
-- key (bound to the site and the session id), when the session was made,
-- and when its tokens may be dropped (the session's end and its refresh
-- extension).
CREATE TABLE easyauth_tokens (
    site    TEXT    NOT NULL, -- the site's name, lower case
    session TEXT    NOT NULL,
    tokens  BLOB    NOT NULL,
    added   INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    PRIMARY KEY (site, session)
);
CREATE INDEX easyauth_tokens_expires ON easyauth_tokens (expires);
