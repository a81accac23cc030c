package deploy

// Removing the versions and packages no deployment record uses any more.
// Every slot's versions lie in its app's artifacts directory (docs/slots.md
// §1), so deleting a slot's own directory leaves them behind: the slot's
// deletion sweeps its app's directory, and a server's start sweeps every
// app's, finishing a deletion a crash cut short.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// sweep removes what no deployment record uses any more, in one reading
// of every site's records. From the artifacts directory of each remaining
// app that apps accepts: the deployments' directories no record of any
// site names (production may run a version a slot built, since a swap) and
// that are not a running deployment's (its record exists from Submit on;
// its directory, only after). Only direct children named like a deployment
// id that are directories go, removed through os.Root: a symlink there is
// never followed. And the stored packages no record names and no
// deployment uses now — none when a deployment began or ended while it
// looked: the next sweep (at the latest Recover's) removes them.
func (c *Coordinator) sweep(ctx context.Context, apps func(app string) bool) error {
	c.mu.Lock()
	epoch := c.pkgEpoch
	c.mu.Unlock()
	sites, err := c.cfg.Store.Sites(ctx, "")
	if err != nil {
		return fmt.Errorf("listing sites: %w", err)
	}
	// The directories first, the records after: a directory made in
	// between is a deployment's whose record the listing then holds.
	candidates := map[string][]string{} // artifacts directory → names
	var errs []error
	for _, s := range sites {
		if s.SlotOf != "" || !apps(s.Name) {
			continue
		}
		dir := c.artifactsDir(s)
		names, err := deploymentDirs(dir)
		if err != nil {
			errs = append(errs, err) // that app's versions stay; the rest goes on
			continue
		}
		if len(names) > 0 {
			candidates[dir] = names
		}
	}
	pkgs, err := filepath.Glob(filepath.Join(c.cfg.DataDir, "packages", "*.zip"))
	if err != nil || (len(candidates) == 0 && len(pkgs) == 0) {
		return errors.Join(append(errs, err)...)
	}
	uses, err := c.recordUses(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for dir, names := range candidates {
		root, err := os.OpenRoot(dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("opening %s: %w", dir, err))
			continue
		}
		for _, n := range names {
			if uses.running[n] || uses.named.holds(root, filepath.Join(dir, n), n) {
				continue
			}
			if err := root.RemoveAll(n); err != nil {
				errs = append(errs, fmt.Errorf("removing an unused version: %w", err))
			}
		}
		root.Close()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pkgEpoch != epoch {
		return errors.Join(errs...)
	}
	for _, f := range pkgs {
		sum := strings.TrimSuffix(filepath.Base(f), ".zip")
		if uses.packages[sum] || c.inflight[sum] > 0 {
			continue
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing an unused package: %w", err))
		}
	}
	return errors.Join(errs...)
}

// deploymentDirs lists the directories in an artifacts directory named like
// a deployment id; none when it does not exist or is no directory.
func deploymentDirs(dir string) ([]string, error) {
	if fi, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("listing versions: %w", err)
	} else if !fi.IsDir() {
		return nil, nil // a link: never followed
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing versions: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && isDeploymentID(e.Name()) { // a symlink is no directory here
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// isDeploymentID reports whether name is a deployment id as newID (and the
// store) make them: 32 lower-case hexadecimal digits.
func isDeploymentID(name string) bool {
	if len(name) != 32 {
		return false
	}
	for _, r := range name {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// artifactPaths are the versions records name, as cleaned paths and as
// the files they are.
type artifactPaths struct {
	paths map[string]bool
	files []os.FileInfo
}

// holds reports whether a record names the version at path, name in root.
func (a artifactPaths) holds(root *os.Root, path, name string) bool {
	if a.paths[filepath.Clean(path)] {
		return true
	}
	fi, err := root.Lstat(name)
	if err != nil {
		return true // gone, or unknown: leave it
	}
	for _, f := range a.files {
		if os.SameFile(f, fi) {
			return true
		}
	}
	return false
}

// recordUses is what deployment records use: the versions they name, the
// ids (lower case) of the deployments running now, the packages they name.
type recordUses struct {
	named    artifactPaths
	running  map[string]bool
	packages map[string]bool
}

// recordUses reads every site's deployment records.
func (c *Coordinator) recordUses(ctx context.Context) (recordUses, error) {
	sites, err := c.cfg.Store.Sites(ctx, "")
	if err != nil {
		return recordUses{}, fmt.Errorf("listing sites: %w", err)
	}
	u := recordUses{named: artifactPaths{paths: map[string]bool{}}, running: map[string]bool{}, packages: map[string]bool{}}
	for _, s := range sites {
		ds, err := c.cfg.Store.ListDeployments(ctx, s.Name)
		if err != nil {
			return recordUses{}, fmt.Errorf("listing deployments of %s: %w", s.Name, err)
		}
		for _, d := range ds {
			u.packages[d.PackageSHA256] = true
			if !d.Complete() {
				u.running[strings.ToLower(d.ID)] = true
			}
			if d.ArtifactDir == "" {
				continue
			}
			u.named.paths[filepath.Clean(d.ArtifactDir)] = true
			if fi, err := os.Stat(d.ArtifactDir); err == nil {
				u.named.files = append(u.named.files, fi)
			}
		}
	}
	c.mu.Lock()
	for _, st := range c.sites {
		if st.deploying != "" {
			u.running[strings.ToLower(st.deploying)] = true
		}
	}
	c.mu.Unlock()
	return u, nil
}

// slotDeleted sweeps what a deleted slot of an app leaves in the app's
// directory. The slot's row is gone, and its name is its app's joined to
// the slot's with "-" (docs/slots.md §1): every remaining app whose name so
// begins it is swept, which is right for any app.
func (c *Coordinator) slotDeleted(ctx context.Context, name string) error {
	name = strings.ToLower(name)
	return c.sweep(ctx, func(app string) bool {
		return strings.HasPrefix(name, strings.ToLower(app)+"-")
	})
}
