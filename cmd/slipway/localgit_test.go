package main

import (
	"bytes"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// git runs the real git in dir; the app's Kudu name resolves to the server.
func (s *testServer) git(app, dir string, args ...string) (string, error) {
	s.t.Helper()
	return s.gitEnv(nil, app, dir, args...)
}

// gitEnv is git with env added to git's environment (e.g. GIT_SSL_CAINFO,
// which wins over http.sslCAInfo).
func (s *testServer) gitEnv(env []string, app, dir string, args ...string) (string, error) {
	s.t.Helper()
	u, _ := url.Parse(s.info.URL)
	base := []string{"-c", "user.name=Dev Eloper", "-c", "user.email=dev@example.com", "-c", "init.defaultBranch=main",
		"-c", "http.curloptResolve=" + s.host(app+".scm") + ":" + u.Hostname()}
	cmd := exec.Command("git", append(base, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "HOME="+s.t.TempDir()), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestLocalGitDeploy pushes with the real git client to the app's
// repository at <app>.scm.<domain>/<app>.git with the publishing
// credentials, as Microsoft's Local Git deployment documents: a push to
// master deploys (built, as Kudu builds git deployments) and the push
// waits, showing the deployment as "remote:" lines; a push to another
// branch does not deploy; wrong credentials are refused; clone works; the
// repository is outside the app's home.
func TestLocalGitDeploy(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("git is not installed")
		}
		t.Skip("git is not installed")
	}
	s := startServer(t)
	const app = "localgit"
	s.createApp(app)
	user, pass := s.credentials(app)
	remote := "http://" + url.UserPassword(user, pass).String() + "@" + strings.Replace(s.host(app), ".localhost", ".scm.localhost", 1) + "/" + app + ".git"

	work := t.TempDir()
	if err := os.CopyFS(work, os.DirFS("testdata/apps/hello")); err != nil {
		t.Fatal(err)
	}
	write := func(version string) {
		if err := os.WriteFile(filepath.Join(work, "VERSION"), []byte(version), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("git1")
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-q", "-m", "First version from git"}} {
		if out, err := s.git(app, work, args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}

	out, err := s.git(app, work, "push", remote, "main:master")
	if err != nil {
		t.Fatalf("git push: %v\n%s\nserver:\n%s", err, out, s.stderr.String())
	}
	t.Logf("push:\n%s", out)
	if !strings.Contains(out, "remote: Updating branch 'master'.") || !strings.Contains(out, "remote: Deployment successful.") {
		t.Errorf("push output lacks the deployment:\n%s", out)
	}
	if code, body := s.get(s.host(app), "/"); code != 200 || body != "hello git1" {
		t.Fatalf("after the push GET / = %d %q, want \"hello git1\"", code, body)
	}
	// The deployment record carries the commit's author and message.
	d := s.waitDeployment(app, user, pass)
	if d["author"] != "Dev Eloper" || d["message"] != "First version from git" || d["deployer"] != "LocalGit" {
		t.Errorf("deployment record: author %v, message %v, deployer %v", d["author"], d["message"], d["deployer"])
	}

	// Another branch is stored, not deployed.
	write("git2")
	s.git(app, work, "commit", "-q", "-am", "On a branch")
	out, err = s.git(app, work, "push", remote, "main:feature")
	if err != nil || !strings.Contains(out, "No deployment") {
		t.Errorf("push to feature: %v\n%s", err, out)
	}
	if _, body := s.get(s.host(app), "/"); body != "hello git1" {
		t.Errorf("a push to another branch deployed: %q", body)
	}

	// Wrong credentials: refused, nothing stored.
	bad := strings.Replace(remote, url.UserPassword(user, pass).String(), url.UserPassword(user, "wrong").String(), 1)
	if out, err := s.git(app, work, "push", bad, "main:master"); err == nil || !strings.Contains(out, "Authentication failed") {
		t.Errorf("push with a wrong password: %v\n%s", err, out)
	}
	if _, body := s.get(s.host(app), "/"); body != "hello git1" {
		t.Errorf("a refused push deployed: %q", body)
	}

	// Clone (upload-pack) gets both branches.
	clone := filepath.Join(t.TempDir(), "clone")
	if out, err := s.git(app, t.TempDir(), "clone", "-q", remote, clone); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	if out, err := s.git(app, clone, "log", "-1", "--format=%s", "origin/feature"); err != nil || strings.TrimSpace(out) != "On a branch" {
		t.Errorf("clone's feature branch: %v %q", err, out)
	}

	// The repository is beside the app's home, where the app cannot write.
	repo := filepath.Join(s.data, "sites", app, "repository.git")
	if _, err := os.Stat(filepath.Join(repo, "HEAD")); err != nil {
		t.Errorf("no repository at %s: %v", repo, err)
	}
	if !strings.Contains(s.stderr.String(), "APPS RUN UNSANDBOXED") {
		if code, body := s.get(s.host(app), "/read?path="+url.QueryEscape(filepath.Join(repo, "HEAD"))); code != 200 || !strings.HasPrefix(body, "DENIED") {
			t.Errorf("the app read its repository: %d %q", code, body)
		}
	}
}
