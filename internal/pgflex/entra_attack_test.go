package pgflex

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/identity"
	"github.com/slipway-dev/slipway/internal/store"
)

// These tests sign in with real tokens of Slipway's identity service
// (internal/identity over a real store), through the proxy, with psql as
// the client, to real clusters.

type entraEnv struct {
	*env
	svc   *identity.Service
	store *store.Store
}

const otherAudience = "https://management.azure.com/"

func newEntraEnv(t *testing.T) *entraEnv {
	t.Helper()
	st, err := store.Open(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, tenant, err := st.Identity(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := identity.New(t.Context(), identity.Config{Store: st, TenantID: tenant, Resources: []string{EntraAudience, otherAudience}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.m.SetDirectory(Directory{
		Verify: func(ctx context.Context, token string, audiences []string) (TokenClaims, error) {
			cl, err := svc.Verify(ctx, token, audiences)
			return TokenClaims{ObjectID: cl.ObjectID, AppID: cl.AppID, TenantID: cl.TenantID}, err
		},
		PrincipalsNamed: func(ctx context.Context, name string, madeBy time.Time) ([]string, error) {
			all, err := st.Principals(ctx)
			var ids []string
			for _, p := range all {
				if p.DisplayName == name && !p.Created.After(madeBy) {
					ids = append(ids, p.ObjectID)
				}
			}
			return ids, err
		},
	})
	return &entraEnv{env: e, svc: svc, store: st}
}

// principal makes a service principal of the directory.
func (e *entraEnv) principal(t *testing.T, name string) store.Principal {
	t.Helper()
	creds, err := e.svc.CreateServicePrincipal(t.Context(), name, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.store.PrincipalByAppID(t.Context(), creds.AppID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *entraEnv) token(t *testing.T, p store.Principal, audience string) string {
	t.Helper()
	tok, err := e.svc.Issue(t.Context(), p, audience, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func (e *entraEnv) makeServer(t *testing.T, name string, auth AuthConfig) string {
	mustCreate(t, e.env, name)
	e.m.SetFirewallRules(name, allowLocal)
	e.m.SetAuthConfig(name, auth)
	return name + Suffix
}

// entraAdmin makes a principal "entra-admin" the server's Entra
// administrator and returns it with its token.
func (e *entraEnv) entraAdmin(t *testing.T, server string) (store.Principal, string) {
	t.Helper()
	admin := e.principal(t, "entra-admin")
	if err := e.m.AddEntraAdmin(t.Context(), server, EntraPrincipal{Name: admin.DisplayName, ObjectID: admin.ObjectID, Type: "ServicePrincipal"}); err != nil {
		t.Fatal(err)
	}
	return admin, e.token(t, admin, EntraAudience)
}

// createPrincipal has the Entra administrator make role a principal of
// oid with pgaadauth_create_principal_with_oid.
func (e *entraEnv) createPrincipal(t *testing.T, host, adminTok, role, oid string) {
	t.Helper()
	out, err := psqlAt(t, e.addr, host, "entra-admin", adminTok, "postgres",
		"SELECT * FROM pgaadauth_create_principal_with_oid('"+role+"', '"+oid+"', 'service', false, false)")
	if err != nil || !strings.Contains(out, `Created role for "`+role+`"`) {
		t.Fatalf("pgaadauth_create_principal_with_oid: %v %q", err, out)
	}
}

// serverWithApp makes a server with Microsoft Entra sign-in, its Entra
// administrator, and a principal's role webapp1 (made by the
// administrator), and returns the server's host and webapp1's token.
func (e *entraEnv) serverWithApp(t *testing.T, name string) (host, appTok string) {
	t.Helper()
	host = e.makeServer(t, name, entraOn)
	_, adminTok := e.entraAdmin(t, name)
	app := e.principal(t, "webapp1")
	e.createPrincipal(t, host, adminTok, "webapp1", app.ObjectID)
	return host, e.token(t, app, EntraAudience)
}

func wantRefused(t *testing.T, what, out string, err error, says string) {
	t.Helper()
	if err == nil || !strings.Contains(out, says) {
		t.Fatalf("%s: want a refusal saying %q, got %v: %s", what, says, err, out)
	}
}

var entraOn = AuthConfig{Password: true, Entra: true}

func TestEntraSignIn(t *testing.T) {
	e := newEntraEnv(t)
	ctx := context.Background()
	host := e.makeServer(t, "pgt-entra", entraOn)
	admin, _ := e.entraAdmin(t, "pgt-entra")
	app := e.principal(t, "webapp1")
	// Again: the same principal is not an error.
	if err := e.m.AddEntraAdmin(ctx, "pgt-entra", EntraPrincipal{Name: admin.DisplayName, ObjectID: admin.ObjectID, Type: "ServicePrincipal"}); err != nil {
		t.Fatal(err)
	}
	adminTok := e.token(t, admin, EntraAudience+"/")
	out, err := psqlAt(t, e.addr, host, "entra-admin", adminTok, "postgres", "SELECT current_user, pg_has_role('azure_pg_admin', 'member'), rolsuper FROM pg_roles WHERE rolname = current_user")
	if err != nil || out != "entra-admin|t|f" {
		t.Fatalf("Entra administrator: %v %q", err, out)
	}
	e.createPrincipal(t, host, adminTok, "webapp1", app.ObjectID)
	appTok := e.token(t, app, EntraAudience)
	out, err = psqlAt(t, e.addr, host, "webapp1", appTok, "postgres", "SELECT current_user, pg_has_role('azure_pg_admin', 'member')")
	if err != nil || out != "webapp1|f" {
		t.Fatalf("the app's principal: %v %q", err, out)
	}
	// The proxy's own password for the role changed behind it (as after a
	// start of Slipway): it sets one again.
	c, _ := e.m.known("pgt-entra")
	if _, err := c.psql(ctx, "postgres", "ALTER ROLE webapp1 PASSWORD 'changed-behind-the-proxy';"); err != nil {
		t.Fatal(err)
	}
	if out, err := psqlAt(t, e.addr, host, "webapp1", appTok, "postgres", "SELECT 1"); err != nil || out != "1" {
		t.Fatalf("after the role's password changed: %v %q", err, out)
	}
	// A principal made by name only is resolved to the one principal of
	// that name at its first sign-in.
	byName := e.principal(t, "webapp2")
	if out, err := psqlAt(t, e.addr, host, "entra-admin", adminTok, "postgres", "SELECT * FROM pgaadauth_create_principal('webapp2', false, false)"); err != nil {
		t.Fatalf("pgaadauth_create_principal: %v %q", err, out)
	}
	if out, err := psqlAt(t, e.addr, host, "webapp2", e.token(t, byName, EntraAudience), "postgres", "SELECT current_user"); err != nil || out != "webapp2" {
		t.Fatalf("a principal by name: %v %q", err, out)
	}
	// The password administrator keeps signing in with its password.
	if out, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", "SELECT 1"); err != nil || out != "1" {
		t.Fatalf("password sign-in: %v %q", err, out)
	}
	// Password authentication off: passwords are refused, tokens taken.
	e.m.SetAuthConfig("pgt-entra", AuthConfig{Entra: true})
	out, err = psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", "SELECT 1")
	wantRefused(t, "a password with passwordAuth Disabled", out, err, "Password authentication is disabled on this server")
	if out, err := psqlAt(t, e.addr, host, "webapp1", appTok, "postgres", "SELECT 1"); err != nil || out != "1" {
		t.Fatalf("a token with passwordAuth Disabled: %v %q", err, out)
	}
	// After a start of Slipway, the records' authConfig is the server's.
	// (Reconcile runs at a start, with the server stopped: one still
	// running would be started again beside itself.)
	if err := e.m.StopServer(ctx, "pgt-entra"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Reconcile(ctx, []Reconciled{{Name: "pgt-entra", Rules: allowLocal, Auth: &AuthConfig{Password: true}}}); err != nil {
		t.Fatal(err)
	}
	out, err = psqlAt(t, e.addr, host, "webapp1", appTok, "postgres", "SELECT 1")
	wantRefused(t, "a token after Entra was disabled in the records", out, err, `password authentication failed for user "webapp1"`)
	if out, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", "SELECT 1"); err != nil || out != "1" {
		t.Fatalf("a password after the records enabled passwords: %v %q", err, out)
	}
}

func TestAttack_EntraSignIn(t *testing.T) {
	e := newEntraEnv(t)
	ctx := context.Background()
	host := e.makeServer(t, "pgt-entra-a", entraOn)
	_, adminTok := e.entraAdmin(t, "pgt-entra-a")
	app := e.principal(t, "webapp1")
	stranger := e.principal(t, "stranger")
	e.createPrincipal(t, host, adminTok, "webapp1", app.ObjectID)

	t.Run("a token for another audience", func(t *testing.T) {
		out, err := psqlAt(t, e.addr, host, "webapp1", e.token(t, app, otherAudience), "postgres", "SELECT 1")
		wantRefused(t, "management token", out, err, `password authentication failed for user "webapp1"`)
		wantRefused(t, "management token", out, err, "not a valid access token for "+EntraAudience)
	})
	t.Run("another principal's token", func(t *testing.T) {
		out, err := psqlAt(t, e.addr, host, "webapp1", e.token(t, stranger, EntraAudience), "postgres", "SELECT 1")
		wantRefused(t, "a stranger's token", out, err, "the token is another principal's than the role's")
		out, err = psqlAt(t, e.addr, host, "webapp1", adminTok, "postgres", "SELECT 1")
		wantRefused(t, "the admin's token for the app's role", out, err, "the token is another principal's than the role's")
	})
	t.Run("a token that is not signed by the platform", func(t *testing.T) {
		parts := strings.Split(e.token(t, app, EntraAudience), ".")
		forged := parts[0] + "." + parts[1] + ".AAAA"
		out, err := psqlAt(t, e.addr, host, "webapp1", forged, "postgres", "SELECT 1")
		wantRefused(t, "a forged token", out, err, "not a valid access token")
	})
	t.Run("a role not made a principal", func(t *testing.T) {
		// The tenant's own role (its administrator, or one it creates
		// where PostgreSQL lets it) named like a principal: a token is
		// only ever a wrong password for it.
		lookalike := "myadmin"
		if _, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", `CREATE ROLE "lookalike" LOGIN`); err == nil {
			lookalike = "lookalike"
		}
		p := e.principal(t, lookalike)
		out, err := psqlAt(t, e.addr, host, lookalike, e.token(t, p, EntraAudience), "postgres", "SELECT 1")
		wantRefused(t, "a tenant's role", out, err, `password authentication failed for user "`+lookalike+`"`)
	})
	t.Run("the tenant writes the mapping", func(t *testing.T) {
		for _, sql := range []string{
			"INSERT INTO pgaadauth.principals (role_oid, object_id, object_type, is_admin, arm_admin) VALUES ('myadmin'::regrole, '" + stranger.ObjectID + "', 'service', true, true)",
			"UPDATE pgaadauth.principals SET object_id = '" + stranger.ObjectID + "'",
			"DELETE FROM pgaadauth.principals",
			"SELECT * FROM pgaadauth.principals",
			"SELECT pgaadauth.make_principal('evil', '" + stranger.ObjectID + "', 'service', true, false)",
			"SELECT pgaadauth_create_principal_with_oid('evil', '" + stranger.ObjectID + "', 'service', true, false)",
			"SELECT pgaadauth_create_principal('evil', true, false)",
			"ALTER SCHEMA pgaadauth OWNER TO myadmin",
			"DROP SCHEMA pgaadauth CASCADE",
			"CREATE TABLE pgaadauth.principals2 (x int)",
			"CREATE OR REPLACE FUNCTION public.pgaadauth_create_principal(rolename text, isadmin boolean, ismfa boolean) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$",
			"DROP FUNCTION public.pgaadauth_create_principal_with_oid(text, text, text, boolean, boolean)",
			"ALTER ROLE webapp1 PASSWORD 'known'",
			// Taking the Entra administrator's identity inside a session.
			`GRANT "entra-admin" TO myadmin`,
			`GRANT webapp1 TO myadmin`,
			`SET SESSION AUTHORIZATION "entra-admin"`,
			`SET ROLE "entra-admin"`,
		} {
			if out, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", sql); err == nil {
				t.Errorf("the password administrator ran %q: %s", sql, out)
			}
		}
		// The Entra administrator itself writes only through the
		// functions, and they never take an existing role.
		for _, sql := range []string{
			"INSERT INTO pgaadauth.principals (role_oid, object_id, object_type, is_admin) VALUES ('myadmin'::regrole, '" + stranger.ObjectID + "', 'service', true)",
			"SELECT pgaadauth_create_principal_with_oid('myadmin', '" + stranger.ObjectID + "', 'service', true, false)",
			"SELECT pgaadauth_create_principal_with_oid('azuresu', '" + stranger.ObjectID + "', 'service', true, false)",
			"SELECT pgaadauth_create_principal_with_oid('pg_monitor2', '" + stranger.ObjectID + "', 'service', true, false)",
			"ALTER ROLE webapp1 PASSWORD 'known'",
		} {
			if out, err := psqlAt(t, e.addr, host, "entra-admin", adminTok, "postgres", sql); err == nil {
				t.Errorf("the Entra administrator ran %q: %s", sql, out)
			}
		}
		// myadmin is still no principal: the stranger's token does not
		// sign in as it.
		out, err := psqlAt(t, e.addr, host, "myadmin", e.token(t, stranger, EntraAudience), "postgres", "SELECT 1")
		wantRefused(t, "myadmin with a token", out, err, `password authentication failed for user "myadmin"`)
	})
	t.Run("Entra authentication disabled", func(t *testing.T) {
		e.m.SetAuthConfig("pgt-entra-a", AuthConfig{Password: true})
		defer e.m.SetAuthConfig("pgt-entra-a", entraOn)
		out, err := psqlAt(t, e.addr, host, "webapp1", e.token(t, app, EntraAudience), "postgres", "SELECT 1")
		wantRefused(t, "a token with Entra disabled", out, err, `password authentication failed for user "webapp1"`)
	})
	t.Run("an oversized password message", func(t *testing.T) {
		c := dialTLS(t, e.addr, host)
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(startupMessage("user", "webapp1", "database", "postgres"))
		var head [9]byte
		if _, err := io.ReadFull(c, head[:]); err != nil || head[0] != 'R' || binary.BigEndian.Uint32(head[5:]) != 3 {
			t.Fatalf("want a request for a clear-text password, got %v %q", err, head)
		}
		big := make([]byte, 5+maxPasswordMessage+100)
		big[0] = 'p'
		binary.BigEndian.PutUint32(big[1:], uint32(len(big)-1))
		c.Write(big[:5]) // the header alone: the proxy must not wait for the rest
		msg, _ := io.ReadAll(io.LimitReader(c, 4096))
		if len(msg) == 0 || msg[0] != 'E' || !strings.Contains(string(msg), "at most") {
			t.Fatalf("want a refusal of the oversized message, got %q", msg)
		}
	})
	t.Run("a token for server A's principal used against server B", func(t *testing.T) {
		hostB := e.makeServer(t, "pgt-entra-b", entraOn)
		if err := e.m.AddEntraAdmin(ctx, "pgt-entra-b", EntraPrincipal{Name: "entra-admin", ObjectID: stranger.ObjectID, Type: "ServicePrincipal"}); err != nil {
			t.Fatal(err)
		}
		out, err := psqlAt(t, e.addr, hostB, "entra-admin", adminTok, "postgres", "SELECT 1")
		wantRefused(t, "A's admin on B", out, err, "the token is another principal's than the role's")
		if out, err := psqlAt(t, e.addr, hostB, "entra-admin", e.token(t, stranger, EntraAudience), "postgres", "SELECT current_user"); err != nil || out != "entra-admin" {
			t.Fatalf("B's own admin: %v %q", err, out)
		}
	})
	t.Run("the platform role", func(t *testing.T) {
		su := e.principal(t, "azuresu")
		out, err := psqlAt(t, e.addr, host, "azuresu", e.token(t, su, EntraAudience), "postgres", "SELECT 1")
		wantRefused(t, "azuresu with a token", out, err, "no pg_hba.conf entry")
		if err := e.m.AddEntraAdmin(ctx, "pgt-entra-a", EntraPrincipal{Name: "azuresu", ObjectID: su.ObjectID, Type: "ServicePrincipal"}); err == nil {
			t.Fatal("azuresu was made an Entra administrator")
		}
	})
	t.Run("an administrator's name taken by a tenant's role", func(t *testing.T) {
		if err := e.m.AddEntraAdmin(ctx, "pgt-entra-a", EntraPrincipal{Name: "myadmin", ObjectID: stranger.ObjectID, Type: "User"}); err == nil {
			t.Fatal("an existing role was made an Entra administrator")
		}
	})
}

// TestAttack_EntraPrincipalsOwnPassword: any role may set its own
// password, an Entra principal's too, once it has signed in with a token.
// With Microsoft Entra authentication then disabled on the server (to cut
// the principals off), the proxy no longer takes the role's sign-in
// itself and passes it to the cluster, which took that password: the
// principal kept a way in without any token. Disabling Entra
// authentication, at once or when the server next starts, now leaves
// the principals' roles without a password.
func TestAttack_EntraPrincipalsOwnPassword(t *testing.T) {
	e := newEntraEnv(t)
	ctx := context.Background()
	host := e.makeServer(t, "pgt-entra-pw", entraOn)
	_, adminTok := e.entraAdmin(t, "pgt-entra-pw")
	app := e.principal(t, "webapp1")
	e.createPrincipal(t, host, adminTok, "webapp1", app.ObjectID)
	appTok := e.token(t, app, EntraAudience)
	plant := func() {
		t.Helper()
		if out, err := psqlAt(t, e.addr, host, "webapp1", appTok, "postgres", "ALTER ROLE CURRENT_USER PASSWORD 'planted-by-the-principal'"); err != nil {
			t.Fatalf("the principal sets its own password: %v %s", err, out)
		}
	}

	plant()
	e.m.SetAuthConfig("pgt-entra-pw", AuthConfig{Password: true})
	out, err := psqlAt(t, e.addr, host, "webapp1", "planted-by-the-principal", "postgres", "SELECT current_user")
	wantRefused(t, "a planted password once Entra is disabled", out, err, `password authentication failed for user "webapp1"`)
	out, err = psqlAt(t, e.addr, host, "entra-admin", "planted-by-the-principal", "postgres", "SELECT current_user")
	wantRefused(t, "the administrator's role once Entra is disabled", out, err, `password authentication failed for user "entra-admin"`)

	// Enabled again, the token signs in as before.
	e.m.SetAuthConfig("pgt-entra-pw", entraOn)
	if out, err := psqlAt(t, e.addr, host, "webapp1", appTok, "postgres", "SELECT current_user"); err != nil || out != "webapp1" {
		t.Fatalf("a token once Entra is enabled again: %v %q", err, out)
	}

	// Disabled in the records while Slipway was down: the server's next
	// start clears the password.
	plant()
	if err := e.m.StopServer(ctx, "pgt-entra-pw"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Reconcile(ctx, []Reconciled{{Name: "pgt-entra-pw", Rules: allowLocal, Auth: &AuthConfig{Password: true}}}); err != nil {
		t.Fatal(err)
	}
	out, err = psqlAt(t, e.addr, host, "webapp1", "planted-by-the-principal", "postgres", "SELECT current_user")
	wantRefused(t, "a planted password after a start with Entra disabled", out, err, `password authentication failed for user "webapp1"`)
	if out, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", "SELECT 1"); err != nil || out != "1" {
		t.Fatalf("the password administrator: %v %q", err, out)
	}
}

// TestAttack_EntraAdminNameOutOfQuoting: an administrator's principal
// name is the ARM caller's text (1–63 bytes, no control characters), and
// AddEntraAdmin wrote it, as a literal, into the body of a DO block
// quoted with $d$. A name holding "$d$" ended that quoting: what followed
// was read by psql, which runs as Slipway's own user, as a meta-command
// ("\!" runs a shell command) or as SQL of the platform's superuser.
func TestAttack_EntraAdminNameOutOfQuoting(t *testing.T) {
	e := newEntraEnv(t)
	ctx := context.Background()
	e.makeServer(t, "pgt-entra-q", entraOn)
	marker := fmt.Sprintf("/tmp/sw-pgq-%d", os.Getpid())
	os.Remove(marker)
	t.Cleanup(func() { os.Remove(marker) })
	stranger := e.principal(t, "stranger")
	for _, name := range []string{
		`$d$\! touch ` + marker + ` #`,
		`$d$;ALTER ROLE myadmin SUPERUSER;--`,
		`x'$d$ \o ` + marker,
	} {
		err := e.m.AddEntraAdmin(ctx, "pgt-entra-q", EntraPrincipal{Name: name, ObjectID: stranger.ObjectID, Type: "ServicePrincipal"})
		if _, serr := os.Stat(marker); serr == nil {
			t.Fatalf("the name %q ran a psql meta-command on the host (AddEntraAdmin: %v)", name, err)
		}
		c, _ := e.m.known("pgt-entra-q")
		out, qerr := c.psql(ctx, "postgres", "SELECT rolsuper FROM pg_roles WHERE rolname = 'myadmin';\n")
		if qerr != nil || strings.TrimSpace(out) != "f" {
			t.Fatalf("after the name %q, myadmin is a superuser: %v %q", name, qerr, out)
		}
		if err != nil {
			t.Fatalf("a principal named %q: %v", name, err)
		}
		// The role is the name, byte for byte, and the principal.
		out, qerr = c.psql(ctx, "postgres", fmt.Sprintf("SELECT count(*) FROM pgaadauth.principals p JOIN pg_roles r ON r.oid = p.role_oid WHERE r.rolname = %s AND p.object_id = %s::uuid AND p.arm_admin;\n", literal(name), literal(stranger.ObjectID)))
		if qerr != nil || strings.TrimSpace(out) != "1" {
			t.Fatalf("the administrator named %q: %v %q", name, qerr, out)
		}
		if err := e.m.RemoveEntraAdmin(ctx, "pgt-entra-q", stranger.ObjectID); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAttack_EntraAdminNameTrimmedOnRemoval: RemoveEntraAdmin read the
// principal's role names back as psql's text output and trimmed it, so a
// name with a leading or trailing space (the ARM caller's text allows
// them) came back as another role's name: removing the administrator
// " azuresu" took the login and password of the platform's superuser,
// which then could no longer manage its own server, and removing
// "myadmin " those of the password administrator.
func TestAttack_EntraAdminNameTrimmedOnRemoval(t *testing.T) {
	e := newEntraEnv(t)
	ctx := context.Background()
	host := e.makeServer(t, "pgt-entra-t", entraOn)
	c, _ := e.m.known("pgt-entra-t")
	for _, name := range []string{" " + platformRole, "myadmin ", " myadmin"} {
		p := e.principal(t, "spaced")
		if err := e.m.AddEntraAdmin(ctx, "pgt-entra-t", EntraPrincipal{Name: name, ObjectID: p.ObjectID, Type: "ServicePrincipal"}); err != nil {
			t.Fatalf("a principal named %q: %v", name, err)
		}
		if err := e.m.RemoveEntraAdmin(ctx, "pgt-entra-t", p.ObjectID); err != nil {
			t.Fatalf("removing the principal named %q: %v", name, err)
		}
		if out, err := c.psql(ctx, "postgres", "SELECT 1;\n"); err != nil || strings.TrimSpace(out) != "1" {
			t.Fatalf("after removing the administrator %q, the platform cannot sign in to its server: %v %q", name, err, out)
		}
		if out, err := psqlAt(t, e.addr, host, "myadmin", adminPW, "postgres", "SELECT 1"); err != nil || out != "1" {
			t.Fatalf("after removing the administrator %q, the password administrator cannot sign in: %v %q", name, err, out)
		}
		out, err := c.psql(ctx, "postgres", fmt.Sprintf("SELECT count(*) FROM pg_roles WHERE rolname = %s AND rolcanlogin;\n", literal(name)))
		if err != nil || strings.TrimSpace(out) != "0" {
			t.Fatalf("the administrator %q keeps its login after its removal: %v %q", name, err, out)
		}
	}
}

// TestAttack_EntraNameSquatting: pgaadauth_create_principal names no
// object id; the role is bound to the one principal of its name at its
// first sign-in. Display names are anyone's to choose (a service
// principal, a user-assigned identity in one's own group), so a
// principal of that name made after the role — by another tenant, whose
// apps the 0.0.0.0 rule admits — took the role at its first sign-in, or
// made a name that was unique ambiguous. Azure resolves the name when the
// role is made; here only principals that existed then count.
func TestAttack_EntraNameSquatting(t *testing.T) {
	e := newEntraEnv(t)
	host := e.makeServer(t, "pgt-entra-n", entraOn)
	_, adminTok := e.entraAdmin(t, "pgt-entra-n")
	legit := e.principal(t, "webapp2")
	time.Sleep(20 * time.Millisecond)
	for _, role := range []string{"webapp2", "webapp3"} {
		if out, err := psqlAt(t, e.addr, host, "entra-admin", adminTok, "postgres", "SELECT * FROM pgaadauth_create_principal('"+role+"', false, false)"); err != nil {
			t.Fatalf("pgaadauth_create_principal(%q): %v %q", role, err, out)
		}
	}
	time.Sleep(20 * time.Millisecond)
	squatter2, squatter3 := e.principal(t, "webapp2"), e.principal(t, "webapp3")

	out, err := psqlAt(t, e.addr, host, "webapp3", e.token(t, squatter3, EntraAudience), "postgres", "SELECT current_user")
	wantRefused(t, "a principal named after a role made before it", out, err, `password authentication failed for user "webapp3"`)
	out, err = psqlAt(t, e.addr, host, "webapp2", e.token(t, squatter2, EntraAudience), "postgres", "SELECT current_user")
	wantRefused(t, "a second principal of the name, made after the role", out, err, `password authentication failed for user "webapp2"`)
	if out, err := psqlAt(t, e.addr, host, "webapp2", e.token(t, legit, EntraAudience), "postgres", "SELECT current_user"); err != nil || out != "webapp2" {
		t.Fatalf("the principal that had the name when the role was made: %v %q", err, out)
	}
}

// TestEntraConcurrentSignIns: sign-ins of one role at once, when the
// proxy has no password for it and when the one it has went stale, all
// get in: they set one password between them, not one each (each new one
// refusing the sign-ins that set the one before).
func TestEntraConcurrentSignIns(t *testing.T) {
	const n = 8
	e := newEntraEnv(t)
	host, appTok := e.serverWithApp(t, "pgt-burst")
	c, _ := e.m.known("pgt-burst")
	burst := func(what string) {
		t.Helper()
		errs := make(chan error, n)
		for range n {
			go func() { errs <- signInErr(e.addr, host, "webapp1", appTok) }()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Errorf("%s: %v", what, err)
			}
		}
	}
	burst("first sign-ins")
	for round := range 3 {
		if _, err := c.psql(t.Context(), "postgres", "ALTER ROLE webapp1 PASSWORD 'changed-behind-the-proxy';"); err != nil {
			t.Fatal(err)
		}
		burst(fmt.Sprintf("sign-ins after the password changed (round %d)", round))
	}
}

// TestAttack_EntraBindIsOnce: a role made by name only is bound to the
// principal of its first sign-in; a sign-in that looked it up unbound,
// and finds it bound to another principal when it binds, is refused
// rather than let in as the role.
func TestAttack_EntraBindIsOnce(t *testing.T) {
	e := newEntraEnv(t)
	host := e.makeServer(t, "pgt-bind", entraOn)
	_, adminTok := e.entraAdmin(t, "pgt-bind")
	if out, err := psqlAt(t, e.addr, host, "entra-admin", adminTok, "postgres", "SELECT * FROM pgaadauth_create_principal('webapp2', false, false)"); err != nil {
		t.Fatalf("pgaadauth_create_principal: %v %q", err, out)
	}
	c, _ := e.m.known("pgt-bind")
	rec, ok, err := c.lookupEntra(t.Context(), "webapp2")
	if err != nil || !ok || rec.objectID != "" {
		t.Fatalf("lookup of a role made by name: %+v %v %v", rec, ok, err)
	}
	first, second := e.principal(t, "first"), e.principal(t, "second")
	if err := c.bindEntra(t.Context(), rec, first.ObjectID); err != nil {
		t.Fatalf("binding the first principal: %v", err)
	}
	if err := c.bindEntra(t.Context(), rec, first.ObjectID); err != nil {
		t.Fatalf("binding the same principal again: %v", err)
	}
	var refused *errEntra
	if err := c.bindEntra(t.Context(), rec, second.ObjectID); !errors.As(err, &refused) {
		t.Fatalf("binding another principal to a bound role: want a refusal, got %v", err)
	}
	if rec, _, _ := c.lookupEntra(t.Context(), "webapp2"); rec.objectID != strings.ToLower(first.ObjectID) {
		t.Fatalf("the role's principal is %q, want the first's %q", rec.objectID, first.ObjectID)
	}
}

// TestAttack_EntraPasswordNotInActivity: the administrator (a member of
// pg_read_all_stats, as on Azure) sees every session's statement in
// pg_stat_activity, the platform's too. The password the proxy signs in
// to a principal's role with is never in it: the proxy sends the role a
// SCRAM verifier, never the password. To see the statement for certain,
// the test holds the role's row while the proxy sets its password.
func TestAttack_EntraPasswordNotInActivity(t *testing.T) {
	e := newEntraEnv(t)
	host, appTok := e.serverWithApp(t, "pgt-activity")
	c, _ := e.m.known("pgt-activity")
	pool, err := c.sql()
	if err != nil {
		t.Fatal(err)
	}
	hold, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Release()
	if _, err := hold.Exec(t.Context(), "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(t.Context(), "ALTER ROLE webapp1 CONNECTION LIMIT 5"); err != nil {
		t.Fatal(err)
	}
	signedIn := make(chan error, 1)
	go func() { signedIn <- signInErr(e.addr, host, "webapp1", appTok) }()
	var seen string
	for deadline := time.Now().Add(3 * time.Second); seen == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		// The activity a transaction reads is a snapshot until cleared.
		if _, err := hold.Exec(t.Context(), "SELECT pg_stat_clear_snapshot()"); err != nil {
			t.Fatal(err)
		}
		err := hold.QueryRow(t.Context(), "SELECT coalesce(string_agg(query, ' ; '), '') FROM pg_stat_activity WHERE application_name = 'slipway' AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()").Scan(&seen)
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := hold.Exec(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := <-signedIn; err != nil {
		t.Fatalf("the sign-in: %v", err)
	}
	pw, ok := e.m.entra.held(entraKey{"pgt-activity", "webapp1"})
	if !ok || !strings.Contains(seen, "ALTER ROLE") {
		t.Fatalf("the proxy's password statement was not seen (held: %v): %q", ok, seen)
	}
	if strings.Contains(seen, pw) {
		t.Fatalf("pg_stat_activity shows the proxy's password of webapp1: %q", seen)
	}
}

// TestAttack_EntraPasswordOnlyForTheLookedUpRole: a principal's role
// dropped and made again under its name (a plain role now) between a
// sign-in's lookup and the proxy setting its password keeps its own
// password; the sign-in is refused.
func TestAttack_EntraPasswordOnlyForTheLookedUpRole(t *testing.T) {
	e := newEntraEnv(t)
	host, _ := e.serverWithApp(t, "pgt-swap")
	c, _ := e.m.known("pgt-swap")
	rec, ok, err := c.lookupEntra(t.Context(), "webapp1")
	if err != nil || !ok {
		t.Fatalf("lookup: %v %v", ok, err)
	}
	if _, err := c.psql(t.Context(), "postgres", "DELETE FROM pgaadauth.principals WHERE role_oid = 'webapp1'::regrole; DROP ROLE webapp1; CREATE ROLE webapp1 LOGIN PASSWORD 'the-tenants-own';"); err != nil {
		t.Fatal(err)
	}
	var refused *errEntra
	if _, err := e.m.entraPassword(t.Context(), c, "webapp1", rec, ""); !errors.As(err, &refused) {
		t.Fatalf("setting the password of a role made again: want a refusal, got %v", err)
	}
	if out, err := psqlAt(t, e.addr, host, "webapp1", "the-tenants-own", "postgres", "SELECT current_user"); err != nil || out != "webapp1" {
		t.Fatalf("the role made again lost its own password: %v %q", err, out)
	}
}
