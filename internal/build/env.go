package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// envFormat is mixed into every environment key. Bump it whenever the way an
// environment is built changes, so old cache entries are not reused.
const envFormat = "slipway-python-env-v1"

// venvName is the venv directory name App Service uses (docs/appservice.md §3:
// "-p virtualenv_name=antenv").
const venvName = "antenv"

// completeMarker is written (atomically, last) into
// <CacheDir>/scopes/<scope>/venvs/<key>/ once the environment is fully built
// and sealed. A directory without it is incomplete.
const completeMarker = "slipway-env-complete"

// depsMode says how dependencies are installed (docs/appservice.md §3 step 4).
type depsMode int

const (
	depsNone         depsMode = iota // nothing to install
	depsRequirements                 // pip install -r <file>
	depsProject                      // pip install . (setup.py or pyproject.toml)
)

// envSpec is everything that determines an environment.
type envSpec struct {
	Interp   Interpreter
	Mode     depsMode
	ReqFile  string   // relative path of the requirements file (depsRequirements)
	ReqText  string   // its content
	Pyproj   string   // pyproject.toml content, when used
	SetupPy  string   // setup.py content, when used
	Project  string   // hash of the whole tree, when the environment depends on app files (pip install ., -r other.txt, local paths)
	Editable string   // the artifact path, when requirements hold an editable install (never reused)
	PipEnv   []string // PIP_* settings
	// Generation is the scope's generation (RetireScope); "" for a scope
	// never retired, whose keys it leaves as they were.
	Generation string
}

// key returns the hex sha256 of the spec, with length-prefixed fields so
// that no two specs can collide by concatenation.
func (s envSpec) key() string {
	h := sha256.New()
	field := func(name, v string) {
		fmt.Fprintf(h, "%s %d\n%s\n", name, len(v), v)
	}
	field("format", envFormat)
	field("python-version", s.Interp.Version)
	field("python-path", s.Interp.Path)
	field("mode", fmt.Sprint(int(s.Mode)))
	// ReqFile's path is left out on purpose: the same text installs the same
	// packages wherever it lives (nested -r files switch on Project).
	field("requirements", s.ReqText)
	field("pyproject", s.Pyproj)
	field("setup.py", s.SetupPy)
	field("project-tree", s.Project)
	field("editable", s.Editable)
	env := slices.Clone(s.PipEnv)
	slices.Sort(env)
	for _, kv := range env {
		field("env", kv)
	}
	if s.Generation != "" {
		field("scope-generation", s.Generation)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// pipSettings returns the settings that change what pip installs (PIP_*),
// as sorted KEY=value pairs; they are part of the environment key.
func pipSettings(settings map[string]string) []string {
	var out []string
	for k, v := range settings {
		if strings.HasPrefix(strings.ToUpper(k), "PIP_") {
			out = append(out, k+"="+v)
		}
	}
	slices.Sort(out)
	return out
}

// treeHash hashes the names, modes and contents of every regular file and
// symlink under root (skipping dirs skipDir skips). It is used for
// `pip install .` apps, whose environment contains a copy of the app.
func treeHash(root string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && skipDir(root, rel, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "L %q %q\n", rel, link)
		case info.Mode().IsRegular():
			// Streamed: the app's code wrote this tree and can leave a
			// sparse file of any size in it.
			sum, err := fileHash(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "F %q %o %x\n", rel, info.Mode().Perm(), sum)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hashing source tree: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fileHash hashes the regular file at path without following a symlink
// or blocking on a FIFO put in its place.
func fileHash(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// lockFile takes an exclusive flock on path, polling so that ctx can cancel
// the wait. waiting is called once if the lock is held by someone else.
// flock locks belong to the open file, so this also excludes other builds in
// the same process.
func lockFile(ctx context.Context, path string, waiting func()) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				// Closing the file releases the lock.
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if !told && waiting != nil {
			waiting()
			told = true
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
}
