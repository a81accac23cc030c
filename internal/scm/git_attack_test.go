package scm

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
)

// gitClient runs the real git in dir, with no configuration of the host's.
func gitClient(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@example.com"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// commitRandom commits n random (incompressible) bytes on a new branch.
func commitRandom(t *testing.T, dir, branch string, n int) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(filepath.Join(dir, branch+".bin"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"checkout", "-q", "-b", branch}, {"add", "."}, {"commit", "-q", "-m", branch}} {
		if out, err := gitClient(t, dir, args...); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
}

// serveRepo serves h for the test and returns its server, the app's
// repository URL with the app's credentials, and an empty work tree.
func serveRepo(t *testing.T, h *Handler) (srv *httptest.Server, remote, work string) {
	t.Helper()
	srv = httptest.NewServer(h)
	t.Cleanup(srv.Close)
	remote = strings.Replace(srv.URL, "http://", "http://$app:pass@", 1) + "/app.git"
	work = t.TempDir()
	if out, err := gitClient(t, work, "init", "-q"); err != nil {
		t.Fatal(err, out)
	}
	return srv, remote, work
}

func diskUsed(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// TestAttackGitRepositoryFillsTheDisk: the repository lies beside the
// app's home, outside its quota, and each push may send up to 1 GiB. A
// tenant pushing new branches of fresh data, one after another or many at
// once, must not fill the server's disk: the repository is bounded, and
// pushes to it take turns.
func TestAttackGitRepositoryFillsTheDisk(t *testing.T) {
	if _, err := lookGit(); err != nil {
		t.Skip("git is not installed")
	}
	repo := filepath.Join(t.TempDir(), "sites", "app", "repository.git")
	const limit = 256 << 10
	h := New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: fakeDeployer{},
		SiteOf:        func(*http.Request) string { return "app" },
		RepoDir:       func(string) string { return repo },
		MaxRepository: limit,
	})
	srv, remote, work := serveRepo(t, h)
	pushed := 0
	for i, branch := range []string{"b1", "b2", "b3", "b4"} {
		commitRandom(t, work, branch, 100<<10)
		if out, err := gitClient(t, work, "push", "-q", remote, branch); err == nil {
			pushed++
		} else if i == 0 {
			t.Fatalf("the first push, well under the bound: %v %s", err, out)
		}
	}
	if used := diskUsed(t, repo); used > limit+150<<10 || pushed > 2 {
		t.Errorf("%d pushes of 100 KiB went in; the repository takes %d bytes, bound %d", pushed, used, limit)
	}

	// A push that is still sending holds the repository: a second one
	// waits for nothing and is told so.
	pr, pw := io.Pipe()
	defer pw.Close()
	first := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/app.git/git-receive-pack", pr)
		req.Header.Set("Content-Type", "application/x-git-receive-pack-request")
		req.SetBasicAuth("$app", "pass")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	io.WriteString(pw, pktLine("0000000000000000000000000000000000000000 1111111111111111111111111111111111111111 refs/heads/slow\x00report-status\n")+"0000PACK")
	time.Sleep(300 * time.Millisecond) // the first push is in receive-pack
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/app.git/git-receive-pack", strings.NewReader("0000"))
	req.Header.Set("Content-Type", "application/x-git-receive-pack-request")
	req.SetBasicAuth("$app", "pass")
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("a second push while one is sending: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("a second push while one is sending: %d %s, want 409", resp.StatusCode, b)
	}
	pw.CloseWithError(io.ErrUnexpectedEOF)
	<-first
}

// TestAttackGitArchiveAmplifies: the pushed tree is archived by git on
// the host, outside any sandbox, and git archive honours the tree's own
// .gitattributes: export-subst expands every $Format:...$ with the
// commit (its whole message, however long, as often as the file asks)
// and ident every $Id$, in git's memory — a small push that makes
// gigabytes. A checkout (what Kudu deploys) expands neither
// export-subst nor export-ignore; here the repository's own attributes
// turn off those and ident, so the package holds the files as pushed.
func TestAttackGitArchiveAmplifies(t *testing.T) {
	if _, err := lookGit(); err != nil {
		t.Skip("git is not installed")
	}
	repo := filepath.Join(t.TempDir(), "sites", "app", "repository.git")
	rec := &submitRecorder{}
	h := New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: rec,
		SiteOf:  func(*http.Request) string { return "app" },
		RepoDir: func(string) string { return repo },
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	remote := strings.Replace(srv.URL, "http://", "http://$app:pass@", 1) + "/app.git"

	work := t.TempDir()
	const body = "$Format:%B$ $Format:%H$ $Id$\n"
	for name, content := range map[string]string{".gitattributes": "* export-subst ident\nhidden.txt export-ignore\n", "app.py": body, "hidden.txt": "kept\n"} {
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "master"}, {"add", "."}, {"commit", "-q", "-m", strings.Repeat("long message ", 1000)}, {"push", "-q", remote, "master"}} {
		if out, err := gitClient(t, work, args...); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	rec.mu.Lock()
	pkgs := append([]string(nil), rec.body...)
	rec.mu.Unlock()
	if len(pkgs) != 1 {
		t.Fatalf("%d packages submitted, want 1", len(pkgs))
	}
	files := unzip(t, []byte(pkgs[0]))
	if files["app.py"] != body || files["hidden.txt"] != "kept\n" {
		t.Errorf("the package's files differ from the pushed ones: app.py %d bytes %.80q, hidden.txt %q", len(files["app.py"]), files["app.py"], files["hidden.txt"])
	}
}

// TestAttackGitFetchesHeldOpen: every fetch runs git's pack-objects on
// the host over the whole repository; a tenant starting many fetches of
// its own repository and reading none kept that many processes for up to
// the quarter-hour git may run. A site runs a few at once, and one whose
// client takes nothing for a while ends.
func TestAttackGitFetchesHeldOpen(t *testing.T) {
	if _, err := lookGit(); err != nil {
		t.Skip("git is not installed")
	}
	repo := filepath.Join(t.TempDir(), "sites", "app", "repository.git")
	h := New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: fakeDeployer{},
		SiteOf:       func(*http.Request) string { return "app" },
		RepoDir:      func(string) string { return repo },
		StallTimeout: 2 * time.Second,
	})
	srv, remote, work := serveRepo(t, h)
	commitRandom(t, work, "big", 16<<20)
	if out, err := gitClient(t, work, "push", "-q", remote, "big"); err != nil {
		t.Fatal(err, out)
	}
	head, err := gitClient(t, work, "rev-parse", "HEAD")
	if err != nil {
		t.Fatal(err, head)
	}
	want := pktLine("want "+strings.TrimSpace(head)+"\n") + "0000" + pktLine("done\n")
	fetch := func() string {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		req, _ := http.NewRequest("POST", srv.URL+"/app.git/git-upload-pack", strings.NewReader(want))
		req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
		req.SetBasicAuth("$app", "pass")
		req.Write(c)
		c.SetReadDeadline(time.Now().Add(30 * time.Second)) // four git processes packing 16 MB on a busy CI machine
		var line strings.Builder
		b := make([]byte, 1)
		for !strings.HasSuffix(line.String(), "\n") {
			if _, err := c.Read(b); err != nil {
				return "read: " + err.Error()
			}
			line.WriteByte(b[0])
		}
		return line.String()
	}
	statuses := make(chan string, maxFetches)
	for range maxFetches {
		go func() { statuses <- fetch() }()
	}
	for range maxFetches {
		if status := <-statuses; !strings.Contains(status, " 200 ") {
			t.Fatalf("a fetch within the bound: %s", status)
		}
	}
	if status := fetch(); !strings.Contains(status, " 503 ") {
		t.Fatalf("fetch %d past the bound: %s, want 503", maxFetches+1, status)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		status := fetch()
		if strings.Contains(status, " 200 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stalled fetches still hold every place: %s", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAttackGitAdvertisementHeldOpen: the ref advertisement is git's own
// output, as long as the repository has refs (a push may make thousands);
// a client that asks for it and reads nothing held a git process and a
// goroutine for the quarter hour git may run. It ends once the client has
// taken nothing for StallTimeout: the client, reading late, finds the
// answer cut short.
func TestAttackGitAdvertisementHeldOpen(t *testing.T) {
	if _, err := lookGit(); err != nil {
		t.Skip("git is not installed")
	}
	repo := filepath.Join(t.TempDir(), "sites", "app", "repository.git")
	h := New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: fakeDeployer{},
		SiteOf:       func(*http.Request) string { return "app" },
		RepoDir:      func(string) string { return repo },
		StallTimeout: 300 * time.Millisecond,
	})
	srv, remote, work := serveRepo(t, h)
	commitRandom(t, work, "main", 10)
	if out, err := gitClient(t, work, "push", "-q", remote, "main"); err != nil {
		t.Fatal(err, out)
	}
	head, _ := gitClient(t, work, "rev-parse", "HEAD")
	// 300,000 refs, as a push may make them (packed, which git reads fast).
	var refs strings.Builder
	refs.WriteString("# pack-refs with: peeled fully-peeled sorted \n")
	for i := range 300000 {
		fmt.Fprintf(&refs, "%s refs/tags/t%07d\n", strings.TrimSpace(head), i)
	}
	if err := os.WriteFile(filepath.Join(repo, "packed-refs"), []byte(refs.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/app.git/info/refs?service=git-upload-pack", nil)
	req.SetBasicAuth("$app", "pass")
	req.Write(c)
	time.Sleep(2 * time.Second) // reading nothing
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil {
		t.Errorf("the whole advertisement (%d bytes) came to a client that read nothing for 2 s", n)
	}
}
