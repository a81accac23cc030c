package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	slipway "github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/atomicfile"
	"github.com/slipway-dev/slipway/internal/build"
	"github.com/slipway-dev/slipway/internal/homefs"
	"github.com/slipway-dev/slipway/internal/store"
)

// retiredScopes keeps the build cache scope of a deleted site for as long
// as a version of another site runs an environment in it, and removes it
// once none does. A swap gives an app the version its slot built
// (docs/slots.md §1), and the environment that version runs lies in the
// slot's scope, at a path the environment embeds: deleting the slot after
// the swap, as a blue-green deployment does, must leave it there.
//
// Deleting a site retires its scope: a file of the scope's name in dir
// says so, written before the scope is touched and removed with the
// scope, so that what a crash cuts short the next sweep finishes. (The
// file is in the server's data directory because the cache may be shared
// between servers, whose sites are not in this one's store.) A sweep then
// goes over the retired scopes:
//   - a scope that keeps an environment a version of a site names is
//     emptied but for those (build.Builder.RetireScope, which also gives it
//     a new generation, so that a new site of the deleted one's name never
//     reuses what it keeps);
//   - any other is removed, with its image;
//   - a scope whose name a site has again is that site's from then on: its
//     builds' eviction drops what it keeps once no version names it.
//
// Sweeps run when a site is deleted, when the server starts (after the
// images are mounted, before anything builds) and, with images, as each
// build begins (buildStorage.Scope), after the deployment before it pruned
// old versions. So a retired scope holds no more than the environments
// of versions still kept, each within the quota of the image it has.
type retiredScopes struct {
	// mu makes sweeps take turns; buildStorage.Scope holds it while it
	// mounts a scope, so that a sweep never removes the scope of a site
	// created after it read the sites.
	mu       sync.Mutex
	dir      string // one empty file per retired scope
	cacheDir string // the builder's
	builder  *build.Builder
	store    *store.Store
	images   *homefs.Homes // the scopes' images (buildStorage.scopes); nil without images
	logger   *slog.Logger
}

// retire retires the scope of a deleted site and sweeps.
func (r *retiredScopes) retire(ctx context.Context, site string) error {
	scope := strings.ToLower(site)
	if err := build.ValidateScope(scope); err != nil || scope == "" || scope == build.PlatformScope {
		return fmt.Errorf("retiring the build cache of %s: not an app's scope", site)
	}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return fmt.Errorf("retiring the build cache of %s: %w", site, err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, scope), nil, 0o600); err != nil {
		return fmt.Errorf("retiring the build cache of %s: %w", site, err)
	}
	if err := atomicfile.SyncDir(r.dir); err != nil {
		return fmt.Errorf("retiring the build cache of %s: %w", site, err)
	}
	return r.sweep(ctx, scope)
}

// sweep goes over the retired scopes (see retiredScopes). What goes wrong
// with one of them is logged, and returned only for the scope named own.
func (r *retiredScopes) sweep(ctx context.Context, own string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	entries, err := os.ReadDir(r.dir)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(entries) == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing the retired build cache scopes: %w", err)
	}
	sites, err := r.store.Sites(ctx, "")
	if err != nil {
		return fmt.Errorf("sweeping the retired build cache scopes: %w", err)
	}
	used, usedErr := usedEnvironments(ctx, r.store, sites)
	if usedErr != nil {
		r.logger.Warn("keeping every environment of the retired build cache scopes", "err", usedErr)
	}
	keep := func(env string) bool { return usedErr != nil || used.has(env) }
	var images map[string]int64
	if r.images != nil {
		if images, err = r.images.Images(); err != nil {
			return fmt.Errorf("sweeping the retired build cache scopes: %w", err)
		}
	}
	var ownErr error
	for _, e := range entries {
		scope := e.Name()
		if !e.Type().IsRegular() || build.ValidateScope(scope) != nil || scope == build.PlatformScope {
			continue // not written by retire
		}
		if err := r.sweepOne(ctx, scope, sites, images, keep); err != nil {
			r.logger.Warn("sweeping the build cache scope of a deleted site", "scope", scope, "err", err)
			if scope == own {
				ownErr = err
			}
		}
	}
	return ownErr
}

// sweepOne sweeps one retired scope; sites are all the sites, images the
// scopes' images, and keep names the environments versions run.
func (r *retiredScopes) sweepOne(ctx context.Context, scope string, sites []slipway.Site, images map[string]int64, keep func(string) bool) error {
	marker := filepath.Join(r.dir, scope)
	if slices.ContainsFunc(sites, func(s slipway.Site) bool { return strings.ToLower(s.Name) == scope }) {
		return removeMarker(marker)
	}
	dir := filepath.Join(r.cacheDir, "scopes", scope)
	if _, ok := images[scope]; ok {
		// An image that failed to mount shows an empty directory: judged
		// by that, what it keeps would go with it.
		if _, _, err := r.images.Usage(scope, dir); err != nil {
			return fmt.Errorf("leaving it as it is: %w", err)
		}
	}
	if keeps(dir, keep) {
		return r.builder.RetireScope(scope, keep)
	}
	if r.images != nil {
		if err := r.images.Remove(ctx, scope, dir); err != nil {
			return err
		}
	}
	if err := r.builder.RemoveScope(scope); err != nil {
		return err
	}
	return removeMarker(marker)
}

// keeps reports whether keep names one of the environments of the scope
// at dir.
func keeps(dir string, keep func(env string) bool) bool {
	envs, _ := os.ReadDir(filepath.Join(dir, "venvs"))
	return slices.ContainsFunc(envs, func(e fs.DirEntry) bool { return e.IsDir() && keep(filepath.Join(dir, "venvs", e.Name())) })
}

func removeMarker(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the mark of a retired build cache scope: %w", err)
	}
	return nil
}
