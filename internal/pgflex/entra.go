package pgflex

// Microsoft Entra sign-in, as Azure's flexible servers offer it
// (https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-configure-sign-in-azure-ad-authentication,
// https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-manage-azure-ad-users):
// a client signs in with user = a principal's name and password = an
// access token for https://ossrdbms-aad.database.windows.net.
//
// Which role is which principal is recorded in the cluster itself, in
// pgaadauth.principals of the postgres database: a table in a schema of
// the platform's superuser (azuresu) that no tenant role may read or
// write. Rows are keyed by the role's oid, not its name, so that a role
// dropped and made again under the same name is not the principal. They
// are written by the platform (Entra administrators, from ARM) and by
// pgaadauth_create_principal and pgaadauth_create_principal_with_oid,
// SECURITY DEFINER functions of azuresu that an Entra administrator may
// call (the session's own user, which a tenant cannot change, must be
// one) and that create a new role, never take over an existing one.
//
// The proxy answers a sign-in to such a role itself: it asks the client
// for its password in clear (inside TLS), verifies it as a token (through
// the Directory's Verify: signature, issuer, tenant, audience, lifetime), and
// checks that the token's object id is the one recorded for the role,
// which it asks the cluster at each sign-in over the platform's own
// sessions on it (platformsql.go).
// Then it signs in to the cluster as that role over SCRAM with a random
// password only it knows, which it sets as azuresu when it has none for
// the role (after a start of Slipway) or the cluster refuses it.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// EntraAudience is the audience of tokens for Azure's open-source
// relational databases (the resource az's --resource-type oss-rdbms and
// the scope https://ossrdbms-aad.database.windows.net/.default name).
const EntraAudience = "https://ossrdbms-aad.database.windows.net"

// AuthConfig is a server's authConfig: which sign-ins it takes.
type AuthConfig struct {
	// Password: roles' passwords (SCRAM), Azure's passwordAuth.
	Password bool
	// Entra: Microsoft Entra tokens, Azure's activeDirectoryAuth.
	Entra bool
	// TenantID, when set, is the only tenant whose tokens are taken.
	TenantID string
}

// defaultAuth is a server's authConfig until it is set: passwords only, as
// Azure creates servers.
var defaultAuth = AuthConfig{Password: true}

// TokenClaims are what the proxy needs of a verified token.
type TokenClaims struct {
	ObjectID string // oid
	AppID    string // appid
	TenantID string // tid
}

// VerifyFunc verifies an access token: its signature by the platform's
// identity service, issuer, lifetime, and an audience among audiences
// (with or without a trailing slash).
type VerifyFunc func(ctx context.Context, token string, audiences []string) (TokenClaims, error)

// Directory is what the proxy asks of the platform's identity service.
type Directory struct {
	// Verify verifies the access tokens clients sign in with. Nil: no
	// token is taken.
	Verify VerifyFunc
	// PrincipalsNamed returns the object ids of the directory's principals
	// of a name (a user's UPN, a service principal's or managed
	// identity's display name) made no later than madeBy, to resolve a
	// role made by pgaadauth_create_principal, which names no object id,
	// at madeBy: display names are anyone's to choose, and one taken
	// after the role was made must not take the role (Azure resolves the
	// name when the role is made). Nil: such roles cannot sign in.
	PrincipalsNamed func(ctx context.Context, name string, madeBy time.Time) ([]string, error)
}

// SetDirectory gives the proxy the identity service that verifies the
// tokens of Microsoft Entra sign-ins (it starts after the manager).
func (m *Manager) SetDirectory(d Directory) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dir = d
}

// EntraPrincipal is a Microsoft Entra principal a role stands for.
type EntraPrincipal struct {
	// Name is the role's name: a user's UPN, a group's or service
	// principal's display name (an App Service app's system-assigned
	// identity is the app's name).
	Name string
	// ObjectID is the principal's object id (a GUID).
	ObjectID string
	// Type is User, Group or ServicePrincipal (ARM's principalType).
	Type string
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// CheckEntraPrincipal refuses a principal the cluster cannot take as a
// role.
func CheckEntraPrincipal(p EntraPrincipal) error {
	if err := checkEntraName(p.Name); err != nil {
		return err
	}
	if !guidRE.MatchString(p.ObjectID) {
		return fmt.Errorf("object id %q is not a GUID", p.ObjectID)
	}
	if objectType(p.Type) == "" {
		return fmt.Errorf("principal type %q: use User, Group, ServicePrincipal or Unknown", p.Type)
	}
	return nil
}

// checkEntraName refuses names PostgreSQL would truncate or cannot hold,
// and the reserved ones.
func checkEntraName(name string) error {
	switch {
	case name == "" || len(name) > 63:
		return fmt.Errorf("principal name %q: a role name is 1–63 bytes", name)
	case strings.ContainsAny(name, "\x00\r\n"):
		return fmt.Errorf("principal name %q: control characters are not allowed", name)
	case reservedRole(name):
		return fmt.Errorf("principal name %q is reserved", name)
	}
	return nil
}

// objectType is ARM's principalType as pgaadauth's objectType: user,
// group or service (Unknown is taken as a user: only its object id
// signs in); "" for anything else.
func objectType(t string) string {
	switch strings.ToLower(t) {
	case "user", "unknown":
		return "user"
	case "group":
		return "group"
	case "serviceprincipal", "service":
		return "service"
	}
	return ""
}

// SetAuthConfig replaces a server's authConfig. Turning Microsoft Entra
// authentication off takes the principals' roles' passwords away
// (lockOutEntra): any role may set its own password, so a principal
// could otherwise have planted one while signed in with a token and go
// on signing in with it, through the proxy's password path, once tokens
// are no longer taken.
func (m *Manager) SetAuthConfig(server string, a AuthConfig) {
	m.mu.Lock()
	old, ok := m.auth[server]
	if !ok {
		old = defaultAuth
	}
	m.auth[server] = a
	m.mu.Unlock()
	if old.Entra && !a.Entra {
		m.lockOutEntra(server)
	}
}

// lockOutEntra leaves a running server's Entra principals' roles without
// a password (a stopped one's are cleared by ensureEntra when it starts).
func (m *Manager) lockOutEntra(server string) {
	m.forgetEntraServer(server)
	c, err := m.running(server)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if _, err := c.psql(ctx, "postgres", entraLockOutSQL); err != nil {
		m.cfg.Logger.Error("clearing the passwords of Microsoft Entra principals", "server", server, "err", err)
	}
}

// entraLockOutSQL clears the passwords of every Entra principal's role.
const entraLockOutSQL = quietly + "SELECT format('ALTER ROLE %I PASSWORD NULL', r.rolname) FROM pgaadauth.principals p JOIN pg_roles r ON r.oid = p.role_oid \\gexec\n"

// authOf is a server's authConfig.
func (m *Manager) authOf(server string) AuthConfig {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if a, ok := m.auth[server]; ok {
		return a
	}
	return defaultAuth
}

// entraSQL makes pgaadauth in the postgres database, or brings it up to
// date; it is run as azuresu at each start. A schema of that name that is
// not azuresu's (a tenant's, made before) is refused rather than used.
var entraSQL = `
DO $d$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'pgaadauth' AND nspowner <> 'azuresu'::regrole) THEN
    RAISE EXCEPTION 'schema pgaadauth exists and is not the platform''s';
  END IF;
END $d$;
CREATE SCHEMA IF NOT EXISTS pgaadauth AUTHORIZATION azuresu;
REVOKE ALL ON SCHEMA pgaadauth FROM PUBLIC;
CREATE TABLE IF NOT EXISTS pgaadauth.principals (
  role_oid oid PRIMARY KEY,
  object_id uuid,
  object_type text NOT NULL CHECK (object_type IN ('user', 'group', 'service')),
  is_admin boolean NOT NULL,
  is_mfa boolean NOT NULL DEFAULT false,
  arm_admin boolean NOT NULL DEFAULT false
);
ALTER TABLE pgaadauth.principals ADD COLUMN IF NOT EXISTS made timestamptz NOT NULL DEFAULT now();
REVOKE ALL ON pgaadauth.principals FROM PUBLIC;
CREATE OR REPLACE FUNCTION pgaadauth.make_principal(rolename text, objectid uuid, objecttype text, isadmin boolean, ismfa boolean) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  t text := lower(coalesce(objecttype, ''));
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pgaadauth.principals p JOIN pg_roles r ON r.oid = p.role_oid
                 WHERE r.rolname = session_user AND p.arm_admin) THEN
    RAISE EXCEPTION 'only a Microsoft Entra administrator of this server may create Microsoft Entra principals'
      USING ERRCODE = '42501', HINT = 'Sign in as the server''s Microsoft Entra administrator (az postgres flexible-server microsoft-entra-admin create) with a token, then call this function.';
  END IF;
  IF t = 'serviceprincipal' THEN t := 'service'; END IF;
  IF t NOT IN ('user', 'group', 'service') THEN
    RAISE EXCEPTION 'object type "%" is not one of user, group, service', objecttype USING ERRCODE = '22023';
  END IF;
  IF rolename IS NULL OR rolename = '' OR octet_length(rolename) > 63 OR rolename ~ '[\x01-\x1f]'
     OR lower(rolename) IN (` + reservedRolesSQL + `)
     OR lower(rolename) LIKE 'pg\_%' THEN
    RAISE EXCEPTION 'role name "%" cannot be a Microsoft Entra principal (1–63 bytes, not reserved)', rolename USING ERRCODE = '22023';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = rolename) THEN
    RAISE EXCEPTION 'role "%" already exists', rolename USING ERRCODE = '42710',
      HINT = 'A Microsoft Entra principal is a new role: drop the existing one or choose the principal''s exact name.';
  END IF;
  EXECUTE format('CREATE ROLE %I LOGIN', rolename);
  IF isadmin THEN
    EXECUTE format('ALTER ROLE %I CREATEDB', rolename);
    EXECUTE format('GRANT azure_pg_admin TO %I', rolename);
  END IF;
  INSERT INTO pgaadauth.principals (role_oid, object_id, object_type, is_admin, is_mfa)
    VALUES ((SELECT oid FROM pg_roles WHERE rolname = rolename), objectid, t, coalesce(isadmin, false), coalesce(ismfa, false));
  RETURN format('Created role for "%s"', rolename);
END $f$;
REVOKE ALL ON FUNCTION pgaadauth.make_principal(text, uuid, text, boolean, boolean) FROM PUBLIC;
CREATE OR REPLACE FUNCTION public.pgaadauth_create_principal_with_oid(rolename text, objectid text, objecttype text, isadmin boolean, ismfa boolean) RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $f$ SELECT pgaadauth.make_principal(rolename, objectid::uuid, objecttype, isadmin, ismfa) $f$;
CREATE OR REPLACE FUNCTION public.pgaadauth_create_principal(rolename text, isadmin boolean, ismfa boolean) RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $f$ SELECT pgaadauth.make_principal(rolename, NULL, 'service', isadmin, ismfa) $f$;
CREATE OR REPLACE FUNCTION public.pgaadauth_list_principals(isadmin boolean) RETURNS TABLE (rolname name, principaltype text, objectid text, ismfa boolean)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $f$ SELECT r.rolname, p.object_type, p.object_id::text, p.is_mfa FROM pgaadauth.principals p JOIN pg_roles r ON r.oid = p.role_oid WHERE NOT isadmin OR p.is_admin ORDER BY 1 $f$;
REVOKE ALL ON FUNCTION public.pgaadauth_create_principal_with_oid(text, text, text, boolean, boolean), public.pgaadauth_create_principal(text, boolean, boolean), public.pgaadauth_list_principals(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.pgaadauth_create_principal_with_oid(text, text, text, boolean, boolean), public.pgaadauth_create_principal(text, boolean, boolean), public.pgaadauth_list_principals(boolean) TO azure_pg_admin;
DELETE FROM pgaadauth.principals p WHERE NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = p.role_oid);
`

// reservedRolesSQL is reservedRoles as SQL literals, for entraSQL.
var reservedRolesSQL = func() string {
	lits := make([]string, len(reservedRoles))
	for i, r := range reservedRoles {
		lits[i] = literal(r)
	}
	return strings.Join(lits, ", ")
}()

// ensureEntra makes (or updates) pgaadauth in a running cluster and, when
// the server takes no Entra tokens, clears its principals' passwords
// (SetAuthConfig).
func (c *cluster) ensureEntra(ctx context.Context) error {
	script := entraSQL
	if !c.m.authOf(c.name).Entra {
		script += entraLockOutSQL
	}
	if _, err := c.psql(ctx, "postgres", script); err != nil {
		return fmt.Errorf("PostgreSQL server %q: making pgaadauth: %w", c.name, err)
	}
	return nil
}

// AddEntraAdmin makes a principal a Microsoft Entra administrator of a
// server, as Azure does for an administrators resource: a login role of
// its name, a member of azure_pg_admin, recorded as the principal. The
// same principal again is not an error; a role of that name that is not
// it is.
func (m *Manager) AddEntraAdmin(ctx context.Context, server string, p EntraPrincipal) error {
	if err := CheckEntraPrincipal(p); err != nil {
		return fmt.Errorf("adding a Microsoft Entra administrator to %q: %w", server, err)
	}
	c, err := m.running(server)
	if err != nil {
		return err
	}
	attrs := "LOGIN CREATEDB"
	if major, _ := strconv.Atoi(m.version); major >= 16 {
		attrs += " CREATEROLE"
	}
	// ::regrole parses its text as an identifier: its literal is quoted.
	// The block's body is itself a literal, never dollar-quoted: a name
	// is the ARM caller's text, and one holding the dollar quote's tag
	// would end the body there, leaving the rest of the name to psql
	// (its meta-commands run on the host) and to the superuser's SQL.
	body := fmt.Sprintf(`BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = %[1]s AND NOT EXISTS (
       SELECT 1 FROM pgaadauth.principals p WHERE p.role_oid = r.oid AND p.object_id = %[2]s::uuid)) THEN
    RAISE EXCEPTION 'a role named %%s exists and is not this principal: drop or rename it first', %[1]s;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %[1]s) THEN
    CREATE ROLE %[3]s %[4]s IN ROLE azure_pg_admin;
  END IF;
  INSERT INTO pgaadauth.principals (role_oid, object_id, object_type, is_admin, arm_admin)
    VALUES (%[6]s::regrole, %[2]s::uuid, %[5]s, true, true)
    ON CONFLICT (role_oid) DO UPDATE SET object_type = EXCLUDED.object_type, is_admin = true, arm_admin = true;
END`, literal(p.Name), literal(p.ObjectID), ident(p.Name), attrs, literal(objectType(p.Type)), literal(ident(p.Name)))
	if _, err := c.psql(ctx, "postgres", "DO "+literal(body)+";\n"); err != nil {
		return fmt.Errorf("adding Microsoft Entra administrator %q to %q: %w", p.Name, server, err)
	}
	m.forgetEntra(server, p.Name)
	return nil
}

// RemoveEntraAdmin takes the principal of objectID off a server's Entra
// administrators: its role is dropped, or, when it owns objects, loses
// azure_pg_admin and its login. None: nil.
func (m *Manager) RemoveEntraAdmin(ctx context.Context, server, objectID string) error {
	if !guidRE.MatchString(objectID) {
		return nil
	}
	c, err := m.running(server)
	if err != nil {
		return err
	}
	// The names come back hex-encoded: psql's text output would give a
	// name with a leading or trailing space (the ARM caller's text) as
	// another role's once trimmed — the platform's superuser's, or the
	// password administrator's, whose login the statements below take.
	out, err := c.psql(ctx, "postgres", fmt.Sprintf("SELECT encode(convert_to(r.rolname, 'UTF8'), 'hex') FROM pgaadauth.principals p JOIN pg_roles r ON r.oid = p.role_oid WHERE p.object_id = %s::uuid AND p.arm_admin;\n", literal(objectID)))
	if err != nil {
		return fmt.Errorf("removing a Microsoft Entra administrator of %q: %w", server, err)
	}
	for _, line := range strings.Fields(out) {
		b, err := hex.DecodeString(line)
		if err != nil || len(b) == 0 {
			return fmt.Errorf("removing a Microsoft Entra administrator of %q: unexpected role name %q from psql", server, line)
		}
		role := string(b)
		script := fmt.Sprintf("DELETE FROM pgaadauth.principals WHERE role_oid = %s::regrole;\n", literal(ident(role))) +
			fmt.Sprintf("REVOKE azure_pg_admin FROM %[1]s;\nALTER ROLE %[1]s NOLOGIN PASSWORD NULL;\n", ident(role))
		if _, err := c.psql(ctx, "postgres", script); err != nil {
			return fmt.Errorf("removing Microsoft Entra administrator %q of %q: %w", role, server, err)
		}
		// Dropped when it owns nothing; kept (without login) otherwise.
		c.psql(ctx, "postgres", fmt.Sprintf("DROP ROLE %s;\n", ident(role)))
		m.forgetEntra(server, role)
	}
	return nil
}

// entraRole is what the cluster records of an Entra principal's role.
type entraRole struct {
	roleOID    uint32 // the role's oid, which its record is keyed by
	objectID   string // "" when made by name only (pgaadauth_create_principal)
	objectType string
	made       time.Time // when the role became a principal
}

// lookupEntraSQL finds the principal a role stands for: a role that may
// log in, recorded in pgaadauth while pgaadauth is the platform's.
const lookupEntraSQL = `SELECT r.oid, coalesce(p.object_id::text, ''), p.object_type, p.made
FROM pgaadauth.principals p JOIN pg_roles r ON r.oid = p.role_oid
WHERE r.rolname = $1 AND r.rolcanlogin
  AND EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'pgaadauth' AND nspowner = 'azuresu'::regrole)`

// lookupEntra returns the principal a role stands for, and false when it
// stands for none. It asks the cluster at each sign-in: a role dropped
// and made again is never taken for the one before.
func (c *cluster) lookupEntra(ctx context.Context, role string) (entraRole, bool, error) {
	db, err := c.sql()
	if err != nil {
		return entraRole{}, false, err
	}
	var rec entraRole
	err = db.QueryRow(ctx, lookupEntraSQL, role).Scan(&rec.roleOID, &rec.objectID, &rec.objectType, &rec.made)
	if errors.Is(err, pgx.ErrNoRows) {
		return entraRole{}, false, nil
	}
	if err != nil {
		return entraRole{}, false, fmt.Errorf("looking up the Microsoft Entra principal of role %q: %w", role, err)
	}
	rec.objectID = strings.ToLower(rec.objectID)
	return rec, true, nil
}

// bindEntra records the object id of a role made by name only, once. The
// role is the one looked up (by its oid); a record bound meanwhile to
// another principal is not this one's.
func (c *cluster) bindEntra(ctx context.Context, rec entraRole, objectID string) error {
	db, err := c.sql()
	if err != nil {
		return err
	}
	tag, err := db.Exec(ctx, "UPDATE pgaadauth.principals SET object_id = $1::uuid WHERE role_oid = $2 AND (object_id IS NULL OR object_id = $1::uuid)", objectID, rec.roleOID)
	if err != nil {
		return fmt.Errorf("recording the object id of a Microsoft Entra principal: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return &errEntra{"the role is another principal's, or was dropped, since the sign-in began"}
	}
	return nil
}

// entraPasswords are the passwords the proxy signs in to clusters with as
// Entra principals' roles, by server and role; they live in memory only.
// A role's password is set by one sign-in at a time (turns); sign-ins of
// other roles, and of other servers, do not wait for it.
type entraPasswords struct {
	mu    sync.Mutex
	pw    map[entraKey]string
	turns map[entraKey]*entraTurn
}

// entraKey is a server and a role of it.
type entraKey struct{ server, role string }

// entraTurn is one role's turn to set its password: a one-slot semaphore
// and how many sign-ins hold or wait for it.
type entraTurn struct {
	slot  chan struct{}
	users int
}

// take waits for the role's turn, or ctx's end, and returns its release.
func (e *entraPasswords) take(ctx context.Context, k entraKey) (func(), error) {
	e.mu.Lock()
	if e.turns == nil {
		e.turns = map[entraKey]*entraTurn{}
	}
	t := e.turns[k]
	if t == nil {
		t = &entraTurn{slot: make(chan struct{}, 1)}
		e.turns[k] = t
	}
	t.users++
	e.mu.Unlock()
	done := func() {
		e.mu.Lock()
		if t.users--; t.users == 0 {
			delete(e.turns, k)
		}
		e.mu.Unlock()
	}
	select {
	case t.slot <- struct{}{}:
		return func() { <-t.slot; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}

// held is the proxy's password of a role, if it has one.
func (e *entraPasswords) held(k entraKey) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	pw, ok := e.pw[k]
	return pw, ok
}

// entraPassword returns the role's password, setting a new one (as
// azuresu) when the proxy has none or the one it has is stale: the
// cluster refused it. Sign-ins that found the same password stale set one
// new password between them, not one each (which would refuse the others).
func (m *Manager) entraPassword(ctx context.Context, c *cluster, role string, rec entraRole, stale string) (string, error) {
	k := entraKey{c.name, role}
	release, err := m.entra.take(ctx, k)
	if err != nil {
		return "", fmt.Errorf("setting the sign-in of Microsoft Entra principal %q: %w", role, err)
	}
	defer release()
	if pw, ok := m.entra.held(k); ok && pw != stale {
		return pw, nil
	}
	pw, err := randomPassword()
	if err != nil {
		return "", err
	}
	verifier, err := scramVerifier(pw)
	if err != nil {
		return "", err
	}
	db, err := c.sql()
	if err != nil {
		return "", err
	}
	// A utility statement takes no parameters: the role's name is quoted
	// as an identifier, and the password is the proxy's own, as a SCRAM
	// verifier (base64 and '$', ':'), in a session with
	// standard_conforming_strings on that logs no statement. The role
	// must still be the one looked up: one dropped and made again under
	// its name since is not the principal's, and keeps its password.
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "ALTER ROLE "+pgx.Identifier{role}.Sanitize()+" PASSWORD "+literal(verifier)); err != nil {
			return err
		}
		var same bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1 AND oid = $2)", role, rec.roleOID).Scan(&same); err != nil {
			return err
		}
		if !same {
			return &errEntra{"the role was dropped and made again since the sign-in began: sign in again"}
		}
		return nil
	})
	var refused *errEntra
	if errors.As(err, &refused) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("setting the sign-in of Microsoft Entra principal %q: %w", role, err)
	}
	m.entra.mu.Lock()
	defer m.entra.mu.Unlock()
	if m.entra.pw == nil {
		m.entra.pw = map[entraKey]string{}
	}
	m.entra.pw[k] = pw
	return pw, nil
}

// forgetEntra drops the proxy's password of a role.
func (m *Manager) forgetEntra(server, role string) {
	m.entra.mu.Lock()
	defer m.entra.mu.Unlock()
	delete(m.entra.pw, entraKey{server, role})
}

// forgetEntraServer drops the proxy's passwords of a server's roles.
func (m *Manager) forgetEntraServer(server string) {
	m.entra.mu.Lock()
	defer m.entra.mu.Unlock()
	for k := range m.entra.pw {
		if k.server == server {
			delete(m.entra.pw, k)
		}
	}
}

// errEntra is a token refused, with the hint the client is told.
type errEntra struct{ hint string }

func (e *errEntra) Error() string { return e.hint }

// checkToken verifies a client's token for a role of a server.
func (m *Manager) checkToken(ctx context.Context, c *cluster, role string, rec entraRole, token string, auth AuthConfig) error {
	m.mu.RLock()
	dir := m.dir
	m.mu.RUnlock()
	if dir.Verify == nil {
		return &errEntra{"this Slipway has no identity service to verify tokens"}
	}
	claims, err := dir.Verify(ctx, token, []string{EntraAudience, EntraAudience + "/"})
	if err != nil {
		return &errEntra{"the password is not a valid access token for " + EntraAudience + " from this platform's identity service (get one with the scope " + EntraAudience + "/.default): " + err.Error()}
	}
	if auth.TenantID != "" && !strings.EqualFold(auth.TenantID, claims.TenantID) {
		return &errEntra{"the token is of another tenant than the server's"}
	}
	oid := strings.ToLower(claims.ObjectID)
	if rec.objectID == "" {
		// Made by name only: the name is resolved once, at the first
		// sign-in, to the one principal of that name when the role was
		// made.
		if dir.PrincipalsNamed == nil {
			return &errEntra{"the role was made without an object id: use pgaadauth_create_principal_with_oid"}
		}
		ids, err := dir.PrincipalsNamed(ctx, role, rec.made)
		if err != nil {
			return err
		}
		if len(ids) != 1 {
			return &errEntra{fmt.Sprintf("%d principals were named %q in the directory when the role was made: make the role with pgaadauth_create_principal_with_oid", len(ids), role)}
		}
		if !strings.EqualFold(ids[0], oid) {
			return &errEntra{"the token is another principal's than the role's"}
		}
		if err := c.bindEntra(ctx, rec, oid); err != nil {
			return err
		}
		return nil
	}
	// A service principal's role may name it by its client id, as Azure's
	// administrators of that type do.
	if rec.objectID != oid && (rec.objectType != "service" || rec.objectID != strings.ToLower(claims.AppID)) {
		return &errEntra{"the token is another principal's than the role's"}
	}
	return nil
}
