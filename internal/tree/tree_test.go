package tree

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCopy(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "pkg", "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "pkg", "run.sh"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(src, "pkg", "sub", "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(src, "skip.me"), []byte("x"), 0o644)
	os.Symlink("sub/a.txt", filepath.Join(src, "pkg", "link"))
	os.Chmod(filepath.Join(src, "pkg", "sub"), 0o555)
	t.Cleanup(func() { os.Chmod(filepath.Join(src, "pkg", "sub"), 0o755) })

	dst := filepath.Join(t.TempDir(), "out")
	err := Copy(context.Background(), src, dst, Options{Skip: func(rel string, d fs.DirEntry) bool { return rel == "skip.me" }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(dst, "pkg", "sub"), 0o755) })
	if b, _ := os.ReadFile(filepath.Join(dst, "pkg", "link")); string(b) != "a" {
		t.Errorf("in-tree symlink not kept: %q", b)
	}
	if l, _ := os.Readlink(filepath.Join(dst, "pkg", "link")); l != "sub/a.txt" {
		t.Errorf("symlink target = %q", l)
	}
	if fi, _ := os.Stat(filepath.Join(dst, "pkg", "run.sh")); fi.Mode().Perm() != 0o755 {
		t.Errorf("mode of run.sh = %v", fi.Mode())
	}
	if fi, _ := os.Stat(filepath.Join(dst, "pkg", "sub")); fi.Mode().Perm() != 0o755|0o555 {
		t.Errorf("mode of sub = %v", fi.Mode())
	}
	if _, err := os.Stat(filepath.Join(dst, "skip.me")); err == nil {
		t.Errorf("skipped file was copied")
	}
}

func TestCopyRefusesEscapingSymlink(t *testing.T) {
	for _, target := range []string{"/etc/passwd", "../../outside", "a/../../x"} {
		src := t.TempDir()
		os.Symlink(target, filepath.Join(src, "link"))
		err := Copy(context.Background(), src, filepath.Join(t.TempDir(), "out"), Options{})
		if err == nil || !strings.Contains(err.Error(), "points outside") {
			t.Errorf("symlink to %s: err = %v", target, err)
		}
	}
	// A policy can allow a known absolute link (an artifact's antenv).
	src := t.TempDir()
	os.Symlink("/cache/venv", filepath.Join(src, "antenv"))
	err := Copy(context.Background(), src, filepath.Join(t.TempDir(), "out"), Options{Symlink: func(rel, target string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
}

// TestChown: every entry is given to the user, and a symlink is chowned
// itself, never the file it points to (outside the tree).
func TestChown(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	root, outside := t.TempDir(), filepath.Join(t.TempDir(), "outside")
	os.WriteFile(outside, []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(root, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(root, "a", "b", "f"), []byte("y"), 0o644)
	os.Symlink(outside, filepath.Join(root, "link"))
	if err := Chown(root, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{root, filepath.Join(root, "a"), filepath.Join(root, "a", "b", "f"), filepath.Join(root, "link")} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 {
			t.Errorf("%s is %d:%d, want 65534:65534", p, st.Uid, st.Gid)
		}
	}
	fi, _ := os.Stat(outside)
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 {
		t.Errorf("Chown followed the symlink: the file outside is now uid %d", st.Uid)
	}
}

// TestCopyKeepsModificationTimes: a copied file keeps its source's
// modification time, which Python compares with its cached bytecode's.
func TestCopyKeepsModificationTimes(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "out")
	f := filepath.Join(src, "mod.py")
	if err := os.WriteFile(f, []byte("x = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := os.Chtimes(f, old, old); err != nil {
		t.Fatal(err)
	}
	if err := Copy(context.Background(), src, dst, Options{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dst, "mod.py"))
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(old) {
		t.Errorf("the copy's modification time is %v, want the source's %v", fi.ModTime(), old)
	}
}
