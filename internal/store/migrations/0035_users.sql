-- 0035: the directory's users (Microsoft Graph's user,
-- https://learn.microsoft.com/graph/api/resources/user), who sign in at the
-- token service's authorization endpoint with a password. The password is
-- kept only as an argon2id hash with its own salt (password_hash holds the
-- parameters, salt and hash in PHC string form). password_changed moves
-- whenever the password is set: sign-in sessions and refresh tokens issued
-- before it are refused. upn_lower keeps userPrincipalName unique ignoring
-- case, as Entra ID compares it.

CREATE TABLE users (
	object_id           TEXT NOT NULL PRIMARY KEY,
	user_principal_name TEXT NOT NULL,
	upn_lower           TEXT NOT NULL UNIQUE,
	display_name        TEXT NOT NULL,
	mail                TEXT NOT NULL DEFAULT '',
	mail_nickname       TEXT NOT NULL DEFAULT '',
	account_enabled     INTEGER NOT NULL DEFAULT 1,
	password_hash       TEXT NOT NULL,
	password_changed    INTEGER NOT NULL,
	created             INTEGER NOT NULL
);
