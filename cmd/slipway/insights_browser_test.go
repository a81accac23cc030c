package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// aiWebSDK is the Application Insights JavaScript SDK's browser bundle,
// as npm publishes it (@microsoft/applicationinsights-web, installed from
// tests/node/package.json into NODE_PATH), or a skip outside CI.
func aiWebSDK(t *testing.T) string {
	t.Helper()
	p := filepath.Join(os.Getenv("NODE_PATH"), "@microsoft", "applicationinsights-web", "dist", "es5", "applicationinsights-web.min.js")
	if _, err := os.Stat(p); err != nil || os.Getenv("NODE_PATH") == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("the Application Insights JavaScript SDK is missing (scripts/setup installs tests/node into NODE_PATH): %v", err)
		}
		t.Skipf("the Application Insights JavaScript SDK is not installed (NODE_PATH): %v", err)
	}
	return p
}

// TestInsightsFromABrowser: a page instrumented with Microsoft's
// JavaScript SDK (the way an app's templates add it), loaded by a real
// browser from its own origin, sends its page view and a custom event to
// the component its connection string names; the browser's CORS rules
// pass (the ingestion answers any origin, as Azure's), and the events API
// reads them back.
func TestInsightsFromABrowser(t *testing.T) {
	chromium := chromiumPath(t)
	sdk := aiWebSDK(t)
	s := startServer(t)
	s.mustCLI("", "group", "create", "-n", "rg-aiweb", "-l", "westeurope")
	var comp struct {
		AppID            string `json:"appId"`
		ConnectionString string `json:"connectionString"`
	}
	json.Unmarshal([]byte(s.mustCLI("", "monitor", "app-insights", "component", "create", "--app", "ai-web", "-g", "rg-aiweb", "-o", "json")), &comp)
	// The page's origin is a server of the test's own, and it sends over
	// plain HTTP on loopback (the platform CA is not the browser's).
	cs := strings.Replace(comp.ConnectionString, "https://", "http://", 1)
	page := fmt.Sprintf(`<!DOCTYPE html><html><head><title>todo</title><script src="/ai.js"></script></head><body>
<div id="result">pending</div><script>
var ai = new Microsoft.ApplicationInsights.ApplicationInsights({config: {connectionString: %q, disableAjaxTracking: true, disableFetchTracking: true}});
ai.loadAppInsights();
ai.trackPageView({name: "todo home"});
ai.trackEvent({name: "todo added", properties: {list: "groceries"}});
ai.flush(false);
document.getElementById("result").textContent = "flushed";
</script></body></html>`, cs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ai.js" {
			w.Header().Set("Content-Type", "text/javascript")
			http.ServeFile(w, r, sdk)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	bctx := headlessBrowser(t, chromium, 1280, 800)
	if err := browserNavigate(t, bctx, "http://"+ln.Addr().String()+"/", `#result`); err != nil {
		t.Fatalf("the page: %v", err)
	}

	read := func(typ string) string {
		t.Helper()
		return s.mustCLI("", "monitor", "app-insights", "events", "show", "--app", comp.AppID, "--type", typ, "--offset", "10m", "-o", "json")
	}
	var views, events string
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		views, events = read("pageViews"), read("customEvents")
		if (strings.Contains(views, `"todo home"`) && strings.Contains(events, `"todo added"`)) || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(views, `"todo home"`) {
		t.Errorf("the page view did not arrive:\n%s", views)
	}
	if !strings.Contains(events, `"todo added"`) || !strings.Contains(events, `"groceries"`) {
		t.Errorf("the custom event did not arrive:\n%s", events)
	}
}
