package scm

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/diskreserve"
)

// The app's code controls every file in its home, and runs while Kudu
// serves it: these tests plant what a hostile app would and check that the
// file API never reads, writes or deletes anything outside the home.
//
// The host files here are readable and writable by everyone, and both
// apps' homes are reachable by the apps' user, so that the os.Root alone
// stands between the app and them (the app's own identity is the second
// wall, tested by TestVFSWorksAsTheAppsUser).

const hostSecret = "HOST-SECRET-7f3a"

// hostile returns a Kudu whose homes sit beside "host" files: host/secret.txt
// (0644) and host/dir (0777, holding victim.txt), all reachable by the
// apps' user.
func hostile(t *testing.T) (e *vfsEnv, secret, hostDir string) {
	t.Helper()
	e = newVFS(t)
	for _, d := range []string{filepath.Dir(e.base), e.base, filepath.Join(e.base, "sites"), filepath.Join(e.base, "sites", "app"), filepath.Join(e.base, "sites", "other")} {
		os.Chmod(d, 0o755)
	}
	os.Chmod(e.homes["other"], 0o755)
	secret = filepath.Join(e.base, "host", "secret.txt")
	hostDir = filepath.Join(e.base, "host", "dir")
	if err := os.MkdirAll(hostDir, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(hostDir, 0o777)
	if err := os.WriteFile(secret, []byte(hostSecret), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hostDir, "victim.txt"), []byte(hostSecret), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.homes["other"], "secret.txt"), []byte(hostSecret), 0o644); err != nil {
		t.Fatal(err)
	}
	return e, secret, hostDir
}

func (e *vfsEnv) symlink(target, rel string) {
	e.t.Helper()
	e.mkdir(filepath.Dir(rel))
	if err := os.Symlink(target, e.path(rel)); err != nil {
		e.t.Fatal(err)
	}
	os.Lchown(e.path(rel), e.uid, e.gid)
}

// untouched fails if the host files changed or hostDir holds anything new.
func untouched(t *testing.T, secret, hostDir string) {
	t.Helper()
	for _, p := range []string{secret, filepath.Join(hostDir, "victim.txt")} {
		if b, err := os.ReadFile(p); err != nil || string(b) != hostSecret {
			t.Errorf("%s changed: %q %v", p, b, err)
		}
	}
	if names, _ := os.ReadDir(hostDir); len(names) != 1 {
		t.Errorf("the host directory holds %v", names)
	}
}

// TestVFSNeverLeavesTheHome: symbolic links (absolute and relative, to a
// host file, /etc/shadow, the other app's home, the data directory),
// ".." and its encodings in the URL, hard links to host files, and FIFOs,
// sockets and devices planted in the home: nothing outside the home is
// served, listed, written or deleted, and nothing hangs.
func TestVFSNeverLeavesTheHome(t *testing.T) {
	e, secret, hostDir := hostile(t)
	e.symlink(secret, "site/wwwroot/abs.txt")
	e.symlink("/etc/shadow", "site/wwwroot/shadow")
	e.symlink("../../../../host/secret.txt", "LogFiles/rel.log")
	e.symlink("../../../other/home", "data/neighbour")
	e.symlink(e.base, "data/platform")
	e.symlink(hostDir, "site/out")
	e.symlink("../../host/dir", "site/relout")
	e.mkdir("LogFiles")
	if err := os.Link(secret, e.path("LogFiles/hard.log")); err != nil {
		t.Fatal(err)
	}
	if err := mkfifo(e.path("LogFiles/pipe")); err != nil {
		t.Fatal(err)
	}
	// Should a request hang opening the FIFO, a writer releases it, so
	// that the test ends with its failure.
	t.Cleanup(func() {
		if f, err := os.OpenFile(e.path("LogFiles/pipe"), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	if ln, err := net.Listen("unix", e.path("LogFiles/sock")); err == nil {
		defer ln.Close()
	}
	if os.Geteuid() == 0 { // /dev/zero's numbers: a read would never end
		syscall.Mknod(e.path("LogFiles/zero"), syscall.S_IFCHR|0o666, int(1<<8|5))
	}

	reads := []string{
		"/api/vfs/site/wwwroot/abs.txt", "/api/vfs/site/wwwroot/shadow", "/api/vfs/LogFiles/rel.log",
		"/api/vfs/data/neighbour/secret.txt", "/api/vfs/data/neighbour/", "/api/vfs/data/platform/host/secret.txt",
		"/api/vfs/data/platform/", "/api/vfs/site/out/victim.txt", "/api/vfs/site/relout/", "/api/vfs/LogFiles/hard.log",
		"/api/vfs/LogFiles/pipe", "/api/vfs/LogFiles/sock", "/api/vfs/LogFiles/zero",
		"/api/vfs/../host/secret.txt", "/api/vfs/..%2f..%2f..%2fhost%2fsecret.txt", "/api/vfs/%2e%2e/%2e%2e/%2e%2e/host/secret.txt",
		"/api/vfs/site%2f..%2f..%2f..%2f..%2fhost/secret.txt", "/vfs/%2E%2E/%2E%2E/%2E%2E/host/secret.txt",
		"/api/zip/data/neighbour/", "/api/zip/data/platform/", "/api/zip/site/out/", "/api/zip/%2e%2e/%2e%2e/",
		"/api/vfs/data%00/../../../host/secret.txt", "/api/vfs/" + strings.Repeat("a/", 2100) + "x",
	}
	for _, p := range reads {
		t.Run("GET "+p, func(t *testing.T) {
			r := e.in(t).quick("GET", p, nil)
			if r.status == http.StatusOK || strings.Contains(r.body, hostSecret) {
				t.Fatalf("GET %s = %d %q", p, r.status, r.body)
			}
		})
	}
	writes := []struct{ method, path, body string }{
		{"PUT", "/api/vfs/site/out/new.txt", "x"},
		{"PUT", "/api/vfs/site/relout/new.txt", "x"},
		{"PUT", "/api/vfs/site/out/victim.txt", "x"},
		{"PUT", "/api/vfs/site/out/sub/", ""},
		{"PUT", "/api/vfs/data/platform/host/dir/new.txt", "x"},
		{"PUT", "/api/vfs/site/wwwroot/abs.txt", "x"},
		{"PUT", "/api/vfs/LogFiles/hard.log", "x"},
		{"PUT", "/api/vfs/LogFiles/pipe", "x"},
		{"PUT", "/api/vfs/..%2f..%2fhost%2fdir%2fnew.txt", "x"},
		{"DELETE", "/api/vfs/site/out/victim.txt", ""},
		{"DELETE", "/api/vfs/site/out/?recursive=true", ""},
		{"DELETE", "/api/vfs/data/platform/host/dir/?recursive=true", ""},
		{"PUT", "/api/zip/site/out/", "zip"},
		{"PUT", "/api/zip/site/", "zip"}, // its out/new.txt meets the link
		{"PUT", "/api/zip/data/", "slip"},
	}
	zips := map[string][]byte{
		"zip":  zipOf(t, map[string]string{"out/new.txt": "x"}),
		"slip": zipOf(t, map[string]string{"../../host/dir/new.txt": "x"}),
	}
	for _, w := range writes {
		t.Run(w.method+" "+w.path, func(t *testing.T) {
			body := []byte(w.body)
			if z, ok := zips[w.body]; ok {
				body = z
			}
			r := e.in(t).quick(w.method, w.path, bytes.NewReader(body), "If-Match", "*")
			if r.status/100 == 2 && !strings.HasPrefix(w.path, "/api/vfs/site/out/?") {
				t.Errorf("%s %s = %d %q", w.method, w.path, r.status, r.body)
			}
			untouched(t, secret, hostDir)
		})
	}
	// The links themselves are the app's: deleting one removes it, never
	// what it leads to.
	want(t, "DELETE a link", e.do("DELETE", "/api/vfs/site/out", nil, "If-Match", "*"), http.StatusOK, "")
	untouched(t, secret, hostDir)
	if _, err := os.Lstat(e.path("site/out")); !os.IsNotExist(err) {
		t.Errorf("the link is still there: %v", err)
	}
}

// in returns the environment for the subtest t.
func (e *vfsEnv) in(t *testing.T) *vfsEnv {
	c := *e
	c.t = t
	return &c
}

// quick is do, failing if Kudu takes more than 10 s: a FIFO or a device
// opened for reading would hang it.
func (e *vfsEnv) quick(method, p string, body io.Reader, header ...string) response {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 10*time.Second)
	defer cancel()
	r, err := e.send(ctx, "app", "$app", "pass-app", method, p, body, header...)
	if errors.Is(err, context.DeadlineExceeded) {
		e.t.Fatalf("%s %s hangs", method, p)
	} else if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// TestVFSZipLeavesOutWhatIsNotTheApps: a folder download leaves out links
// to host files, hard links and FIFOs, and says so in its notes.
func TestVFSZipLeavesOutWhatIsNotTheApps(t *testing.T) {
	e, secret, _ := hostile(t)
	e.write("LogFiles/app.log", "mine")
	e.symlink(secret, "LogFiles/abs.log")
	if err := os.Link(secret, e.path("LogFiles/hard.log")); err != nil {
		t.Fatal(err)
	}
	if err := mkfifo(e.path("LogFiles/pipe")); err != nil {
		t.Fatal(err)
	}
	r := e.quick("GET", "/api/zip/LogFiles/", nil)
	want(t, "GET zip", r, http.StatusOK, "")
	files := unzip(t, []byte(r.body))
	if files["app.log"] != "mine" || len(files) != 2 {
		t.Errorf("entries %v", keys(files))
	}
	for _, left := range []string{"abs.log", "hard.log", "pipe"} {
		if !strings.Contains(files[zipNotes], left+": ") {
			t.Errorf("notes do not list %s:\n%s", left, files[zipNotes])
		}
	}
}

// TestVFSSwappedDirectory: the app swaps a directory for a link to a host
// directory and back, as fast as it can, while Kudu reads and writes
// through it. Resolution is done once, beneath the home (os.Root), never
// checked on a path and then opened: no read ever returns the host's
// file, and no write ever lands in the host's directory.
func TestVFSSwappedDirectory(t *testing.T) {
	e, secret, hostDir := hostile(t)
	e.write("site/swap/victim.txt", "inside")
	e.symlink(hostDir, "site/link")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		// site/swap is, in turn and atomically, the app's directory and
		// a link to the host's.
		swap, link := e.path("site/swap"), e.path("site/link")
		for i := 0; i < 10_000_000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := unix.Renameat2(unix.AT_FDCWD, swap, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE); err != nil {
				t.Errorf("exchanging: %v", err)
				return
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()
	served := 0
	for i := range 300 {
		r := e.quick("GET", "/api/vfs/site/swap/victim.txt", nil)
		if strings.Contains(r.body, hostSecret) {
			t.Fatalf("request %d served the host's file", i)
		}
		if r.status == http.StatusOK {
			served++
		}
		e.quick("PUT", "/api/vfs/site/swap/new.txt", strings.NewReader("x"), "If-Match", "*")
		e.quick("PUT", "/api/vfs/site/swap/victim.txt", strings.NewReader("x"), "If-Match", "*")
		if i%10 == 9 {
			e.quick("DELETE", "/api/vfs/site/swap/victim.txt", nil, "If-Match", "*")
			// Wherever the app's directory is now (through an os.Root:
			// checking and then writing would race with the swap).
			if site, err := os.OpenRoot(e.path("site")); err == nil {
				site.WriteFile("swap/victim.txt", []byte("inside"), 0o644)
				site.WriteFile("link/victim.txt", []byte("inside"), 0o644)
				site.Close()
			}
		}
	}
	untouched(t, secret, hostDir)
	t.Logf("%d of 300 reads found the app's own file", served)
}

// TestVFSOtherAppsCredentials: one app's publishing credentials do not
// open another app's file API.
func TestVFSOtherAppsCredentials(t *testing.T) {
	e, _, _ := hostile(t)
	for _, p := range []string{"/api/vfs/secret.txt", "/api/vfs/", "/api/zip/"} {
		r := e.doAs("other", "$app", "pass-app", "GET", p, nil)
		if r.status != http.StatusUnauthorized || strings.Contains(r.body, hostSecret) {
			t.Errorf("GET %s on other with app's credentials = %d %q", p, r.status, r.body)
		}
	}
	r := e.doAs("other", "$app", "pass-app", "PUT", "/api/vfs/x.txt", strings.NewReader("x"))
	want(t, "PUT on other with app's credentials", r, http.StatusUnauthorized, "")
	want(t, "GET with other's own", e.doAs("other", "$other", "pass-other", "GET", "/api/vfs/secret.txt", nil), http.StatusOK, hostSecret)
}

// TestVFSWorksAsTheAppsUser: the file API reads and writes as the app's
// own user (its second wall after the os.Root): what that user may not
// read — a file of the platform's, left root-only in the home — is not
// served, and what it writes is its own.
func TestVFSWorksAsTheAppsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the server switches to the app's user")
	}
	e := newVFS(t)
	e.write("data/platform.key", "ROOT-ONLY")
	os.Chown(e.path("data/platform.key"), 0, 0)
	os.Chmod(e.path("data/platform.key"), 0o600)
	r := e.do("GET", "/api/vfs/data/platform.key", nil)
	if r.status != http.StatusForbidden || strings.Contains(r.body, "ROOT-ONLY") {
		t.Errorf("GET a root-only file = %d %q, want 403", r.status, r.body)
	}
	// Readable by root's group only: the server's supplementary groups
	// (root's, when it was started from a login shell) are not the app's
	// either.
	groups, _ := syscall.Getgroups()
	if err := syscall.Setgroups([]int{0}); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setgroups(groups)
	e.write("data/group.key", "ROOT-GROUP")
	os.Chown(e.path("data/group.key"), 0, 0)
	os.Chmod(e.path("data/group.key"), 0o640)
	if r := e.do("GET", "/api/vfs/data/group.key", nil); r.status != http.StatusForbidden || strings.Contains(r.body, "ROOT-GROUP") {
		t.Errorf("GET a file of root's group = %d %q, want 403", r.status, r.body)
	}
	e.mkdir("data/locked")
	os.Chown(e.path("data/locked"), 0, 0)
	want(t, "PUT into a root-owned folder", e.do("PUT", "/api/vfs/data/locked/x", strings.NewReader("x")), http.StatusForbidden, "")
	want(t, "PUT", e.do("PUT", "/api/vfs/data/new/x.txt", strings.NewReader("x")), http.StatusCreated, "")
	e.owned("data/new", 0o755)
	e.owned("data/new/x.txt", 0o644)
}

// TestVFSFullQuota: the home is quota-sized, so an upload can run out of
// space. The PUT fails with a message that says so, the previous file is
// whole, and no temporary file is left (a tmpfs of 1 MiB plays the home's
// image).
func TestVFSFullQuota(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small file system")
	}
	e := newVFS(t)
	home := e.homes["app"]
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700,uid=4242,gid=4243", "tmpfs", home).CombinedOutput(); err != nil {
		t.Skipf("mounting a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", home).Run() })
	e.write("data/keep.txt", "previous content")
	big := bytes.Repeat([]byte("x"), 2<<20)
	r := e.do("PUT", "/api/vfs/data/keep.txt", bytes.NewReader(big), "If-Match", "*")
	want(t, "PUT past the quota", r, http.StatusConflict, "the app's storage (/home) is full")
	if got := e.read("data/keep.txt"); got != "previous content" {
		t.Errorf("the previous file is %d bytes, want it whole", len(got))
	}
	// Incompressible, so that the zip itself does not fit either.
	rand.Read(big)
	r = e.do("PUT", "/api/zip/data/", bytes.NewReader(zipOf(t, map[string]string{"big.bin": string(big)})))
	want(t, "PUT a zip past the quota", r, http.StatusConflict, "full")
	r = e.do("PUT", "/api/zip/data/fresh/", bytes.NewReader(zipOf(t, map[string]string{"big.bin": string(big)})))
	want(t, "PUT a zip past the quota into a new folder", r, http.StatusConflict, "full")
	if _, err := os.Lstat(e.path("data/fresh")); !os.IsNotExist(err) {
		t.Errorf("the folder of a zip that did not fit: %v; want none", err)
	}
	var left []string
	filepath.Walk(home, func(p string, _ os.FileInfo, _ error) error {
		if strings.Contains(p, ".slipway-") {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	want(t, "PUT once there is room", e.do("PUT", "/api/vfs/data/keep.txt", strings.NewReader("new"), "If-Match", "*"), http.StatusNoContent, "")
}

// TestVFSStreamsHugeFiles: a GET streams: a sparse 8 GiB file is served
// at once with its full length, never read into memory.
func TestVFSStreamsHugeFiles(t *testing.T) {
	e := newVFS(t)
	e.write("data/huge.bin", "")
	if err := os.Truncate(e.path("data/huge.bin"), 8<<30); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/api/vfs/data/huge.bin", nil)
	req.Host = "app.scm.localhost"
	req.SetBasicAuth("$app", "pass-app")
	start := time.Now()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != 8<<30 {
		t.Fatalf("GET = %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	if _, err := io.CopyN(io.Discard, resp.Body, 1<<20); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the first MiB took %v", d)
	}
}

// reservedVFS is newVFS with a disk reserve of 1 GiB for uploads, on a
// disk of 100 GiB free until setFree says otherwise; setFree returns once
// the reserve has read it (it reads the free space once a second).
func reservedVFS(t *testing.T) (e *vfsEnv, setFree func(bytes uint64)) {
	var free atomic.Uint64
	free.Store(100 << 30)
	guard := diskreserve.New(diskreserve.Config{Path: t.TempDir(), What: "Kudu file uploads", Reserve: diskreserve.Amount{Bytes: 1 << 30},
		FreeSpace: func(string) (diskreserve.Space, error) {
			return diskreserve.Space{Size: 200 << 30, Free: free.Load()}, nil
		}})
	e = newVFS(t, func(c *Config) { c.FileReserve = guard })
	return e, func(bytes uint64) {
		free.Store(bytes)
		time.Sleep(1100 * time.Millisecond)
	}
}

// TestVFSUploadsKeepTheDiskReserve: homes are images on the data
// directory's file system, so an upload that would take the space kept
// for the platform's own data is refused (503, retry later) — a file
// and a zip alike, whatever the home's quota — and the previous file
// stays.
func TestVFSUploadsKeepTheDiskReserve(t *testing.T) {
	e, setFree := reservedVFS(t)
	want(t, "PUT with room", e.do("PUT", "/api/vfs/data/keep.txt", strings.NewReader("previous")), http.StatusCreated, "")
	setFree(1<<30 + 1<<10) // 1 KiB above the reserve

	r := e.do("PUT", "/api/vfs/data/keep.txt", bytes.NewReader(bytes.Repeat([]byte("x"), 64<<10)), "If-Match", "*")
	want(t, "PUT past the reserve", r, http.StatusServiceUnavailable, "short of disk space")
	if r.header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	if got := e.read("data/keep.txt"); got != "previous" {
		t.Errorf("the previous file is %q", got)
	}
	r = e.do("PUT", "/api/zip/data/", bytes.NewReader(zipOf(t, map[string]string{"big.txt": strings.Repeat("y", 64<<10)})))
	want(t, "PUT a zip past the reserve", r, http.StatusServiceUnavailable, "short of disk space")
	if _, err := os.Stat(e.path("data/big.txt")); !os.IsNotExist(err) {
		t.Errorf("the zip was expanded: %v", err)
	}
}

// TestAttackStalledUploadsHoldNoThreads: the file API works in the home on
// an OS thread of its own with the app's identity; were an upload's body
// read there, a client that sends its body slowly, or not at all, would
// hold an OS thread for as long as it likes — 16 per app, and a tenant
// with a few hundred apps would take the process to Go's limit of 10,000
// threads, which ends it. The body must arrive on an ordinary goroutine,
// and only the file's creation and its rename run on the app's thread.
func TestAttackStalledUploadsHoldNoThreads(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the file API switches to the app's user only then")
	}
	e := newVFS(t)
	threads := func() int {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			t.Fatal(err)
		}
		_, v, _ := strings.Cut(string(b), "\nThreads:")
		v, _, _ = strings.Cut(v, "\n")
		n, _ := strconv.Atoi(strings.TrimSpace(v))
		return n
	}
	const files, zips = 12, 2
	const stalled = files + zips
	before := threads()
	var wg sync.WaitGroup
	var pipes []*io.PipeWriter
	for i := range files {
		pr, pw := io.Pipe()
		pipes = append(pipes, pw)
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.send(t.Context(), "app", "$app", "pass-app", "PUT", fmt.Sprintf("/api/vfs/data/slow-%d.txt", i), pr)
		}()
		pw.Write([]byte("a first chunk, then nothing")) // the upload has begun
	}
	for i := range zips { // and zips into folders (a staging folder each)
		pr, pw := io.Pipe()
		pipes = append(pipes, pw)
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.send(t.Context(), "app", "$app", "pass-app", "PUT", fmt.Sprintf("/api/zip/data/z%d/", i), pr)
		}()
		pw.Write([]byte("PK\x03\x04"))
	}
	temps := func() []string {
		left, _ := filepath.Glob(filepath.Join(e.homes["app"], "data", ".slow-*"))
		staged, _ := filepath.Glob(filepath.Join(e.homes["app"], ".slipway-zip-*", "package.zip"))
		return append(left, staged...)
	}
	// The zips' folders, which they name but never filled.
	targets := func() []string {
		made, _ := filepath.Glob(filepath.Join(e.homes["app"], "data", "z[0-9]*"))
		return made
	}
	for deadline := time.Now().Add(5 * time.Second); len(temps()) < stalled && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(temps()); n < stalled {
		t.Fatalf("%d of %d uploads began writing", n, stalled)
	}
	during := threads()
	for _, pw := range pipes {
		pw.CloseWithError(errors.New("the client gave up"))
	}
	wg.Wait()
	if grown := during - before; grown > stalled/2 {
		t.Errorf("%d stalled uploads hold %d more OS threads (%d → %d): their bodies are read on the app's file thread", stalled, grown, before, during)
	}
	// Nothing of them is left in the home.
	for deadline := time.Now().Add(5 * time.Second); len(temps())+len(targets()) > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if left := append(temps(), targets()...); len(left) > 0 {
		t.Errorf("stalled uploads left %v", left)
	}
}

// TestAttackFileThreadsBounded: each call of the file API on the app's
// thread holds an OS thread for as long as the client makes it (a folder
// streamed to a slow reader); past the server-wide bound a call is refused
// with 503 after a wait, rather than take the process to Go's thread limit.
func TestAttackFileThreadsBounded(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the file API switches to the app's user only then")
	}
	oldThreads, oldWait := fileThreads, fileThreadWait
	fileThreads, fileThreadWait = make(chan struct{}, 2), 50*time.Millisecond
	t.Cleanup(func() { fileThreads, fileThreadWait = oldThreads, oldWait })
	home := &tenantHome{uid: appUID, gid: appGID}
	release := make(chan struct{})
	var held sync.WaitGroup
	for range 2 {
		held.Add(1)
		go home.do(func() error { held.Done(); <-release; return nil })
	}
	held.Wait()
	err := home.do(func() error { return nil })
	if slipway.ErrorCode(err) != slipway.EUNAVAILABLE {
		t.Errorf("a third call with two threads held: %v, want 503 (EUNAVAILABLE)", err)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for err = errors.New("not tried"); err != nil && time.Now().Before(deadline); {
		err = home.do(func() error { return nil })
	}
	if err != nil {
		t.Errorf("once the threads are given back: %v", err)
	}
}

// TestZipExpansionReadsTheReserveAsTheServer: a zip is expanded on the
// app's file thread, as the app's user, but the disk reserve it checks
// measures the server's data directory, which that user may not read: the
// reading is taken with the server's identity. (Each check here finds the
// reading stale, as one does when an upload outlasts it.)
func TestZipExpansionReadsTheReserveAsTheServer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the file API switches to the app's user only then")
	}
	var clock atomic.Int64
	guard := diskreserve.New(diskreserve.Config{Path: t.TempDir(), What: "Kudu file uploads", Reserve: diskreserve.Amount{Bytes: 1 << 20},
		Now: func() time.Time { return time.Unix(clock.Add(3600), 0) },
		FreeSpace: func(string) (diskreserve.Space, error) {
			if fsuid, _ := unix.SetfsuidRetUid(-1); fsuid != 0 {
				return diskreserve.Space{}, fmt.Errorf("statfs as uid %d: %w", fsuid, os.ErrPermission)
			}
			return diskreserve.Space{Size: 200 << 30, Free: 100 << 30}, nil
		}})
	e := newVFS(t, func(c *Config) { c.FileReserve = guard })
	r := e.do("PUT", "/api/zip/data/", bytes.NewReader(zipOf(t, map[string]string{"a.txt": "a"})))
	want(t, "PUT a zip", r, http.StatusOK, "")
	if got := e.read("data/a.txt"); got != "a" {
		t.Errorf("a.txt = %q", got)
	}
}
