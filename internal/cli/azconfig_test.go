package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUpDefaultsRoundTrip checks .azure/config as az writes it
// (docs/appservice.md §13: [defaults] group, sku, appserviceplan, location, web).
func TestUpDefaultsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if got, err := readUpDefaults(dir); err != nil || got != (upDefaults{}) {
		t.Fatalf("no file: got %+v, %v; want empty defaults", got, err)
	}
	d := upDefaults{Group: "alice_rg_0042", SKU: "B1", Plan: "alice_asp_0042", Location: "westeurope", Web: "calm-lake-0123"}
	if err := writeUpDefaults(dir, d); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, ".azure", "config"))
	if err != nil {
		t.Fatal(err)
	}
	want := "[defaults]\ngroup = alice_rg_0042\nsku = B1\nappserviceplan = alice_asp_0042\nlocation = westeurope\nweb = calm-lake-0123\n\n"
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
	got, err := readUpDefaults(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// TestUpDefaultsKeepsOtherKeys: az's local config can hold other sections
// and keys (e.g. [core] output); writing defaults must keep them.
func TestUpDefaultsKeepsOtherKeys(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, ".azure", "config")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	in := "# written by hand\n[core]\noutput = table\n\n[defaults]\nGroup=old_rg\nfunctionapp: fa1\n"
	if err := os.WriteFile(p, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readUpDefaults(dir)
	if err != nil || got.Group != "old_rg" {
		t.Fatalf("read %+v, %v; want group old_rg (keys are case-insensitive)", got, err)
	}
	if err := writeUpDefaults(dir, upDefaults{Group: "rg", SKU: "F1", Plan: "p", Location: "westeurope", Web: "w"}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	want := "[core]\noutput = table\n\n[defaults]\ngroup = rg\nfunctionapp = fa1\nsku = F1\nappserviceplan = p\nlocation = westeurope\nweb = w\n\n"
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

func TestUpDefaultsBadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, ".azure", "config")
	_ = os.MkdirAll(filepath.Dir(p), 0o755)
	_ = os.WriteFile(p, []byte("key without section = 1\n"), 0o644)
	_, err := readUpDefaults(dir)
	ee, ok := err.(*ExitError)
	if !ok || ee.Hint == "" {
		t.Errorf("err = %v, want an ExitError with a hint", err)
	}
}

// TestConfiguredDefault checks where a missing -g or -n comes from, in
// knack's order: AZURE_DEFAULTS_<KEY>, the nearest .azure/config from the
// current folder up (what `webapp up` writes; Microsoft's Python quickstart
// then runs `az webapp log tail` with no arguments), the global config.
func TestConfiguredDefault(t *testing.T) {
	root := t.TempDir()
	write := func(dir, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, ".azure"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".azure", "config"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	project, home := filepath.Join(root, "project"), filepath.Join(root, "home")
	write(project, "[defaults]\ngroup = up_rg\nweb = upapp\n")
	write(home, "[defaults]\ngroup = global_rg\nlocation = westus2\n")
	write(filepath.Join(root, "broken"), "not ini at all\n")
	sub := filepath.Join(project, "app", "templates")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, pwd, key, want string
		env                  []string
	}{
		{name: "project folder", pwd: project, key: "web", want: "upapp"},
		{name: "a folder below it", pwd: sub, key: "group", want: "up_rg"},
		{name: "global when the folder has none", pwd: sub, key: "location", want: "westus2"},
		{name: "global outside the project", pwd: root, key: "group", want: "global_rg"},
		{name: "environment first", pwd: project, key: "group", env: []string{"AZURE_DEFAULTS_GROUP=env_rg"}, want: "env_rg"},
		{name: "AZURE_CONFIG_DIR replaces ~/.azure", pwd: root, key: "group", env: []string{"AZURE_CONFIG_DIR=" + filepath.Join(root, "none")}, want: ""},
		{name: "an unparsable file sets nothing", pwd: filepath.Join(root, "broken"), key: "web", want: ""},
		{name: "unset", pwd: project, key: "appserviceplan", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := defaultRunner(append([]string{"PWD=" + tt.pwd, "HOME=" + home}, tt.env...), nil, nil, nil)
			if got := r.configuredDefault(tt.key); got != tt.want {
				t.Errorf("configuredDefault(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}
