package deploy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReleaseCommand(t *testing.T) {
	django := t.TempDir()
	os.WriteFile(filepath.Join(django, "manage.py"), []byte(""), 0o644)
	migrate := []string{"python", "manage.py", "migrate", "--noinput"}
	tests := []struct {
		name     string
		settings map[string]string
		art      Artifact
		want     []string
	}{
		{"django app built: migrate", nil, Artifact{Dir: django, Django: true, VenvDir: "/v"}, migrate},
		{"not django: nothing", nil, Artifact{Dir: django, VenvDir: "/v"}, nil},
		{"no build: nothing to migrate with", nil, Artifact{Dir: django, Django: true}, nil},
		{"no manage.py", nil, Artifact{Dir: t.TempDir(), Django: true, VenvDir: "/v"}, nil},
		{"turned off", map[string]string{"SLIPWAY_RELEASE_COMMAND": "none"}, Artifact{Dir: django, Django: true, VenvDir: "/v"}, nil},
		{"turned off by empty value", map[string]string{"SLIPWAY_RELEASE_COMMAND": " "}, Artifact{Dir: django, Django: true, VenvDir: "/v"}, nil},
		{"replaced", map[string]string{"SLIPWAY_RELEASE_COMMAND": "python manage.py migrate && python manage.py loaddata x"}, Artifact{Dir: t.TempDir()},
			[]string{"/bin/sh", "-c", "python manage.py migrate && python manage.py loaddata x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, releaseCommand(tc.settings, tc.art)); diff != "" {
				t.Errorf("release command (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBoolSetting(t *testing.T) {
	m := map[string]string{"A": "True", "B": "0", "C": "maybe", "D": " yes "}
	for k, want := range map[string]bool{"A": true, "B": false, "C": false, "D": true, "missing": false} {
		if got := boolSetting(m, k, false); got != want {
			t.Errorf("%s: got %v, want %v", k, got, want)
		}
	}
	if !boolSetting(m, "C", true) {
		t.Errorf("an unparsable value should keep the default")
	}
}

func TestArtifactRecordRoundTrip(t *testing.T) {
	dir := t.TempDir()
	a := Artifact{Dir: dir, PythonVersion: "3.12.1", PythonPath: "/py/bin/python3", VenvDir: "/cache/v", Django: true}
	if err := WriteArtifact(a); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(t.TempDir(), "moved")
	os.Rename(dir, moved)
	got, err := ReadArtifact(moved)
	if err != nil {
		t.Fatal(err)
	}
	a.Dir = moved // the record follows its directory
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := ReadArtifact(t.TempDir()); err == nil {
		t.Errorf("reading a directory without a record succeeded")
	}
}
