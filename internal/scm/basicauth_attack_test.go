package scm

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
)

// policyStore is a fakeStore whose scm Basic authentication policy is off
// for the sites named in off, and which records the sites asked about.
type policyStore struct {
	fakeStore
	off   map[string]bool
	asked []string
}

func (p *policyStore) BasicAuthAllowed(_ context.Context, site, policy string) (bool, error) {
	p.asked = append(p.asked, site+"/"+policy)
	return !p.off[strings.ToLower(site)], nil
}

// TestAttack_BasicAuthOffEveryRoute: with the app's scm Basic policy off,
// the app's publishing credentials open nothing of its Kudu — no API
// route, with /api or without (Kudu's deprecated routes), no Local Git
// request, no SSH tunnel, no deployment record — and the policy read is
// the addressed site's own (a slot's, not its app's).
func TestAttack_BasicAuthOffEveryRoute(t *testing.T) {
	const slot = "app-staging"
	st := &policyStore{fakeStore: fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: slot, SlotOf: "app", Slot: "staging"}},
		off: map[string]bool{slot: true}}
	srv := httptest.NewServer(New(Config{Store: st, Deployer: fakeDeployer{},
		SiteOf: func(*http.Request) string { return slot }, RepoDir: func(string) string { return t.TempDir() }}))
	t.Cleanup(srv.Close)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/deployments", ""},
		{"GET", "/deployments", ""},
		{"GET", "/api/settings", ""},
		{"GET", "/settings", ""},
		{"POST", "/api/command", `{"command":"id","dir":"/home"}`},
		{"POST", "/command", `{"command":"id","dir":"/home"}`},
		{"GET", "/api/vfs/site/wwwroot/", ""},
		{"POST", "/api/zipdeploy", "PK"},
		{"PUT", "/api/deployments/rec1", `{"status":4,"message":"m","deployer":"d","author":"a"}`},
		{"GET", "/AppServiceTunnel/Tunnel.ashx?GetStatus&GetStatusAPIVer=2", ""},
		{"GET", "/app.git/info/refs?service=git-receive-pack", ""},
		{"POST", "/app.git/git-receive-pack", ""},
		{"GET", "/api/logstream", ""},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), c.method, srv.URL+c.path, strings.NewReader(c.body))
		req.SetBasicAuth("$app", "pass") // credentials the fake takes while Basic is allowed
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), "Basic authentication is disabled") {
			t.Errorf("%s %s with the slot's publishing credentials: %d %.200s; want 401, Basic authentication disabled", c.method, c.path, resp.StatusCode, b)
		}
	}
	for _, a := range st.asked {
		if a != slot+"/scm" {
			t.Errorf("the policy read was %q, want the slot's scm policy", a)
		}
	}
	if len(st.asked) == 0 {
		t.Error("no policy was read")
	}
}
