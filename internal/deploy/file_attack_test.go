package deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	rt "github.com/slipway-dev/slipway/internal/runtime"
)

// Attacks on single-file deployments (OneDeploy type=static and
// type=startup) by a deployer who is hostile to the platform, with an
// active version whose files — and whatever its build or release command
// left in them — are the app's.

// releasePlanner runs one-off commands (the release command) in the
// artifact itself, as the real planner does.
type releasePlanner struct{ crashPlanner }

func (releasePlanner) Command(ctx context.Context, s Snapshot, art Artifact, argv []string) (rt.Launch, error) {
	return rt.Launch{Argv: argv, Dir: art.Dir, Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}}, nil
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for name, body := range files {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(body))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestAttackReleaseRewritesArtifactRecord: the release command runs as the
// app in the artifact, next to the platform's record of it. A record it
// rewrote named a directory outside the app as the environment, so that a
// later single-file deployment kept a link to it as "antenv" (and the
// instances' environment copy read it). The record the platform reads
// back must be the one it wrote.
func TestAttackReleaseRewritesArtifactRecord(t *testing.T) {
	e := newFileEnv(t)
	e.c.cfg.Planner = releasePlanner{}
	e.c.cfg.MaxPackage = 1 << 20
	evil, _ := json.Marshal(Artifact{VenvDir: e.out, PythonPath: filepath.Join(e.out, "python"), StartupScript: "../../../bin/sh"})
	cmd := "printf '%s' '" + string(evil) + "' > " + artifactFile + " && ln -s '" + e.out + "' antenv"
	if err := e.st.SetSettings(t.Context(), "rg", "app", map[string]string{"SLIPWAY_RELEASE_COMMAND": cmd}); err != nil {
		t.Fatal(err)
	}
	d, err := e.c.Submit(t.Context(), e.site, bytes.NewReader(zipOf(t, map[string]string{"version": "v2"})), Options{Deployer: "Push-Deployer", Restart: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.Wait(t.Context(), "app"); err != nil {
		t.Fatal(err)
	}
	if d, _ = e.st.GetDeployment(t.Context(), "app", d.ID); d.Status != slipway.DeploySuccess {
		t.Fatalf("zip deployment = %+v", d)
	}
	art, err := ReadArtifact(d.ArtifactDir)
	if err != nil {
		t.Fatal(err)
	}
	if art.VenvDir != "" || art.StartupScript != "" || strings.HasPrefix(art.PythonPath, e.out) {
		t.Errorf("the record of the version is the release command's: %+v", art)
	}

	if err := e.st.SetSettings(t.Context(), "rg", "app", map[string]string{}); err != nil {
		t.Fatal(err)
	}
	f, err := e.deploy("x", FileTarget{Path: "robots.txt"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if f.ArtifactDir != "" {
		if l, err := os.Readlink(filepath.Join(f.ArtifactDir, "antenv")); err == nil {
			t.Errorf("the new version links antenv to %s, outside the app", l)
		}
		if art, err := ReadArtifact(f.ArtifactDir); err == nil && art.VenvDir == e.out {
			t.Errorf("the new version's environment is %s, outside the app", art.VenvDir)
		}
	}
}

// TestAttackFileDeployOverSwap: a single-file deployment, and a zip with
// clean=false, build on the version active when they start; a swap that
// commits while they wait for the site changes the active version. Rolling
// the stale copy out would undo the swap and report a success built on a
// version no longer serving.
func TestAttackFileDeployOverSwap(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		o    Options
	}{
		{"static file", []byte("x"), Options{Deployer: "OneDeploy", Restart: true, File: &FileTarget{Path: "robots.txt"}}},
		{"zip with clean=false", zipOf(t, map[string]string{"robots.txt": "x"}), Options{Deployer: "OneDeploy", Restart: true, Overlay: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newFileEnv(t)
			e.c.cfg.MaxPackage = 1 << 20
			st := e.c.state("app")
			st.op.Lock() // a swap holds the site
			d, err := e.c.Submit(t.Context(), e.site, bytes.NewReader(tc.body), tc.o)
			if err != nil {
				st.op.Unlock()
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); ; {
				got, _ := e.st.GetDeployment(t.Context(), "app", d.ID)
				if got.Status == slipway.DeployDeploying || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			// The swap commits: another version becomes the active one.
			v2 := Artifact{Dir: writeVersion(t, "v2")}
			if err := WriteArtifact(v2); err != nil {
				t.Fatal(err)
			}
			swapped, err := e.st.CreateDeployment(t.Context(), slipway.Deployment{Site: "app", Status: slipway.DeploySuccess, ArtifactDir: v2.Dir})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.st.SetActiveDeployment(t.Context(), "app", swapped.ID); err != nil {
				t.Fatal(err)
			}
			st.op.Unlock()
			if err := e.c.Wait(t.Context(), "app"); err != nil {
				t.Fatal(err)
			}
			d, _ = e.st.GetDeployment(t.Context(), "app", d.ID)
			active, _ := e.st.ActiveDeployment(t.Context(), "app")
			if d.Status == slipway.DeploySuccess {
				if b, _ := os.ReadFile(filepath.Join(active.ArtifactDir, "version")); string(b) != "v2" {
					t.Errorf("the deployment succeeded on the version it copied before the swap: the active version is %q, the swap is undone", b)
				}
			} else if active.ID != swapped.ID {
				t.Errorf("after a failed deployment the active version is %s, not the swapped-in %s", active.ID, swapped.ID)
			}
		})
	}
}

// TestAttackFileDeployErrorsHideHostPaths: what a failed single-file
// deployment tells the deployer (its status and log) never names the
// server's data directory or the versions' directories in it.
func TestAttackFileDeployErrorsHideHostPaths(t *testing.T) {
	e := newFileEnv(t)
	// A link out of the app, as a build or release command can leave.
	if err := os.Symlink("/", filepath.Join(e.v1.Dir, "evil")); err != nil {
		t.Fatal(err)
	}
	d, err := e.deploy("x", FileTarget{Path: "robots.txt"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != slipway.DeployFailed {
		t.Fatalf("deployment = %+v; want failed (the active version holds a link out of the app)", d)
	}
	log, _ := e.st.DeploymentLog(t.Context(), d.Site, d.ID)
	text := d.StatusText
	for _, l := range log {
		text += "\n" + l.Message
	}
	for _, p := range []string{e.c.cfg.DataDir, e.v1.Dir} {
		if strings.Contains(text, p) {
			t.Errorf("the deployer is told the server's path %s:\n%s", p, text)
		}
	}
	e.want("v1||")
}

// TestAttackFileDeployModes: the copy of the active version and the new
// file keep no setuid or setgid bit, and the file is not world-writable.
func TestAttackFileDeployModes(t *testing.T) {
	e := newFileEnv(t)
	p := filepath.Join(e.v1.Dir, "suid")
	if err := os.WriteFile(p, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o755|os.ModeSetuid|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	d, err := e.deploy("#!/bin/sh\n", FileTarget{Path: "startup.sh", Startup: true}, false)
	if err != nil || d.Status != slipway.DeploySuccess {
		t.Fatalf("deployment = %+v, %v", d, err)
	}
	for name, want := range map[string]os.FileMode{"suid": 0o755, "startup.sh": 0o755} {
		fi, err := os.Stat(filepath.Join(d.ArtifactDir, name))
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v, %v; want %v", name, fi.Mode(), err, want)
		}
	}
}

// TestAttackFileDeployRaces: while one deployment runs, another single
// file or a zip is refused (ECONFLICT), never interleaved; and an
// oversized or empty upload leaves no temporary file behind.
func TestAttackFileDeployRaces(t *testing.T) {
	e := newFileEnv(t)
	st := e.c.state("app")
	st.op.Lock()
	first, err := e.c.Submit(t.Context(), e.site, strings.NewReader("a"), Options{Deployer: "OneDeploy", Restart: true, File: &FileTarget{Path: "a.txt"}})
	if err != nil {
		st.op.Unlock()
		t.Fatal(err)
	}
	_, err1 := e.c.Submit(t.Context(), e.site, strings.NewReader("b"), Options{Deployer: "OneDeploy", Restart: true, File: &FileTarget{Path: "b.txt"}})
	_, err2 := e.c.Submit(t.Context(), e.site, bytes.NewReader([]byte("PK")), Options{Deployer: "Push-Deployer", Restart: true})
	st.op.Unlock()
	for _, err := range []error{err1, err2} {
		if slipway.ErrorCode(err) != slipway.ECONFLICT {
			t.Errorf("a second deployment while one runs: %v; want ECONFLICT", err)
		}
	}
	if err := e.c.Wait(t.Context(), "app"); err != nil {
		t.Fatal(err)
	}
	if d, _ := e.st.GetDeployment(t.Context(), "app", first.ID); d.Status != slipway.DeploySuccess {
		t.Errorf("first deployment = %+v", d)
	}
	for _, body := range []string{"", strings.Repeat("x", 65)} {
		if _, err := e.c.Submit(t.Context(), e.site, strings.NewReader(body), Options{Deployer: "OneDeploy", File: &FileTarget{Path: "c.txt"}}); slipway.ErrorCode(err) != slipway.EINVALID {
			t.Errorf("upload of %d bytes: %v; want EINVALID", len(body), err)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(e.c.cfg.DataDir, "packages"))
	for _, ent := range ents {
		if strings.HasPrefix(ent.Name(), ".upload-") {
			t.Errorf("a temporary upload was left: %s", ent.Name())
		}
	}
}
