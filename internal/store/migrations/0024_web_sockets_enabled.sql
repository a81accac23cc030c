-- 0024: siteConfig webSocketsEnabled (1: the front door passes WebSocket
-- upgrades to the app, Slipway's default; 0: it answers them itself with a
-- refusal saying how to turn them on, as the general setting "Web sockets"
-- off keeps them from the app on App Service).
ALTER TABLE sites ADD COLUMN web_sockets_enabled INTEGER NOT NULL DEFAULT 1;
