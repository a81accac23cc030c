package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/archive"
	"github.com/slipway-dev/slipway/internal/server"
	"github.com/slipway-dev/slipway/internal/testwatch"
)

// sharedCache is the build cache every test server shares, so a Python
// environment is built once per test run (as a team shares one server).
var sharedCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "slipway-e2e-cache-")
	if err != nil {
		panic(err)
	}
	os.Chmod(dir, 0o755)
	sharedCache = dir
	code := testwatch.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type serverInfo struct {
	URL        string `json:"url"`
	HTTPPort   int    `json:"httpPort"`
	BlobURL    string `json:"blobUrl"`
	AdminToken string `json:"adminToken"`
	CAFile     string `json:"caFile"`
	// SubscriptionID and the tenant services' ports as server.json has them.
	SubscriptionID string `json:"subscriptionId"`
	PostgresPort   int    `json:"postgresPort"`
	RedisPort      int    `json:"redisPort"`
}

// testServer is a Slipway server run in-process by the same Run as main.
type testServer struct {
	t      *testing.T
	data   string
	env    []string
	info   serverInfo
	client *http.Client
	scheme string // "" → http; an HTTPS view of the server sets "https" and a client trusting its root
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan int
	// groups names the resource group of an app not in rg-<app> (webapp
	// up's default group), for credentials.
	groups map[string]string
}

// url is the scheme, host and path of a request to the server.
func (s *testServer) url(host, path string) string {
	scheme := s.scheme
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://" + host + path
}

// startServer starts `slipway server` on a free port with a fresh data directory.
func startServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	return startServerAt(t, data, args...)
}

// needSandbox skips a test where the host lacks bubblewrap or root, and
// fails it in CI, which provides both; needs says what needs them.
func needSandbox(t *testing.T, needs string) {
	t.Helper()
	_, err := exec.LookPath("bwrap")
	if err == nil && os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s bubblewrap and root, which CI provides (bwrap: %v, euid %d)", needs, err, os.Geteuid())
	}
	t.Skipf("%s bubblewrap and root (bwrap: %v, euid %d); CI runs it", needs, err, os.Geteuid())
}

func startServerAt(t *testing.T, data string, args ...string) *testServer {
	t.Helper()
	return startServerEdit(t, data, nil, args...)
}

// startServerEdit is startServerAt with edit adjusting the server's
// configuration (run.go's run).
func startServerEdit(t *testing.T, data string, edit func(*server.Config), args ...string) *testServer {
	t.Helper()
	s := &testServer{t: t, data: data, stderr: &syncBuffer{}, done: make(chan int, 1)}
	s.env = []string{
		"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH"),
		"SLIPWAY_DATA=" + data, "SLIPWAY_CACHE_DIR=" + sharedCache, "USER=tester",
	}
	if v := os.Getenv("PYENV_ROOT"); v != "" {
		s.env = append(s.env, "PYENV_ROOT="+v)
	}
	os.Remove(filepath.Join(data, "server.json"))
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	stdout := &syncBuffer{}
	go func() {
		s.done <- run(ctx, append([]string{"server", "--http-port", "0", "--blob-port", "0"}, args...), s.env, nil, stdout, s.stderr, edit)
	}()
	// The server says it is running once its apps have been started again.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if strings.Contains(stdout.String(), "Slipway is running at") {
			b, err := os.ReadFile(filepath.Join(data, "server.json"))
			if err == nil && json.Unmarshal(b, &s.info) == nil && s.info.URL != "" {
				break
			}
		}
		select {
		case code := <-s.done:
			t.Fatalf("server exited with %d before it was ready:\n%s", code, s.stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 3 minutes:\n%s", s.stderr.String())
		}
	}
	s.connect()
	t.Cleanup(s.stop)
	return s
}

// connect points the test's HTTP client at the server in server.json.
func (s *testServer) connect() {
	b, err := os.ReadFile(filepath.Join(s.data, "server.json"))
	if err != nil || json.Unmarshal(b, &s.info) != nil {
		s.t.Fatalf("reading server.json: %v", err)
	}
	u, _ := url.Parse(s.info.URL)
	addr := u.Host
	s.client = &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			// Every platform host name is served by the one front door.
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
			MaxIdleConnsPerHost: 32,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (s *testServer) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case <-s.done:
	case <-time.After(90 * time.Second):
		s.t.Errorf("server did not stop within 90 s")
	}
	if s.t.Failed() {
		s.t.Logf("server log:\n%s", tail(s.stderr.String(), 60))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// host returns a platform host name with the server's port.
func (s *testServer) host(name string) string {
	return fmt.Sprintf("%s.localhost:%d", name, s.info.HTTPPort)
}

// cli runs a CLI command in-process against the server; dir is the working
// directory (PWD) it sees, "" for none.
func (s *testServer) cli(dir string, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	env := append([]string(nil), s.env...)
	if dir != "" {
		env = append(env, "PWD="+dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	code = Run(ctx, args, env, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// mustCLI runs a CLI command and fails the test if it fails.
func (s *testServer) mustCLI(dir string, args ...string) string {
	s.t.Helper()
	out, errs, code := s.cli(dir, args...)
	if code != 0 {
		s.t.Fatalf("slipway %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// get fetches http://<host><path> through the front door.
func (s *testServer) get(host, path string) (int, string) {
	s.t.Helper()
	resp, err := s.client.Get(s.url(host, path))
	if err != nil {
		s.t.Fatalf("GET %s%s: %v", host, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// createApp creates a group, a plan and an app through the CLI.
func (s *testServer) createApp(name string, settings ...string) {
	s.t.Helper()
	s.mustCLI("", "group", "create", "-n", "rg-"+name, "-l", "westeurope")
	s.mustCLI("", "appservice", "plan", "create", "-g", "rg-"+name, "-n", "plan-"+name, "--sku", "B1", "--is-linux")
	s.mustCLI("", "webapp", "create", "-g", "rg-"+name, "-p", "plan-"+name, "-n", name, "--runtime", "PYTHON:3.12")
	if len(settings) > 0 {
		s.mustCLI("", append([]string{"webapp", "config", "appsettings", "set", "-g", "rg-" + name, "-n", name, "--settings"}, settings...)...)
	}
}

// upProject copies the project folder src and runs `webapp up -n name --sku
// B1` in the copy, failing the test if it fails; it returns the copy and
// what up printed.
func (s *testServer) upProject(src, name string) (project, out, errs string) {
	s.t.Helper()
	project = filepath.Join(s.t.TempDir(), name)
	if err := os.CopyFS(project, os.DirFS(src)); err != nil {
		s.t.Fatal(err)
	}
	out, errs, code := s.cli(project, "webapp", "up", "-n", name, "--sku", "B1")
	if code != 0 {
		s.t.Fatalf("webapp up: exit %d\n%s\n%s", code, out, errs)
	}
	return project, out, errs
}

// arm sends a management request with the administrator's token: method,
// a path from the server's root (a resource id and its api-version) and a
// JSON body ("" for none).
func (s *testServer) arm(method, path, body string) (int, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.info.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.info.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// credentials returns the app's publishing user name and password.
func (s *testServer) credentials(name string) (string, string) {
	s.t.Helper()
	rg := "rg-" + name
	if g, ok := s.groups[name]; ok {
		rg = g
	}
	out := s.mustCLI("", "webapp", "deployment", "list-publishing-credentials", "-g", rg, "-n", name)
	var v struct {
		PublishingUserName string `json:"publishingUserName"`
		PublishingPassword string `json:"publishingPassword"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.PublishingPassword == "" {
		s.t.Fatalf("publishing credentials: %v in %s", err, out)
	}
	return v.PublishingUserName, v.PublishingPassword
}

// zipDir zips a project folder the way `webapp up` does; files overrides
// or adds files (path → content).
func zipDir(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	work := filepath.Join(t.TempDir(), "src")
	if err := os.CopyFS(work, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	for p, c := range files {
		full := filepath.Join(work, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	zipPath := filepath.Join(t.TempDir(), "app.zip")
	f, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := archive.Zip(context.Background(), work, f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return zipPath
}

// curl runs the real curl, resolving platform names to the server.
func (s *testServer) curl(args ...string) (string, error) {
	s.t.Helper()
	u, _ := url.Parse(s.info.URL)
	base := []string{"-sS", "--max-time", "600"}
	for _, a := range args {
		if strings.HasPrefix(a, "http://") {
			h, _ := url.Parse(a)
			base = append(base, "--connect-to", h.Host+":"+u.Host)
		}
	}
	cmd := exec.Command("curl", append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("curl %v: %v: %s", args, err, errb.String())
	}
	return out.String(), nil
}

// latest polls the Kudu latest deployment until it completes.
func (s *testServer) waitDeployment(name, user, pass string) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", "http://"+strings.Replace(s.host(name), ".localhost", ".scm.localhost", 1)+"/api/deployments/latest", nil)
		req.SetBasicAuth(user, pass)
		resp, err := s.client.Do(req)
		if err != nil {
			s.t.Fatal(err)
		}
		var d map[string]any
		json.NewDecoder(resp.Body).Decode(&d)
		resp.Body.Close()
		if d["complete"] == true {
			return d
		}
		time.Sleep(300 * time.Millisecond)
	}
	s.t.Fatalf("deployment of %s did not complete in 10 minutes", name)
	return nil
}

// deploymentLog returns a deployment's log with every entry's details.
func (s *testServer) deploymentLog(name, user, pass, id string) string {
	s.t.Helper()
	scm := "http://" + strings.Replace(s.host(name), ".localhost", ".scm.localhost", 1)
	getJSON := func(u string, v any) {
		req, _ := http.NewRequest("GET", u, nil)
		req.SetBasicAuth(user, pass)
		resp, err := s.client.Do(req)
		if err != nil {
			s.t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(v)
	}
	var entries []map[string]any
	getJSON(scm+"/api/deployments/"+id+"/log", &entries)
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintln(&b, e["message"])
		if u, ok := e["details_url"].(string); ok {
			var lines []map[string]any
			getJSON(strings.Replace(u, "http://"+s.host(name), scm, 1), &lines)
			for _, l := range lines {
				fmt.Fprintln(&b, "  ", l["message"])
			}
		}
	}
	return b.String()
}

// rootPool is a cert pool holding only the server's platform root, as a
// client configured with `slipway ca export` would have it.
func (s *testServer) rootPool(t *testing.T) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(s.info.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", s.info.CAFile)
	}
	return pool
}

// loadGen keeps clients requesting one URL until end: the load the
// zero-downtime, swap, reference-rotation and scaling tests put on an app.
// Each client is bounded in count and time; check classifies an answer
// (nil: only a 200 succeeds).
type loadGen struct {
	stop          chan struct{}
	wg            sync.WaitGroup
	total, failed atomic.Int64
	mu            sync.Mutex
	errs          []string // the first failures, at most 10
	once          sync.Once
}

func (s *testServer) loadGen(url string, clients int, pause time.Duration, check func(status int, body string) error) *loadGen {
	l := &loadGen{stop: make(chan struct{})}
	if check == nil {
		check = func(status int, _ string) error {
			if status != 200 {
				return fmt.Errorf("status %d", status)
			}
			return nil
		}
	}
	for range clients {
		l.wg.Go(func() {
			client := &http.Client{Timeout: 30 * time.Second, Transport: s.client.Transport}
			deadline := time.Now().Add(10 * time.Minute)
			for i := 0; i < 1_000_000 && time.Now().Before(deadline); i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := client.Get(url)
				l.total.Add(1)
				if err == nil {
					b, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
					resp.Body.Close()
					err = check(resp.StatusCode, string(b))
				} else {
					time.Sleep(20 * time.Millisecond)
				}
				if err != nil {
					l.failed.Add(1)
					l.mu.Lock()
					if len(l.errs) < 10 {
						l.errs = append(l.errs, err.Error())
					}
					l.mu.Unlock()
				}
				time.Sleep(pause)
			}
		})
	}
	return l
}

// end stops the clients (once) and returns the requests made, those that
// failed and the first failures.
func (l *loadGen) end() (total, failed int64, errs []string) {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total.Load(), l.failed.Load(), append([]string(nil), l.errs...)
}
