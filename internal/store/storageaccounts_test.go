package store

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-dev/slipway"
)

func putAccount(t *testing.T, s *Store, rg, name string) slipway.StorageAccount {
	t.Helper()
	a, created, err := s.PutStorageAccount(t.Context(), slipway.StorageAccount{ResourceGroup: rg, Name: name, Location: "westeurope"})
	if err != nil || !created {
		t.Fatalf("PutStorageAccount(%s/%s) = created %v, %v", rg, name, created, err)
	}
	return a
}

func TestStorageAccount_Lifecycle(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	a := putAccount(t, s, "RG", "media1")
	want := slipway.StorageAccount{ResourceGroup: "rg", Name: "media1", Location: "westeurope", SKU: "Standard_LRS", Kind: "StorageV2", Tags: map[string]string{}}
	if diff := cmp.Diff(want, a, cmpopts.IgnoreFields(slipway.StorageAccount{}, "Created")); diff != "" {
		t.Errorf("created account (-want +got):\n%s", diff)
	}

	// A second PUT updates tags and keeps the keys.
	k1, k2, err := s.StorageAccountKeys(ctx, "rg", "media1")
	if err != nil {
		t.Fatal(err)
	}
	upd, created, err := s.PutStorageAccount(ctx, slipway.StorageAccount{ResourceGroup: "rg", Name: "media1", Location: "westeurope", Tags: map[string]string{"env": "dev"}})
	if err != nil || created {
		t.Fatalf("update = created %v, %v", created, err)
	}
	if upd.Name != "media1" || upd.Tags["env"] != "dev" || !upd.Created.Equal(a.Created) {
		t.Errorf("update returned %+v", upd)
	}
	if k1b, k2b, _ := s.StorageAccountKeys(ctx, "rg", "media1"); k1b != k1 || k2b != k2 {
		t.Error("an update changed the keys")
	}

	got, err := s.StorageAccount(ctx, "RG", "Media1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(upd, got); diff != "" {
		t.Errorf("StorageAccount (-want +got):\n%s", diff)
	}
	if f, err := s.FindStorageAccount(ctx, "MEDIA1"); err != nil || f.ResourceGroup != "rg" {
		t.Errorf("FindStorageAccount = %+v, %v", f, err)
	}

	if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "other", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	putAccount(t, s, "other", "aaa")
	all, err := s.StorageAccounts(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	names := func(as []slipway.StorageAccount) []string {
		var n []string
		for _, a := range as {
			n = append(n, a.ResourceGroup+"/"+a.Name)
		}
		return n
	}
	if diff := cmp.Diff([]string{"other/aaa", "rg/media1"}, names(all)); diff != "" {
		t.Errorf("StorageAccounts(\"\") (-want +got):\n%s", diff)
	}
	inRG, err := s.StorageAccounts(ctx, "other")
	if err != nil || len(inRG) != 1 {
		t.Errorf("StorageAccounts(other) = %v, %v", names(inRG), err)
	}
	if _, err := s.StorageAccounts(ctx, "nope"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("StorageAccounts(nope) = %v, want ENOTFOUND", err)
	}

	if err := s.DeleteStorageAccount(ctx, "rg", "media1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StorageAccount(ctx, "rg", "media1"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("after delete: %v, want ENOTFOUND", err)
	}
	if err := s.DeleteStorageAccount(ctx, "rg", "media1"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("second delete: %v, want ENOTFOUND", err)
	}
}

func TestStorageAccount_Errors(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg2", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	putAccount(t, s, "rg", "taken")
	for _, tc := range []struct {
		name     string
		a        slipway.StorageAccount
		code     string
		message  string
		checkMsg bool
	}{
		{"name taken in another group (names are global)", slipway.StorageAccount{ResourceGroup: "rg2", Name: "taken", Location: "westeurope"},
			slipway.ECONFLICT, "The storage account named taken is already taken.", true},
		{"group missing", slipway.StorageAccount{ResourceGroup: "nope", Name: "fresh", Location: "westeurope"},
			slipway.ENOTFOUND, "Resource group 'nope' could not be found.", true},
		{"upper-case name", slipway.StorageAccount{ResourceGroup: "rg", Name: "Bad", Location: "westeurope"}, slipway.EINVALID, "", false},
		{"too short", slipway.StorageAccount{ResourceGroup: "rg", Name: "ab", Location: "westeurope"}, slipway.EINVALID, "", false},
		{"hyphen", slipway.StorageAccount{ResourceGroup: "rg", Name: "a-b-c", Location: "westeurope"}, slipway.EINVALID, "", false},
		{"location change", slipway.StorageAccount{ResourceGroup: "rg", Name: "taken", Location: "eastus"}, slipway.ECONFLICT, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.PutStorageAccount(ctx, tc.a)
			if got := slipway.ErrorCode(err); got != tc.code {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.code)
			}
			if tc.checkMsg && slipway.ErrorMessage(err) != tc.message {
				t.Errorf("message = %q, want %q", slipway.ErrorMessage(err), tc.message)
			}
		})
	}
	// The account in another group is not found under the wrong group.
	if _, err := s.StorageAccount(ctx, "rg2", "taken"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("StorageAccount in wrong group = %v", err)
	}
	if _, _, err := s.RegenerateStorageAccountKey(ctx, "rg", "taken", "key3"); slipway.ErrorCode(err) != slipway.EINVALID {
		t.Errorf("regenerate key3 = %v, want EINVALID", err)
	}
	if _, _, err := s.RegenerateStorageAccountKey(ctx, "rg", "nope", "key1"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("regenerate on missing account = %v, want ENOTFOUND", err)
	}
}

// Keys are like Azure's: 64 random bytes, 88 base64 characters, distinct,
// and sealed at rest (the database file never holds them in clear).
func TestStorageAccount_KeysAndRegenerate(t *testing.T) {
	s, dir := openTest(t)
	ctx := t.Context()
	seed(t, s)
	putAccount(t, s, "rg", "keys")
	k1, k2, err := s.StorageAccountKeys(ctx, "rg", "keys")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{k1, k2} {
		raw, err := base64.StdEncoding.DecodeString(k)
		if len(k) != 88 || err != nil || len(raw) != 64 {
			t.Errorf("key %q: len %d, decoded %d bytes, %v; want 88 chars of base64 for 64 bytes", k, len(k), len(raw), err)
		}
	}
	if k1 == k2 {
		t.Error("key1 == key2")
	}
	if a, err := s.FindStorageAccountAccess(ctx, "KEYS"); err != nil || a.Key1 != k1 || a.Key2 != k2 {
		t.Errorf("FindStorageAccountAccess = %+v, %v", a, err)
	}

	n1, n2, err := s.RegenerateStorageAccountKey(ctx, "rg", "keys", "Key2")
	if err != nil {
		t.Fatal(err)
	}
	if n1 != k1 || n2 == k2 || len(n2) != 88 {
		t.Errorf("regenerate key2: key1 changed=%v, key2 changed=%v", n1 != k1, n2 != k2)
	}
	n1b, n2b, err := s.RegenerateStorageAccountKey(ctx, "rg", "keys", "key1")
	if err != nil || n1b == n1 || n2b != n2 {
		t.Errorf("regenerate key1: %v, key1 changed=%v, key2 kept=%v", err, n1b != n1, n2b == n2)
	}
	details, err := s.StorageAccountKeyDetails(ctx, "rg", "keys")
	if err != nil || details[0].Name != "key1" || details[1].Name != "key2" || details[0].Created.IsZero() {
		t.Errorf("StorageAccountKeyDetails = %+v, %v", details, err)
	}

	// Sealed at rest: checkpoint the WAL, then search the files.
	if _, err := s.write.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"slipway.db", "slipway.db-wal"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		for _, k := range []string{k1, n1b, n2b} {
			if bytes.Contains(data, []byte(k)) {
				t.Errorf("%s holds a storage key in clear", f)
			}
		}
	}
}

func TestDeleteResourceGroupWithStorage(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	putAccount(t, s, "rg", "gone1")
	putAccount(t, s, "rg", "gone2")
	sites, accounts, err := s.DeleteResourceGroupWithStorage(ctx, "RG")
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) != 1 || sites[0].Name != "app" {
		t.Errorf("sites = %+v", sites)
	}
	var names []string
	for _, a := range accounts {
		names = append(names, a.Name)
	}
	if diff := cmp.Diff([]string{"gone1", "gone2"}, names); diff != "" {
		t.Errorf("accounts (-want +got):\n%s", diff)
	}
	if _, err := s.FindStorageAccount(ctx, "gone1"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("account survived its group: %v", err)
	}
	// The plain DeleteResourceGroup cascades to storage accounts too.
	if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	putAccount(t, s, "rg", "gone3")
	if _, err := s.DeleteResourceGroup(ctx, "rg"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindStorageAccount(ctx, "gone3"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("DeleteResourceGroup left the account: %v", err)
	}
	// And the name is free again.
	if _, _, err := s.DeleteResourceGroupWithStorage(ctx, "rg"); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("deleting a missing group = %v", err)
	}
}

// TestFindStorageAccountAccess_CacheFollowsChanges: what the blob service
// checks signatures with and reports of an account is cached, yet a
// regenerated key, a changed SKU, a deleted account and a deleted group
// take effect at once.
func TestFindStorageAccountAccess_CacheFollowsChanges(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	putAccount(t, s, "rg", "media1")
	a, err := s.FindStorageAccountAccess(ctx, "media1")
	if err != nil {
		t.Fatal(err)
	}
	if a.SKU != "Standard_LRS" || a.Kind != "StorageV2" || a.Key1 == "" || a.Key2 == "" {
		t.Fatalf("access = %+v", a)
	}
	if again, err := s.FindStorageAccountAccess(ctx, "media1"); err != nil || again != a {
		t.Fatalf("second lookup = %+v, %v; want %+v", again, err, a)
	}
	n1, n2, err := s.RegenerateStorageAccountKey(ctx, "rg", "media1", "key1")
	if err != nil {
		t.Fatal(err)
	}
	if n1 == a.Key1 || n2 != a.Key2 {
		t.Fatalf("regenerate key1 gave %q, %q (old %q, %q)", n1, n2, a.Key1, a.Key2)
	}
	if got, err := s.FindStorageAccountAccess(ctx, "media1"); err != nil || got.Key1 != n1 || got.Key2 != n2 {
		t.Errorf("lookup after regenerating key1 = %+v, %v; want the new keys %q, %q", got, err, n1, n2)
	}
	if _, _, err := s.PutStorageAccount(ctx, slipway.StorageAccount{ResourceGroup: "rg", Name: "media1", Location: "westeurope", SKU: "Standard_GRS"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindStorageAccountAccess(ctx, "media1"); err != nil || got.SKU != "Standard_GRS" {
		t.Errorf("lookup after changing the SKU = %+v, %v; want Standard_GRS", got, err)
	}
	if err := s.DeleteStorageAccount(ctx, "rg", "media1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindStorageAccountAccess(ctx, "media1")
	wantCode(t, err, slipway.ENOTFOUND)

	putAccount(t, s, "rg", "media2")
	if _, err := s.FindStorageAccountAccess(ctx, "media2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.DeleteResourceGroupWithStorage(ctx, "rg"); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindStorageAccountAccess(ctx, "media2")
	wantCode(t, err, slipway.ENOTFOUND)
}

// TestAccessCache_StaleReadIsNotCached: what was read before a change
// committed is not put back after the change cleared the cache.
func TestAccessCache_StaleReadIsNotCached(t *testing.T) {
	var c accessCache
	gen := c.generation()
	c.clear() // a change commits while the read is under way
	c.put("acct", StorageAccountAccess{Key1: "old1", Key2: "old2"}, gen)
	if a, ok := c.get("acct"); ok {
		t.Errorf("stale answer %+v cached", a)
	}
	gen = c.generation()
	want := StorageAccountAccess{Key1: "new1", Key2: "new2", SKU: "Standard_LRS"}
	c.put("acct", want, gen)
	if a, ok := c.get("acct"); !ok || a != want {
		t.Errorf("get = %+v, %v; want what was read in the current generation", a, ok)
	}
}
