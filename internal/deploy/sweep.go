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

// sweepArtifacts removes, from the artifacts directory of each remaining
// app that sweep accepts, the deployments' directories no record of any
// site names (production may run a version a slot built, since a swap) and
// that are not a running deployment's (its record exists from Submit on;
// its directory, only after). Only direct children named like a deployment
// id that are directories go, removed through os.Root: a symlink there is
// never followed.
func (c *Coordinator) sweepArtifacts(ctx context.Context, sweep func(app string) bool) error {
	sites, err := c.cfg.Store.Sites(ctx, "")
	if err != nil {
		return fmt.Errorf("listing sites: %w", err)
	}
	// The directories first, the records after: a directory made in
	// between is a deployment's whose record the listing then holds.
	candidates := map[string][]string{} // artifacts directory → names
	for _, s := range sites {
		if s.SlotOf != "" || !sweep(s.Name) {
			continue
		}
		dir := c.artifactsDir(s)
		names, err := deploymentDirs(dir)
		if err != nil {
			return err
		}
		if len(names) > 0 {
			candidates[dir] = names
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	named, running, err := c.artifactUses(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for dir, names := range candidates {
		root, err := os.OpenRoot(dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("opening %s: %w", dir, err))
			continue
		}
		for _, n := range names {
			if running[n] || named.holds(root, filepath.Join(dir, n), n) {
				continue
			}
			if err := root.RemoveAll(n); err != nil {
				errs = append(errs, fmt.Errorf("removing an unused version: %w", err))
			}
		}
		root.Close()
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

// artifactUses returns the versions any site's records name and the ids
// (lower case) of the deployments running now.
func (c *Coordinator) artifactUses(ctx context.Context) (artifactPaths, map[string]bool, error) {
	sites, err := c.cfg.Store.Sites(ctx, "")
	if err != nil {
		return artifactPaths{}, nil, fmt.Errorf("listing sites: %w", err)
	}
	named := artifactPaths{paths: map[string]bool{}}
	running := map[string]bool{}
	for _, s := range sites {
		ds, err := c.cfg.Store.ListDeployments(ctx, s.Name)
		if err != nil {
			return artifactPaths{}, nil, fmt.Errorf("listing deployments of %s: %w", s.Name, err)
		}
		for _, d := range ds {
			if !d.Complete() {
				running[strings.ToLower(d.ID)] = true
			}
			if d.ArtifactDir == "" {
				continue
			}
			named.paths[filepath.Clean(d.ArtifactDir)] = true
			if fi, err := os.Stat(d.ArtifactDir); err == nil {
				named.files = append(named.files, fi)
			}
		}
	}
	c.mu.Lock()
	for _, st := range c.sites {
		if st.deploying != "" {
			running[strings.ToLower(st.deploying)] = true
		}
	}
	c.mu.Unlock()
	return named, running, nil
}

// dropUnusedPackages removes the stored packages no deployment record of
// any site names and no deployment uses now. It removes nothing when a
// deployment began or ended while it looked: the next sweep (at the latest
// Recover's) does it.
func (c *Coordinator) dropUnusedPackages(ctx context.Context) error {
	c.mu.Lock()
	epoch := c.pkgEpoch
	c.mu.Unlock()
	files, err := filepath.Glob(filepath.Join(c.cfg.DataDir, "packages", "*.zip"))
	if err != nil || len(files) == 0 {
		return err
	}
	sites, err := c.cfg.Store.Sites(ctx, "")
	if err != nil {
		return fmt.Errorf("listing sites: %w", err)
	}
	used := map[string]bool{}
	for _, s := range sites {
		ds, err := c.cfg.Store.ListDeployments(ctx, s.Name)
		if err != nil {
			return fmt.Errorf("listing deployments of %s: %w", s.Name, err)
		}
		for _, d := range ds {
			used[d.PackageSHA256] = true
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pkgEpoch != epoch {
		return nil
	}
	for _, f := range files {
		sum := strings.TrimSuffix(filepath.Base(f), ".zip")
		if used[sum] || c.inflight[sum] > 0 {
			continue
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing an unused package: %w", err)
		}
	}
	return nil
}

// slotDeleted sweeps what a deleted slot of an app leaves in the app's
// directory. The slot's row is gone, and its name is its app's joined to
// the slot's with "-" (docs/slots.md §1): every remaining app whose name so
// begins it is swept, which is right for any app.
func (c *Coordinator) slotDeleted(ctx context.Context, name string) error {
	name = strings.ToLower(name)
	err := c.sweepArtifacts(ctx, func(app string) bool {
		return strings.HasPrefix(name, strings.ToLower(app)+"-")
	})
	return errors.Join(err, c.dropUnusedPackages(ctx))
}
