package scm

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/rbac"
)

// historyStore is fakeStore with a deployment history of its own (newest
// received first) that GetDeployment reads too.
type historyStore struct {
	fakeStore
	mu sync.Mutex
	ds []slipway.Deployment
}

func (s *historyStore) ListDeployments(context.Context, string) ([]slipway.Deployment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]slipway.Deployment(nil), s.ds...), nil
}

func (s *historyStore) GetDeployment(_ context.Context, _, id string) (slipway.Deployment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.ds {
		if strings.EqualFold(d.ID, id) {
			return d, nil
		}
	}
	return slipway.Deployment{}, slipway.Errorf(slipway.ENOTFOUND, "no deployment %s", id)
}

// redeployRecorder is a Deployer that records redeploys and deletions and
// answers them with err; a redeploy ends the record with status.
type redeployRecorder struct {
	fakeDeployer
	store  *historyStore
	err    error
	status slipway.DeployStatus
	mu     sync.Mutex
	calls  []string // "PUT <id> <deployer>", "DELETE <id>"
}

func (r *redeployRecorder) Redeploy(_ context.Context, _ slipway.Site, id string, o deploy.RedeployOptions) (slipway.Deployment, error) {
	r.mu.Lock()
	r.calls = append(r.calls, "PUT "+id+" "+o.Deployer)
	r.mu.Unlock()
	if r.err != nil {
		return slipway.Deployment{}, r.err
	}
	r.store.mu.Lock()
	defer r.store.mu.Unlock()
	for i, d := range r.store.ds {
		if d.ID == id {
			r.store.ds[i].Status, r.store.ds[i].StatusText = r.status, "The version did not start: it exited."
			return r.store.ds[i], nil
		}
	}
	return slipway.Deployment{}, slipway.Errorf(slipway.ENOTFOUND, "Deployment '%s' not found.", id)
}

func (r *redeployRecorder) DeleteDeployment(_ context.Context, _ slipway.Site, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "DELETE "+id)
	return r.err
}

// Record adds r as the store's newest deployment, as the coordinator does.
func (r *redeployRecorder) Record(_ context.Context, _ slipway.Site, rec deploy.Record) (slipway.Deployment, error) {
	r.mu.Lock()
	r.calls = append(r.calls, "RECORD "+rec.ID+" "+rec.Deployer)
	r.mu.Unlock()
	if r.err != nil {
		return slipway.Deployment{}, r.err
	}
	d := slipway.Deployment{ID: rec.ID, Site: "app", Status: rec.Status, Message: rec.Message, Deployer: rec.Deployer,
		Author: rec.Author, AuthorEmail: rec.AuthorEmail, ReceivedTime: rec.StartTime, StartTime: rec.StartTime, EndTime: rec.EndTime, Recorded: true}
	r.store.mu.Lock()
	defer r.store.mu.Unlock()
	r.store.ds = append([]slipway.Deployment{d}, r.store.ds...)
	return d, nil
}

func (r *redeployRecorder) called() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// newRedeployKudu serves the site "app" with deployments v2 (newest
// received, active) and v1.
func newRedeployKudu(t *testing.T) (*httptest.Server, *redeployRecorder) {
	t.Helper()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	st := &historyStore{fakeStore: fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, ds: []slipway.Deployment{
		{ID: "0000000000000000000000000000bbbb", Site: "app", Status: slipway.DeploySuccess, ReceivedTime: t0.Add(time.Hour), StartTime: t0.Add(time.Hour), EndTime: t0.Add(time.Hour + time.Minute), Active: true},
		{ID: "0000000000000000000000000000aaaa", Site: "app", Status: slipway.DeploySuccess, ReceivedTime: t0, StartTime: t0, EndTime: t0.Add(time.Minute)},
	}}
	rec := &redeployRecorder{store: st, status: slipway.DeploySuccess}
	srv := httptest.NewServer(New(Config{Store: st, Deployer: rec, SiteOf: func(*http.Request) string { return "app" }}))
	t.Cleanup(srv.Close)
	return srv, rec
}

func do(t *testing.T, srv *httptest.Server, method, p, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+p, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	status, _, b := send(t, req)
	return status, string(b)
}

// TestRedeployAndDeleteAsKudu: PUT /api/deployments/{id} redeploys with the
// caller's user name as deployer and answers when it has finished — 200
// with no body, as Kudu's DeploymentController.Deploy, or 400 saying why
// and where the log is; DELETE /api/deployments/{id} answers 200, as
// KuduLite's Delete. The deployer's refusals keep Kudu's codes (404 for an
// unknown id, 409 for the active deployment or one running), and the
// deprecated routes without /api and a trailing slash work too.
func TestRedeployAndDeleteAsKudu(t *testing.T) {
	srv, rec := newRedeployKudu(t)
	const v1 = "0000000000000000000000000000aaaa"
	tests := []struct {
		name, method, path, contentType, body string
		err                                   error
		failed                                bool
		want                                  int
		says, call                            string
	}{
		{"redeploy", "PUT", "/api/deployments/" + v1, "", "", nil, false, 200, "", "PUT " + v1 + " $app"},
		{"redeploy with Kudu's options", "PUT", "/api/deployments/" + v1, "application/json", `{"clean":true,"needFileUpdate":false}`, nil, false, 200, "", "PUT " + v1 + " $app"},
		{"redeploy by the old route", "PUT", "/deployments/" + v1 + "/", "", "", nil, false, 200, "", "PUT " + v1 + " $app"},
		{"a redeploy that fails", "PUT", "/api/deployments/" + v1, "", "", nil, true, 400, "/api/deployments/" + v1 + "/log", "PUT " + v1 + " $app"},
		{"unknown id", "PUT", "/api/deployments/0123", "", "", slipway.Errorf(slipway.ENOTFOUND, "Deployment '0123' not found."), false, 404, "Deployment '0123' not found.", "PUT 0123 $app"},
		{"during a deployment", "PUT", "/api/deployments/" + v1, "", "", slipway.Errorf(slipway.ECONFLICT, "There is a deployment currently in progress. Please try again when it completes."), false, 409, "in progress", "PUT " + v1 + " $app"},
		{"delete", "DELETE", "/api/deployments/" + v1, "", "", nil, false, 200, "", "DELETE " + v1},
		{"delete by the old route", "DELETE", "/deployments/" + v1, "", "", nil, false, 200, "", "DELETE " + v1},
		{"delete the active one", "DELETE", "/api/deployments/" + v1, "", "", slipway.Errorf(slipway.ECONFLICT, "Unable to delete '%s'. The deployment is currently active.", v1), false, 409, "currently active", "DELETE " + v1},
		{"delete an unknown one", "DELETE", "/api/deployments/0123", "", "", slipway.Errorf(slipway.ENOTFOUND, "Unable to delete '0123'. No deployment found."), false, 404, "No deployment found.", "DELETE 0123"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec.mu.Lock()
			rec.calls, rec.err, rec.status = nil, tc.err, slipway.DeploySuccess
			if tc.failed {
				rec.status = slipway.DeployFailed
			}
			rec.mu.Unlock()
			status, body := do(t, srv, tc.method, tc.path, tc.contentType, tc.body)
			if status != tc.want || !strings.Contains(body, tc.says) || tc.says == "" && body != "" {
				t.Errorf("%s %s = %d %q; want %d saying %q", tc.method, tc.path, status, body, tc.want, tc.says)
			}
			if diff := cmp.Diff([]string{tc.call}, rec.called()); diff != "" {
				t.Errorf("deployer calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRecordADeploymentMadeElsewhere: PUT /api/deployments/{id} with the
// body Kudu's DeploymentController takes for a deployment made by other
// means (TryParseDeployResult: status 3 or 4, message, deployer, author)
// records it, read as JSON whatever its Content-Type, and answers 200 with
// the record (the GitHub Action for App Service reads its id and url);
// Kudu's refusal of an active failed one keeps its words; bodies that are
// not records still redeploy.
func TestRecordADeploymentMadeElsewhere(t *testing.T) {
	srv, rec := newRedeployKudu(t)
	const v1 = "0000000000000000000000000000aaaa"
	const ghID = "3f786850e387550fdab836ed7e6dc881de23001b1764969320123"
	body := `{"id":"` + ghID + `","active":true,"status":4,"message":"{\"type\":\"deployment\",\"sha\":\"3f78685\"}","author":"octocat","deployer":"GitHub"}`
	status, got := do(t, srv, "PUT", "/api/deployments/"+ghID, "", body)
	if status != http.StatusOK {
		t.Fatalf("PUT a record = %d %q; want 200", status, got)
	}
	var j deploymentJSON
	if err := json.Unmarshal([]byte(got), &j); err != nil || j.ID != ghID || j.Status != 4 || j.Deployer != "GitHub" || j.Author != "octocat" ||
		!j.Complete || j.Active || !strings.HasSuffix(j.URL, "/api/deployments/"+ghID) || !strings.HasSuffix(j.LogURL, "/api/deployments/"+ghID+"/log") {
		t.Errorf("the record's answer: %v %+v", err, j)
	}

	for _, tc := range []struct {
		name, id, body string
		want           int
		says           string
	}{
		{"an id the app has", v1, `{"status":4,"message":"m","deployer":"d","author":"a"}`, 409, "exists"},
		{"the same id again, in other case", strings.ToUpper(ghID[:40]) + ghID[40:], `{"status":4,"message":"m","deployer":"d","author":"a"}`, 409, "exists"},
		{"an active failure", "ci-run-2", `{"status":3,"message":"m","deployer":"d","author":"a","active":true}`, 400, "Only successful status can be active!"},
		{"latest", "latest", `{"status":4,"message":"m","deployer":"d","author":"a"}`, 400, "latest"},
		{"a time that is none", "ci-run-3", `{"status":4,"message":"m","deployer":"d","author":"a","start_time":"yesterday"}`, 400, "start_time"},
		{"a body past 64 KB", "ci-run-4", `{"status":4,"message":"` + strings.Repeat("m", 64<<10) + `","deployer":"d","author":"a"}`, 400, "at most 64 KB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.mu.Lock()
			rec.calls = nil
			rec.mu.Unlock()
			status, got := do(t, srv, "PUT", "/api/deployments/"+tc.id, "application/json", tc.body)
			if status != tc.want || !strings.Contains(got, tc.says) {
				t.Errorf("PUT %s = %d %q; want %d saying %q", tc.id, status, got, tc.want, tc.says)
			}
			if calls := rec.called(); len(calls) != 0 {
				t.Errorf("the deployer was called: %v", calls)
			}
		})
	}

	// A record with its times and a failure, then bodies that are no
	// record: each redeploys, as on Kudu.
	rec.mu.Lock()
	rec.calls = nil
	rec.mu.Unlock()
	status, got = do(t, srv, "PUT", "/api/deployments/ci-run-5", "application/json",
		`{"status":3,"message":"tests failed","deployer":"ci","author":"bot","start_time":"2026-12-01T10:00:00Z","end_time":"2026-12-01T10:05:00"}`)
	if status != http.StatusOK || !strings.Contains(got, `"start_time":"2026-12-01T10:00:00.0000000Z"`) || !strings.Contains(got, `"end_time":"2026-12-01T10:05:00.0000000Z"`) {
		t.Errorf("PUT a failed record with times = %d %q", status, got)
	}
	for _, b := range []string{`{"status":4,"message":"m","deployer":"d"}`, `{"status":2,"message":"m","deployer":"d","author":"a"}`, `not json`} {
		do(t, srv, "PUT", "/api/deployments/"+v1, "application/json", b)
	}
	want := []string{"RECORD ci-run-5 ci", "PUT " + v1 + " $app", "PUT " + v1 + " $app", "PUT " + v1 + " $app"}
	if diff := cmp.Diff(want, rec.called()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
}

// TestLatestAfterARedeploy: Kudu's GET /api/deployments/latest names the
// newest deployment still running, else the one that finished last — a
// redeployed one, though received before others (DeploymentController
// IsLatestPendingDeployment) — and the last success's end time is the
// latest success's.
func TestLatestAfterARedeploy(t *testing.T) {
	srv, rec := newRedeployKudu(t)
	const v1 = "0000000000000000000000000000aaaa"
	rec.store.mu.Lock()
	ran := rec.store.ds[0].EndTime.Add(time.Hour)
	rec.store.ds[1].StartTime, rec.store.ds[1].EndTime, rec.store.ds[1].Active, rec.store.ds[0].Active = ran, ran.Add(time.Second), true, false
	rec.store.mu.Unlock()
	status, _, body := get(t, srv, "/api/deployments/latest")
	var d deploymentJSON
	if err := json.Unmarshal(body, &d); status != 200 || err != nil {
		t.Fatalf("GET latest = %d %s (%v)", status, body, err)
	}
	if d.ID != v1 || !d.Active || d.LastSuccessEndTime == nil || *d.LastSuccessEndTime != timeText(ran.Add(time.Second)) {
		t.Errorf("latest = %+v; want the redeployed %s, last success at its end", d, v1)
	}
}

// TestAttackRedeployIDs: the id is the caller's. Path characters, NUL and
// oversized ids are refused (400; dot segments the router cleans away are
// redirected to a route that takes no PUT or DELETE) before the deployer
// hears of them, whatever their spelling: ids are looked up, never used as
// paths, but nothing that is not an id should get that far.
func TestAttackRedeployIDs(t *testing.T) {
	srv, rec := newRedeployKudu(t)
	for _, p := range []string{
		"..%2f..%2fsites%2fother", "%2e%2e", "a%2fb", "a%5cb", "a%00b", ".", "%2e", "a%20b", "latest%2f..", strings.Repeat("a", 65),
	} {
		for _, method := range []string{"PUT", "DELETE"} {
			t.Run(method+" "+p, func(t *testing.T) {
				status, body := do(t, srv, method, "/api/deployments/"+p, "", "")
				if status < 300 {
					t.Errorf("%s %s = %d %q; want it refused", method, p, status, body)
				}
			})
		}
	}
	// Raw dot segments, as a client that does not clean paths sends them.
	for _, p := range []string{"/api/deployments/../../api/deployments/x", "/api/deployments/./x/.."} {
		req, err := http.NewRequestWithContext(t.Context(), "PUT", srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = p
		if status, _, body := send(t, req); status < 300 {
			t.Errorf("PUT %s = %d %q; want it refused", p, status, body)
		}
	}
	if calls := rec.called(); len(calls) != 0 {
		t.Errorf("the deployer was called: %v", calls)
	}
}

// TestAttackRedeployFromAnotherSite: a redeploy or a deletion is a write
// that a page of another site must not make a browser holding the
// credentials send. Its methods are the guard: a form sends only GET and
// POST, and POST (with a method override or not) is not routed here (a
// foreign page's is refused as such; Kudu's catch-all answers 404); a
// script's cross-origin PUT or DELETE needs a CORS preflight, which Kudu
// never grants. A body recording a deployment made elsewhere under the id
// of one of the app's (Kudu's DeploymentController.CreateDeployment) is
// refused, not taken for a redeploy. And without the app's credentials nothing happens.
func TestAttackRedeployFromAnotherSite(t *testing.T) {
	srv, rec := newRedeployKudu(t)
	const v1 = "0000000000000000000000000000aaaa"
	for _, override := range []string{"", "PUT", "DELETE"} {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/api/deployments/"+v1, strings.NewReader("_method="+override))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		if override != "" {
			req.Header.Set("X-HTTP-Method-Override", override)
		}
		if status, _, body := send(t, req); status != http.StatusForbidden && status != http.StatusNotFound {
			t.Errorf("a form's POST (override %q) = %d %q; want 403 or 404", override, status, body)
		}
	}
	if calls := rec.called(); len(calls) != 0 {
		t.Errorf("a form's POST called the deployer: %v", calls)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "OPTIONS", srv.URL+"/api/deployments/"+v1, nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	status, hdr, _ := send(t, req)
	if hdr.Get("Access-Control-Allow-Origin") != "" || hdr.Get("Access-Control-Allow-Methods") != "" || status < 300 {
		t.Errorf("preflight = %d %v; want no CORS grant", status, hdr)
	}
	status, body := do(t, srv, "PUT", "/api/deployments/"+v1, "application/json",
		`{"status":4,"message":"deployed by CI","deployer":"ci","author":"someone","active":true}`)
	if status != http.StatusConflict || !strings.Contains(body, "exists") {
		t.Errorf("PUT with a record of an existing deployment = %d %q; want 409 saying it exists, not a redeploy", status, body)
	}
	for _, auth := range [][2]string{{"$app", "wrong"}, {"$other", "pass"}} {
		for _, method := range []string{"PUT", "DELETE"} {
			req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+"/api/deployments/"+v1, nil)
			req.SetBasicAuth(auth[0], auth[1])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s as %s = %d; want 401", method, auth[0], resp.StatusCode)
			}
		}
	}
	if calls := rec.called(); len(calls) != 0 {
		t.Errorf("the deployer was called: %v", calls)
	}
}

// TestRedeployNeedsTheRightToDeploy: a deployment user redeploys and
// deletes only where its roles let it deploy — a Website Contributor of the
// app, not a Reader — and its name is the run's deployer, as Kudu records
// the Basic user.
func TestRedeployNeedsTheRightToDeploy(t *testing.T) {
	const webc, reader = "00000001-0000-4000-8000-000000000000", "00000002-0000-4000-8000-000000000000"
	authz := rbac.New(rbac.Config{Store: &rbac.MemoryStore{}})
	for i, a := range []struct{ who, role, scope string }{
		{webc, "Website Contributor", "/subscriptions/" + testSub + "/resourceGroups/rg/providers/Microsoft.Web/sites/app"},
		{reader, "Reader", "/subscriptions/" + testSub},
	} {
		if _, _, err := authz.Create(t.Context(), rbac.Assignment{Name: "00000000-0000-4000-8000-00000000000" + string(rune('1'+i)),
			Scope: a.scope, RoleDefinitionID: rbac.RoleByName(a.role).Name, PrincipalID: a.who}, ""); err != nil {
			t.Fatal(err)
		}
	}
	_, rec := newRedeployKudu(t)
	srv := httptest.NewServer(New(Config{Store: rec.store, Deployer: rec, SiteOf: func(*http.Request) string { return "app" },
		DeploymentUsers: &users{authz: authz, byName: map[string][2]string{"webc": {"Webc-pass1", webc}, "reader": {"Reader-pass1", reader}}}}))
	t.Cleanup(srv.Close)
	const v1 = "0000000000000000000000000000aaaa"
	call := func(method, user, pass string) int {
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+"/api/deployments/"+v1, nil)
		req.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, method := range []string{"PUT", "DELETE"} {
		if got := call(method, "reader", "Reader-pass1"); got != http.StatusForbidden {
			t.Errorf("%s as a Reader = %d, want 403", method, got)
		}
	}
	if calls := rec.called(); len(calls) != 0 {
		t.Fatalf("a Reader reached the deployer: %v", calls)
	}
	if got := call("PUT", "webc", "Webc-pass1"); got != http.StatusOK {
		t.Errorf("PUT as the app's Website Contributor = %d, want 200", got)
	}
	if diff := cmp.Diff([]string{"PUT " + v1 + " webc"}, rec.called()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
}
