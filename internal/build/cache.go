package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/slipway-dev/slipway/internal/atomicfile"
)

// PlatformScope is the cache scope of builds whose Request.Scope is empty:
// the platform's own builds, such as the default site.
const PlatformScope = "_platform"

// maxScopeLen bounds a scope name (App Service app names have at most 60
// characters).
const maxScopeLen = 128

// ValidateScope reports whether scope can name a cache namespace: lower-case
// letters, digits, '-', '_' and '.', not "." or "..", and no "..". The empty
// string is valid and means PlatformScope.
func ValidateScope(scope string) error {
	if scope == "" {
		return nil
	}
	if len(scope) > maxScopeLen {
		return fmt.Errorf("cache scope %q is longer than %d characters", scope, maxScopeLen)
	}
	for _, r := range scope {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("cache scope %q may contain only lower-case letters, digits, '-', '_' and '.'", scope)
		}
	}
	if scope == "." || strings.Contains(scope, "..") {
		return fmt.Errorf("cache scope %q must not be \".\" or contain \"..\"", scope)
	}
	return nil
}

// scopeDir is <CacheDir>/scopes/<scope>, the namespace of one app's builds:
// its environments (venvs/) and pip's download cache (pip/). A build can
// write only into its own scope's pip cache and into the environment it is
// building, so a poisoned build affects only its own app.
func (b *Builder) scopeDir(scope string) string {
	if scope == "" {
		scope = PlatformScope
	}
	return filepath.Join(b.cfg.CacheDir, "scopes", scope)
}

// envPaths are the cache paths of one environment key in one scope.
type envPaths struct {
	Dir    string // <CacheDir>/scopes/<scope>/venvs/<key>
	Venv   string // <Dir>/antenv
	Marker string // <Dir>/slipway-env-complete
	Lock   string // <CacheDir>/scopes/<scope>/venvs/<key>.lock
}

func (b *Builder) envPaths(scope, key string) envPaths {
	dir := filepath.Join(b.scopeDir(scope), "venvs", key)
	return envPaths{
		Dir:    dir,
		Venv:   filepath.Join(dir, venvName),
		Marker: filepath.Join(dir, completeMarker),
		Lock:   dir + ".lock",
	}
}

// isComplete reports whether the environment at p was fully built and
// sealed: the marker exists, and neither it nor the environment's directory
// is writable (nor, when asRoot, owned by anyone but root). Anything else,
// such as a directory left by a killed build, is not to be reused.
func (p envPaths) isComplete(asRoot bool) bool {
	for _, path := range []string{p.Dir, p.Marker} {
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode().Perm()&0o222 != 0 || fi.Mode()&fs.ModeSymlink != 0 {
			return false
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); asRoot && (!ok || st.Uid != 0 || st.Gid != 0) {
			return false
		}
	}
	fi, err := os.Stat(filepath.Join(p.Venv, "bin", "python"))
	return err == nil && fi.Mode().IsRegular()
}

// sealEnv makes the environment tree at dir unmodifiable by any build or
// app. Top-down, so that a directory is frozen before its entries are
// visited, and without following symlinks out of dir (through os.Root):
//   - when asRoot, every entry is given to root:root (lchown);
//   - directories become 0555 — except dir itself, left 0755 so that the
//     builder can still write the completion marker into it (the caller
//     then calls finishSeal);
//   - regular files lose every write bit and setuid/setgid/sticky, keep
//     their execute bits and become readable by all (the app runs as another
//     user than the one that built the environment);
//   - a regular file with more than one hard link is refused: sealing it
//     would also change the file it shares with something outside.
//
// The guarantee needs root: without it the files stay owned by the builder's
// user, who can give the write bits back. It also needs the Runner to leave
// no process of the build commands running (a process could keep a file
// open for writing); the sandboxed Runner kills the whole sandbox.
func sealEnv(dir string, asRoot bool) error {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("sealing %s: %w", dir, err)
	}
	defer r.Close()
	err = fs.WalkDir(r.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if asRoot {
			if err := r.Lchown(rel, 0, 0); err != nil {
				return err
			}
		}
		fi, err := r.Lstat(rel)
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			mode := os.FileMode(0o555)
			if rel == "." {
				mode = 0o755
			}
			return r.Chmod(rel, mode)
		case fi.Mode().IsRegular():
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
				return fmt.Errorf("%s has %d hard links; an environment must not share files with anything outside it", rel, st.Nlink)
			}
			return r.Chmod(rel, fi.Mode().Perm()&0o555|0o444)
		}
		// Symlinks have no mode of their own; the venv's own links point
		// to the interpreter or inside the tree.
		return nil
	})
	if err != nil {
		return fmt.Errorf("sealing %s: %w", dir, err)
	}
	return nil
}

// finishSeal closes dir itself (0555) once the marker is in it.
func finishSeal(dir string) error {
	if err := os.Chmod(dir, 0o555); err != nil {
		return fmt.Errorf("sealing %s: %w", dir, err)
	}
	return nil
}

// RemoveScope removes an app's cache namespace (its environments and pip
// cache) when the app is deleted: app names are free again then, and the
// next app of the name, another tenant's perhaps, would build in the same
// scope as the same user, with what the deleted app downloaded or planted.
// (RetireScope instead, while another app's version runs one of its
// environments.) The platform's own scope ("") is never removed.
func (b *Builder) RemoveScope(scope string) error {
	if scope == "" || scope == PlatformScope {
		return errors.New("removing a cache scope: the platform's scope stays")
	}
	if err := ValidateScope(scope); err != nil {
		return fmt.Errorf("removing a cache scope: %w", err)
	}
	return RemoveEnvironment(b.scopeDir(scope)) // the same work: a tree with sealed parts
}

// generationFile, in a scope's directory, holds the scope's generation: a
// random name that RetireScope gives it and that the key of every
// environment built in the scope includes (envSpec.Generation). A scope
// without one has never been retired, and its keys are as they always were.
const generationFile = "generation"

// scopeGeneration reads the generation of the scope at dir ("" when it has
// none).
func scopeGeneration(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, generationFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the cache scope's generation: %w", err)
	}
	gen := strings.TrimSpace(string(b))
	if len(gen) > 64 || strings.Trim(gen, "0123456789abcdef") != "" {
		return "", fmt.Errorf("the cache scope's generation file %s is damaged; remove it", filepath.Join(dir, generationFile))
	}
	return gen, nil
}

// RetireScope is RemoveScope for an app whose environments other apps'
// versions still run — a slot swap gives an app the version its slot
// built, and the environment the version names lies in the slot's scope.
// It keeps the environments (<scope>/venvs/<key>) keep names, at their
// paths (a venv embeds its own), and removes the rest of the scope:
// the other environments, pip's download cache and the builds' HOMEs.
// Before it removes anything it gives the scope a new generation, which
// every later environment's key includes: a new app of the deleted one's
// name, building in the same scope, never reuses an environment kept here,
// nor rebuilds over one. Run it again to drop the environments no longer
// kept, or to finish one that a crash cut short; remove the scope
// (RemoveScope) when it keeps none.
func (b *Builder) RetireScope(scope string, keep func(envDir string) bool) error {
	if scope == "" || scope == PlatformScope {
		return errors.New("retiring a cache scope: the platform's scope stays")
	}
	if err := ValidateScope(scope); err != nil {
		return fmt.Errorf("retiring a cache scope: %w", err)
	}
	dir := b.scopeDir(scope)
	if err := atomicfile.WriteFile(filepath.Join(dir, generationFile), []byte(newOperationID()+newOperationID()+"\n"), 0o644); err != nil {
		return fmt.Errorf("retiring cache scope %s: %w", scope, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("retiring cache scope %s: %w", scope, err)
	}
	var errs []error
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch e.Name() {
		case generationFile, "lost+found": // lost+found: the root of a file system mounted here
			continue
		case "venvs":
			envs, err := os.ReadDir(p)
			if err != nil {
				errs = append(errs, err)
			}
			for _, env := range envs {
				if ep := filepath.Join(p, env.Name()); !env.IsDir() || !keep(ep) {
					errs = append(errs, RemoveEnvironment(ep)) // lock files too
				}
			}
		default:
			errs = append(errs, RemoveEnvironment(p))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("retiring cache scope %s: %w", scope, err)
	}
	return nil
}

// RemoveEnvironment removes a cached environment directory
// (<CacheDir>/scopes/<scope>/venvs/<key>), sealed or not: it first gives the
// write bits back to its directories (a sealed environment has none), then
// removes the tree without following symlinks. A missing dir is not an
// error. Use it for cache eviction; the builder uses it for incomplete
// environments.
func RemoveEnvironment(dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if r, err := os.OpenRoot(dir); err == nil {
		// Best effort: RemoveAll below reports what could not be removed.
		_ = fs.WalkDir(r.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = r.Chmod(rel, 0o755)
			}
			return nil
		})
		r.Close()
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing environment %s: %w", dir, err)
	}
	return nil
}
