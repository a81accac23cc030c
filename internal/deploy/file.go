package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/tree"
)

// Single-file deployments: OneDeploy's type=static and type=startup
// (docs/appservice.md §5). Kudu copies the file into /home/site/wwwroot
// and leaves the rest of the app as it is; here the new version is a copy
// of the active one with the file added, so that it is a deployment like
// any other — recorded, rolled out only when its instances answer, and
// never half-applied.
//
// The active version's files are the app's: its release command ran in
// them, and its package chose its names. A file is written through
// os.Root, and never through a symbolic link or in place of a directory.

// activeArtifact returns the site's active version and its deployment's
// id, and false when it has none (it runs the default site).
func (c *Coordinator) activeArtifact(ctx context.Context, site string) (Artifact, string, bool, error) {
	d, ok, err := c.activeDeployment(ctx, site)
	if err != nil || !ok {
		return Artifact{}, "", false, err
	}
	art, err := c.artifactOf(d)
	if err != nil {
		return Artifact{}, "", false, err
	}
	return art, d.ID, true, nil
}

// activeDeployment returns the site's active deployment, and false when it
// has none.
func (c *Coordinator) activeDeployment(ctx context.Context, site string) (slipway.Deployment, bool, error) {
	d, err := c.cfg.Store.ActiveDeployment(ctx, site)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return slipway.Deployment{}, false, nil
	}
	return d, err == nil, err
}

// checkFileTarget refuses, before anything is stored, a single-file
// deployment whose path is not a plain file location in the active
// version.
func (c *Coordinator) checkFileTarget(ctx context.Context, site slipway.Site, f FileTarget) error {
	if !filepath.IsLocal(f.Path) || path.Clean(f.Path) != f.Path || strings.ContainsRune(f.Path, '\\') {
		return slipway.Errorf(slipway.EINVALID, "The path %q is not a file path inside /home/site/wwwroot.", f.Path)
	}
	if f.Clean {
		return nil // the new version starts empty
	}
	base, _, ok, err := c.activeArtifact(ctx, site.Name)
	if err != nil {
		return fmt.Errorf("reading the active version: %w", err)
	}
	if !ok {
		return nil
	}
	return checkTarget(base.Dir, f.Path)
}

// checkTarget refuses a path (slash-separated, local) that goes through a
// symbolic link or a file in dir, or that names a directory, a link or
// anything but a regular file there. What does not exist yet is fine.
func checkTarget(dir, rel string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("opening the version: %w", err)
	}
	defer root.Close()
	parts := strings.Split(rel, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		fi, err := root.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return slipway.Errorf(slipway.EINVALID, "The path /home/site/wwwroot/%s cannot be written: %v.", rel, err)
		}
		last := i == len(parts)-1
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return slipway.Errorf(slipway.EINVALID, "The path /home/site/wwwroot/%s goes through /home/site/wwwroot/%s, a symbolic link in the app: a deployment never writes through a link. Deploy to a path without links.", rel, p)
		case !last && !fi.IsDir():
			return slipway.Errorf(slipway.EINVALID, "The path /home/site/wwwroot/%s goes through /home/site/wwwroot/%s, which is a file, not a directory.", rel, p)
		case last && fi.IsDir():
			return slipway.Errorf(slipway.EINVALID, "The path /home/site/wwwroot/%s names a directory of the app; name the file to write.", rel)
		case last && !fi.Mode().IsRegular():
			return slipway.Errorf(slipway.EINVALID, "The path /home/site/wwwroot/%s names a special file of the app.", rel)
		}
	}
	return nil
}

// fileArtifact makes the new version of a single-file deployment: a copy
// of the active version (nothing with clean=true, or before the first
// deployment) with the file written at f.Path. It returns the id of the
// deployment it copied ("" when none), which must still be the active one
// when the new version replaces it. It reports failures through fail,
// with the server's directories named as the deployer knows them.
func (c *Coordinator) fileArtifact(ctx context.Context, snap Snapshot, d slipway.Deployment, pkgPath, artDir string, f FileTarget, fail func(string, ...any)) (Artifact, string, bool) {
	kind := "static file"
	if f.Startup {
		kind = "startup script"
	}
	c.step(ctx, d, slipway.LogMessage, "Deploying a %s to /home/site/wwwroot/%s (OneDeploy); nothing is built.", kind, f.Path)
	base, baseID, ok, err := c.activeArtifact(ctx, snap.Site.Name)
	if err != nil {
		fail("Reading the active version failed: %v", err)
		return Artifact{}, "", false
	}
	fail = hiding(fail, artDir, "the new version", base.Dir, "the active version", pkgPath, "the uploaded file")
	if err := os.MkdirAll(filepath.Dir(artDir), 0o755); err != nil {
		fail("Preparing the artifact directory failed: %v", err)
		return Artifact{}, "", false
	}
	art := Artifact{Dir: artDir, PythonVersion: c.cfg.Default.PythonVersion, PythonPath: c.cfg.Default.PythonPath}
	switch {
	case ok && !f.Clean:
		err := tree.Copy(ctx, base.Dir, artDir, tree.Options{
			Skip: func(rel string, _ fs.DirEntry) bool { return rel == artifactFile },
			Symlink: func(rel, target string) error {
				if rel == "antenv" && base.VenvDir != "" && target == base.VenvDir {
					return nil // the build's environment, as instances get it
				}
				return tree.InTree(rel, target)
			},
		})
		if err != nil {
			fail("Copying the active version failed: %v", err)
			return Artifact{}, "", false
		}
		art = base
		art.Dir = artDir
	default:
		if f.Clean {
			c.step(ctx, d, slipway.LogWarning, "clean=true: the new version holds this file only; the rest of the app is gone from it.")
		}
		if err := os.Mkdir(artDir, 0o755); err != nil {
			fail("Preparing the artifact directory failed: %v", err)
			return Artifact{}, "", false
		}
	}
	if err := checkTarget(artDir, f.Path); err != nil {
		fail("%s", errText(err))
		return Artifact{}, "", false
	}
	perm := fs.FileMode(0o644)
	if f.Startup {
		perm = 0o755
		art.StartupScript = f.Path
	}
	n, err := writeTarget(artDir, f.Path, pkgPath, perm)
	if err != nil {
		fail("Writing /home/site/wwwroot/%s failed: %v", f.Path, err)
		return Artifact{}, "", false
	}
	c.step(ctx, d, slipway.LogMessage, "Wrote /home/site/wwwroot/%s (%d bytes).", f.Path, n)
	if f.Startup {
		if cmd := strings.TrimSpace(snap.Site.Config.AppCommandLine); cmd != "" {
			c.step(ctx, d, slipway.LogWarning, "The app has a startup command (%s), which runs instead of the startup script. Clear it to use the script: slipway webapp config set -g %s -n %s --startup-file \"\".", cmd, snap.Site.ResourceGroup, snap.Site.Name)
		} else {
			c.step(ctx, d, slipway.LogMessage, "The app has no startup command, so its instances start with this script.")
		}
	}
	return art, baseID, true
}

// writeTarget copies the file at src to rel inside dir through os.Root:
// parents are created, and the file is complete (written, synced) before
// it takes its name. It returns the bytes written.
func writeTarget(dir, rel, src string, perm fs.FileMode) (int64, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	parent := path.Dir(rel)
	if parent != "." {
		if err := root.MkdirAll(parent, 0o755); err != nil {
			return 0, err
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	b := make([]byte, 8)
	rand.Read(b)
	tmp := path.Join(parent, ".slipway-upload-"+hex.EncodeToString(b))
	out, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if err == nil {
		err = out.Chmod(perm) // whatever the umask took away
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, rel)
	}
	if err != nil {
		root.Remove(tmp)
		return 0, err
	}
	return n, nil
}
