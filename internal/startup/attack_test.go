package startup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Detect runs in the server, as root, on the instance's copy of the app
// before the sandbox starts. The startup command is the site owner's and
// the app's files are the app's: neither may make the server read or
// change a file outside the app (docs/style.md §14).

// secretFile writes a host file outside every app: a first line that must
// never reach an app's log, and mode 0644 that must stay so.
func secretFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte("SECRET-FIRST-LINE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkUntouched(t *testing.T, p Plan, secret string) {
	t.Helper()
	for _, m := range append(append([]string{}, p.Messages...), p.CommandLine, strings.Join(p.Argv, " ")) {
		if strings.Contains(m, "SECRET-FIRST-LINE") {
			t.Errorf("the plan holds a host file's content: %q", m)
		}
	}
	if fi, err := os.Stat(secret); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("the host file %s was changed: %v, %v", secret, fi.Mode(), err)
	}
}

// TestAttackStartupCommandNamesHostFile: a startup command naming a file
// outside the app, by an absolute path or through a link the app holds,
// is never read (its first line would be logged as the command) nor made
// executable by the server.
func TestAttackStartupCommandNamesHostFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  func(app, secret string) string
	}{
		{"absolute file", func(app, secret string) string { return secret }},
		{"absolute script", func(app, secret string) string { return secret }},
		{"link to a file", func(app, secret string) string {
			os.Symlink(secret, filepath.Join(app, "conf.txt"))
			return "conf.txt"
		}},
		{"link to a script", func(app, secret string) string {
			os.Symlink(secret, filepath.Join(app, "run.sh"))
			return "run.sh"
		}},
		{"parent is a link", func(app, secret string) string {
			os.Symlink(filepath.Dir(secret), filepath.Join(app, "lib"))
			return "lib/" + filepath.Base(secret)
		}},
		{"dot-dot", func(app, secret string) string {
			rel, _ := filepath.Rel(app, secret)
			return rel
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "shadow"
			if strings.Contains(tc.name, "script") {
				name = "host.sh"
			}
			secret := secretFile(t, name)
			app := t.TempDir()
			p, err := Detect(Options{AppPath: app, StartupCommand: tc.cmd(app, secret)})
			if err != nil {
				t.Logf("refused: %v", err)
			}
			checkUntouched(t, p, secret)
		})
	}
}

// TestAttackStartupScriptThroughLink: a startup script recorded at a path
// that goes through a link out of the app (the environment's antenv link
// is one) is not chmodded by the server.
func TestAttackStartupScriptThroughLink(t *testing.T) {
	secret := secretFile(t, "run.sh")
	app := t.TempDir()
	if err := os.Symlink(filepath.Dir(secret), filepath.Join(app, "antenv")); err != nil {
		t.Fatal(err)
	}
	p, err := Detect(Options{AppPath: app, StartupScript: "antenv/run.sh"})
	if err == nil {
		t.Errorf("a startup script through a link out of the app was accepted: %q", p.Argv)
	}
	checkUntouched(t, p, secret)
}

// TestStartupCommandAbsoluteInApp: an absolute path inside the app still
// names the app's file.
func TestStartupCommandAbsoluteInApp(t *testing.T) {
	app := t.TempDir()
	if err := os.WriteFile(filepath.Join(app, "startup.txt"), []byte("gunicorn app:app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Detect(Options{AppPath: app, StartupCommand: filepath.Join(app, "startup.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if want := `PATH="$PATH:$APP_PATH" gunicorn app:app`; p.Argv[2] != want {
		t.Errorf("argv = %q, want the file's first line %q", p.Argv, want)
	}
}
