package deploy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/archive"
	"github.com/slipway-dev/slipway/internal/diskreserve"
	"github.com/slipway-dev/slipway/internal/tree"
)

// Zip deployments with clean=false: OneDeploy's type=zip&clean=false
// (docs/appservice.md §5). Kudu extracts the zip over /home/site/wwwroot
// and keeps the files the zip lacks; here the package, extracted with the
// same confinement as any zip, is filled with the active version's files it
// lacks, and the result is built and released as any zip deployment's
// source is.
//
// What is kept is the active version as it is stored: the app's files, as
// its packages, single-file deployments and build and release commands
// left them. Only what the build itself makes afresh is left out — the
// antenv link to the cached environment and oryx-manifest.toml, when the
// active version was built — and the platform's record of the version.
// Files its build wrote among the app's (collected static files) are kept
// and rebuilt over, as they would be in wwwroot on App Service.
//
// The active version's files are the app's: a symbolic link there is never
// written through, and a directory of the package never replaces a file of
// the app nor the reverse (tree.Fill refuses). The union is bounded as the
// package is.

// overlayActive fills the extracted package at src with the files of the
// site's active version it lacks. It returns that version and its
// deployment's id (none when the site has none, and the package is
// deployed as it is). It reports failures through fail, with the server's
// directories named as the deployer knows them.
func (c *Coordinator) overlayActive(ctx context.Context, d slipway.Deployment, src string, stats archive.Stats, fail func(string, ...any)) (Artifact, string, bool) {
	base, baseID, ok, err := c.activeArtifact(ctx, d.Site)
	if err != nil {
		fail("Reading the active version failed: %v", err)
		return Artifact{}, "", false
	}
	if !ok {
		c.step(ctx, d, slipway.LogMessage, "clean=false: the app has no deployed version yet, so the package is deployed as it is.")
		return Artifact{}, "", true
	}
	fail = hiding(fail, base.Dir, "the active version", src, "the package")
	built := base.VenvDir != ""
	// The active version is bounded only by the app's /home quota (its
	// release command writes it), and src is on the server's own disk: the
	// union is refused before it passes a package's limits, not after.
	lim := c.cfg.Limits.WithDefaults()
	n, err := tree.Fill(ctx, base.Dir, src, tree.Options{
		Skip: func(rel string, _ fs.DirEntry) bool {
			return rel == artifactFile || built && (rel == "antenv" || rel == "oryx-manifest.toml")
		},
		Budget: &tree.Count{Entries: max(lim.MaxFiles-stats.Files, 0), Bytes: max(lim.MaxTotalBytes-stats.Bytes, 0)},
		Room:   c.reserve.Check, // the scratch directory lies beside the platform's own data
	})
	var conflict *tree.ConflictError
	switch {
	case errors.As(err, &conflict):
		fail("%s", conflictText(conflict))
		return Artifact{}, "", false
	case errors.Is(err, diskreserve.ErrShort):
		fail("The active version's files were not added to the package (clean=false): the server is short of disk space. Try again later; the server's operator has been warned.")
		return Artifact{}, "", false
	case errors.Is(err, tree.ErrBudget):
		fail("With clean=false the new version would hold the package's %d files and folders (%s) and the active version's that it lacks: more than a package may (%d entries, %s). Deploy the whole app with clean=true, or remove files from it.", stats.Files, sizeText(stats.Bytes), lim.MaxFiles, sizeText(lim.MaxTotalBytes))
		return Artifact{}, "", false
	case err != nil:
		fail("Adding the active version's files to the package failed (clean=false): %v", err)
		return Artifact{}, "", false
	}
	c.step(ctx, d, slipway.LogMessage, "clean=false: kept %d files and folders of the active version that the package lacks (%d bytes).", n.Entries, n.Bytes)
	return base, baseID, true
}

// keepStartupScript keeps, in the new version art of a package deployed
// over base, base's startup script (OneDeploy's type=startup) while a
// regular file is still at its path: on App Service it is still in
// wwwroot, where the container finds it.
func (c *Coordinator) keepStartupScript(ctx context.Context, d slipway.Deployment, base Artifact, art *Artifact) {
	if base.StartupScript == "" {
		return
	}
	root, err := os.OpenRoot(art.Dir)
	if err != nil {
		return
	}
	defer root.Close()
	if fi, err := root.Lstat(base.StartupScript); err == nil && fi.Mode().IsRegular() {
		art.StartupScript = base.StartupScript
		c.step(ctx, d, slipway.LogMessage, "The startup script /home/site/wwwroot/%s stays the app's startup script.", base.StartupScript)
	}
}

// conflictText explains why the package and the active version (Fill's
// dst and src) cannot merge at c.Path.
func conflictText(c *tree.ConflictError) string {
	p := "/home/site/wwwroot/" + c.Path
	switch {
	case c.Src&fs.ModeSymlink != 0:
		return fmt.Sprintf("The package has a folder %s where the active version has a symbolic link: with clean=false its files would be written through the link, and a deployment never writes through a link. Deploy with clean=true to replace the link, or leave the folder out of the package.", p)
	case c.Src.IsDir():
		return fmt.Sprintf("The package has a file or link %s where the active version has a folder, whose files clean=false keeps: the two cannot merge. Deploy with clean=true, or leave %s out of the package.", p, c.Path)
	default:
		return fmt.Sprintf("The package has a folder %s where the active version has a file, which clean=false keeps: the two cannot merge. Deploy with clean=true, or leave the folder out of the package.", p)
	}
}

// hiding returns fail with the server's paths in oldnew (pairs of path
// and name; empty paths are ignored) replaced by how the deployer knows
// them.
func hiding(fail func(string, ...any), oldnew ...string) func(string, ...any) {
	var pairs []string
	for i := 0; i+1 < len(oldnew); i += 2 {
		if oldnew[i] != "" {
			pairs = append(pairs, oldnew[i], oldnew[i+1])
		}
	}
	r := strings.NewReplacer(pairs...)
	return func(format string, args ...any) {
		fail("%s", r.Replace(fmt.Sprintf(format, args...)))
	}
}
