package deploy

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/build"
	"github.com/slipway-dev/slipway/internal/tree"
)

// These tests run OneDeploy's type=zip with clean=false (docs/appservice.md
// §5: Kudu extracts the zip over /home/site/wwwroot and keeps the files the
// zip lacks) end to end below HTTP: the new version is the active one's
// files with the zip's over them, built and released as any zip is.

// zip submits a zip deployment (overlay: clean=false) and waits for it.
func (e *fileEnv) zip(files map[string]string, overlay bool) slipway.Deployment {
	e.t.Helper()
	e.c.cfg.MaxPackage = 1 << 20
	d, err := e.c.Submit(e.t.Context(), e.site, bytes.NewReader(zipOf(e.t, files)), Options{Deployer: "OneDeploy", Message: "OneDeploy", Restart: true, Overlay: overlay})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.c.Wait(e.t.Context(), "app"); err != nil {
		e.t.Fatal(err)
	}
	d, err = e.st.GetDeployment(e.t.Context(), "app", d.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// logText returns a deployment's log, one message a line.
func (e *fileEnv) logText(id string) string {
	e.t.Helper()
	log, err := e.st.DeploymentLog(e.t.Context(), e.site.Name, id)
	if err != nil {
		e.t.Fatal(err)
	}
	var msgs []string
	for _, l := range log {
		msgs = append(msgs, l.Message)
	}
	return strings.Join(msgs, "\n")
}

// files lists a tree: "name" for a file, "name/" for a directory,
// "name -> target" for a link.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			rel += " -> " + target
		case d.IsDir():
			rel += "/"
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestZipOverlayKeepsWhatTheZipLacks: clean=false puts the zip's files
// over the active version's — a changed file and a new one — and keeps
// the rest; the deployment is recorded and rolled out like any zip
// deployment. clean=true (the default) still replaces the app.
func TestZipOverlayKeepsWhatTheZipLacks(t *testing.T) {
	e := newFileEnv(t)
	d := e.zip(map[string]string{"version": "v2", "sub/new.txt": "new"}, true)
	if d.Status != slipway.DeploySuccess || !d.Active || d.Deployer != "OneDeploy" || d.Message != "OneDeploy" || d.Build {
		t.Fatalf("deployment = %+v; want an active, successful OneDeploy deployment", d)
	}
	e.want("v2||")
	want := []string{".slipway-artifact.json", "keep.txt", "link -> sub", "sub/", "sub/new.txt", "version"}
	if got := files(t, d.ArtifactDir); !slices.Equal(got, want) {
		t.Errorf("the new version holds %q; want %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(d.ArtifactDir, "keep.txt")); string(b) != "kept" {
		t.Errorf("keep.txt = %q; want the active version's", b)
	}
	if b, _ := os.ReadFile(filepath.Join(e.v1.Dir, "version")); string(b) != "v1" {
		t.Errorf("the previous version changed: version = %q", b)
	}
	if _, err := os.Stat(filepath.Join(e.v1.Dir, "sub", "new.txt")); err == nil {
		t.Errorf("the zip was written into the previous version")
	}
	log := e.logText(d.ID)
	for _, line := range []string{"Extracted 2 files", "clean=false", "Deployment successful."} {
		if !strings.Contains(log, line) {
			t.Errorf("the deployment log lacks %q:\n%s", line, log)
		}
	}

	// clean=true replaces the app: what the zip lacks is gone.
	d = e.zip(map[string]string{"version": "v3"}, false)
	if d.Status != slipway.DeploySuccess {
		t.Fatalf("clean deployment = %+v", d)
	}
	e.want("v3||")
	if got, want := files(t, d.ArtifactDir), []string{".slipway-artifact.json", "version"}; !slices.Equal(got, want) {
		t.Errorf("after clean=true the version holds %q; want %q", got, want)
	}
}

// TestZipOverlayFirstDeployment: with no active version, clean=false is a
// zip deployment like any other.
func TestZipOverlayFirstDeployment(t *testing.T) {
	st, r, c := newRealCoordinator(t, 0, func(cfg *Config) { cfg.Planner = crashPlanner{} })
	site, err := st.FindSite(t.Context(), "app")
	if err != nil {
		t.Fatal(err)
	}
	e := &fileEnv{t: t, st: st, rt: r, c: c, site: site}
	d := e.zip(map[string]string{"version": "v1"}, true)
	if d.Status != slipway.DeploySuccess || !d.Active {
		t.Fatalf("deployment = %+v", d)
	}
	e.want("v1||")
	if got, want := files(t, d.ArtifactDir), []string{".slipway-artifact.json", "version"}; !slices.Equal(got, want) {
		t.Errorf("the version holds %q; want %q", got, want)
	}
}

// sourceBuilder builds the way the real builder lays an artifact out — the
// source copied, antenv linked to a cached environment, the manifest —
// and records the source it was given.
type sourceBuilder struct {
	venv    string
	mu      sync.Mutex
	sources [][]string
	reqs    []string
	t       *testing.T
}

func (b *sourceBuilder) Build(ctx context.Context, req build.Request) (build.Result, error) {
	b.mu.Lock()
	b.sources = append(b.sources, files(b.t, req.SourceDir))
	r, _ := os.ReadFile(filepath.Join(req.SourceDir, "requirements.txt"))
	b.reqs = append(b.reqs, string(r))
	b.mu.Unlock()
	if err := tree.Copy(ctx, req.SourceDir, req.OutputDir, tree.Options{}); err != nil {
		return build.Result{}, err
	}
	if err := os.Symlink(b.venv, filepath.Join(req.OutputDir, "antenv")); err != nil {
		return build.Result{}, err
	}
	if err := os.WriteFile(filepath.Join(req.OutputDir, "oryx-manifest.toml"), []byte("PlatformName=\"python\"\n"), 0o644); err != nil {
		return build.Result{}, err
	}
	return build.Result{PythonVersion: "3.12", PythonPath: "/usr/bin/python3", VenvDir: b.venv}, nil
}

// buildPlanner lets builds run as the server's own user.
type buildPlanner struct{ crashPlanner }

func (buildPlanner) Identity(context.Context, string) (int, int, error) { return 0, 0, nil }

// TestZipOverlayBuildsTheUnion: with a build, the build's source is the
// app's files — the active version's and the zip's — and not what the
// previous build made of them (its antenv link, its manifest, the
// platform's record), so a changed requirements.txt is built.
func TestZipOverlayBuildsTheUnion(t *testing.T) {
	e := newFileEnv(t)
	b := &sourceBuilder{venv: t.TempDir(), t: t}
	e.c.cfg.Builder, e.c.cfg.Planner = b, buildPlanner{}
	if err := e.st.SetSettings(t.Context(), "rg", "app", map[string]string{"SCM_DO_BUILD_DURING_DEPLOYMENT": "true"}); err != nil {
		t.Fatal(err)
	}
	d := e.zip(map[string]string{"version": "v2", "requirements.txt": "flask\n"}, false)
	if d.Status != slipway.DeploySuccess || !d.Build {
		t.Fatalf("first deployment = %+v", d)
	}
	d = e.zip(map[string]string{"requirements.txt": "flask\ndjango\n", "app.py": "x"}, true)
	if d.Status != slipway.DeploySuccess || !d.Build {
		t.Fatalf("clean=false deployment = %+v\n%s", d, e.logText(d.ID))
	}
	e.want("v2||")
	want := []string{"app.py", "requirements.txt", "version"}
	if got := b.sources[1]; !slices.Equal(got, want) {
		t.Errorf("the build's source was %q; want %q (the app's files, not the previous build's)", got, want)
	}
	if got := b.reqs[1]; got != "flask\ndjango\n" {
		t.Errorf("the build read requirements.txt %q; want the zip's", got)
	}
	art, err := ReadArtifact(d.ArtifactDir)
	if err != nil || art.VenvDir != b.venv {
		t.Fatalf("artifact = %+v, %v", art, err)
	}
}

// TestZipOverlayKeepsStartupScript: a startup script deployed with
// type=startup is still in wwwroot after a clean=false zip, so it stays the
// app's startup script; a clean zip replaces it with the rest.
func TestZipOverlayKeepsStartupScript(t *testing.T) {
	e := newFileEnv(t)
	if d, err := e.deploy("#!/bin/sh\n", FileTarget{Path: "scripts/run.sh", Startup: true}, false); err != nil || d.Status != slipway.DeploySuccess {
		t.Fatalf("startup deployment = %+v, %v", d, err)
	}
	d := e.zip(map[string]string{"version": "v2"}, true)
	if art, err := ReadArtifact(d.ArtifactDir); err != nil || art.StartupScript != "scripts/run.sh" {
		t.Errorf("after clean=false, artifact = %+v, %v; want the startup script kept", art, err)
	}
	d = e.zip(map[string]string{"version": "v3"}, false)
	if art, err := ReadArtifact(d.ArtifactDir); err != nil || art.StartupScript != "" {
		t.Errorf("after clean=true, artifact = %+v, %v; want no startup script", art, err)
	}
}
