package scm

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
)

// logDeployer serves one in-memory log for every site.
type logDeployer struct {
	fakeDeployer
	log *applog.Log
}

func (d logDeployer) SiteLog(string) *applog.Log { return d.log }

// openStream sends a log-stream request on a raw connection and returns
// the status line; the connection is then never read again.
func openStream(t *testing.T, srv *httptest.Server) (net.Conn, string) {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req, _ := http.NewRequest("GET", srv.URL+"/api/logstream", nil)
	req.SetBasicAuth("$app", "pass")
	if err := req.Write(c); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	// Read the status line byte by byte: nothing more may be taken off
	// the socket, so that the stream stalls once the server's buffers fill.
	var line strings.Builder
	b := make([]byte, 1)
	for !strings.HasSuffix(line.String(), "\n") {
		if _, err := c.Read(b); err != nil {
			return c, "read: " + err.Error()
		}
		line.WriteByte(b[0])
	}
	return c, strings.TrimSpace(line.String())
}

// TestAttackLogStreamsHeldOpen: a tenant opens log streams to its own app
// and never reads them while the app prints long lines. Each stalled
// stream pins up to a thousand of those lines in memory and a goroutine
// for as long as the connection lives, so the number a site may hold is
// bounded, and a stream whose client takes nothing for a heartbeat is
// ended, freeing its place.
func TestAttackLogStreamsHeldOpen(t *testing.T) {
	hub := applog.NewHub(applog.Config{})
	log := hub.App("app", "")
	h := New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: logDeployer{log: log},
		SiteOf:       func(*http.Request) string { return "app" },
		Heartbeat:    300 * time.Millisecond,
		StallTimeout: 300 * time.Millisecond,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	for i := range maxLogStreams {
		if _, status := openStream(t, srv); !strings.Contains(status, " 200 ") {
			t.Fatalf("stream %d: %s", i, status)
		}
	}
	if _, status := openStream(t, srv); !strings.Contains(status, " 503 ") {
		t.Fatalf("stream %d past the bound: %s, want 503", maxLogStreams+1, status)
	}

	// The app floods its log; nobody reads the streams.
	w := log.Writer(applog.SourceApp)
	long := strings.Repeat("x", 60<<10)
	for i := range 400 {
		fmt.Fprintf(w, "%d %s\n", i, long)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, status := openStream(t, srv)
		if strings.Contains(status, " 200 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stalled streams still hold every place: %s", status)
		}
		fmt.Fprintf(w, "more %s\n", long)
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAttackLogStreamReadsNoFiles: the log stream's path names a part of
// the app's log, never a file: whatever it holds ('..', encoded slashes,
// another app's name), the stream is the app's own log and nothing else.
func TestAttackLogStreamReadsNoFiles(t *testing.T) {
	hub := applog.NewHub(applog.Config{})
	log := hub.App("app", "")
	log.Event("own line")
	h := New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: logDeployer{log: log},
		SiteOf: func(*http.Request) string { return "app" },
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, p := range []string{"/api/logstream/../../../../etc/passwd", "/api/logstream/..%2f..%2f..%2fetc%2fpasswd",
		"/api/logstream/%2e%2e/%2e%2e/other/LogFiles", "/logstream/kudu/../../../../proc/self/environ"} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+p, nil)
		req.SetBasicAuth("$app", "pass")
		tr := &http.Transport{}
		resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			resp.Body.Close()
			tr.CloseIdleConnections()
			continue // a redirect or refusal reads nothing either
		}
		br := bufio.NewReader(resp.Body)
		var got []string
		for range 2 {
			l, _ := br.ReadString('\n')
			got = append(got, l)
		}
		resp.Body.Close()
		tr.CloseIdleConnections()
		if !strings.Contains(got[0], "Welcome") || !strings.Contains(got[1], "own line") || strings.Contains(strings.Join(got, ""), "root:") {
			t.Errorf("GET %s: %q", p, got)
		}
	}
}

// openRaw sends a GET on a raw connection and returns the status line;
// the connection is then never read again.
func openRaw(t *testing.T, srv *httptest.Server, p string) string {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req, _ := http.NewRequest("GET", srv.URL+p, nil)
	req.SetBasicAuth("$app", "pass")
	if err := req.Write(c); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var line strings.Builder
	b := make([]byte, 1)
	for !strings.HasSuffix(line.String(), "\n") {
		if _, err := c.Read(b); err != nil {
			return "read: " + err.Error()
		}
		line.WriteByte(b[0])
	}
	return strings.TrimSpace(line.String())
}

// TestAttackDumpsHeldOpen: each /api/dump holds a compressor (about a
// megabyte) and an open file for as long as its client takes the zip; a
// tenant opening many and reading none held them forever. A site may run
// a few at once, and one whose client takes nothing for a while ends.
func TestAttackDumpsHeldOpen(t *testing.T) {
	logDir := filepath.Join(t.TempDir(), "LogFiles")
	os.MkdirAll(logDir, 0o755)
	big := make([]byte, 16<<20)
	rand.Read(big) // incompressible: the zip is as large, and fills the sockets
	if err := os.WriteFile(filepath.Join(logDir, "big.log"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	h := New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: fakeDeployer{},
		SiteOf:       func(*http.Request) string { return "app" },
		LogDir:       func(string) string { return logDir },
		StallTimeout: 300 * time.Millisecond,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for i := range maxDumps {
		if status := openRaw(t, srv, "/api/dump"); !strings.Contains(status, " 200 ") {
			t.Fatalf("dump %d: %s", i, status)
		}
	}
	if status := openRaw(t, srv, "/api/dump"); !strings.Contains(status, " 503 ") {
		t.Fatalf("dump %d past the bound: %s, want 503", maxDumps+1, status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		status := openRaw(t, srv, "/api/dump")
		if strings.Contains(status, " 200 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stalled dumps still hold every place: %s", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
