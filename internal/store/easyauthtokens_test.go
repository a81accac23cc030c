package store

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
)

// TestAuthTokensKept: a session's tokens are kept sealed (the token is in
// no file of the store in clear), come back until they expire, and a row
// moved to another session does not open (and is dropped).
func TestAuthTokensKept(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	secret := []byte(`{"access_token":"AT-very-secret-value-0123456789"}`)
	if err := s.SaveAuthTokens(t.Context(), "App", "sess1", secret, now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveAuthTokens(t.Context(), "app", "old", []byte(`{}`), now.Add(-2*time.Hour), now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	load := func() map[string]string {
		got := map[string]string{}
		if err := s.LoadAuthTokens(t.Context(), now, func(site, session string, b []byte, added, expires time.Time) {
			got[site+"/"+session] = string(b)
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := load(); len(got) != 1 || got["app/sess1"] != string(secret) {
		t.Fatalf("loaded %v, want the live session only", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if b, rerr := os.ReadFile(p); err == nil && !d.IsDir() && rerr == nil && bytes.Contains(b, []byte("AT-very-secret-value")) {
			t.Errorf("%s holds the token in clear", p)
		}
		return nil
	})
	if s, err = Open(t.Context(), dir, nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A row copied under another session id does not open.
	if _, err := s.write.Exec(`INSERT INTO easyauth_tokens (site, session, tokens, added, expires)
		SELECT site, 'stolen', tokens, added, expires FROM easyauth_tokens WHERE session = 'sess1'`); err != nil {
		t.Fatal(err)
	}
	if got := load(); len(got) != 1 || got["app/sess1"] != string(secret) {
		t.Fatalf("loaded %v, want sess1 only", got)
	}
	var n int
	s.read.QueryRow(`SELECT count(*) FROM easyauth_tokens WHERE session = 'stolen'`).Scan(&n)
	if n != 0 {
		t.Errorf("the moved row was kept")
	}
	if err := s.DeleteAuthTokens(t.Context(), "APP", "sess1"); err != nil {
		t.Fatal(err)
	}
	if got := load(); len(got) != 0 {
		t.Fatalf("after the delete: %v", got)
	}
}

// TestAuthTokensGoWithTheirSite: deleting a site drops its sessions'
// tokens and its slots', and deleting a resource group drops those of
// its sites; another site's are kept.
func TestAuthTokensGoWithTheirSite(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seedSKU(t, s, "S1")
	if _, _, err := s.PutSlot(ctx, "rg", "app", "staging", slipway.Site{Enabled: true}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "other", Plan: "plan", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: "rg2", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutSite(ctx, slipway.Site{ResourceGroup: "rg2", Name: "third", Plan: "plan", PlanGroup: "rg", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, site := range []string{"App", "app-staging", "other", "third"} {
		if err := s.SaveAuthTokens(ctx, site, "sess", []byte(`{}`), now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	kept := func() []string {
		var got []string
		if err := s.LoadAuthTokens(ctx, now, func(site, _ string, _ []byte, _, _ time.Time) { got = append(got, site) }); err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	if err := s.DeleteSite(ctx, "rg", "APP"); err != nil {
		t.Fatal(err)
	}
	if got := kept(); !slices.Equal(got, []string{"other", "third"}) {
		t.Fatalf("after deleting app: tokens of %v, want other and third", got)
	}
	if _, err := s.DeleteResourceGroup(ctx, "rg2"); err != nil {
		t.Fatal(err)
	}
	if got := kept(); !slices.Equal(got, []string{"other"}) {
		t.Fatalf("after deleting rg2: tokens of %v, want other", got)
	}
}
