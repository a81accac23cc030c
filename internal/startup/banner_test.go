package startup

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBanner: the lines App Service's Python container prints at start, as
// its log stream shows them (docs/appservice.md §4, step 1), with the
// instance's Python version.
func TestBanner(t *testing.T) {
	const golden = "testdata/banner-3.12.12.txt"
	got := strings.Join(Banner("3.12.12"), "\n") + "\n"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("banner mismatch (-want +got); run with -update if the change is intended:\n%s", diff)
	}
}
