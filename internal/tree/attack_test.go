package tree

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAttackSymlinkThroughSelfLink: "a -> ." stays in the tree, and so does
// "up -> a/a/../.." judged lexically; but the kernel resolves a/a to the
// tree's own root and the two ".." then climb out of it. An app's build or
// release step makes such links, and the server (root) follows them in the
// instance's copy (startup detection stats and reads files there).
func TestAttackSymlinkThroughSelfLink(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("host file"), 0o600)
	src := filepath.Join(outside, "app")
	os.Mkdir(src, 0o755)
	os.Symlink(".", filepath.Join(src, "a"))
	os.Mkdir(filepath.Join(src, "sub"), 0o755)
	for name, target := range map[string]string{
		"up":        "a/a/..",        // the tree's parent
		"sub/up":    "../a/a/../..",  // the same from a subdirectory
		"sub/up2":   "../sub/a/../x", // through a link that does not exist yet
		"app.py":    "a/a/../secret",
		"sub/x.txt": "../a/../a/../secret",
	} {
		os.Symlink(target, filepath.Join(src, name))
		err := InTree(name, target)
		if err == nil {
			t.Errorf("InTree keeps %s -> %s", name, target)
		}
	}
	dst := filepath.Join(outside, "copy")
	err := Copy(context.Background(), src, dst, Options{})
	if err == nil || !strings.Contains(err.Error(), "points outside") {
		t.Errorf("Copy of a tree with escaping links: err = %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "app.py")); err == nil {
		t.Errorf("the copy's app.py reads a file outside it: %q", b)
	}
	// Links that only go down, or up within the tree without a link before
	// the "..", stay (a venv's lib64 -> lib, a package's ../shared/x).
	for name, target := range map[string]string{"lib64": "lib", "sub/y": "../lib/x", "b": "./lib", "sub/z": "./../lib/x"} {
		if err := InTree(name, target); err != nil {
			t.Errorf("InTree refuses %s -> %s: %v", name, target, err)
		}
	}
}
