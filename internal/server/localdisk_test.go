package server

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestAttackMirrorHalfRemoved: a mirror of an environment no instance
// uses is removed when the next instance starts, and removing thousands of
// files is not atomic. A removal cut short — the server killed in the
// middle, or a file it could not remove — must never leave a partial
// mirror that the next instance of that version takes for whole (the
// first mount of a server's life keeps mirrors): its instances would run
// with modules missing.
func TestAttackMirrorHalfRemoved(t *testing.T) {
	ctx := t.Context()
	env := func(names ...string) string {
		dir := t.TempDir()
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o444); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	venvA, venvB := env("a1.py", "a2.py", "a3.py"), env("b.py")
	runDir := t.TempDir()
	l := newLocalDisk(nil, "")
	_, release, err := l.mirror(ctx, runDir, venvA)
	if err != nil {
		t.Fatal(err)
	}
	release() // version A's last instance ends
	l.removeAll = func(p string) error {
		// The server dies after the first file.
		names, _ := os.ReadDir(p)
		if len(names) > 0 {
			os.Remove(filepath.Join(p, names[0].Name()))
		}
		return errors.New("killed")
	}
	if _, _, err := l.mirror(ctx, runDir, venvB); err != nil { // sweeps A's
		t.Fatal(err)
	}
	l.removeAll = os.RemoveAll
	m, _, err := l.mirror(ctx, runDir, venvA) // version A starts again
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	ents, _ := os.ReadDir(m)
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if want := []string{"a1.py", "a2.py", "a3.py"}; !slices.Equal(got, want) {
		t.Errorf("the mirror of A holds %v; want %v", got, want)
	}
}
