package scm

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway"
)

// busyDeployer is deploying "d9" to every site.
type busyDeployer struct{ fakeDeployer }

func (busyDeployer) IsDeploying(string) (string, bool) { return "d9", true }

// repoVFS is newVFS with each app's repository beside its home, as the
// server keeps it; the app's holds a commit.
func repoVFS(t *testing.T, opts ...func(*Config)) (e *vfsEnv, repo string) {
	t.Helper()
	var base string
	e = newVFS(t, append([]func(*Config){func(c *Config) {
		c.RepoDir = func(site string) string { return filepath.Join(base, "sites", site, "repository.git") }
	}}, opts...)...)
	base = e.base
	repo = filepath.Join(base, "sites", "app", "repository.git")
	if err := initRepo(t.Context(), repo); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	for _, args := range [][]string{{"init", "-q", "-b", "master"}, {"commit", "-q", "--allow-empty", "-m", "one"}, {"push", "-q", repo, "master"}} {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	return e, repo
}

// TestSCMCleanRunsNothingTheRepositoryNames: POST /api/scm/clean answers
// 200 as KuduLite's, and runs nothing a repository's config names (a
// core.fsmonitor command that would leave a marker on the host).
func TestSCMCleanRunsNothingTheRepositoryNames(t *testing.T) {
	e, repo := repoVFS(t)
	marker := filepath.Join(e.base, "marker")
	cfg, err := os.OpenFile(filepath.Join(repo, "config"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.WriteString("[core]\n\tfsmonitor = \"touch " + marker + "; false\"\n\tbare = false\n\tworktree = " + e.homes["app"] + "\n")
	cfg.Close()
	for _, p := range []string{"/api/scm/clean", "/scm/clean"} {
		want(t, "POST "+p, e.do("POST", p, nil), http.StatusOK, "")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the repository's core.fsmonitor ran on the host")
	}
	if _, err := os.Stat(filepath.Join(repo, "HEAD")); err != nil {
		t.Fatalf("the clean removed the repository: %v", err)
	}
	want(t, "another app's credentials", e.doAs("app", "$other", "pass-other", "POST", "/api/scm/clean", nil), http.StatusUnauthorized, "")
}

// TestSCMDelete: DELETE /api/scm removes the repository (200), refused
// with 409 while a deployment runs; deleteWebRoot=1 empties wwwroot as
// the app, never following a link it planted out of its home.
func TestSCMDelete(t *testing.T) {
	t.Run("while deploying", func(t *testing.T) {
		e, repo := repoVFS(t, func(c *Config) { c.Deployer = busyDeployer{} })
		want(t, "DELETE /api/scm", e.do("DELETE", "/api/scm?deleteWebRoot=1", nil), http.StatusConflict, "Deployment d9 is in progress")
		if _, err := os.Stat(filepath.Join(repo, "HEAD")); err != nil {
			t.Fatalf("the repository was deleted during a deployment: %v", err)
		}
	})
	t.Run("while pushing", func(t *testing.T) {
		e, repo := repoVFS(t)
		e.h.startPush(repo)
		want(t, "DELETE /api/scm", e.do("DELETE", "/api/scm", nil), http.StatusConflict, "push")
		e.h.endPush(repo)
	})
	t.Run("another app", func(t *testing.T) {
		e, repo := repoVFS(t)
		want(t, "DELETE with other's credentials", e.doAs("app", "$other", "pass-other", "DELETE", "/api/scm", nil), http.StatusUnauthorized, "")
		if _, err := os.Stat(filepath.Join(repo, "HEAD")); err != nil {
			t.Fatal("another app's credentials deleted the repository")
		}
	})
	t.Run("deleteWebRoot", func(t *testing.T) {
		e, repo := repoVFS(t)
		secret := filepath.Join(e.base, "host", "secret.txt")
		os.MkdirAll(filepath.Dir(secret), 0o755)
		os.WriteFile(secret, []byte(hostSecret), 0o644)
		e.write("site/wwwroot/app.py", "print(1)")
		e.write("site/wwwroot/pkg/mod.py", "x = 1")
		e.symlink(filepath.Dir(secret), "site/wwwroot/host")
		e.write("site/diagnostics/settings.json", "{}")
		e.write("data/keep.txt", "kept")
		want(t, "DELETE /scm", e.do("DELETE", "/scm?deleteWebRoot=1", nil), http.StatusOK, "")
		if _, err := os.Stat(repo); !os.IsNotExist(err) {
			t.Fatalf("the repository is still there: %v", err)
		}
		if ents, err := os.ReadDir(e.path("site/wwwroot")); err != nil || len(ents) != 0 {
			t.Errorf("wwwroot holds %v (%v), want nothing", ents, err)
		}
		if _, err := os.Stat(e.path("site/diagnostics")); !os.IsNotExist(err) {
			t.Errorf("site/diagnostics is still there: %v", err)
		}
		if b, err := os.ReadFile(secret); err != nil || string(b) != hostSecret {
			t.Errorf("the host file behind the app's link was touched: %q %v", b, err)
		}
		if e.read("data/keep.txt") != "kept" {
			t.Error("a file outside wwwroot was deleted")
		}
		// Once more: nothing left to delete is no failure.
		want(t, "DELETE again", e.do("DELETE", "/api/scm", nil), http.StatusOK, "")
	})
}

// TestSCMVFSRefusedWithTheWayInstead: the bare repository has no work tree
// for /api/scmvfs to serve; every method and path (escapes included) gets
// the same 400 naming git clone and push, and nothing of the repository's
// git directory (its config) is ever served.
func TestSCMVFSRefusedWithTheWayInstead(t *testing.T) {
	e, _ := repoVFS(t)
	for _, p := range []string{"/api/scmvfs/", "/api/scmvfs/config", "/scmvfs/HEAD", "/api/scmvfs/../repository.git/config", "/api/scmvfs/%2e%2e/%2e%2e/etc/passwd"} {
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			r := e.do(m, p, strings.NewReader("[core]\n\tfsmonitor = x\n"), "If-Match", "*")
			if strings.Contains(p, "/../") && r.status == http.StatusTemporaryRedirect && r.header.Get("Location") == "/api/repository.git/config" {
				continue // the router's own cleaning, to a path outside /api/scmvfs (the catch-all's 404)
			}
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, "git clone") || strings.Contains(r.body, "[core]") {
				t.Errorf("%s %s = %d %q, want 400 naming git clone", m, p, r.status, r.body)
			}
		}
	}
	want(t, "another app's credentials", e.doAs("app", "$other", "pass-other", "GET", "/api/scmvfs/", nil), http.StatusUnauthorized, "")
}

// restartRecorder records the sites it restarted.
type restartRecorder struct{ sites []string }

func (r *restartRecorder) restart(_ context.Context, s slipway.Site) error {
	r.sites = append(r.sites, s.Name)
	return nil
}

// TestDockerHook: POST /api/docker/hook restarts the app only when its
// DOCKER_ENABLE_CI setting is on, as KuduLite's DockerController; 200
// either way.
func TestDockerHook(t *testing.T) {
	for _, tc := range []struct {
		setting string
		want    int
	}{{"", 0}, {"false", 0}, {"true", 1}, {"1", 1}} {
		var rec restartRecorder
		e := newVFS(t, func(c *Config) {
			c.Store = &vfsStore{fakeStore{settings: map[string]string{"DOCKER_ENABLE_CI": tc.setting}}}
			c.Restart = rec.restart
		})
		want(t, "POST /api/docker/hook", e.do("POST", "/api/docker/hook", nil), http.StatusOK, "")
		want(t, "POST /docker/hook", e.do("POST", "/docker/hook", nil), http.StatusOK, "")
		if len(rec.sites) != 2*tc.want {
			t.Errorf("DOCKER_ENABLE_CI=%q: restarted %v, want %d restarts", tc.setting, rec.sites, 2*tc.want)
		}
		want(t, "another app's credentials", e.doAs("app", "$other", "pass-other", "POST", "/api/docker/hook", nil), http.StatusUnauthorized, "")
		if len(rec.sites) != 2*tc.want {
			t.Errorf("another app's credentials restarted the app")
		}
	}
}

// TestDeploymentScriptAndSSHKey: GET /api/deploymentscript answers
// KuduLite's 404 for an app Oryx builds; the SSH key API says there is
// no key and refuses to make or take one.
func TestDeploymentScriptAndSSHKey(t *testing.T) {
	e := newVFS(t)
	want(t, "GET /api/deploymentscript", e.do("GET", "/api/deploymentscript", nil), http.StatusNotFound, "Operation only supported if not using a custom deployment script")
	r := e.do("GET", "/api/sshkey", nil)
	want(t, "GET /api/sshkey", r, http.StatusOK, `""`)
	want(t, "GET /api/sshkey?ensurePublicKey=1", e.do("GET", "/api/sshkey?ensurePublicKey=1", nil), http.StatusBadRequest, "keeps no SSH key")
	want(t, "PUT /api/sshkey", e.do("PUT", "/api/sshkey", strings.NewReader("-----BEGIN RSA PRIVATE KEY-----"), "Content-Type", "text/plain"), http.StatusBadRequest, "was not stored")
	want(t, "DELETE /api/sshkey", e.do("DELETE", "/api/sshkey", nil), http.StatusOK, "")
	for _, p := range []string{"/api/sshkey", "/api/deploymentscript"} {
		want(t, p+" with another app's credentials", e.doAs("app", "$other", "pass-other", "GET", p, nil), http.StatusUnauthorized, "")
	}
}
