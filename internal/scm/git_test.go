package scm

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
)

// newGitKudu serves the fake site "app" with its repository at repoDir.
func newGitKudu(t *testing.T, repoDir string) *httptest.Server {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("git is not installed")
		}
		t.Skip("git is not installed")
	}
	h := New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: fakeDeployer{},
		SiteOf:  func(*http.Request) string { return "app" },
		RepoDir: func(site string) string { return repoDir },
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func gitPost(t *testing.T, srv *httptest.Server, path, contentType, body string, auth bool) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if auth {
		req.SetBasicAuth("$app", "pass")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := make([]byte, 4096)
	n, _ := resp.Body.Read(b)
	return resp.StatusCode, string(b[:n])
}

// TestGitRefusesWhatIsNotAPush: the repository answers only its own name,
// only with credentials, only git's own requests; nothing of a refused
// request reaches git or the disk outside the repository.
func TestGitRefusesWhatIsNotAPush(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "sites", "app", "repository.git")
	srv := newGitKudu(t, repo)

	// No credentials: 401 with the Basic challenge git answers with a prompt.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/app.git/info/refs?service=git-receive-pack", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("no credentials: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if _, err := os.Stat(repo); err == nil {
		t.Error("an unauthenticated request created the repository")
	}

	// Another app's name, an unknown service, the repository's files: not git's.
	for _, p := range []string{"/other.git/info/refs?service=git-receive-pack",
		"/app.git/info/refs?service=git-shell", "/app.git/info/refs", "/app.git/HEAD", "/app.git/objects/info/packs"} {
		if code, _, body := get(t, srv, p); code != 404 {
			t.Errorf("GET %s = %d %s; want 404", p, code, body)
		}
	}
	// A path in the name is never git's (the API's router redirects it to the clean path).
	if code, _, body := get(t, srv, "/../app.git/info/refs?service=git-receive-pack"); code == 200 {
		t.Errorf("GET /../app.git/... = 200 %q", body)
	}

	// The advertisement: git's, for this app's repository, made on first use.
	code, h, body := get(t, srv, "/app.git/info/refs?service=git-receive-pack")
	if code != 200 || h.Get("Content-Type") != "application/x-git-receive-pack-advertisement" || !strings.HasPrefix(string(body), "001f# service=git-receive-pack\n0000") {
		t.Fatalf("advertisement: %d %q %q", code, h.Get("Content-Type"), body)
	}
	if _, err := os.Stat(filepath.Join(repo, "HEAD")); err != nil {
		t.Fatalf("no repository after the advertisement: %v", err)
	}
	if hooks, _ := os.ReadDir(filepath.Join(repo, "hooks")); len(hooks) != 0 {
		t.Errorf("the repository was made with hooks: %v", hooks)
	}

	// Bodies that are not a push.
	for _, c := range []struct{ name, ct, body string }{
		{"wrong content type", "application/octet-stream", "0000"},
		{"bad pkt-line length", "application/x-git-receive-pack-request", "zzzz"},
		{"short pkt-line", "application/x-git-receive-pack-request", "0003"},
		{"ends inside a command", "application/x-git-receive-pack-request", "00ff0000000"},
		{"ends before the flush", "application/x-git-receive-pack-request", ""},
	} {
		if code, body := gitPost(t, srv, "/app.git/git-receive-pack", c.ct, c.body, true); code != 400 {
			t.Errorf("%s: %d %s; want 400", c.name, code, body)
		}
	}
	if code, _ := gitPost(t, srv, "/app.git/git-receive-pack", "application/x-git-receive-pack-request", "0000", false); code != 401 {
		t.Errorf("a push without credentials: %d", code)
	}
}

func TestReadCommandsBounded(t *testing.T) {
	line := pktLine(strings.Repeat("a", 60000))
	body := strings.Repeat(line, 20) // 1.2 MB of commands, no flush
	if _, _, err := readCommands(newReader(body)); err == nil || !strings.Contains(err.Error(), "1 MiB") {
		t.Errorf("unbounded commands: %v", err)
	}
	head, caps, err := readCommands(newReader(pktLine("0000 1111 refs/heads/master\x00report-status side-band-64k\n") + "0000PACK"))
	if err != nil || caps != "report-status side-band-64k\n" || !strings.HasSuffix(string(head), "0000") {
		t.Errorf("commands: %q %q %v", head, caps, err)
	}
}

func newReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

// TestFetchRacingAForcePushKeepsGitsError: upload-pack refuses a fetch
// that wants a commit a force push has just dropped, saying so inside its
// answer ("ERR upload-pack: not our ref") and exiting non-zero; git shows
// the client that line. The connection is cut after it (the answer
// failed), but the line reaches the client (found in review: the cut came
// first).
func TestFetchRacingAForcePushKeepsGitsError(t *testing.T) {
	if _, err := lookGit(); err != nil {
		t.Skip("git is not installed")
	}
	repo := filepath.Join(t.TempDir(), "sites", "app", "repository.git")
	srv := newGitKudu(t, repo)
	post := func(body string) (string, error) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/app.git/git-upload-pack", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
		req.SetBasicAuth("$app", "pass")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	post("0000") // makes the repository
	work := t.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(cmd.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@b", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@b")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v %s", args, err, b)
		}
		return strings.TrimSpace(string(b))
	}
	run("init", "-q", "-b", "master")
	run("commit", "-q", "--allow-empty", "-m", "one")
	advertised := run("rev-parse", "HEAD")
	run("push", "-q", repo, "master")
	run("commit", "-q", "--amend", "--allow-empty", "-m", "two")
	run("push", "-q", "-f", repo, "master")
	if body, err := post("0032want " + advertised + "\n00000009done\n"); !strings.Contains(body, "not our ref") {
		t.Errorf("upload-pack answer %q (%v): want git's \"ERR upload-pack: not our ref\"", body, err)
	}
}
