package store

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
)

func putVault(t *testing.T, s *Store, v slipway.Vault) slipway.Vault {
	t.Helper()
	got, created, err := s.PutVault(t.Context(), v)
	if err != nil || !created {
		t.Fatalf("PutVault(%s) = created %v, %v", v.Name, created, err)
	}
	return got
}

func seedVault(t *testing.T, s *Store) slipway.Vault {
	t.Helper()
	if _, _, err := s.PutResourceGroup(t.Context(), slipway.ResourceGroup{Name: "rg", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	return putVault(t, s, slipway.Vault{ResourceGroup: "rg", Name: "kv1", TenantID: "t1", EnableRBACAuthorization: true})
}

func TestVault_Lifecycle(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	v := seedVault(t, s)
	want := slipway.Vault{ResourceGroup: "rg", Name: "kv1", Location: "westeurope", TenantID: "t1", SKU: "standard",
		Tags: map[string]string{}, EnableRBACAuthorization: true, AccessPolicies: []slipway.AccessPolicy{},
		SoftDeleteRetentionDays: 90, PublicNetworkAccess: "Enabled", Created: v.Created}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("PutVault (-want +got):\n%s", diff)
	}
	got, err := s.Vault(ctx, "RG", "KV1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Vault (-want +got):\n%s", diff)
	}

	// Update: access policies, purge protection on; retention fixed.
	pol := []slipway.AccessPolicy{{TenantID: "t1", ObjectID: "o1", Secrets: []string{"get", "list"}}}
	upd, created, err := s.PutVault(ctx, slipway.Vault{ResourceGroup: "rg", Name: "kv1", AccessPolicies: pol, EnablePurgeProtection: true})
	if err != nil || created {
		t.Fatalf("update = %v, %v", created, err)
	}
	if upd.EnableRBACAuthorization || !upd.EnablePurgeProtection || len(upd.AccessPolicies) != 1 || upd.TenantID != "t1" {
		t.Errorf("update returned %+v", upd)
	}
	_, _, err = s.PutVault(ctx, slipway.Vault{ResourceGroup: "rg", Name: "kv1"})
	wantCode(t, err, slipway.ECONFLICT) // purge protection cannot be turned off
	_, _, err = s.PutVault(ctx, slipway.Vault{ResourceGroup: "rg", Name: "kv1", EnablePurgeProtection: true, SoftDeleteRetentionDays: 7})
	wantCode(t, err, slipway.EINVALID)

	// Names are global.
	if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg2", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.PutVault(ctx, slipway.Vault{ResourceGroup: "rg2", Name: "Kv1"})
	wantCode(t, err, slipway.ECONFLICT)

	for _, bad := range []slipway.Vault{
		{ResourceGroup: "rg", Name: "ab"},
		{ResourceGroup: "rg", Name: "1abc"},
		{ResourceGroup: "rg", Name: "ab--cd"},
		{ResourceGroup: "rg", Name: "abc-"},
		{ResourceGroup: "rg", Name: "abcd", SoftDeleteRetentionDays: 6},
		{ResourceGroup: "rg", Name: "abcd", SoftDeleteRetentionDays: 91},
	} {
		_, _, err := s.PutVault(ctx, bad)
		wantCode(t, err, slipway.EINVALID)
	}
}

func TestVault_SoftDeleteRecoverPurge(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seedVault(t, s)
	putVault(t, s, slipway.Vault{ResourceGroup: "rg", Name: "kv2", SoftDeleteRetentionDays: 7, EnablePurgeProtection: true})
	if _, err := s.SetSecret(ctx, slipway.Secret{Vault: "kv1", Name: "a", Value: "x", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	d, err := s.DeleteVault(ctx, "rg", "kv1")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.ScheduledPurge.Sub(d.Deleted); got != 90*24*time.Hour {
		t.Errorf("scheduled purge after %v, want 90 days", got)
	}
	if _, err := s.Vault(ctx, "rg", "kv1"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("deleted vault still found: %v", err)
	}
	if _, err := s.FindVault(ctx, "kv1"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("data plane still finds a deleted vault: %v", err)
	}
	_, _, err = s.PutVault(ctx, slipway.Vault{ResourceGroup: "rg", Name: "kv1"})
	wantCode(t, err, slipway.ECONFLICT) // the name stays taken
	if taken, _ := s.VaultNameTaken(ctx, "KV1"); !taken {
		t.Error("a deleted vault's name is available")
	}
	if _, err := s.RecoverVault(ctx, "kv1"); err != nil {
		t.Fatal(err)
	}
	if sec, err := s.Secret(ctx, "kv1", "a", ""); err != nil || sec.Value != "x" {
		t.Fatalf("secret after vault recovery = %+v, %v", sec, err)
	}

	// Deleting the group soft-deletes its vaults (the trigger).
	if _, err := s.DeleteResourceGroup(ctx, "rg"); err != nil {
		t.Fatal(err)
	}
	dv, err := s.DeletedVaults(ctx)
	if err != nil || len(dv) != 2 || dv[0].Deleted.IsZero() || dv[1].ScheduledPurge.Sub(dv[1].Deleted).Round(time.Hour) != 7*24*time.Hour {
		t.Fatalf("DeletedVaults = %+v, %v", dv, err)
	}
	_, err = s.RecoverVault(ctx, "kv1")
	wantCode(t, err, slipway.ENOTFOUND) // its group is gone
	err = s.PurgeVault(ctx, "kv2")
	wantCode(t, err, slipway.ECONFLICT) // purge protection
	if err := s.PurgeVault(ctx, "kv1"); err != nil {
		t.Fatal(err)
	}
	if taken, _ := s.VaultNameTaken(ctx, "kv1"); taken {
		t.Error("a purged vault's name is still taken")
	}
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM key_vault_secrets WHERE vault = 'kv1'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("purged vault left %d secrets (%v)", n, err)
	}

	// Past the scheduled date, purge protection no longer holds.
	s.now = func() time.Time { return time.Now().AddDate(0, 0, 8) }
	if nv, _, err := s.PurgeExpiredVaultObjects(ctx); err != nil || nv != 1 {
		t.Fatalf("PurgeExpiredVaultObjects = %d, %v", nv, err)
	}
}

var versionRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestSecrets_VersionsAndAttributes(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seedVault(t, s)
	s1, err := s.SetSecret(ctx, slipway.Secret{Vault: "KV1", Name: "Db-Password", Value: "one", Enabled: true, ContentType: "text/plain", Tags: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if !versionRE.MatchString(s1.Version) || s1.Vault != "kv1" {
		t.Errorf("SetSecret = %+v", s1)
	}
	s2, err := s.SetSecret(ctx, slipway.Secret{Vault: "kv1", Name: "db-password", Value: "two", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Name != "Db-Password" || s2.Version == s1.Version {
		t.Errorf("second version = %+v", s2)
	}
	latest, err := s.Secret(ctx, "kv1", "DB-PASSWORD", "")
	if err != nil || latest.Value != "two" || latest.Version != s2.Version {
		t.Fatalf("latest = %+v, %v", latest, err)
	}
	old, err := s.Secret(ctx, "kv1", "db-password", s1.Version)
	if err != nil || old.Value != "one" || old.ContentType != "text/plain" || old.Tags["a"] != "b" {
		t.Fatalf("by version = %+v, %v", old, err)
	}
	_, err = s.Secret(ctx, "kv1", "db-password", "0123456789abcdef0123456789abcdef")
	wantCode(t, err, slipway.ENOTFOUND)
	_, err = s.Secret(ctx, "kv1", "nope", "")
	wantCode(t, err, slipway.ENOTFOUND)

	f := false
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tags := map[string]string{"x": "y"}
	u, err := s.UpdateSecret(ctx, "kv1", "db-password", s1.Version, slipway.SecretUpdate{Enabled: &f, Expires: &exp, Tags: &tags})
	if err != nil || u.Enabled || !u.Expires.Equal(exp) || u.Tags["x"] != "y" || u.ContentType != "text/plain" || u.Value != "one" {
		t.Fatalf("UpdateSecret = %+v, %v", u, err)
	}

	vs, more, err := s.SecretVersionPage(ctx, "kv1", "db-password", 0, 1)
	if err != nil || !more || len(vs) != 1 || vs[0].Version != s1.Version || vs[0].Value != "" || vs[0].Enabled {
		t.Fatalf("SecretVersionPage 1 = %+v, %v, %v", vs, more, err)
	}
	vs, more, err = s.SecretVersionPage(ctx, "kv1", "db-password", 1, 1)
	if err != nil || more || len(vs) != 1 || vs[0].Version != s2.Version {
		t.Fatalf("SecretVersionPage 2 = %+v, %v, %v", vs, more, err)
	}
}

func TestSecrets_ListPagesAndSoftDelete(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seedVault(t, s)
	for _, n := range []string{"c", "A", "b", "d"} {
		if _, err := s.SetSecret(ctx, slipway.Secret{Vault: "kv1", Name: n, Value: "v-" + n, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SetSecret(ctx, slipway.Secret{Vault: "kv1", Name: "b", Value: "v-b2", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	names := func(deleted bool) []string {
		var out []string
		after := ""
		for range 10 {
			page, more, err := s.SecretPage(ctx, "kv1", deleted, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				if p.Value != "" {
					t.Errorf("a listing carries the value of %s", p.Name)
				}
				out = append(out, p.Name)
				after = p.Name
			}
			if !more {
				return out
			}
		}
		t.Fatal("listing did not end")
		return nil
	}
	if diff := cmp.Diff([]string{"A", "b", "c", "d"}, names(false)); diff != "" {
		t.Errorf("active (-want +got):\n%s", diff)
	}

	d, err := s.DeleteSecret(ctx, "kv1", "B")
	if err != nil || d.Value != "v-b2" || d.ScheduledPurge.Sub(d.Deleted) != 90*24*time.Hour {
		t.Fatalf("DeleteSecret = %+v, %v", d, err)
	}
	if diff := cmp.Diff([]string{"A", "c", "d"}, names(false)); diff != "" {
		t.Errorf("active after delete (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b"}, names(true)); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	_, err = s.Secret(ctx, "kv1", "b", "")
	wantCode(t, err, slipway.ENOTFOUND)
	_, err = s.SetSecret(ctx, slipway.Secret{Vault: "kv1", Name: "b", Value: "new", Enabled: true})
	wantCode(t, err, slipway.ECONFLICT)
	_, err = s.DeleteSecret(ctx, "kv1", "b")
	wantCode(t, err, slipway.ENOTFOUND)
	if ds, err := s.DeletedSecret(ctx, "kv1", "b"); err != nil || ds.Value != "v-b2" || ds.Deleted.IsZero() {
		t.Fatalf("DeletedSecret = %+v, %v", ds, err)
	}
	r, err := s.RecoverSecret(ctx, "kv1", "b")
	if err != nil || r.Value != "v-b2" {
		t.Fatalf("RecoverSecret = %+v, %v", r, err)
	}
	if vs, _, _ := s.SecretVersionPage(ctx, "kv1", "b", 0, 10); len(vs) != 2 {
		t.Errorf("recovered secret has %d versions, want 2", len(vs))
	}
	_, err = s.RecoverSecret(ctx, "kv1", "b")
	wantCode(t, err, slipway.ENOTFOUND)

	if _, err := s.DeleteSecret(ctx, "kv1", "b"); err != nil {
		t.Fatal(err)
	}
	err = s.PurgeSecret(ctx, "kv1", "c")
	wantCode(t, err, slipway.ENOTFOUND) // not deleted
	if err := s.PurgeSecret(ctx, "kv1", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSecret(ctx, slipway.Secret{Vault: "kv1", Name: "b", Value: "reborn", Enabled: true}); err != nil {
		t.Fatalf("set after purge: %v", err)
	}
	if vs, _, _ := s.SecretVersionPage(ctx, "kv1", "b", 0, 10); len(vs) != 1 {
		t.Errorf("purged secret left old versions: %d", len(vs))
	}

	// Under purge protection a deleted secret cannot be purged.
	putVault(t, s, slipway.Vault{ResourceGroup: "rg", Name: "kvp", EnablePurgeProtection: true})
	if _, err := s.SetSecret(ctx, slipway.Secret{Vault: "kvp", Name: "x", Value: "1", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteSecret(ctx, "kvp", "x"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.PurgeSecret(ctx, "kvp", "x"), slipway.EFORBIDDEN)
}

func TestSecrets_BackupRestore(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seedVault(t, s)
	putVault(t, s, slipway.Vault{ResourceGroup: "rg", Name: "kv2"})
	for _, v := range []string{"one", "two"} {
		if _, err := s.SetSecret(ctx, slipway.Secret{Vault: "kv1", Name: "s", Value: v, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := s.SecretVersions(ctx, "kv1", "s")
	if err != nil || len(vs) != 2 || vs[0].Value != "one" {
		t.Fatalf("SecretVersions = %+v, %v", vs, err)
	}
	_, err = s.RestoreSecret(ctx, "kv1", vs)
	wantCode(t, err, slipway.ECONFLICT) // the name exists
	r, err := s.RestoreSecret(ctx, "kv2", vs)
	if err != nil || r.Value != "two" || r.Version != vs[1].Version || r.Vault != "kv2" {
		t.Fatalf("RestoreSecret = %+v, %v", r, err)
	}
	if got, err := s.Secret(ctx, "kv2", "s", vs[0].Version); err != nil || got.Value != "one" {
		t.Fatalf("restored old version = %+v, %v", got, err)
	}
	bad := []slipway.Secret{vs[0], {Name: "other", Version: vs[1].Version}}
	_, err = s.RestoreSecret(ctx, "kv2", bad)
	wantCode(t, err, slipway.ECONFLICT)
	bad[0].Name = "fresh"
	_, err = s.RestoreSecret(ctx, "kv2", bad)
	wantCode(t, err, slipway.EINVALID) // two names in one backup
	_, err = s.RestoreSecret(ctx, "kv2", []slipway.Secret{{Name: "fresh2", Version: "../x"}})
	wantCode(t, err, slipway.EINVALID)
}

func TestSecrets_EncryptedAtRestAndBound(t *testing.T) {
	s, dir := openTest(t)
	ctx := t.Context()
	seedVault(t, s)
	const value = "kv-secret-value-5e2d91"
	if _, err := s.SetSecret(ctx, slipway.Secret{Vault: "kv1", Name: "visible-name", Value: value, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSecret(ctx, slipway.Secret{Vault: "kv1", Name: "other", Value: "x", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	// Moving a sealed value to another row does not open it there.
	if _, err := s.write.ExecContext(ctx, `UPDATE key_vault_secrets SET value = (SELECT value FROM key_vault_secrets WHERE name = 'visible-name') WHERE name = 'other'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Secret(ctx, "kv1", "other", ""); err == nil {
		t.Error("a sealed value moved to another secret opened")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, name := range []string{"slipway.db", "slipway.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if !bytes.Contains(all, []byte("visible-name")) {
		t.Fatal("secret name not in the database file: the test reads the wrong file")
	}
	if bytes.Contains(all, []byte(value)) {
		t.Error("secret value stored in clear text")
	}
}
