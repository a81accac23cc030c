package scm

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
)

// appUID and appGID are the apps' OS user in these tests (no account is
// needed for a uid to own files); the file API works as it when the tests
// run as root, as the server does.
const appUID, appGID = 4242, 4243

// vfsStore holds the sites "app" and "other", each with its own
// publishing credentials: "$<name>" / "pass-<name>".
type vfsStore struct{ fakeStore }

func (f *vfsStore) FindSite(_ context.Context, name string) (slipway.Site, error) {
	if name != "app" && name != "other" {
		return slipway.Site{}, slipway.Errorf(slipway.ENOTFOUND, "Site '%s' was not found.", name)
	}
	return slipway.Site{ResourceGroup: "rg", Name: name}, nil
}

func (f *vfsStore) CheckPublishingCredentials(ctx context.Context, site, user, password string) (slipway.Site, error) {
	if user != "$"+site || password != "pass-"+site {
		return slipway.Site{}, slipway.Errorf(slipway.EUNAUTHORIZED, "bad credentials")
	}
	return f.FindSite(ctx, site)
}

// vfsEnv is a Kudu serving two apps' homes, laid out as PrepareHome lays
// them out: 0700 and owned by the app's user.
type vfsEnv struct {
	t        *testing.T
	srv      *httptest.Server
	base     string            // holds the homes and host files
	homes    map[string]string // by site
	uid, gid int               // the apps' user: 0, 0 when not root
	h        *Handler
}

// newVFS serves the two apps; opts change the handler's configuration.
func newVFS(t *testing.T, opts ...func(*Config)) *vfsEnv {
	t.Helper()
	e := &vfsEnv{t: t, base: t.TempDir(), homes: map[string]string{}}
	if os.Geteuid() == 0 {
		e.uid, e.gid = appUID, appGID
	}
	for _, site := range []string{"app", "other"} {
		home := filepath.Join(e.base, "sites", site, "home")
		for _, d := range []string{"", "site/wwwroot", "LogFiles", "data"} {
			if err := os.MkdirAll(filepath.Join(home, d), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(filepath.Join(home, d), e.uid, e.gid); err != nil {
				t.Fatal(err)
			}
		}
		os.Chmod(home, 0o700)
		e.homes[site] = home
	}
	cfg := Config{
		Store: &vfsStore{}, Deployer: fakeDeployer{},
		SiteOf: func(r *http.Request) string { site, _, _ := strings.Cut(r.Host, "."); return site },
		Home: func(_ context.Context, s slipway.Site) (Home, error) {
			return Home{Dir: e.homes[s.Name], UID: e.uid, GID: e.gid}, nil
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.h = New(cfg)
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)
	return e
}

// response is what a request to Kudu returned.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request as the app "app" with its credentials; header
// pairs follow the body.
func (e *vfsEnv) do(method, p string, body io.Reader, header ...string) response {
	return e.doAs("app", "$app", "pass-app", method, p, body, header...)
}

func (e *vfsEnv) doAs(site, user, pass, method, p string, body io.Reader, header ...string) response {
	e.t.Helper()
	r, err := e.send(e.t.Context(), site, user, pass, method, p, body, header...)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// send is doAs without failing the test, for other goroutines.
func (e *vfsEnv) send(ctx context.Context, site, user, pass, method, p string, body io.Reader, header ...string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+p, body)
	if err != nil {
		return response{}, err
	}
	req.Host = site + ".scm.localhost"
	req.SetBasicAuth(user, pass)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{resp.StatusCode, resp.Header, string(b)}, nil
}

// path is a path in the app's home.
func (e *vfsEnv) path(rel string) string { return filepath.Join(e.homes["app"], rel) }

// owned fails unless the file at rel in the app's home belongs to the
// app's user and has mode perm (0: any mode with the owner's rwx of a
// folder).
func (e *vfsEnv) owned(rel string, perm os.FileMode) {
	e.t.Helper()
	fi, err := os.Lstat(e.path(rel))
	if err != nil {
		e.t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if perm == 0 && fi.Mode().Perm()&0o700 == 0o700 {
		perm = fi.Mode().Perm()
	}
	if int(st.Uid) != e.uid || int(st.Gid) != e.gid || fi.Mode().Perm() != perm {
		e.t.Errorf("%s is %d:%d %v, want %d:%d %v", rel, st.Uid, st.Gid, fi.Mode().Perm(), e.uid, e.gid, perm)
	}
}

// write writes a file in the app's home as the app would: its folders
// and it owned by the app's user.
func (e *vfsEnv) write(rel, content string) {
	e.t.Helper()
	e.mkdir(filepath.Dir(rel))
	p := e.path(rel)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Lchown(p, e.uid, e.gid); err != nil {
		e.t.Fatal(err)
	}
}

// mkdir makes a folder (and its parents) in the app's home, the app's.
func (e *vfsEnv) mkdir(rel string) {
	e.t.Helper()
	parts := strings.Split(filepath.ToSlash(filepath.Clean(rel)), "/")
	for i := range parts {
		p := e.path(filepath.Join(parts[:i+1]...))
		if err := os.Mkdir(p, 0o755); err != nil && !os.IsExist(err) {
			e.t.Fatal(err)
		}
		if err := os.Lchown(p, e.uid, e.gid); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *vfsEnv) read(rel string) string {
	e.t.Helper()
	b, err := os.ReadFile(e.path(rel))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func want(t *testing.T, what string, r response, status int, body string) {
	t.Helper()
	if r.status != status || !strings.Contains(r.body, body) {
		t.Fatalf("%s = %d %q, want %d with %q", what, r.status, r.body, status, body)
	}
}

// TestVFSFileLifecycle follows Kudu's documented file API
// (https://github.com/projectkudu/kudu/wiki/REST-API#vfs) through one
// file: created by PUT (201, owned by the app), read by GET (with its
// ETag, and 304 for If-None-Match), replaced only with If-Match (412
// without it or with a stale ETag, 204 with it), and deleted likewise
// (412 without If-Match, 409 with a stale one, as KuduLite does).
func TestVFSFileLifecycle(t *testing.T) {
	e := newVFS(t)
	const p = "/api/vfs/site/wwwroot/notes/hello.txt"

	r := e.do("PUT", p, strings.NewReader("hello"))
	want(t, "PUT new", r, http.StatusCreated, "")
	etag := r.header.Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{17,32}"$`).MatchString(etag) {
		t.Fatalf("ETag %q, want Kudu's 16 hex digits and the inode's, quoted", etag)
	}
	e.owned("site/wwwroot/notes/hello.txt", 0o644)
	e.owned("site/wwwroot/notes", 0o755)

	r = e.do("GET", p, nil)
	want(t, "GET", r, http.StatusOK, "hello")
	if got := r.header.Get("Content-Type"); !strings.HasPrefix(got, "text/plain") {
		t.Errorf("Content-Type %q, want text/plain", got)
	}
	if r.header.Get("ETag") != etag || r.header.Get("Last-Modified") == "" {
		t.Errorf("GET headers %v, want ETag %s and Last-Modified", r.header, etag)
	}
	want(t, "GET If-None-Match", e.do("GET", p, nil, "If-None-Match", etag), http.StatusNotModified, "")
	if r := e.do("HEAD", p, nil); r.status != http.StatusOK || r.header.Get("Content-Length") != "5" || r.header.Get("ETag") != etag {
		t.Errorf("HEAD = %d %v", r.status, r.header)
	}
	if r := e.do("GET", p, nil, "Range", "bytes=1-3"); r.status != http.StatusPartialContent || r.body != "ell" {
		t.Errorf("GET a range = %d %q", r.status, r.body)
	}

	want(t, "PUT without If-Match", e.do("PUT", p, strings.NewReader("x")), http.StatusPreconditionFailed, msgMissingIfMatch)
	r = e.do("PUT", p, strings.NewReader("x"), "If-Match", `"0000000000000000"`)
	want(t, "PUT stale", r, http.StatusPreconditionFailed, msgEtagMismatch)
	if r.header.Get("ETag") != etag {
		t.Errorf("412 ETag %q, want the current %q", r.header.Get("ETag"), etag)
	}
	if got := e.read("site/wwwroot/notes/hello.txt"); got != "hello" {
		t.Fatalf("refused PUTs changed the file: %q", got)
	}
	os.Chmod(e.path("site/wwwroot/notes/hello.txt"), 0o750) // the app's own mode is kept
	r = e.do("PUT", p, strings.NewReader("hello again"), "If-Match", etag)
	want(t, "PUT with ETag", r, http.StatusNoContent, "")
	if got := e.read("site/wwwroot/notes/hello.txt"); got != "hello again" {
		t.Fatalf("content %q", got)
	}
	e.owned("site/wwwroot/notes/hello.txt", 0o750)
	want(t, "PUT with *", e.do("PUT", p, strings.NewReader("third"), "If-Match", "*"), http.StatusNoContent, "")

	want(t, "DELETE without If-Match", e.do("DELETE", p, nil), http.StatusPreconditionFailed, msgMissingIfMatch)
	want(t, "DELETE stale", e.do("DELETE", p, nil, "If-Match", etag), http.StatusConflict, msgEtagMismatch)
	want(t, "DELETE", e.do("DELETE", p, nil, "If-Match", "*"), http.StatusOK, "")
	want(t, "GET deleted", e.do("GET", p, nil), http.StatusNotFound, "'/home/site/wwwroot/notes/hello.txt' not found.")
	if names, _ := os.ReadDir(e.path("site/wwwroot/notes")); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
}

// TestVFSDirectories: a trailing '/' names a directory. PUT creates one
// (201, then 409), GET lists it as Kudu's VfsStatEntry array with
// absolute hrefs and the paths the app sees, a path without its '/' is
// redirected (307) as Kudu does, and DELETE removes an empty one or, with
// recursive=true, a whole tree. The deprecated /vfs route is the same.
func TestVFSDirectories(t *testing.T) {
	e := newVFS(t)
	want(t, "PUT dir", e.do("PUT", "/api/vfs/data/cache/", nil), http.StatusCreated, "")
	e.owned("data/cache", 0o755)
	want(t, "PUT dir again", e.do("PUT", "/api/vfs/data/cache/", nil), http.StatusConflict, msgCannotUpdateDir)
	e.write("data/cache/a b.json", "{}")
	e.mkdir("data/cache/sub")

	for _, prefix := range []string{"/api/vfs", "/vfs"} {
		r := e.do("GET", prefix+"/data/cache/", nil)
		want(t, "GET dir", r, http.StatusOK, "")
		var got []vfsEntry
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, func(a, b vfsEntry) int { return strings.Compare(a.Name, b.Name) })
		for i := range got {
			if got[i].MTime == "" || got[i].CRTime == "" {
				t.Errorf("%s has no times", got[i].Name)
			}
			got[i].MTime, got[i].CRTime = "", ""
		}
		base := "http://app.scm.localhost" + prefix + "/data/cache/"
		wantList := []vfsEntry{
			{Name: "a b.json", Size: 2, Mime: "application/json", Href: base + "a%20b.json", Path: "/home/data/cache/a b.json"},
			{Name: "sub", Mime: "inode/directory", Href: base + "sub/", Path: "/home/data/cache/sub"},
		}
		if d := cmp.Diff(wantList, got); d != "" {
			t.Errorf("GET %s/data/cache/ (-want +got):\n%s", prefix, d)
		}
	}
	r := e.do("GET", "/api/vfs/data/cache", nil)
	if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != "http://app.scm.localhost/api/vfs/data/cache/" {
		t.Errorf("GET dir without '/' = %d %q, want 307 to it with '/'", r.status, r.header.Get("Location"))
	}
	r = e.do("GET", "/api/vfs/data/cache/a%20b.json/", nil)
	if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != "http://app.scm.localhost/api/vfs/data/cache/a%20b.json" {
		t.Errorf("GET file with '/' = %d %q, want 307 to it without", r.status, r.header.Get("Location"))
	}
	r = e.do("GET", "/api/vfs/", nil)
	want(t, "GET home", r, http.StatusOK, `"path":"/home/site"`)

	want(t, "DELETE non-empty", e.do("DELETE", "/api/vfs/data/cache/", nil), http.StatusConflict, msgCannotDeleteDir)
	want(t, "DELETE empty", e.do("DELETE", "/api/vfs/data/cache/sub/", nil), http.StatusOK, "")
	want(t, "DELETE recursive", e.do("DELETE", "/api/vfs/data/cache/?recursive=true", nil), http.StatusOK, "")
	if _, err := os.Lstat(e.path("data/cache")); !os.IsNotExist(err) {
		t.Errorf("data/cache still there: %v", err)
	}
	want(t, "DELETE home", e.do("DELETE", "/api/vfs/?recursive=true", nil), http.StatusForbidden, "")
	if _, err := os.Stat(e.path("site/wwwroot")); err != nil {
		t.Fatal(err)
	}
}

// zipOf makes a zip of the files (name → content; a name ending in '/' is
// a folder).
func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range files {
			if !yield(n) {
				return
			}
		}
	})
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestZipAPI: GET /api/zip/{folder}/ is the folder as a zip, its entries
// relative to it (KuduLite's ZipController); PUT expands a zip into a
// folder over what is there, keeping the files the zip lacks, as the
// app's user.
func TestZipAPI(t *testing.T) {
	e := newVFS(t)
	e.write("site/wwwroot/app.py", "print('v1')")
	e.write("site/wwwroot/static/keep.css", "body{}")

	r := e.do("PUT", "/api/zip/site/wwwroot/", bytes.NewReader(zipOf(t, map[string]string{
		"app.py": "print('v2')", "static/new.js": "1;", "templates/": "",
	})))
	want(t, "PUT zip", r, http.StatusOK, "")
	for rel, content := range map[string]string{"app.py": "print('v2')", "static/keep.css": "body{}", "static/new.js": "1;"} {
		if got := e.read("site/wwwroot/" + rel); got != content {
			t.Errorf("%s = %q, want %q", rel, got, content)
		}
	}
	// Modes as the zip has them (Go's zip writer's files: 0666; Kudu
	// makes every file 777).
	e.owned("site/wwwroot/static/new.js", 0o666)
	e.owned("site/wwwroot/templates", 0)
	if names, _ := filepath.Glob(filepath.Join(e.homes["app"], ".slipway-*")); len(names) != 0 {
		t.Errorf("staging left behind: %v", names)
	}

	r = e.do("GET", "/api/zip/site/wwwroot/", nil)
	want(t, "GET zip", r, http.StatusOK, "")
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename=wwwroot.zip` {
		t.Errorf("Content-Disposition %q", cd)
	}
	got := unzip(t, []byte(r.body))
	wantFiles := map[string]string{"app.py": "print('v2')", "static/": "", "static/keep.css": "body{}", "static/new.js": "1;", "templates/": ""}
	if d := cmp.Diff(wantFiles, got); d != "" {
		t.Errorf("GET /api/zip/site/wwwroot/ (-want +got):\n%s", d)
	}
	want(t, "GET zip of a file", e.do("GET", "/api/zip/site/wwwroot/app.py", nil), http.StatusNotFound, "not a directory")
	want(t, "PUT a zip onto a file", e.do("PUT", "/api/zip/site/wwwroot/app.py/", bytes.NewReader(zipOf(t, map[string]string{"x": "1"}))), http.StatusConflict, "in the way")
	want(t, "PUT a zip that is not one", e.do("PUT", "/api/zip/site/wwwroot/", strings.NewReader("not a zip")), http.StatusBadRequest, "not a valid zip")
}

// TestVFSConcurrentWritesHonourIfMatch: writers that all hold the same
// ETag race to replace a file; exactly one wins each round (204), the
// others get 412, and the file holds the winner's content whole.
func TestVFSConcurrentWritesHonourIfMatch(t *testing.T) {
	e := newVFS(t)
	const p = "/api/vfs/data/counter.txt"
	r := e.do("PUT", p, strings.NewReader("start"))
	want(t, "PUT", r, http.StatusCreated, "")
	etag := r.header.Get("ETag")
	for round := range 20 {
		const writers = 8
		statuses := make([]int, writers)
		held := etag
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				body := strings.Repeat(fmt.Sprintf("%d-%d;", round, i), 4096)
				r, err := e.send(t.Context(), "app", "$app", "pass-app", "PUT", p, strings.NewReader(body), "If-Match", held)
				if err == nil {
					statuses[i] = r.status
					if r.status == http.StatusNoContent {
						etag = r.header.Get("ETag") // one winner writes it
					}
				}
			})
		}
		wg.Wait()
		won := -1
		for i, st := range statuses {
			switch {
			case st == http.StatusNoContent && won >= 0:
				t.Fatalf("round %d: writers %d and %d both replaced the file with the same ETag", round, won, i)
			case st == http.StatusNoContent:
				won = i
			case st != http.StatusPreconditionFailed:
				t.Fatalf("round %d: writer %d got %d", round, i, st)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no writer won: %v", round, statuses)
		}
		if got := e.read("data/counter.txt"); got != strings.Repeat(fmt.Sprintf("%d-%d;", round, won), 4096) {
			t.Fatalf("round %d: the file is not writer %d's whole content", round, won)
		}
	}
}

// TestZipPutFailureLeavesTheTree: a zip upload that fails leaves the home
// as it was. The folder it names, and the folders on its way that did not
// exist, appear only with the zip's content in them: a body that is no
// zip, a zip with an entry that leads out of the folder, or one past the
// server's disk reserve is refused with a message that says why, and no
// folder is left behind. A folder that existed stays, with what it held.
func TestZipPutFailureLeavesTheTree(t *testing.T) {
	e, setFree := reservedVFS(t)
	e.write("data/keep.txt", "kept")
	for _, tc := range []struct {
		name   string
		body   []byte
		short  bool // the disk is short of its reserve
		status int
		msg    string
	}{
		{"not a zip", []byte("not a zip"), false, http.StatusBadRequest, "not a valid zip"},
		{"a truncated zip", zipOf(t, map[string]string{"a.txt": "a"})[:40], false, http.StatusBadRequest, "not a valid zip"},
		{"an entry that leads out", zipOf(t, map[string]string{"ok.txt": "x", "../../../escaped.txt": "x"}), false, http.StatusBadRequest, "escaped.txt"},
		{"past the disk reserve", zipOf(t, map[string]string{"big.txt": strings.Repeat("y", 64<<10)}), true, http.StatusServiceUnavailable, "short of disk space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.in(t)
			t.Cleanup(func() { os.RemoveAll(e.path("new")); os.RemoveAll(e.path("data/new")) }) // each case on its own
			if tc.short {
				setFree(1<<30 + 1<<10) // 1 KiB above the reserve
				defer setFree(100 << 30)
			}
			for _, p := range []string{"/api/zip/new/deep/", "/api/zip/data/new/"} {
				want(t, "PUT "+p, e.quick("PUT", p, bytes.NewReader(tc.body)), tc.status, tc.msg)
			}
			for _, rel := range []string{"new", "data/new", "escaped.txt", "../escaped.txt"} {
				if _, err := os.Lstat(e.path(rel)); !os.IsNotExist(err) {
					t.Errorf("%s after a failed upload: %v; want nothing there", rel, err)
				}
			}
			if got := e.read("data/keep.txt"); got != "kept" {
				t.Errorf("data/keep.txt = %q", got)
			}
			if names, _ := filepath.Glob(e.path(".slipway-*")); len(names) != 0 {
				t.Errorf("staging left behind: %v", names)
			}
		})
	}
	// The same uploads, valid, make the folders, as the app's.
	want(t, "PUT a zip into a new folder", e.do("PUT", "/api/zip/new/deep/", bytes.NewReader(zipOf(t, map[string]string{"a.txt": "a", "sub/b.txt": "b"}))), http.StatusOK, "")
	for rel, content := range map[string]string{"new/deep/a.txt": "a", "new/deep/sub/b.txt": "b"} {
		if got := e.read(rel); got != content {
			t.Errorf("%s = %q, want %q", rel, got, content)
		}
	}
	e.owned("new", 0o755)
	e.owned("new/deep", 0o755)
}

// TestVFSPutFailureLeavesTheTree: a file upload into folders that do not
// exist makes them before its body arrives (Kudu makes missing parents);
// one that fails — past the disk reserve, or a client that gives up
// halfway — removes them again, and the folder that was there stays.
func TestVFSPutFailureLeavesTheTree(t *testing.T) {
	e, setFree := reservedVFS(t)
	e.write("data/keep.txt", "kept")
	gone := func(rels ...string) {
		t.Helper()
		for _, rel := range rels {
			// The server undoes a cut upload after the client has given
			// up: it is waited for, 10 s at most.
			var err error
			for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
				if _, err = os.Lstat(e.path(rel)); os.IsNotExist(err) {
					break
				}
			}
			if !os.IsNotExist(err) {
				t.Errorf("%s after a failed upload: %v; want nothing there", rel, err)
			}
		}
	}

	// Past the reserve: a chunked body (no length to refuse it by first).
	setFree(1<<30 + 1<<10) // 1 KiB above the reserve
	chunked := io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("y"), 64<<10)))
	want(t, "PUT past the reserve", e.quick("PUT", "/api/vfs/new/deep/f.txt", chunked), http.StatusServiceUnavailable, "short of disk space")
	setFree(100 << 30)
	gone("new")

	// A client that gives up after the first bytes.
	if _, err := e.send(t.Context(), "app", "$app", "pass-app", "PUT", "/api/vfs/data/new/deeper/f.txt", &cutReader{n: 32 << 10}); err == nil {
		t.Fatal("a request whose body failed was sent whole")
	}
	gone("data/new")
	if got := e.read("data/keep.txt"); got != "kept" {
		t.Errorf("data/keep.txt = %q", got)
	}
	if names, _ := filepath.Glob(e.path("data/.*")); len(names) != 0 {
		t.Errorf("temporary files left behind: %v", names)
	}

	// The same upload, whole, makes the folders.
	want(t, "PUT into new folders", e.do("PUT", "/api/vfs/new/deep/f.txt", strings.NewReader("whole")), http.StatusCreated, "")
	if got := e.read("new/deep/f.txt"); got != "whole" {
		t.Errorf("new/deep/f.txt = %q", got)
	}
	e.owned("new/deep", 0o755)
}

// cutReader gives n bytes, then fails: a client that gives up.
type cutReader struct{ n int }

func (r *cutReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("the client gave up")
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = 'z'
	}
	r.n -= k
	return k, nil
}

// TestZipPlaceUndoesItsFolders: when the expanded zip cannot take its
// place (here a rename across file systems: a tmpfs mounted in the way),
// the folders made on its way are removed again, and only those: a folder
// that was there stays, and the expanded zip stays in staging, to be
// removed with it.
func TestZipPlaceUndoesItsFolders(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a file system")
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "staging", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "staging", "x", "a.txt"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("mounting a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	if err := os.Mkdir(filepath.Join(mnt, "was"), 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	err = place(root, "staging/x", "mnt/was/new/deep/zip")
	if !errors.Is(err, syscall.EXDEV) {
		t.Errorf("place across file systems = %v, want EXDEV", err)
	}
	if _, err := os.Lstat(filepath.Join(mnt, "was", "new")); !os.IsNotExist(err) {
		t.Errorf("mnt/was/new after the failed place: %v; want it removed", err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "was")); err != nil {
		t.Errorf("mnt/was, which was there: %v; want it kept", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "staging", "x", "a.txt")); err != nil {
		t.Errorf("the expanded zip: %v; want it left in staging", err)
	}
}

// TestVFSListingTooLong: a listing holds at most maxListEntries entries.
// A folder of more is refused (409), with how many it holds and what to do
// instead — never cut: a JSON array cannot say it is partial, and a
// client (az, the portal, a script) would take it for the whole folder.
func TestVFSListingTooLong(t *testing.T) {
	e := newVFS(t)
	e.mkdir("data/many")
	dir := e.path("data/many")
	create := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			fd, err := syscall.Open(filepath.Join(dir, strconv.Itoa(i)), syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			syscall.Close(fd)
		}
	}
	create(0, maxListEntries)
	r := e.quick("GET", "/api/vfs/data/many/", nil)
	want(t, "GET a folder of as many entries as a listing holds", r, http.StatusOK, "")
	var got []vfsEntry
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != maxListEntries {
		t.Errorf("the listing has %d entries, want %d", len(got), maxListEntries)
	}

	create(maxListEntries, maxListEntries+1)
	r = e.quick("GET", "/api/vfs/data/many/", nil)
	if r.status != http.StatusConflict {
		t.Fatalf("GET a folder of one entry more = %d with %d bytes, want 409", r.status, len(r.body))
	}
	t.Log(r.body)
	for _, hint := range []string{fmt.Sprintf("'/home/data/many' holds %d entries", maxListEntries+1), "subfolder", "/api/zip/data/many/"} {
		if !strings.Contains(r.body, hint) {
			t.Errorf("the refusal %q does not say %q", r.body, hint)
		}
	}
}

// TestVFSMediaTypes: a listing's "mime" and a file's Content-Type are
// KuduLite's (MediaTypeMap): its own entries for .log, .md, .js and .json,
// then ASP.NET's table, whose types carry no parameters — whatever the
// host's /etc/mime.types says (there .log may be text/x-log, which a
// browser downloads rather than shows).
func TestVFSMediaTypes(t *testing.T) {
	e := newVFS(t)
	types := map[string]string{
		"a.log": "text/plain", "b.md": "text/plain", "c.js": "application/javascript",
		"d.json": "application/json", "e.txt": "text/plain", "f.html": "text/html", "g.zip": "application/zip",
		"h": "application/octet-stream",
	}
	for name := range types {
		e.write("LogFiles/"+name, "x")
	}
	r := e.do("GET", "/api/vfs/LogFiles/", nil)
	var got []vfsEntry
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	for _, v := range got {
		if v.Mime != types[v.Name] {
			t.Errorf("%s listed as %q, want %q", v.Name, v.Mime, types[v.Name])
		}
	}
	for name, typ := range types {
		if r := e.do("GET", "/api/vfs/LogFiles/"+name, nil); r.status != 200 || r.header.Get("Content-Type") != typ {
			t.Errorf("GET %s = %d %q, want %q", name, r.status, r.header.Get("Content-Type"), typ)
		}
	}
}
