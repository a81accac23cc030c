package deploy

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/build"
)

// TestParseDeploymentFile: the [config] section read as Kudu's IniFile
// reads it — names without case, trimmed, the last of a key winning, other
// sections and stray lines ignored, quotes kept.
func TestParseDeploymentFile(t *testing.T) {
	got := parseDeploymentFile("ignored=before any section\n[other]\nX=1\n  [ Config ]  \r\nSCM_DO_BUILD_DURING_DEPLOYMENT = true\r\n" +
		"no equals sign\n=empty key\nPOST_BUILD_COMMAND=python manage.py check --deploy\nscm_do_build_during_deployment=1\n" +
		"PRE_BUILD_COMMAND=\"\"\n[]\nKEPT=yes\n[more]\nY=2\n")
	want := deploymentFile{"scm_do_build_during_deployment": "1", "POST_BUILD_COMMAND": "python manage.py check --deploy",
		"PRE_BUILD_COMMAND": `""`, "KEPT": "yes"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("parsed (-want +got):\n%s", d)
	}
}

// TestDeploymentFileBuildDecision: the caller's choice, then the app
// setting, then the file, then the deployer's default.
func TestDeploymentFileBuildDecision(t *testing.T) {
	yes, no := true, false
	on := deploymentFile{"scm_do_build_during_deployment": "true"}
	off := deploymentFile{"SCM_DO_BUILD_DURING_DEPLOYMENT": "0"}
	for _, c := range []struct {
		name     string
		f        deploymentFile
		o        Options
		settings map[string]string
		want     bool
	}{
		{"file turns a zip's build on", on, Options{}, nil, true},
		{"file turns git's build off", off, Options{BuildByDefault: true}, nil, false},
		{"the app setting wins over the file", on, Options{}, map[string]string{"SCM_DO_BUILD_DURING_DEPLOYMENT": "false"}, false},
		{"an app setting in another case wins too", on, Options{}, map[string]string{"scm_do_build_during_deployment": "false"}, false},
		{"the caller wins over both", on, Options{Build: &no}, map[string]string{"SCM_DO_BUILD_DURING_DEPLOYMENT": "true"}, false},
		{"the caller wins over the default", nil, Options{Build: &yes}, nil, true},
		{"no file: the default", deploymentFile{}, Options{BuildByDefault: true}, nil, true},
		{"a value that is no boolean: the default", deploymentFile{"SCM_DO_BUILD_DURING_DEPLOYMENT": "maybe"}, Options{}, nil, false},
	} {
		if got := c.f.build(c.o, c.settings); got != c.want {
			t.Errorf("%s: build = %v", c.name, got)
		}
	}
	under := on.under(map[string]string{"Scm_Do_Build_During_Deployment": "false", "A": "1"})
	if d := cmp.Diff(map[string]string{"Scm_Do_Build_During_Deployment": "false", "A": "1"}, under); d != "" {
		t.Errorf("under: app settings win whatever their case (-want +got):\n%s", d)
	}
}

// TestAttack_DeploymentFileConfined: the file is the app's: a symlink to a
// file of the server's, a directory, a FIFO (which would block a read) or
// a huge file is refused with a reason, never followed or read in full.
func TestAttack_DeploymentFileConfined(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "server-secret")
	if err := os.WriteFile(secret, []byte("[config]\nSCM_DO_BUILD_DURING_DEPLOYMENT=true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, says string
		make       func(path string) error
	}{
		{"symlink out", "symbolic link", func(p string) error { return os.Symlink(secret, p) }},
		{"directory", "directory", func(p string) error { return os.Mkdir(p, 0o755) }},
		{"fifo", "special file", func(p string) error { return mkfifo(p) }},
		{"huge", "larger than 64 KiB", func(p string) error {
			return os.WriteFile(p, []byte("[config]\n"+strings.Repeat("A=B\n", 20000)), 0o644)
		}},
	} {
		src := t.TempDir()
		if err := c.make(filepath.Join(src, ".deployment")); err != nil {
			t.Fatal(err)
		}
		f, err := readDeploymentFile(src)
		if err == nil || !strings.Contains(err.Error(), c.says) || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: %v, %v; want a refusal saying %q", c.name, f, err, c.says)
		}
	}
	// A regular file is read, and it and .deploy.sh leave the package.
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, ".deployment"), []byte("[config]\nA=1\n"), 0o644)
	os.WriteFile(filepath.Join(src, ".deploy.sh"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(src, "app.py"), nil, 0o644)
	f, err := readDeploymentFile(src)
	if err != nil || f["A"] != "1" {
		t.Fatalf("a regular file: %v, %v", f, err)
	}
	if got := files(t, src); len(got) != 1 || got[0] != "app.py" {
		t.Errorf("the package after reading: %q; want app.py alone", got)
	}
}

// settingsBuilder records the settings each build ran with.
type settingsBuilder struct {
	sourceBuilder
	mu       sync.Mutex
	settings []map[string]string
}

func (b *settingsBuilder) Build(ctx context.Context, req build.Request) (build.Result, error) {
	b.mu.Lock()
	b.settings = append(b.settings, maps.Clone(req.Settings))
	b.mu.Unlock()
	return b.sourceBuilder.Build(ctx, req)
}

// settingsPlanner hands the build the snapshot's settings, as the server's
// planner does.
type settingsPlanner struct{ buildPlanner }

func (settingsPlanner) BuildSettings(s Snapshot) map[string]string { return maps.Clone(s.Settings) }

// TestDeploymentFileDrivesTheBuild: a zip whose .deployment sets
// SCM_DO_BUILD_DURING_DEPLOYMENT=true is built without the app setting (as
// Kudu builds it), its other lines reach the build's environment under the
// app's settings, the file is not deployed, and a file naming a custom
// deployment script fails the deployment with a reason while the previous
// version keeps its place.
func TestDeploymentFileDrivesTheBuild(t *testing.T) {
	e := newFileEnv(t)
	b := &settingsBuilder{sourceBuilder: sourceBuilder{venv: t.TempDir(), t: t}}
	e.c.cfg.Builder, e.c.cfg.Planner = b, settingsPlanner{}
	if err := e.st.SetSettings(t.Context(), "rg", "app", map[string]string{"DISABLE_COLLECTSTATIC": "false"}); err != nil {
		t.Fatal(err)
	}
	d := e.zip(map[string]string{"version": "v1", "requirements.txt": "flask\n",
		".deployment": "[config]\nSCM_DO_BUILD_DURING_DEPLOYMENT=true\nPOST_BUILD_COMMAND=echo built\nDISABLE_COLLECTSTATIC=true\n"}, false)
	if d.Status != slipway.DeploySuccess || !d.Build {
		t.Fatalf("deployment = %+v\n%s", d, e.logText(d.ID))
	}
	if len(b.settings) != 1 || b.settings[0]["POST_BUILD_COMMAND"] != "echo built" || b.settings[0]["DISABLE_COLLECTSTATIC"] != "false" {
		t.Errorf("the build's settings: %v; want the file's POST_BUILD_COMMAND and the app's DISABLE_COLLECTSTATIC", b.settings)
	}
	if _, err := os.Lstat(filepath.Join(d.ArtifactDir, ".deployment")); !os.IsNotExist(err) {
		t.Errorf(".deployment was deployed: %v", err)
	}
	if !strings.Contains(e.logText(d.ID), "Read the package's .deployment file") {
		t.Errorf("the log does not say the file was read:\n%s", e.logText(d.ID))
	}

	bad := e.zip(map[string]string{"version": "v2", ".deployment": "[config]\ncommand = bash deploy.sh\n"}, false)
	if bad.Status != slipway.DeployFailed || !strings.Contains(bad.StatusText, "custom deployment script") {
		t.Fatalf("a custom script: %+v", bad)
	}
	if len(b.settings) != 1 {
		t.Error("a package naming a custom script was built")
	}
	if active, err := e.st.ActiveDeployment(t.Context(), "app"); err != nil || active.ID != d.ID {
		t.Errorf("active deployment after the refusal: %+v, %v; want %s", active, err, d.ID)
	}
}

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }
