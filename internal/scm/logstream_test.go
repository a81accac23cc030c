package scm

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
)

// streamLines opens the app's log stream and returns every line it sends
// until the server ends it (or 10 s pass).
func streamLines(t *testing.T, cfg Config) []string {
	t.Helper()
	srv := httptest.NewServer(New(cfg))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("GET", srv.URL+"/api/logstream", nil)
	req.SetBasicAuth("$app", "pass")
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("the stream did not end by itself: %v (lines %q)", err, lines)
	}
	return lines
}

// TestLogStreamTimeout: a log stream lasts SCM_LOGSTREAM_TIMEOUT seconds
// (Kudu's setting; 30 minutes without it), checked at each heartbeat, and
// then says so and ends, as Kudu's does — az webapp log tail then exits.
func TestLogStreamTimeout(t *testing.T) {
	hub := applog.NewHub(applog.Config{})
	site := slipway.Site{ResourceGroup: "rg", Name: "app"}
	base := Config{
		Deployer:  logDeployer{log: hub.App("app", "")},
		SiteOf:    func(*http.Request) string { return "app" },
		Heartbeat: 100 * time.Millisecond,
	}
	stamp := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`
	for _, tc := range []struct {
		name     string
		settings map[string]string
		timeout  time.Duration
	}{
		{"setting 0", map[string]string{"SCM_LOGSTREAM_TIMEOUT": "0"}, 0},
		{"setting negative", map[string]string{"SCM_LOGSTREAM_TIMEOUT": "-5"}, 0},
		{"default", nil, 350 * time.Millisecond},
		{"setting not a number", map[string]string{"SCM_LOGSTREAM_TIMEOUT": "soon"}, 350 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			cfg.Store = &fakeStore{site: site, settings: tc.settings}
			cfg.LogStreamTimeout = 350 * time.Millisecond // the "30 minutes" of this test
			start := time.Now()
			lines := streamLines(t, cfg)
			took := time.Since(start)
			if len(lines) < 2 {
				t.Fatalf("lines %q", lines)
			}
			if !regexp.MustCompile("^" + stamp + `  Welcome, you are now connected to log-streaming service\.$`).MatchString(lines[0]) {
				t.Errorf("first line %q", lines[0])
			}
			last := lines[len(lines)-1]
			if !regexp.MustCompile("^" + stamp + `  Stream terminated due to timeout 0 min\(s\)\.$`).MatchString(last) {
				t.Errorf("last line %q, want Kudu's timeout line", last)
			}
			if took < tc.timeout {
				t.Errorf("ended after %v, before its timeout %v", took, tc.timeout)
			}
			for _, l := range lines[1 : len(lines)-1] {
				if !strings.Contains(l, "No new trace in the past") {
					t.Errorf("unexpected line %q", l)
				}
			}
		})
	}
}
