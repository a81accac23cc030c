package build

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
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
