package store

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-dev/slipway"
)

func TestCustomDomainVerificationID_MadeOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.CustomDomainVerificationID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9A-F]{64}$`).MatchString(id) {
		t.Fatalf("id = %q, want 64 upper-case hex digits", id)
	}
	s.Close()
	s2, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if id2, _ := s2.CustomDomainVerificationID(ctx); id2 != id {
		t.Errorf("after reopen: %q, want %q", id2, id)
	}
	other, _ := openTest(t)
	if id3, _ := other.CustomDomainVerificationID(ctx); id3 == id {
		t.Errorf("two installations share the verification ID %q", id)
	}
}

var ignoreCreated = cmpopts.IgnoreFields(slipway.HostNameBinding{}, "Created")

func TestHostNameBindings_Lifecycle(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)

	b, created, err := s.AddHostNameBinding(ctx, slipway.HostNameBinding{ResourceGroup: "RG", Site: "APP", HostName: "WWW.Contoso.com.", RecordType: "CName"})
	if err != nil || !created {
		t.Fatalf("Add = created %v, %v", created, err)
	}
	want := slipway.HostNameBinding{ResourceGroup: "rg", Site: "app", HostName: "www.contoso.com", RecordType: "CName", SSLState: "Disabled"}
	if d := cmp.Diff(want, b, ignoreCreated); d != "" {
		t.Errorf("Add (-want +got):\n%s", d)
	}
	if b.Created.IsZero() {
		t.Error("Created not set")
	}
	// Adding again updates, keeps one row.
	if _, created, err := s.AddHostNameBinding(ctx, slipway.HostNameBinding{ResourceGroup: "rg", Site: "app", HostName: "www.contoso.com", RecordType: "A"}); err != nil || created {
		t.Fatalf("second Add = created %v, %v", created, err)
	}
	if _, _, err := s.AddHostNameBinding(ctx, slipway.HostNameBinding{ResourceGroup: "rg", Site: "app", HostName: "*.contoso.com"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.HostNameBindings(ctx, "rg", "app")
	if err != nil {
		t.Fatal(err)
	}
	wantList := []slipway.HostNameBinding{
		{ResourceGroup: "rg", Site: "app", HostName: "*.contoso.com", RecordType: "CName", SSLState: "Disabled"},
		{ResourceGroup: "rg", Site: "app", HostName: "www.contoso.com", RecordType: "A", SSLState: "Disabled"},
	}
	if d := cmp.Diff(wantList, list, ignoreCreated); d != "" {
		t.Errorf("list (-want +got):\n%s", d)
	}
	got, err := s.HostNameBinding(ctx, "rg", "app", "WWW.CONTOSO.COM")
	if err != nil || got.HostName != "www.contoso.com" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	_, err = s.HostNameBinding(ctx, "rg", "app", "nope.contoso.com")
	wantCode(t, err, slipway.ENOTFOUND)
	_, err = s.HostNameBindings(ctx, "rg", "nosite")
	wantCode(t, err, slipway.ENOTFOUND)
	_, _, err = s.AddHostNameBinding(ctx, slipway.HostNameBinding{ResourceGroup: "other", Site: "app", HostName: "x.contoso.com"})
	wantCode(t, err, slipway.ENOTFOUND)

	// Certificates: only consistent states.
	if _, err := s.SetHostNameSSL(ctx, "rg", "app", "www.contoso.com", "SniEnabled", "ABCDEF"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.HostNameBinding(ctx, "rg", "app", "www.contoso.com"); got.SSLState != "SniEnabled" || got.Thumbprint != "ABCDEF" {
		t.Errorf("after SetHostNameSSL: %+v", got)
	}
	_, err = s.SetHostNameSSL(ctx, "rg", "app", "www.contoso.com", "SniEnabled", "")
	wantCode(t, err, slipway.EINVALID)
	// Re-adding keeps the certificate.
	if b, _, _ := s.AddHostNameBinding(ctx, slipway.HostNameBinding{ResourceGroup: "rg", Site: "app", HostName: "www.contoso.com"}); b.Thumbprint != "ABCDEF" {
		t.Errorf("re-add lost the thumbprint: %+v", b)
	}

	if err := s.DeleteHostNameBinding(ctx, "rg", "app", "www.contoso.com"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteHostNameBinding(ctx, "rg", "app", "www.contoso.com"), slipway.ENOTFOUND)
	if list, _ := s.HostNameBindings(ctx, "rg", "app"); len(list) != 1 {
		t.Errorf("after delete: %+v", list)
	}
}

func TestHostNameBindings_UniqueAcrossSites(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	seed(t, s)
	if _, _, err := s.PutSite(ctx, slipway.Site{ResourceGroup: "rg", Name: "other", Plan: "plan", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddHostNameBinding(ctx, slipway.HostNameBinding{ResourceGroup: "rg", Site: "app", HostName: "www.contoso.com"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.AddHostNameBinding(ctx, slipway.HostNameBinding{ResourceGroup: "rg", Site: "other", HostName: "WWW.contoso.com"})
	wantCode(t, err, slipway.ECONFLICT)
	if want := "Hostname 'www.contoso.com' already exists: it is bound to another app. Delete it from that app first (az webapp config hostname delete)."; slipway.ErrorMessage(err) != want {
		t.Errorf("message %q", slipway.ErrorMessage(err))
	}
	// Another site cannot delete it either.
	wantCode(t, s.DeleteHostNameBinding(ctx, "rg", "other", "www.contoso.com"), slipway.ENOTFOUND)
	if site, ok := s.SiteForHostName("www.contoso.com"); !ok || site != "app" {
		t.Errorf("SiteForHostName = %q, %v", site, ok)
	}
}

// TestSiteForHostName: the in-memory index follows adds, deletes, site and
// group deletion, and is rebuilt from the database on open.
func TestSiteForHostName(t *testing.T) {
	s, dir := openTest(t)
	ctx := t.Context()
	seed(t, s)
	for _, h := range []string{"www.contoso.com", "*.fabrikam.com"} {
		if _, _, err := s.AddHostNameBinding(ctx, slipway.HostNameBinding{ResourceGroup: "rg", Site: "App", HostName: h}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(st *Store, host, want string) {
		t.Helper()
		got, ok := st.SiteForHostName(host)
		if got != want || ok != (want != "") {
			t.Errorf("SiteForHostName(%q) = %q, %v; want %q", host, got, ok, want)
		}
	}
	check(s, "www.contoso.com", "app")
	check(s, "contoso.com", "")
	check(s, "shop.fabrikam.com", "app")
	check(s, "a.shop.fabrikam.com", "") // a wildcard covers one label
	check(s, "fabrikam.com", "")

	s2, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	check(s2, "www.contoso.com", "app")
	s2.Close()

	if err := s.DeleteHostNameBinding(ctx, "rg", "app", "*.fabrikam.com"); err != nil {
		t.Fatal(err)
	}
	check(s, "shop.fabrikam.com", "")
	if err := s.DeleteSite(ctx, "rg", "app"); err != nil {
		t.Fatal(err)
	}
	check(s, "www.contoso.com", "")
	// The rows went too: a new site of the same name does not inherit them.
	seed(t, s)
	if list, err := s.HostNameBindings(ctx, "rg", "app"); err != nil || len(list) != 0 {
		t.Errorf("recreated site's bindings: %+v, %v", list, err)
	}
	if _, _, err := s.AddHostNameBinding(ctx, slipway.HostNameBinding{ResourceGroup: "rg", Site: "app", HostName: "www.contoso.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteResourceGroup(ctx, "rg"); err != nil {
		t.Fatal(err)
	}
	check(s, "www.contoso.com", "")
}
