package store

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
)

// TestPostgresServers: a server's name is taken across every group; its
// databases and rules are its own; PostgresServers gives the backend each
// server's state and rules; a group's deletion names its servers and
// frees their names.
func TestPostgresServers(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	for _, g := range []string{"rg", "other"} {
		if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: g, Location: "westeurope"}); err != nil {
			t.Fatal(err)
		}
	}
	srv := slipway.PostgresServer{ResourceGroup: "rg", Name: "pg1", SKUName: "Standard_B1ms", SKUTier: "Burstable", Version: "15",
		AdministratorLogin: "myadmin", StorageGB: 32, BackupRetentionDays: 7}
	got, err := s.CreatePostgresServer(ctx, srv)
	if err != nil || got.Location != "westeurope" {
		t.Fatalf("create = %+v, %v", got, err)
	}
	taken := srv
	taken.ResourceGroup = "other"
	_, err = s.CreatePostgresServer(ctx, taken)
	wantCode(t, err, slipway.ECONFLICT)
	_, err = s.CreatePostgresServer(ctx, slipway.PostgresServer{ResourceGroup: "rg", Name: "Bad_Name"})
	wantCode(t, err, slipway.EINVALID)
	_, err = s.PostgresServer(ctx, "other", "pg1")
	wantCode(t, err, slipway.ENOTFOUND)

	// Databases and rules are reached through the server's own group only.
	_, err = s.PutPostgresDatabase(ctx, "other", slipway.PostgresDatabase{Server: "pg1", Name: "app"})
	wantCode(t, err, slipway.ENOTFOUND)
	if _, err := s.PutPostgresDatabase(ctx, "rg", slipway.PostgresDatabase{Server: "pg1", Name: "app", Charset: "utf8"}); err != nil {
		t.Fatal(err)
	}
	again, err := s.PutPostgresDatabase(ctx, "rg", slipway.PostgresDatabase{Server: "pg1", Name: "APP", Charset: "latin1"})
	if err != nil || again.Name != "app" || again.Charset != "utf8" {
		t.Fatalf("second put = %+v, %v", again, err)
	}
	_, err = s.PutPostgresFirewallRule(ctx, "other", slipway.PostgresFirewallRule{Server: "pg1", Name: "all", Start: netip.MustParseAddr("0.0.0.0"), End: netip.MustParseAddr("255.255.255.255")})
	wantCode(t, err, slipway.ENOTFOUND)
	rule := slipway.PostgresFirewallRule{Server: "pg1", Name: "azure", Start: netip.MustParseAddr("0.0.0.0"), End: netip.MustParseAddr("0.0.0.0")}
	if rules, err := s.PutPostgresFirewallRule(ctx, "rg", rule); err != nil || len(rules) != 1 {
		t.Fatalf("rules = %v, %v", rules, err)
	}
	srv.Stopped, srv.EntraAuth, srv.PasswordAuthDisabled, srv.TenantID = true, true, true, "tenant-1"
	if err := s.UpdatePostgresServer(ctx, srv); err != nil {
		t.Fatal(err)
	}
	if got, err := s.PostgresServer(ctx, "rg", "pg1"); err != nil || !got.EntraAuth || !got.PasswordAuthDisabled || got.TenantID != "tenant-1" {
		t.Fatalf("authConfig after update = %+v, %v", got, err)
	}
	// Entra administrators: one per object id, one per name.
	admin := slipway.PostgresEntraAdmin{Server: "pg1", ObjectID: "3F1C2B3A-1111-4222-8333-944455556666", PrincipalName: "alice@contoso.com", PrincipalType: "user", TenantID: "tenant-1"}
	if a, err := s.PutPostgresEntraAdmin(ctx, "rg", admin); err != nil || a.ObjectID != "3f1c2b3a-1111-4222-8333-944455556666" || a.PrincipalType != "User" {
		t.Fatalf("put admin = %+v, %v", a, err)
	}
	// An object id is one principal in any case: ARM's GET and the
	// lookup of a renamed admin's old record must find it.
	if a, err := s.PostgresEntraAdmin(ctx, "rg", "pg1", admin.ObjectID); err != nil || a.PrincipalName != "alice@contoso.com" {
		t.Fatalf("admin by its upper-case object id = %+v, %v", a, err)
	}
	_, err = s.PutPostgresEntraAdmin(ctx, "other", admin)
	wantCode(t, err, slipway.ENOTFOUND)
	other := admin
	other.ObjectID = "3f1c2b3a-1111-4222-8333-944455556667"
	_, err = s.PutPostgresEntraAdmin(ctx, "rg", other)
	wantCode(t, err, slipway.ECONFLICT)
	if as, err := s.PostgresEntraAdmins(ctx, "rg", "pg1"); err != nil || len(as) != 1 || as[0].PrincipalName != "alice@contoso.com" {
		t.Fatalf("admins = %+v, %v", as, err)
	}
	wantCode(t, s.DeletePostgresEntraAdmin(ctx, "rg", "pg1", other.ObjectID), slipway.ENOTFOUND)
	states, err := s.PostgresServers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]PostgresServerState{{Name: "pg1", Stopped: true, Rules: []slipway.PostgresFirewallRule{rule},
		EntraAuth: true, PasswordAuthDisabled: true, TenantID: "tenant-1"}}, states,
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("PostgresServers (-want +got):\n%s", diff)
	}

	d, err := s.DeleteResourceGroupContents(ctx, "rg")
	if err != nil || len(d.PostgresServers) != 1 || d.PostgresServers[0] != "pg1" {
		t.Fatalf("group deletion = %+v, %v", d, err)
	}
	if states, _ := s.PostgresServers(ctx); len(states) != 0 {
		t.Fatalf("after the group: %+v", states)
	}
	if _, err := s.CreatePostgresServer(ctx, taken); err != nil {
		t.Fatalf("the name is free again: %v", err)
	}
}

// TestPostgresServerChildren: a server's databases and Entra
// administrators are read, listed and deleted through the server's own
// group only; a missing one is ENOTFOUND; lists are in their order.
func TestPostgresServerChildren(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	for _, g := range []string{"rg", "other"} {
		if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: g, Location: "westeurope"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreatePostgresServer(ctx, slipway.PostgresServer{ResourceGroup: "rg", Name: "pg1", Version: "15", AdministratorLogin: "myadmin"}); err != nil {
		t.Fatal(err)
	}
	const oidA, oidB = "3f1c2b3a-1111-4222-8333-944455556666", "3f1c2b3a-1111-4222-8333-944455556667"
	for _, tc := range []struct {
		name   string
		put    func(key, label string) error
		get    func(rg, server, key string) (string, error) // the record's label
		list   func(rg, server string) ([]string, error)
		delete func(rg, server, key string) error
		keys   [2]string // put with labels "b", "a": listed a first by label, or by key
		listed []string
	}{
		{
			name: "databases",
			put: func(key, _ string) error {
				_, err := s.PutPostgresDatabase(ctx, "rg", slipway.PostgresDatabase{Server: "pg1", Name: key, Charset: "UTF8"})
				return err
			},
			get: func(rg, server, key string) (string, error) {
				d, err := s.PostgresDatabase(ctx, rg, server, key)
				return d.Name, err
			},
			list: func(rg, server string) ([]string, error) {
				ds, err := s.PostgresDatabases(ctx, rg, server)
				var names []string
				for _, d := range ds {
					names = append(names, d.Name)
				}
				return names, err
			},
			delete: func(rg, server, key string) error { return s.DeletePostgresDatabase(ctx, rg, server, key) },
			keys:   [2]string{"zeta", "alpha"},
			listed: []string{"alpha", "zeta"},
		},
		{
			name: "Entra administrators",
			put: func(key, label string) error {
				_, err := s.PutPostgresEntraAdmin(ctx, "rg", slipway.PostgresEntraAdmin{Server: "pg1", ObjectID: key, PrincipalName: label + "@contoso.com", PrincipalType: "User"})
				return err
			},
			get: func(rg, server, key string) (string, error) {
				a, err := s.PostgresEntraAdmin(ctx, rg, server, key)
				return a.PrincipalName, err
			},
			list: func(rg, server string) ([]string, error) {
				as, err := s.PostgresEntraAdmins(ctx, rg, server)
				var names []string
				for _, a := range as {
					names = append(names, a.PrincipalName)
				}
				return names, err
			},
			delete: func(rg, server, key string) error { return s.DeletePostgresEntraAdmin(ctx, rg, server, key) },
			keys:   [2]string{oidA, oidB},
			listed: []string{"a@contoso.com", "b@contoso.com"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, label := range []string{"b", "a"} {
				if err := tc.put(tc.keys[i], label); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := tc.list("rg", "pg1"); err != nil || !cmp.Equal(got, tc.listed) {
				t.Fatalf("list = %q, %v; want %q", got, err, tc.listed)
			}
			if _, err := tc.get("rg", "pg1", tc.keys[0]); err != nil {
				t.Fatalf("get: %v", err)
			}
			_, err := tc.get("other", "pg1", tc.keys[0])
			wantCode(t, err, slipway.ENOTFOUND)
			_, err = tc.get("rg", "pg1", "missing")
			wantCode(t, err, slipway.ENOTFOUND)
			_, err = tc.list("other", "pg1")
			wantCode(t, err, slipway.ENOTFOUND)
			wantCode(t, tc.delete("other", "pg1", tc.keys[0]), slipway.ENOTFOUND)
			if err := tc.delete("rg", "pg1", tc.keys[0]); err != nil {
				t.Fatalf("delete: %v", err)
			}
			wantCode(t, tc.delete("rg", "pg1", tc.keys[0]), slipway.ENOTFOUND)
			_, err = tc.get("rg", "pg1", tc.keys[0])
			wantCode(t, err, slipway.ENOTFOUND)
			if got, err := tc.list("rg", "pg1"); err != nil || len(got) != 1 {
				t.Fatalf("after the delete: %q, %v", got, err)
			}
		})
	}
}
