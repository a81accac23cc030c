package tree

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// build makes a tree from a spec: "name" → content, "name/" → a
// directory, "name@" → a link to the content.
func build(t *testing.T, spec map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	names := make([]string, 0, len(spec))
	for n := range spec {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := filepath.Join(dir, strings.TrimRight(n, "/@"))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasSuffix(n, "/"):
			err = os.Mkdir(p, 0o755)
		case strings.HasSuffix(n, "@"):
			err = os.Symlink(spec[n], p)
		default:
			err = os.WriteFile(p, []byte(spec[n]), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// list returns a tree as its spec.
func list(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			out[rel+"@"], _ = os.Readlink(p)
		case d.IsDir():
			out[rel+"/"] = ""
		default:
			b, _ := os.ReadFile(p)
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

// TestFill: dst keeps its entries and gains those of src it lacks;
// directories in both merge; a file or a link of dst wins over src's.
func TestFill(t *testing.T) {
	src := build(t, map[string]string{
		"keep.txt": "old", "changed.txt": "old", "dir/": "", "dir/a": "a", "dir/deep/b": "b",
		"link@": "dir/a", "relinked@": "keep.txt", "file-then-link": "old", "skip.me": "x", "empty/": "",
	})
	dst := build(t, map[string]string{
		"changed.txt": "new", "dir/c": "c", "relinked@": "changed.txt", "file-then-link@": "dir/c", "new/x": "x",
	})
	n, err := Fill(t.Context(), src, dst, Options{Skip: func(rel string, _ fs.DirEntry) bool { return rel == "skip.me" }})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"keep.txt": "old", "changed.txt": "new", "dir/": "", "dir/a": "a", "dir/c": "c", "dir/deep/": "", "dir/deep/b": "b",
		"link@": "dir/a", "relinked@": "changed.txt", "file-then-link@": "dir/c", "new/": "", "new/x": "x", "empty/": "",
	}
	got := list(t, dst)
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %q (present %v); want %q", k, g, ok, v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s", k)
		}
	}
	// Added: keep.txt, dir/a, dir/deep, dir/deep/b, link, empty.
	if n.Entries != 6 || n.Bytes != int64(len("old")+len("a")+len("b")) {
		t.Errorf("count = %+v", n)
	}
}

// TestAttackFillConflicts: where one tree has a directory and the other
// does not, nothing merges. Above all a link of src never has dst's
// directory merged into it — that would write through the link — and a
// link of dst is never filled through.
func TestAttackFillConflicts(t *testing.T) {
	outside := t.TempDir()
	tests := []struct {
		name     string
		src, dst map[string]string
		path     string
	}{
		{"src link out of the tree, dst directory", map[string]string{"l@": outside}, map[string]string{"l/slipway-fill-escape": "x"}, "l"},
		{"src link up the tree, dst directory", map[string]string{"l@": "../.."}, map[string]string{"l/slipway-fill-escape": "x"}, "l"},
		{"src link inside, dst directory", map[string]string{"d/": "", "l@": "d"}, map[string]string{"l/slipway-fill-escape": "x"}, "l"},
		{"src file, dst directory", map[string]string{"f": "x"}, map[string]string{"f/x": "x"}, "f"},
		{"src directory, dst file", map[string]string{"d/a": "a"}, map[string]string{"d": "x"}, "d"},
		{"src directory, dst link out of the tree", map[string]string{"d/a": "a"}, map[string]string{"d@": outside}, "d"},
		{"src directory, dst link inside", map[string]string{"d/a": "a", "e/": ""}, map[string]string{"d@": "e", "e/": ""}, "d"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := build(t, tc.src), build(t, tc.dst)
			_, err := Fill(t.Context(), src, dst, Options{})
			var c *ConflictError
			if !errors.As(err, &c) || c.Path != tc.path {
				t.Fatalf("err = %v; want a conflict at %s", err, tc.path)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Errorf("written outside the tree: %v", ents)
			}
			for _, p := range []string{filepath.Join(src, "..", "..", "slipway-fill-escape"), filepath.Join(dst, "e", "a")} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("written through a link: %s", p)
				}
			}
		})
	}
}

// TestFillRefusesEscapingSymlink: a link src would add that leaves the
// tree is refused by the policy, as Copy refuses it.
func TestFillRefusesEscapingSymlink(t *testing.T) {
	src := build(t, map[string]string{"l@": "/etc"})
	_, err := Fill(t.Context(), src, t.TempDir(), Options{})
	if err == nil || !strings.Contains(err.Error(), "points outside") {
		t.Fatalf("err = %v", err)
	}
}

// TestFillBudget: Fill stops before what it adds would pass its budget —
// an entry too many, or a file whose content would — and never writes the
// file that would, so a source larger than the budget is not copied out
// first and judged after.
func TestFillBudget(t *testing.T) {
	src := build(t, map[string]string{"a": "1234", "b": "5678", "c/": ""})
	tests := []struct {
		name   string
		budget Count
		err    bool
		want   map[string]string
	}{
		{"enough", Count{Entries: 3, Bytes: 8}, false, map[string]string{"a": "1234", "b": "5678", "c/": ""}},
		{"an entry too many", Count{Entries: 2, Bytes: 8}, true, map[string]string{"a": "1234", "b": "5678"}},
		{"a byte too many", Count{Entries: 3, Bytes: 7}, true, map[string]string{"a": "1234"}},
		{"nothing", Count{}, true, map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := t.TempDir()
			_, err := Fill(t.Context(), src, dst, Options{Budget: &tc.budget})
			if tc.err != errors.Is(err, ErrBudget) {
				t.Errorf("Fill = %v; want ErrBudget: %v", err, tc.err)
			}
			if got := list(t, dst); !maps.Equal(got, tc.want) {
				t.Errorf("dst = %v; want %v", got, tc.want)
			}
		})
	}
}

// TestFillAsksForRoom: Fill asks Room for each regular file's size before
// writing it, and stops at its first refusal without writing that file.
func TestFillAsksForRoom(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "small"), []byte("ab"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "big"), make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	full := errors.New("no room")
	var asked []int64
	_, err := Fill(context.Background(), src, dst, Options{Room: func(n int64) error {
		asked = append(asked, n)
		if n > 100 {
			return full
		}
		return nil
	}})
	if !errors.Is(err, full) {
		t.Fatalf("Fill: %v; want the refusal", err)
	}
	if _, err := os.Stat(filepath.Join(dst, "big")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused file was written: %v", err)
	}
	if len(asked) == 0 || asked[0] != 4096 && (len(asked) < 2 || asked[1] != 4096) {
		t.Errorf("Room was asked %v; want the files' sizes", asked)
	}
}
