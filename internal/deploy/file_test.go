package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	rt "github.com/slipway-dev/slipway/internal/runtime"
	"github.com/slipway-dev/slipway/internal/store"
)

// These tests run single-file deployments (OneDeploy type=static and
// type=startup, docs/appservice.md §5) end to end below HTTP: the real
// store, the real runtime with real processes, and instances that answer
// the "version" file of the version they run.

// crashPlanner is echoPlanner, but an instance of a version holding a
// file named "crash" exits at once, as a broken app does, and so does one
// whose version is "needs:NAME" while the app has no setting NAME, as an
// app reading a setting it was not given yet does.
type crashPlanner struct{ echoPlanner }

func (p crashPlanner) Instance(ctx context.Context, s Snapshot, art Artifact, inst rt.Instance) (rt.Launch, error) {
	crash := rt.Launch{Argv: []string{"python3", "-c", "import sys; sys.exit(3)"}}
	if _, err := os.Stat(filepath.Join(art.Dir, "crash")); err == nil {
		return crash, nil
	}
	if v, err := os.ReadFile(filepath.Join(art.Dir, "version")); err == nil {
		if name, ok := strings.CutPrefix(string(v), "needs:"); ok && s.Settings[name] == "" {
			return crash, nil
		}
	}
	return p.echoPlanner.Instance(ctx, s, art, inst)
}

type fileEnv struct {
	t    *testing.T
	st   *store.Store
	rt   *rt.Runtime
	c    *Coordinator
	site slipway.Site
	v1   Artifact // the active version: version=v1, keep.txt, sub/, link -> sub, out -> outside
	out  string   // a directory outside every version
}

func newFileEnv(t *testing.T) *fileEnv {
	t.Helper()
	ctx := t.Context()
	st, r, c := newRealCoordinator(t, 100*time.Millisecond, func(cfg *Config) {
		cfg.Planner = crashPlanner{}
		cfg.MaxPackage = 64
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	site, err := st.FindSite(ctx, "app")
	must(err)
	e := &fileEnv{t: t, st: st, rt: r, c: c, site: site, out: t.TempDir()}

	v1 := writeVersion(t, "v1")
	must(os.WriteFile(filepath.Join(v1, "keep.txt"), []byte("kept"), 0o644))
	must(os.Mkdir(filepath.Join(v1, "sub"), 0o755))
	must(os.Symlink("sub", filepath.Join(v1, "link")))
	e.v1 = Artifact{Dir: v1}
	must(WriteArtifact(e.v1))
	d, err := st.CreateDeployment(ctx, slipway.Deployment{Site: "app", Status: slipway.DeploySuccess, ArtifactDir: v1})
	must(err)
	must(st.SetActiveDeployment(ctx, "app", d.ID))
	must(c.Restart(ctx, "rg", "app"))
	e.want("v1||")
	return e
}

func (e *fileEnv) want(body string) {
	e.t.Helper()
	got, err := get("app", e.rt)
	if err != nil || got != body {
		e.t.Fatalf("app answers %q, %v; want %q", got, err, body)
	}
}

// deploy submits content as a single-file deployment and waits for it.
func (e *fileEnv) deploy(content string, f FileTarget, restart bool) (slipway.Deployment, error) {
	e.t.Helper()
	d, err := e.c.Submit(e.t.Context(), e.site, strings.NewReader(content), Options{Deployer: "OneDeploy", Restart: restart, File: &f})
	if err != nil {
		return d, err
	}
	if err := e.c.Wait(e.t.Context(), "app"); err != nil {
		e.t.Fatal(err)
	}
	return e.st.GetDeployment(e.t.Context(), "app", d.ID)
}

func (e *fileEnv) deployments() int {
	e.t.Helper()
	ds, err := e.st.ListDeployments(e.t.Context(), "app")
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ds)
}

// TestFileDeployAttacks: a path the Kudu API let through is still checked
// against the app's own files, which the app controls: a link it planted
// (pointing out of the app or not), a file where a directory should be, a
// directory where the file should be. Each is refused before anything is
// stored or recorded, nothing is written, and the app keeps serving.
func TestFileDeployAttacks(t *testing.T) {
	e := newFileEnv(t)
	if err := os.Symlink(e.out, filepath.Join(e.v1.Dir, "out")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    FileTarget
		body string
		want string
	}{
		{"parent is a link out of the app", FileTarget{Path: "out/passwd"}, "x", "symbolic link"},
		{"parent is a link inside the app", FileTarget{Path: "link/x"}, "x", "symbolic link"},
		{"the file is a link", FileTarget{Path: "out"}, "x", "symbolic link"},
		{"parent is a file", FileTarget{Path: "keep.txt/x"}, "x", "not a directory"},
		{"the path is a directory", FileTarget{Path: "sub"}, "x", "directory"},
		{"parent directory", FileTarget{Path: "../x"}, "x", "not a file path inside /home/site/wwwroot"},
		{"absolute", FileTarget{Path: "/etc/passwd"}, "x", "not a file path inside /home/site/wwwroot"},
		{"unclean", FileTarget{Path: "a/./b"}, "x", "not a file path inside /home/site/wwwroot"},
		{"startup through a link", FileTarget{Path: "out/startup.sh", Startup: true}, "x", "symbolic link"},
		{"oversized body", FileTarget{Path: "big.bin"}, strings.Repeat("x", 65), "larger than 64 bytes"},
	}
	before := e.deployments()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.deploy(tc.body, tc.f, true)
			if slipway.ErrorCode(err) != slipway.EINVALID || !strings.Contains(slipway.ErrorMessage(err), tc.want) {
				t.Fatalf("deploying to %q: err = %v; want EINVALID mentioning %q", tc.f.Path, err, tc.want)
			}
		})
	}
	if n := e.deployments(); n != before {
		t.Errorf("refused deployments were recorded: %d deployments, want %d", n, before)
	}
	if ents, _ := os.ReadDir(e.out); len(ents) != 0 {
		t.Errorf("a file was written outside the app: %v", ents)
	}
	if _, err := os.Stat(filepath.Join(e.v1.Dir, "sub", "x")); err == nil {
		t.Errorf("a file was written through the link")
	}
	e.want("v1||")
}

// TestFileDeployAddsOneFile: a static file is a deployment of its own —
// recorded as OneDeploy's, the new version is the active one with the file
// added (nothing else removed), and it serves once it started.
func TestFileDeployAddsOneFile(t *testing.T) {
	e := newFileEnv(t)
	d, err := e.deploy("v2", FileTarget{Path: "version"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != slipway.DeploySuccess || !d.Active || d.Deployer != "OneDeploy" || d.Build {
		t.Fatalf("deployment = %+v; want an active, successful OneDeploy deployment without a build", d)
	}
	e.want("v2||")
	art, err := ReadArtifact(d.ArtifactDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"keep.txt", "sub", "link"} {
		if _, err := os.Lstat(filepath.Join(art.Dir, f)); err != nil {
			t.Errorf("the new version lost %s: %v", f, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(e.v1.Dir, "version")); string(b) != "v1" {
		t.Errorf("the previous version changed: version = %q", b)
	}
	log, _ := e.st.DeploymentLog(t.Context(), d.Site, d.ID)
	var msgs []string
	for _, l := range log {
		msgs = append(msgs, l.Message)
	}
	if got := strings.Join(msgs, "\n"); !strings.Contains(got, "Wrote /home/site/wwwroot/version (2 bytes).") || !strings.Contains(got, "Deployment successful.") {
		t.Errorf("deployment log:\n%s", got)
	}

	// A deeper path is created; restart=false leaves the running
	// instances as they are, and the new version serves from the next
	// restart.
	d, err = e.deploy("v3", FileTarget{Path: "static/css/site.css"}, false)
	if err != nil || d.Status != slipway.DeploySuccess {
		t.Fatalf("deployment = %+v, %v", d, err)
	}
	if b, err := os.ReadFile(filepath.Join(d.ArtifactDir, "static", "css", "site.css")); err != nil || string(b) != "v3" {
		t.Fatalf("static/css/site.css = %q, %v", b, err)
	}
	if _, err := e.deploy("v4", FileTarget{Path: "version"}, false); err != nil {
		t.Fatal(err)
	}
	e.want("v2||")
	if err := e.c.Restart(t.Context(), "rg", "app"); err != nil {
		t.Fatal(err)
	}
	e.want("v4||")
}

// TestFileDeployFailureKeepsServing: a file that breaks the app fails its
// deployment; the previous version keeps serving and stays the active one.
// The version is kept for the next restart (pending_test.go).
func TestFileDeployFailureKeepsServing(t *testing.T) {
	e := newFileEnv(t)
	d, err := e.deploy("boom", FileTarget{Path: "crash"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != slipway.DeployFailed || d.Active {
		t.Fatalf("deployment = %+v; want failed and not active", d)
	}
	e.want("v1||")
	active, err := e.st.ActiveDeployment(t.Context(), "app")
	if err != nil || active.ArtifactDir != e.v1.Dir {
		t.Fatalf("active deployment = %+v, %v; want the previous one", active, err)
	}
	if _, err := ReadArtifact(d.ArtifactDir); err != nil {
		t.Errorf("the version that did not start was not kept: %v", err)
	}
}

// TestStartupScriptDeploy: type=startup records the script in the new
// version, so that instances run it when the site has no startup command;
// with clean=true the version holds the script only.
func TestStartupScriptDeploy(t *testing.T) {
	e := newFileEnv(t)
	d, err := e.deploy("#!/bin/sh\nexec true\n", FileTarget{Path: "startup.sh", Startup: true}, false)
	if err != nil || d.Status != slipway.DeploySuccess {
		t.Fatalf("deployment = %+v, %v", d, err)
	}
	art, err := ReadArtifact(d.ArtifactDir)
	if err != nil {
		t.Fatal(err)
	}
	if art.StartupScript != "startup.sh" {
		t.Errorf("startup script = %q, want startup.sh", art.StartupScript)
	}
	if fi, err := os.Stat(filepath.Join(art.Dir, "startup.sh")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("startup.sh: %v, %v; want mode 0755", fi, err)
	}
	if _, err := os.Stat(filepath.Join(art.Dir, "keep.txt")); err != nil {
		t.Errorf("the rest of the app is gone: %v", err)
	}

	// A static file later keeps the startup script.
	d, err = e.deploy("x", FileTarget{Path: "robots.txt"}, false)
	if err != nil || d.Status != slipway.DeploySuccess {
		t.Fatalf("deployment = %+v, %v", d, err)
	}
	if art, _ := ReadArtifact(d.ArtifactDir); art.StartupScript != "startup.sh" {
		t.Errorf("after a static file, startup script = %q, want startup.sh", art.StartupScript)
	}

	d, err = e.deploy("#!/bin/sh\n", FileTarget{Path: "run.sh", Startup: true, Clean: true}, false)
	if err != nil || d.Status != slipway.DeploySuccess {
		t.Fatalf("deployment = %+v, %v", d, err)
	}
	ents, _ := os.ReadDir(d.ArtifactDir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != ".slipway-artifact.json run.sh" {
		t.Errorf("clean=true version holds %q; want the script (and the record) only", got)
	}
}
