package build

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestAttackSparseFileInProject: a project installed with `pip install .`
// is hashed after PRE_BUILD_COMMAND, the app's code, has run in it. That
// command can leave a sparse file of any size at no cost (truncate -s
// 64G); hashing it must not read it into the server's memory, which for a
// large enough file kills the server.
func TestAttackSparseFileInProject(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "setup.py"), []byte("from setuptools import setup\nsetup()\n"), 0o644)
	const size = 256 << 20
	f, err := os.Create(filepath.Join(dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := treeHash(dir); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > size/8 {
		t.Errorf("hashing a %d MB sparse file allocated %d MB", size>>20, grew>>20)
	}
}

// TestAttackHugeRequirements: requirements.txt is read after
// PRE_BUILD_COMMAND, which can make it a huge sparse file or a FIFO; the
// server reads neither into memory nor waits on it.
func TestAttackHugeRequirements(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "requirements.txt"), nil, 0o644)
	os.Truncate(filepath.Join(dir, "requirements.txt"), 256<<20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := readLocal(dir, "requirements.txt")
	runtime.ReadMemStats(&after)
	if err == nil || after.TotalAlloc-before.TotalAlloc > 32<<20 {
		t.Errorf("a 256 MB requirements.txt: err = %v, allocated %d MB", err, (after.TotalAlloc-before.TotalAlloc)>>20)
	}
	os.Remove(filepath.Join(dir, "requirements.txt"))
	syscall.Mkfifo(filepath.Join(dir, "requirements.txt"), 0o644)
	done := make(chan error, 1)
	go func() { _, _, err := readLocal(dir, "requirements.txt"); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("a FIFO read as requirements.txt")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO named requirements.txt blocks")
	}
}
