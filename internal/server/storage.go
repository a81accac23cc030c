package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	slipway "github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/build"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/homefs"
	"github.com/slipway-dev/slipway/internal/store"
)

// buildStorage bounds what an app's deployments write on the server's disk:
// its versions (<data>/sites/<app>/artifacts, written by its build and by
// its release command, which is its own code) and its build cache scope
// (<cache>/scopes/<app>: its environments, pip's downloads and the builds'
// HOMEs, written by pip and by PRE_BUILD_COMMAND). Each is an ext4 image of
// the app's /home quota (App Service keeps the build's output and its
// antenv under /home), loop-mounted there through package homefs, so that a
// build or a release that writes without end fails with ENOSPC for its app
// and never fills the disk every app and the platform's own database use.
//
// An image is made at an app's first deployment (what an earlier server
// left in the directory is moved into it) and mounted again, at the app's
// quota, when the server starts, before anything reads a version.
type buildStorage struct {
	versions, scopes  *homefs.Homes
	dataDir, cacheDir string
	store             *store.Store
	logger            *slog.Logger
	// retired, if set, holds the scopes of deleted sites; Scope sweeps it.
	retired *retiredScopes
}

func newBuildStorage(dataDir, cacheDir string, st *store.Store, log *slog.Logger) (*buildStorage, error) {
	b := &buildStorage{dataDir: dataDir, cacheDir: cacheDir, store: st, logger: log}
	var err error
	if b.versions, err = homefs.New(homefs.Config{ImageDir: filepath.Join(dataDir, "images", "versions"), Logger: log}); err != nil {
		return nil, err
	}
	if b.scopes, err = homefs.New(homefs.Config{ImageDir: filepath.Join(dataDir, "images", "builds"), Logger: log}); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *buildStorage) artifactsDir(app string) string {
	return filepath.Join(b.dataDir, "sites", strings.ToLower(app), "artifacts")
}

func (b *buildStorage) scopePath(scope string) string {
	return filepath.Join(b.cacheDir, "scopes", scope)
}

// mountExisting mounts every image there is: versions and environments
// must be in place before the server recovers deployments and starts
// instances. An image is mounted at its app's quota, so that a plan scaled
// down bounds them by its smaller quota from now on, as it does the app's
// home (the image shrinks if the used space fits; homefs.Homes.Ensure); an
// image of no app (a retired scope's, or one a failed deletion left) keeps its
// size.
func (b *buildStorage) mountExisting(ctx context.Context) {
	sites, _ := b.sites(ctx)
	for _, set := range []struct {
		h   *homefs.Homes
		dir func(string) string
	}{{b.versions, b.artifactsDir}, {b.scopes, b.scopePath}} {
		imgs, err := set.h.Images()
		if err != nil {
			b.logger.Error("mounting the apps' build storage", "err", err)
			continue
		}
		for name, size := range imgs {
			dir := set.dir(name)
			quota, ok := b.quota(ctx, sites, name)
			if !ok {
				quota = size
			}
			if err := os.MkdirAll(dir, 0o711); err == nil {
				_, err = set.h.Ensure(ctx, name, dir, quota, 0, 0)
			}
			if err != nil {
				b.logger.Error("mounting an app's build storage", "app", name, "dir", dir, "err", err)
			}
		}
	}
}

// Artifacts bounds owner's versions by its plan's /home quota; dir is
// owner's artifacts directory (deploy.Config.Storage).
func (b *buildStorage) Artifacts(ctx context.Context, owner string, sku slipway.SKU, dir string) error {
	gb := sku.Size().HomeQuotaGB
	_, err := b.versions.Ensure(ctx, strings.ToLower(owner), dir, int64(gb)<<30, 0, 0)
	return b.outcome(err, owner, "versions", int64(gb)<<30)
}

// outcome is Ensure's error as the deployment sees it. What a server
// before these images kept for an app and does not fit its quota stays
// where it is, unbounded, with a warning: refusing every later deployment
// of the app for it would be worse.
func (b *buildStorage) outcome(err error, app, what string, quota int64) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, homefs.ErrTooLarge):
		b.logger.Warn("AN APP'S BUILD STORAGE HAS NO QUOTA: what it holds from before is larger than its quota; remove old deployments to bring it under",
			"app", app, "storage", what, "quota_bytes", quota, "err", err)
		return nil
	default:
		return fmt.Errorf("mounting the app's storage for its %s (%d GB): %w", what, quota>>30, err)
	}
}

// Scope bounds a build cache scope (build.Config.Storage): by the /home
// quota of the plan of the app of that name (1 GB, Free's, if there is
// none).
func (b *buildStorage) Scope(ctx context.Context, scope, dir string) error {
	if scope == build.PlatformScope {
		return nil // the platform's own build (the default site), not an app's code
	}
	sites, sitesErr := b.sites(ctx)
	quota, ok := b.quota(ctx, sites, scope)
	if !ok {
		quota = 1 << 30
	}
	if err := b.mountScope(ctx, scope, dir, quota); err != nil {
		return err
	}
	// The scope's only build is beginning (a site runs one deployment at
	// a time): a HOME in tmp/ is one a killed server left, holding what
	// its PRE_BUILD_COMMAND wrote.
	os.RemoveAll(filepath.Join(dir, "tmp"))
	if sitesErr == nil {
		b.evict(ctx, sites, dir)
	}
	if b.retired != nil {
		// The scopes of deleted sites go once no version names what they
		// keep: each build removes what the last one's pruning freed.
		if err := b.retired.sweep(ctx, ""); err != nil {
			b.logger.Warn("removing the build cache scopes of deleted sites", "err", err)
		}
	}
	return nil
}

// mountScope mounts the scope's image at dir, making it first if need be.
// It takes turns with the sweeps of retired scopes (retiredScopes.mu): the
// scope may be one of a site deleted before, whose name this site has
// again, and a sweep that listed the sites before this one was created
// removes that scope; then the mount makes a new one.
func (b *buildStorage) mountScope(ctx context.Context, scope, dir string, quota int64) error {
	if b.retired != nil {
		b.retired.mu.Lock()
		defer b.retired.mu.Unlock()
	}
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("mounting the app's storage for its build cache: %w", err)
	}
	_, err := b.scopes.Ensure(ctx, scope, dir, quota, 0, 0)
	if errors.Is(err, homefs.ErrTooLarge) {
		// Before its first image: pip's downloads are a cache and tmp/
		// holds HOMEs of builds a killed server left; they go rather than
		// leave the scope (and the next build's HOME) unbounded. The
		// environments stay: versions run from them.
		for _, d := range []string{"pip", "tmp"} {
			os.RemoveAll(filepath.Join(dir, d))
		}
		_, err = b.scopes.Ensure(ctx, scope, dir, quota, 0, 0)
	}
	return b.outcome(err, scope, "build cache", quota)
}

// evict removes the environments in the scope at dir that no version of
// any site names (a swap gives an app its slot's version, environment
// and all): each change of an app's requirements adds one, and in a scope
// of bounded size they would otherwise end every later build with ENOSPC.
// It runs as a build of the scope begins, which is then the scope's only
// one (a site runs one deployment at a time). sites are all the sites.
// When a version's record cannot be read it removes nothing: better a full
// cache than a version that cannot start.
func (b *buildStorage) evict(ctx context.Context, sites []slipway.Site, dir string) {
	used, err := usedEnvironments(ctx, b.store, sites)
	if err != nil {
		b.logger.Warn("keeping the build cache's environments", "err", err)
		return
	}
	envs, _ := os.ReadDir(filepath.Join(dir, "venvs"))
	for _, e := range envs {
		p := filepath.Join(dir, "venvs", e.Name())
		if fi, err := os.Lstat(p); err != nil || !fi.IsDir() || used.has(p) {
			continue
		}
		if err := build.RemoveEnvironment(p); err != nil {
			b.logger.Warn("removing an unused environment from the build cache", "dir", p, "err", err)
		}
	}
}

// environments are the environments (<scope>/venvs/<key>) versions name,
// compared as files: a path may name one in another way.
type environments []os.FileInfo

// usedEnvironments returns the environments that successful deployments
// of sites name. It fails when a version's record cannot be read: no
// environment may then be taken for unused.
func usedEnvironments(ctx context.Context, st *store.Store, sites []slipway.Site) (environments, error) {
	var used environments
	for _, s := range sites {
		ds, err := st.ListDeployments(ctx, s.Name)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if d.Status != slipway.DeploySuccess || d.ArtifactDir == "" {
				continue
			}
			art, err := deploy.ReadArtifact(d.ArtifactDir)
			if err != nil {
				return nil, fmt.Errorf("a version's record cannot be read (site %s, deployment %s): %w", s.Name, d.ID, err)
			}
			if art.VenvDir == "" {
				continue
			}
			if fi, err := os.Stat(filepath.Dir(art.VenvDir)); err == nil {
				used = append(used, fi)
			}
		}
	}
	return used, nil
}

// has reports whether the environment at dir is one of e.
func (e environments) has(dir string) bool {
	fi, err := os.Lstat(dir)
	return err == nil && slices.ContainsFunc(e, func(u os.FileInfo) bool { return os.SameFile(u, fi) })
}

// sites lists every site, logging a failure (the callers then fall back
// to images' own sizes, or keep every environment).
func (b *buildStorage) sites(ctx context.Context) ([]slipway.Site, error) {
	sites, err := b.store.Sites(ctx, "")
	if err != nil {
		b.logger.Error("reading the sites for their build storage", "err", err)
	}
	return sites, err
}

// quota is the /home quota of the plan of the site among sites whose name
// in lower case (its images' name) is name; false when there is none or
// its plan cannot be read.
func (b *buildStorage) quota(ctx context.Context, sites []slipway.Site, name string) (int64, bool) {
	for _, s := range sites {
		if strings.ToLower(s.Name) == name {
			if p, err := b.store.Plan(ctx, s.PlanResourceGroup(), s.Plan); err == nil {
				return int64(p.SKU.Size().HomeQuotaGB) << 30, true
			}
			return 0, false
		}
	}
	return 0, false
}

// Remove releases and deletes a deleted site's versions' image (a slot has
// none of its own), leaving its directory empty for the site's removal.
// Its build scope's image goes with the scope (retiredScopes).
func (b *buildStorage) Remove(ctx context.Context, site string) error {
	name := strings.ToLower(site)
	return b.versions.Remove(ctx, name, b.artifactsDir(name))
}

// Close unmounts every image.
func (b *buildStorage) Close() error {
	return errors.Join(b.versions.Close(), b.scopes.Close())
}
