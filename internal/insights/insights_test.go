package insights

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/pythontest"
)

const (
	keyA = "00000000-0000-0000-0000-00000000000a"
	keyB = "00000000-0000-0000-0000-00000000000b"
	keyC = "00000000-0000-0000-0000-00000000000c"
)

// fakeComponents knows two components, A and B.
type fakeComponents struct{}

var comps = []Component{
	{InstrumentationKey: keyA, AppID: "app-a", Name: "ai-a", ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/components/ai-a"},
	{InstrumentationKey: keyB, AppID: "app-b", Name: "ai-b", ResourceID: "/subscriptions/s/resourceGroups/rg2/providers/Microsoft.Insights/components/ai-b"},
	{InstrumentationKey: keyC, AppID: "app-c", Name: "ai-c", ResourceID: "/subscriptions/s/resourceGroups/rg3/providers/Microsoft.Insights/components/ai-c",
		LocalAuthDisabled: true, Retention: 30 * time.Minute},
}

// gone are the keys of components deleted meanwhile.
var gone = map[string]bool{}

func (fakeComponents) ComponentByKey(_ context.Context, k string) (Component, error) {
	for _, c := range comps {
		if c.InstrumentationKey == k && !gone[k] {
			return c, nil
		}
	}
	return Component{}, slipway.Errorf(slipway.ENOTFOUND, "no such key")
}

func (fakeComponents) ComponentByAppID(_ context.Context, id string) (Component, error) {
	for _, c := range comps {
		if c.AppID == id {
			return c, nil
		}
	}
	return Component{}, slipway.Errorf(slipway.ENOTFOUND, "no such app")
}

// fakeAuth admits the token "reader-a" (for the query API), whose
// principal may read component A only, and "publisher-c" (for ingestion),
// whose principal may publish to C only.
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, tok, audience string) (string, error) {
	switch {
	case tok == "reader-a" && audience == QueryAudience:
		return "oid-a", nil
	case tok == "publisher-c" && audience == IngestAudience:
		return "oid-c", nil
	}
	return "", fmt.Errorf("bad token")
}

func (fakeAuth) Authorize(_ context.Context, oid, action, scope string, data bool) error {
	if oid == "oid-a" && action == readAction && !data && scope == comps[0].ResourceID ||
		oid == "oid-c" && action == telemetryWrite && data && scope == comps[2].ResourceID {
		return nil
	}
	return slipway.Errorf(slipway.EFORBIDDEN, "denied")
}

func newTestService(t *testing.T, cfg Config) (*Service, *httptest.Server) {
	t.Helper()
	cfg.Dir = t.TempDir()
	cfg.Components = fakeComponents{}
	if cfg.Auth == nil {
		cfg.Auth = fakeAuth{}
	}
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

// envelopeJSON is a request item as the Python exporter sends one.
func envelopeJSON(ikey, name string, at time.Time, success bool) string {
	return fmt.Sprintf(`{"ver":1,"name":"Microsoft.ApplicationInsights.Request","time":%q,"sampleRate":100,"iKey":%q,`+
		`"tags":{"ai.operation.id":"op1","ai.operation.name":%q,"ai.cloud.role":"todo","ai.cloud.roleInstance":"i1","ai.internal.sdkVersion":"py3:otel1"},`+
		`"data":{"baseType":"RequestData","baseData":{"ver":2,"id":"%s","name":%q,"duration":"0.00:00:00.120000","responseCode":"200","success":%t,"url":"http://todo/x","properties":{"k":"v"}}}}`,
		at.UTC().Format(time.RFC3339Nano), ikey, name, strings.ReplaceAll(name, " ", "-"), name, success)
}

// post sends a track request, gzipped if gz, with a bearer token if one
// is given.
func post(t *testing.T, srv *httptest.Server, body []byte, gz bool, token ...string) (int, trackResponse) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/v2.1/track", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if len(token) > 0 && token[0] != "" {
		req.Header.Set("Authorization", "Bearer "+token[0])
	}
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		req.Body = io.NopCloser(&b)
		req.ContentLength = int64(b.Len())
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr trackResponse
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &tr); err != nil {
		t.Fatalf("track answered %d %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, tr
}

func getEvents(t *testing.T, srv *httptest.Server, path, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s answered %d %s", path, resp.StatusCode, raw)
	}
	return resp.StatusCode, v
}

// TestTrackAndRead: items sent to /v2.1/track (a JSON array, gzipped or
// not, or one envelope per line) are answered as Breeze answers — 200 all
// taken, 206 some with each refusal's index, 400 none — and read back
// through the events API, newest first, as Application Insights renders
// them.
func TestTrackAndRead(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	_, srv := newTestService(t, Config{Now: func() time.Time { return now }})

	body := "[" + envelopeJSON(keyA, "GET /one", now.Add(-time.Minute), true) + "," + envelopeJSON(keyA, "GET /two", now.Add(-30*time.Second), false) + "]"
	if code, tr := post(t, srv, []byte(body), false); code != 200 || tr.ItemsReceived != 2 || tr.ItemsAccepted != 2 || len(tr.Errors) != 0 ||
		tr.AppID == nil || *tr.AppID != "app-a" {
		t.Fatalf("track: %d %+v", code, tr)
	}
	// Newline-delimited and gzipped, as the .NET and JavaScript SDKs send.
	if code, tr := post(t, srv, []byte(envelopeJSON(keyA, "GET /three", now.Add(-10*time.Second), true)+"\n"), true); code != 200 || tr.ItemsAccepted != 1 {
		t.Fatalf("track gzip: %d %+v", code, tr)
	}
	// A partial batch: an unknown key, a bad time and a type Breeze does
	// not know are refused by index; the rest is kept.
	mixed := "[" + envelopeJSON(keyB, "GET /b", now.Add(-5*time.Second), true) + "," +
		envelopeJSON("11111111-1111-1111-1111-111111111111", "GET /x", now, true) + "," +
		strings.Replace(envelopeJSON(keyA, "GET /y", now, true), now.UTC().Format(time.RFC3339Nano), "yesterday", 1) + "," +
		strings.Replace(envelopeJSON(keyA, "GET /z", now, true), "RequestData", "NoSuchData", 1) + "]"
	code, tr := post(t, srv, []byte(mixed), false)
	if code != http.StatusPartialContent || tr.ItemsReceived != 4 || tr.ItemsAccepted != 1 || len(tr.Errors) != 3 {
		t.Fatalf("partial: %d %+v", code, tr)
	}
	for i, e := range tr.Errors {
		if e.Index != i+1 || e.StatusCode != 400 || e.Message == "" {
			t.Errorf("error %d: %+v", i, e)
		}
	}
	if !strings.Contains(tr.Errors[0].Message, "Invalid instrumentation key") {
		t.Errorf("an unknown key is refused as %q", tr.Errors[0].Message)
	}
	// Nothing taken: 400, which the exporter does not retry.
	if code, tr := post(t, srv, []byte("["+envelopeJSON("nope", "GET /n", now, true)+"]"), false); code != 400 || tr.ItemsAccepted != 0 {
		t.Errorf("all refused: %d %+v", code, tr)
	}
	for _, bad := range []string{"", "{", "[1,", "[]"} {
		if code, _ := post(t, srv, []byte(bad), false); code != 400 {
			t.Errorf("body %q: %d, want 400", bad, code)
		}
	}

	code, v := getEvents(t, srv, "/v1/apps/app-a/events/requests", "reader-a")
	if code != 200 {
		t.Fatalf("events: %d %v", code, v)
	}
	value := v["value"].([]any)
	if len(value) != 3 {
		t.Fatalf("events: %d items, want A's 3: %v", len(value), v)
	}
	first := value[0].(map[string]any)
	req := first["request"].(map[string]any)
	if req["name"] != "GET /three" || req["duration"] != 120.0 || req["success"] != "True" || req["resultCode"] != "200" ||
		req["performanceBucket"] != "<250ms" || first["type"] != "request" || first["timestamp"] != "2026-12-07T11:59:50.000Z" {
		t.Errorf("the newest request: %v", first)
	}
	if op := first["operation"].(map[string]any); op["id"] != "op1" || first["cloud"].(map[string]any)["roleName"] != "todo" ||
		first["customDimensions"].(map[string]any)["k"] != "v" || first["ai"].(map[string]any)["appId"] != "app-a" {
		t.Errorf("the request's context: %v", first)
	}
	if got := value[1].(map[string]any)["request"].(map[string]any); got["success"] != "False" {
		t.Errorf("a failed request reads %v", got)
	}
	// One event by its id; $top, ascending order, a time span.
	if code, v := getEvents(t, srv, "/v1/apps/app-a/events/requests/GET-%2Ftwo", "reader-a"); code != 200 || len(v["value"].([]any)) != 1 {
		t.Errorf("by id: %d %v", code, v)
	}
	if code, v := getEvents(t, srv, "/v1/apps/app-a/events/requests?$top=1&$orderby=timestamp%20asc", "reader-a"); code != 200 ||
		len(v["value"].([]any)) != 1 || v["value"].([]any)[0].(map[string]any)["request"].(map[string]any)["name"] != "GET /one" {
		t.Errorf("$top=1 ascending: %d %v", code, v)
	}
	if code, v := getEvents(t, srv, "/v1/apps/app-a/events/$all?timespan=PT45S", "reader-a"); code != 200 || len(v["value"].([]any)) != 2 {
		t.Errorf("timespan PT45S: %d %v", code, v)
	}
	if code, v := getEvents(t, srv, "/v1/apps/app-a/events/requests?timespan=2026-12-07T11:58:00Z/PT1M30S", "reader-a"); code != 200 || len(v["value"].([]any)) != 2 {
		t.Errorf("timespan interval: %d %v", code, v)
	}
	// A filter the service does not evaluate is refused, not ignored.
	for _, p := range []string{"?$filter=request/success%20eq%20false", "?timespan=yesterday", "?$top=-1", "?$orderby=duration"} {
		if code, _ := getEvents(t, srv, "/v1/apps/app-a/events/requests"+p, "reader-a"); code != 400 {
			t.Errorf("%s: %d, want 400", p, code)
		}
	}
	if code, _ := getEvents(t, srv, "/v1/apps/app-a/events/nothing", "reader-a"); code != 400 {
		t.Errorf("an unknown event type: %d, want 400", code)
	}
}

// TestQueryAccess: reading telemetry takes a token whose principal may
// read the component; another component's, or one that does not exist,
// is answered alike (404), and an API key is refused saying so.
func TestQueryAccess(t *testing.T) {
	now := time.Now()
	_, srv := newTestService(t, Config{AdminToken: "the-admin-token"})
	post(t, srv, []byte("["+envelopeJSON(keyB, "GET /secret", now, true)+"]"), false)
	if code, v := getEvents(t, srv, "/v1/apps/app-a/events/requests", ""); code != 401 || !strings.Contains(fmt.Sprint(v), "api.applicationinsights.io") {
		t.Errorf("no token: %d %v", code, v)
	}
	if code, _ := getEvents(t, srv, "/v1/apps/app-a/events/requests", "forged"); code != 401 {
		t.Errorf("a bad token: %d, want 401", code)
	}
	_, other := getEvents(t, srv, "/v1/apps/app-b/events/requests", "reader-a")
	_, missing := getEvents(t, srv, "/v1/apps/app-z/events/requests", "reader-a")
	if fmt.Sprint(other["error"].(map[string]any)["code"]) != "ApplicationNotFoundError" ||
		strings.Replace(fmt.Sprint(other), "app-b", "app-z", 1) != fmt.Sprint(missing) {
		t.Errorf("another's component %v, and a missing one %v, must read alike", other, missing)
	}
	// The server's administrator token (Slipway's CLI) reads any component.
	if code, _ := getEvents(t, srv, "/v1/apps/app-b/events/requests", "the-admin-token"); code != 200 {
		t.Errorf("the administrator's token: %d", code)
	}
	if code, _ := getEvents(t, srv, "/v1/apps/app-b/events/requests", "the-admin-tokeN"); code != 401 {
		t.Errorf("a near miss of the administrator's token: %d", code)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/v1/apps/app-a/events/requests", nil)
	req.Header.Set("x-api-key", "k")
	resp, _ := srv.Client().Do(req)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(b), "API keys are not supported") {
		t.Errorf("an API key: %d %s", resp.StatusCode, b)
	}
}

// TestTrackBounds: what one component keeps is bounded — past its items
// or bytes its oldest go, and another component's stay — a request's body
// and items are bounded, and expired items are removed.
func TestTrackBounds(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := now
	s, srv := newTestService(t, Config{MaxItems: 5, Retention: time.Hour, Now: func() time.Time { return clock }})
	post(t, srv, []byte("["+envelopeJSON(keyB, "GET /b", now, true)+"]"), false)
	for i := range 12 {
		post(t, srv, []byte("["+envelopeJSON(keyA, fmt.Sprintf("GET /%d", i), now.Add(time.Duration(i)*time.Second), true)+"]"), false)
	}
	count := func(ikey string) (n int) {
		s.db.r.QueryRow(`SELECT count(*) FROM items WHERE ikey = ?`, ikey).Scan(&n)
		return n
	}
	if a, b := count(keyA), count(keyB); a > 5 || a == 0 || b != 1 {
		t.Errorf("kept A %d (at most 5), B %d (1)", a, b)
	}
	var usage int
	s.db.r.QueryRow(`SELECT items FROM usage WHERE ikey = ?`, keyA).Scan(&usage)
	if usage != count(keyA) {
		t.Errorf("A's tally %d, its items %d", usage, count(keyA))
	}
	// The newest stayed.
	if code, v := getEvents(t, srv, "/v1/apps/app-a/events/requests?$top=1", "reader-a"); code != 200 ||
		v["value"].([]any)[0].(map[string]any)["request"].(map[string]any)["name"] != "GET /11" {
		t.Errorf("the newest: %d %v", code, v)
	}

	// Too big an item, too many items, too big a body.
	huge := strings.Replace(envelopeJSON(keyA, "GET /h", now, true), `"k":"v"`, `"k":"`+strings.Repeat("x", maxItemBytes)+`"`, 1)
	if code, tr := post(t, srv, []byte("["+huge+"]"), false); code != 400 || !strings.Contains(tr.Errors[0].Message, "bytes") {
		t.Errorf("a huge item: %d %+v", code, tr)
	}
	many := "[" + strings.Repeat(envelopeJSON(keyA, "GET /m", now, true)+",", maxItemsPerRequest) + envelopeJSON(keyA, "GET /m", now, true) + "]"
	if code, _ := post(t, srv, []byte(many), false); code != 400 {
		t.Errorf("%d items: %d, want 400", maxItemsPerRequest+1, code)
	}
	// A gzip bomb stops at the body's bound.
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write([]byte("["))
	for range (maxBody / (1 << 20)) + 2 {
		zw.Write(bytes.Repeat([]byte(" "), 1<<20))
	}
	zw.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/v2.1/track", &bomb)
	req.Header.Set("Content-Encoding", "gzip")
	if resp, err := srv.Client().Do(req); err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a gzip bomb: %v %v", resp, err)
	}

	// Each component keeps its telemetry for its own retention: C's is
	// 30 minutes, the others' the service's hour.
	post(t, srv, []byte("["+envelopeJSON(keyC, "GET /c", now, true)+"]"), false, "publisher-c")
	clock = now.Add(45 * time.Minute)
	post(t, srv, []byte("["+envelopeJSON(keyB, "GET /b2", clock, true)+"]"), false)
	if a, c := count(keyA), count(keyC); a == 0 || c != 0 {
		t.Errorf("after 45 minutes: A %d (kept for an hour), C %d (30 minutes)", a, c)
	}
	// Two hours on, the next track expires the rest of A and B's first.
	clock = now.Add(2 * time.Hour)
	post(t, srv, []byte("["+envelopeJSON(keyB, "GET /late", clock, true)+"]"), false)
	if a, b := count(keyA), count(keyB); a != 0 || b != 1 {
		t.Errorf("after the retention: A %d, B %d; want 0 and the new 1", a, b)
	}
	// A component that is gone takes its telemetry with it.
	gone[keyB] = true
	defer delete(gone, keyB)
	clock = clock.Add(2 * time.Minute)
	post(t, srv, []byte("["+envelopeJSON(keyA, "GET /after", clock, true)+"]"), false)
	if b := count(keyB); b != 0 {
		t.Errorf("a deleted component's telemetry stayed: %d items", b)
	}
}

// TestPythonExporter: the Azure Monitor OpenTelemetry distro, as an app
// configures it with `configure_azure_monitor()` and its connection string,
// sends its request, dependency, log and exception here, and the events
// API reads them back with their operation and details.
func TestPythonExporter(t *testing.T) {
	python := pythontest.Python(t, "azure.monitor.opentelemetry")
	_, srv := newTestService(t, Config{})
	out := pythontest.Run(t, python, "testdata/exporter.py", ConnectionString(keyA, "app-a", srv.URL))
	if strings.Contains(out, "Data drop") || strings.Contains(out, "Retryable") {
		t.Errorf("the exporter reported a failure:\n%s", out)
	}
	read := func(typ string) []any {
		t.Helper()
		code, v := getEvents(t, srv, "/v1/apps/app-a/events/"+typ, "reader-a")
		if code != 200 {
			t.Fatalf("%s: %d %v", typ, code, v)
		}
		return v["value"].([]any)
	}
	reqs, deps, traces, excs := read("requests"), read("dependencies"), read("traces"), read("exceptions")
	if len(reqs) != 1 || len(deps) != 1 || len(traces) < 1 || len(excs) != 1 {
		t.Fatalf("requests %d, dependencies %d, traces %d, exceptions %d; want 1, 1, 1+, 1:\n%v\n%v\n%v\n%v", len(reqs), len(deps), len(traces), len(excs), reqs, deps, traces, excs)
	}
	req := reqs[0].(map[string]any)
	r := req["request"].(map[string]any)
	if r["name"] != "GET /todos/" || r["resultCode"] != "500" || r["success"] != "False" || r["url"] != "http://todo.localhost/todos/" {
		t.Errorf("the request: %v", req)
	}
	opID := req["operation"].(map[string]any)["id"]
	dep := deps[0].(map[string]any)
	if d := dep["dependency"].(map[string]any); d["type"] == nil || dep["operation"].(map[string]any)["id"] != opID || d["data"] != "SELECT * FROM todos" {
		t.Errorf("the dependency (operation %v): %v", opID, dep)
	}
	found := false
	for _, x := range traces {
		tr := x.(map[string]any)["trace"].(map[string]any)
		if tr["message"] == "slow page: 42 todos" && tr["severityLevel"] == 2.0 {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning trace \"slow page: 42 todos\" in %v", traces)
	}
	exc := excs[0].(map[string]any)
	if e := exc["exception"].(map[string]any); e["type"] != "ZeroDivisionError" || exc["operation"].(map[string]any)["id"] != opID {
		t.Errorf("the exception: %v", exc)
	}
}

// TestEntraOnlyComponent: a component whose local authentication is off
// (DisableLocalAuth) takes telemetry only with a Microsoft Entra token for
// https://monitor.azure.com whose principal may publish to it, as Azure's
// ingestion does; another component in the same request is not held up.
func TestEntraOnlyComponent(t *testing.T) {
	now := time.Now()
	_, srv := newTestService(t, Config{})
	send := func(token string, items ...string) (int, trackResponse) {
		t.Helper()
		return post(t, srv, []byte("["+strings.Join(items, ",")+"]"), false, token)
	}
	c := envelopeJSON(keyC, "GET /c", now, true)
	for _, tok := range []string{"", "forged", "reader-a"} {
		if code, tr := send(tok, c); code != 401 || tr.ItemsAccepted != 0 {
			t.Errorf("token %q: %d %+v, want 401", tok, code, tr)
		}
	}
	if code, tr := send("publisher-c", c); code != 200 || tr.ItemsAccepted != 1 {
		t.Errorf("the publisher's token: %d %+v", code, tr)
	}
	// Without a token, A's item is taken and C's refused with 401.
	if code, tr := send("", envelopeJSON(keyA, "GET /a", now, true), c); code != 206 || tr.ItemsAccepted != 1 || tr.Errors[0].StatusCode != 401 || tr.Errors[0].Index != 1 {
		t.Errorf("mixed: %d %+v", code, tr)
	}
}

type fullDisk struct{}

func (fullDisk) Check(int64) error { return fmt.Errorf("the disk is at its reserve") }

// TestTrackAtDiskReserve: when the data directory's disk is at its
// reserve, telemetry is refused with 503, which the exporters retry later
// (keeping their items), and nothing is written.
func TestTrackAtDiskReserve(t *testing.T) {
	s, srv := newTestService(t, Config{Reserve: fullDisk{}})
	code, tr := post(t, srv, []byte("["+envelopeJSON(keyA, "GET /x", time.Now(), true)+"]"), false)
	var n int
	s.db.r.QueryRow(`SELECT count(*) FROM items`).Scan(&n)
	if code != http.StatusServiceUnavailable || tr.ItemsAccepted != 0 || n != 0 {
		t.Errorf("at the disk's reserve: %d %+v, %d items kept", code, tr, n)
	}
}

// TestSweepWithoutTelemetry: a deleted component's telemetry, and expired
// telemetry, go on a quiet server too: the sweep does not wait for the
// next item to arrive.
func TestSweepWithoutTelemetry(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s, srv := newTestService(t, Config{Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(2 * time.Minute) // every look is past the once-a-minute gate
		return clock
	}})
	post(t, srv, []byte("["+envelopeJSON(keyB, "GET /b", time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), true)+"]"), false)
	count := func() (n int) {
		s.db.r.QueryRow(`SELECT count(*) FROM items WHERE ikey = ?`, keyB).Scan(&n)
		return n
	}
	if count() != 1 {
		t.Fatalf("B's item was not kept")
	}
	gone[keyB] = true
	defer delete(gone, keyB)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Sweep(ctx, 10*time.Millisecond) }()
	deadline := time.Now().Add(10 * time.Second)
	for count() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if n := count(); n != 0 {
		t.Errorf("a deleted component's telemetry stayed %d items with no new telemetry", n)
	}
}

// TestTrackCORS: a page's script may send telemetry from any origin, as
// to Azure's ingestion: the preflight is answered, the answer readable.
// The query API is not opened to pages.
func TestTrackCORS(t *testing.T) {
	_, srv := newTestService(t, Config{})
	req, _ := http.NewRequest("OPTIONS", srv.URL+"/v2/track", nil)
	req.Header.Set("Origin", "https://todo.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,sdk-context")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 200 || h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "sdk-context") || h.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("the preflight: %d %v", resp.StatusCode, h)
	}
	req, _ = http.NewRequest("POST", srv.URL+"/v2/track", strings.NewReader("["+envelopeJSON(keyA, "GET /p", time.Now(), true)+"]"))
	req.Header.Set("Origin", "https://todo.example")
	if resp, err := srv.Client().Do(req); err != nil || resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("a page's track: %v %v", resp, err)
	}
	req, _ = http.NewRequest("OPTIONS", srv.URL+"/v1/apps/app-a/events/requests", nil)
	req.Header.Set("Origin", "https://todo.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	if resp, err := srv.Client().Do(req); err != nil || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("the query API answers a page's preflight: %v %v", resp.Header, err)
	}
}
