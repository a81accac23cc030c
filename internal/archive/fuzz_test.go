package archive

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the FuzzExtract seed corpus in testdata")

// fuzzSeeds are the crafted packages FuzzExtract starts from: a normal
// project and one of each attack the other tests cover.
func fuzzSeeds(t testing.TB) map[string][]byte {
	link := func(name, target string) zent {
		return zent{name: name, body: target, mode: fs.ModeSymlink | 0o777}
	}
	project := zipBytes(t, []zent{
		{name: "manage.py", body: "#!/usr/bin/env python\n", mode: 0o755},
		{name: "mysite/"},
		{name: "mysite/settings.py", body: "DEBUG = False\n"},
		{name: "static/"},
		link("current", "mysite"),
		link("bin/start", "../manage.py"),
	})
	return map[string][]byte{
		"project":        project,
		"dotdot":         zipBytes(t, []zent{{name: "a/../../evil", body: "x"}}),
		"absolute":       zipBytes(t, []zent{{name: "/etc/evil", body: "x"}}),
		"backslash":      zipBytes(t, []zent{{name: `a\..\..\evil`, body: "x"}, {name: `C:\evil`, body: "x"}}),
		"nul":            zipBytes(t, []zent{{name: "evil\x00.py", body: "x"}}),
		"link-abs":       zipBytes(t, []zent{link("link", "/etc")}),
		"link-out":       zipBytes(t, []zent{link("a/link", "../../outside")}),
		"link-then-file": zipBytes(t, []zent{link("link", ".."), {name: "link/evil", body: "x"}}),
		"link-chain":     zipBytes(t, []zent{{name: "a/b/c/"}, link("a/b/c/d", "../../.."), link("e", "a/b/c/d/..")}),
		"link-dup":       zipBytes(t, []zent{link("l", "x"), {name: "l", body: "y"}}),
		"device":         zipBytes(t, []zent{{name: "sda", mode: fs.ModeDevice | 0o600}}),
		"liar":           zipBytes(t, []zent{lyingEntry(t, "liar.bin", make([]byte, 64<<10), 10)}),
		"truncated":      project[:len(project)/2],
		"not-zip":        []byte("hello, not a zip\n"),
	}
}

// TestFuzzSeedCorpus keeps testdata/fuzz/FuzzExtract in sync with
// fuzzSeeds; run with -update to rewrite it.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzExtract")
	for name, data := range fuzzSeeds(t) {
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
		p := filepath.Join(dir, "seed-"+name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("seed %s missing (run go test -run TestFuzzSeedCorpus -update): %v", name, err)
		}
		if string(got) != want {
			t.Errorf("seed %s is stale; run go test -run TestFuzzSeedCorpus -update", name)
		}
	}
}

// fuzzLimits keep each fuzz run small.
var fuzzLimits = Limits{MaxFiles: 1000, MaxTotalBytes: 1 << 20, MaxFileBytes: 1 << 20, MaxRatio: 200}

// FuzzExtract feeds arbitrary bytes to Extract and checks that it never
// panics, never writes outside the destination (which sits three folders
// below a watched folder holding a sentinel), returns only *Error for bad
// input, leaves no destination behind on error, and on success leaves only
// folders, regular files and links that resolve inside the destination.
func FuzzExtract(f *testing.F) {
	// The seeds live in testdata/fuzz/FuzzExtract (see TestFuzzSeedCorpus).
	f.Fuzz(func(t *testing.T, data []byte) {
		watched := t.TempDir()
		if err := os.WriteFile(filepath.Join(watched, "sentinel"), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		deep := filepath.Join(watched, "a", "b", "c")
		if err := os.MkdirAll(deep, 0o755); err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(deep, "dest")
		zipPath := filepath.Join(t.TempDir(), "p.zip")
		if err := os.WriteFile(zipPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		before := listTree(t, watched, true)

		_, err := Extract(t.Context(), zipPath, dest, fuzzLimits)

		after := listTree(t, watched, true)
		for p := range after {
			if p == "a/b/c/dest" || strings.HasPrefix(p, "a/b/c/dest/") {
				delete(after, p)
			}
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Fatalf("Extract wrote outside dest (err %v):\n%s", err, diff)
		}
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("bad input gave a non-*Error error: %v", err)
			}
			if _, serr := os.Lstat(dest); !errors.Is(serr, fs.ErrNotExist) {
				t.Fatalf("dest left behind after %v", err)
			}
			return
		}
		root, err := os.OpenRoot(dest)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		for p, n := range listTree(t, dest, false) {
			switch n.Type {
			case "dir", "file":
			case "link":
				if _, err := root.Stat(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("link %s -> %s does not stay inside dest: %v", p, n.Body, err)
				}
			default:
				t.Fatalf("%s is a %s", p, n.Type)
			}
		}
	})
}

// TestFuzzSeedsAreInteresting: the project seed extracts, the attack seeds
// are refused — so the seed corpus exercises both paths of FuzzExtract.
func TestFuzzSeedsAreInteresting(t *testing.T) {
	for name, data := range fuzzSeeds(t) {
		t.Run(name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "dest")
			_, err := Extract(t.Context(), writeBytes(t, data), dest, fuzzLimits)
			if (err == nil) != (name == "project") {
				t.Errorf("err = %v", err)
			}
		})
	}
}
