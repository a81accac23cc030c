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
