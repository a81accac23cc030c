package scm

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
)

// submitRecorder is a Deployer that records what the Kudu API submits and
// answers every submission with a successful deployment "d1".
type submitRecorder struct {
	fakeDeployer
	mu    sync.Mutex
	calls []deploy.Options
	body  []string
}

func (s *submitRecorder) Submit(_ context.Context, _ slipway.Site, pkg io.Reader, o deploy.Options) (slipway.Deployment, error) {
	b, err := io.ReadAll(pkg)
	if err != nil {
		return slipway.Deployment{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, o)
	s.body = append(s.body, string(b))
	return slipway.Deployment{ID: "d1"}, nil
}

func (s *submitRecorder) submitted() []deploy.Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]deploy.Options(nil), s.calls...)
}

func newPublishKudu(t *testing.T) (*httptest.Server, *submitRecorder) {
	t.Helper()
	rec := &submitRecorder{}
	h := New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: rec,
		SiteOf: func(*http.Request) string { return "app" },
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, rec
}

func publish(t *testing.T, srv *httptest.Server, query, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/api/publish?"+query, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("$app", "pass")
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPublishFileAttacks: the path of a single-file OneDeploy push is the
// caller's, and only a path that stays under /home/site/wwwroot is taken
// (Kudu's OneDeployHelper.EnsureValidPath, docs/appservice.md §5, plus the
// traversal checks Kudu leaves to Path.Combine). Each refusal is a 400 that
// says why, and nothing reaches the deployer.
func TestPublishFileAttacks(t *testing.T) {
	srv, rec := newPublishKudu(t)
	tests := []struct {
		name, query, want string
	}{
		{"static without a path", "type=static", "Path must be defined for type='static'"},
		{"static with an empty path", "type=static&path=", "Path must be defined for type='static'"},
		{"parent directory", "type=static&path=../x", "'..'"},
		{"parent directory deeper", "type=static&path=a/../../x", "'..'"},
		{"parent directory with backslashes", `type=static&path=a\..\..\x`, "backslash"},
		{"absolute path outside wwwroot", "type=static&path=/etc/passwd", "start with prefix '/home/site/wwwroot/'"},
		{"absolute path into another app's home", "type=static&path=/home/site/wwwroot/../../../etc/passwd", "'..'"},
		{"absolute wwwroot itself", "type=static&path=/home/site/wwwroot/", "cannot end with a '/'"},
		{"trailing slash", "type=static&path=static/", "cannot end with a '/'"},
		{"NUL byte", "type=static&path=a%00b", "NUL"},
		{"the artifact record", "type=static&path=.slipway-artifact.json", "reserved"},
		{"startup outside wwwroot", "type=startup&path=/etc/profile.d/x.sh", "start with prefix '/home/site/wwwroot/'"},
		{"startup traversal", "type=startup&path=../../startup.sh", "'..'"},
		{"a name too long", "type=static&path=" + strings.Repeat("a", 256), "longer than 255"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := publish(t, srv, tc.query, "content")
			if status != http.StatusBadRequest || !strings.Contains(body, tc.want) {
				t.Fatalf("POST /api/publish?%s = %d %q; want 400 mentioning %q", tc.query, status, body, tc.want)
			}
		})
	}
	if got := rec.submitted(); len(got) != 0 {
		t.Fatalf("refused pushes reached the deployer: %+v", got)
	}
}

// TestPublishTypes: what each OneDeploy type becomes. static and startup
// are single files under /home/site/wwwroot (startup.sh by default, as on
// Linux), restarting the app unless restart=false; war, jar, ear and lib
// are Java's and script is not offered (docs/appservice.md §5).
func TestPublishTypes(t *testing.T) {
	tests := []struct {
		name, query string
		want        *deploy.Options // nil: refused with 400
		wantErr     string
	}{
		{name: "static, relative", query: "type=static&path=static/robots.txt",
			want: &deploy.Options{Deployer: "OneDeploy", Message: "OneDeploy", Restart: true, File: &deploy.FileTarget{Path: "static/robots.txt"}}},
		{name: "static, absolute under wwwroot", query: "type=static&path=/home/site/wwwroot/config.json",
			want: &deploy.Options{Deployer: "OneDeploy", Message: "OneDeploy", Restart: true, File: &deploy.FileTarget{Path: "config.json"}}},
		{name: "static, as az sends it", query: "type=static&restart=False&clean=True&path=a%2F.%2Fb.txt",
			want: &deploy.Options{Deployer: "OneDeploy", Message: "OneDeploy", File: &deploy.FileTarget{Path: "a/b.txt", Clean: true}}},
		{name: "startup, default path", query: "type=startup",
			want: &deploy.Options{Deployer: "OneDeploy", Message: "OneDeploy", Restart: true, File: &deploy.FileTarget{Path: "startup.sh", Startup: true}}},
		{name: "startup, target path", query: "type=startup&path=/home/site/wwwroot/scripts/run.sh&restart=true",
			want: &deploy.Options{Deployer: "OneDeploy", Message: "OneDeploy", Restart: true, File: &deploy.FileTarget{Path: "scripts/run.sh", Startup: true}}},
		{name: "type is case-insensitive", query: "type=Static&path=x",
			want: &deploy.Options{Deployer: "OneDeploy", Message: "OneDeploy", Restart: true, File: &deploy.FileTarget{Path: "x"}}},
		{name: "zip, clean by default", query: "type=zip",
			want: &deploy.Options{Deployer: "OneDeploy", Message: "OneDeploy", Restart: true}},
		{name: "zip, clean=true", query: "type=zip&clean=True",
			want: &deploy.Options{Deployer: "OneDeploy", Message: "OneDeploy", Restart: true}},
		{name: "zip, clean=false as az sends it", query: "type=zip&clean=False&restart=False",
			want: &deploy.Options{Deployer: "OneDeploy", Message: "OneDeploy", Overlay: true}},
		{name: "zip, clean=0", query: "type=zip&clean=0",
			want: &deploy.Options{Deployer: "OneDeploy", Message: "OneDeploy", Restart: true, Overlay: true}},
		{name: "zip, clean neither true nor false", query: "type=zip&clean=maybe", wantErr: "clean=maybe"},
		{name: "war", query: "type=war", wantErr: "not supported for Python apps"},
		{name: "jar", query: "type=jar", wantErr: "Java"},
		{name: "ear", query: "type=ear", wantErr: "Java"},
		{name: "lib", query: "type=lib&path=x.jar", wantErr: "Java"},
		{name: "script", query: "type=script&path=x.sh", wantErr: "type=static"},
		{name: "unknown", query: "type=tarball", wantErr: "type='tarball' not recognized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, rec := newPublishKudu(t)
			status, body := publish(t, srv, tc.query, "#!/bin/sh\n")
			got := rec.submitted()
			if tc.want == nil {
				if status != http.StatusBadRequest || !strings.Contains(body, tc.wantErr) || len(got) != 0 {
					t.Fatalf("POST /api/publish?%s = %d %q (submitted %d); want 400 mentioning %q", tc.query, status, body, len(got), tc.wantErr)
				}
				return
			}
			if status != http.StatusOK || len(got) != 1 {
				t.Fatalf("POST /api/publish?%s = %d %q (submitted %d); want 200", tc.query, status, body, len(got))
			}
			if diff := cmp.Diff(*tc.want, got[0]); diff != "" {
				t.Errorf("submitted options (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAttackPublishPathSpellings: '..' and its other spellings — URL
// encoded once or twice, mixed with empty and '.' segments, behind the
// wwwroot prefix — and absolute paths that only look like wwwroot never
// reach the deployer as a path out of /home/site/wwwroot; harmless
// spellings are taken cleaned.
func TestAttackPublishPathSpellings(t *testing.T) {
	srv, rec := newPublishKudu(t)
	refused := []string{
		"%2e%2e/x", "%2E%2E%2Fx", "..%2fx", "a/..", "..", "a/b/../../../x", ".//../x",
		"/home/site/wwwroot/..", "/home/site/wwwroot/./../x", "/home/site/wwwroot", "//home/site/wwwroot/x",
		"/home/site/wwwroot//etc/passwd", "/home/site/wwwrootx/y", "/home/site/wwwroot/.", ".", "./",
		"%5c..%5cx", `C:\home\site\wwwroot\x`, "a%00/../../x", "/home/site/wwwroot/.slipway-artifact.json",
		"./.slipway-artifact.json", strings.Repeat("a/", 600) + "x",
	}
	for _, p := range refused {
		status, body := publish(t, srv, "type=static&path="+p, "x")
		if status != http.StatusBadRequest {
			t.Errorf("path=%s: %d %q; want 400", p, status, body)
		}
	}
	if got := rec.submitted(); len(got) != 0 {
		t.Fatalf("refused paths reached the deployer: %+v", got[0].File)
	}
	for p, want := range map[string]string{
		"%252e%252e/x": "%2e%2e/x", // decoded once, as Kudu: a name, not '..'
		"a//b":         "a/b",
		"./a":          "a",
		"C:/x":         "C:/x", // a directory named C: inside wwwroot on Linux
		"...":          "...",
	} {
		srv, rec := newPublishKudu(t)
		status, body := publish(t, srv, "type=static&path="+p, "x")
		got := rec.submitted()
		if status != http.StatusOK || len(got) != 1 || got[0].File.Path != want {
			t.Errorf("path=%s: %d %q, submitted %+v; want %q", p, status, body, got, want)
		}
	}
}

// TestAttackPublishIgnoredParameters: a OneDeploy parameter the server
// cannot honour is refused, never accepted and silently not done.
// ignorestack only matters to Java's stack check, which Python apps never
// get: taking it changes nothing.
func TestAttackPublishIgnoredParameters(t *testing.T) {
	srv, rec := newPublishKudu(t)
	if status, body := publish(t, srv, "type=zip&clean=true&ignorestack=true", "PK"); status != http.StatusOK || len(rec.submitted()) != 1 {
		t.Errorf("type=zip&clean=true&ignorestack=true: %d %q; want 200", status, body)
	}
}
