package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/homefs"
	"github.com/slipway-dev/slipway/internal/tree"
)

// localDisk bounds what an app's instances write outside /home: their
// copies of the app (APP_PATH, writable as App Service's extracted
// /tmp/<hash>) and their views of its environment (where a `pip install` at
// startup goes). Without it those live on the server's disk with no limit,
// and one app's instance could fill the disk every app and the platform's
// own database write to.
//
// Each app (each slot) gets an ext4 image of its tier's local storage
// (slipway.SKU.LocalStorageMB) loop-mounted at its run directory, through
// the same machinery as the homes' quotas (package homefs): writes past it
// fail with ENOSPC for that app alone.
//
// An instance's view of the environment hard-links the environment's sealed
// files, and a hard link cannot cross into the image: so the environment is
// first copied once into the image (a mirror, root-owned and as read-only
// as the cache's), and every instance of that version links to the mirror.
// A mirror is counted in the app's local storage, as the extracted antenv
// is on App Service; one no running instance uses is removed when the next
// instance of the app starts.
type localDisk struct {
	images *homefs.Homes

	mu    sync.Mutex
	refs  map[string]int         // mirror path → instances using it
	busy  map[string]*sync.Mutex // mirror path → held while it is made
	apps  map[string]*sync.Mutex // app → held while its image is mounted
	fresh map[string]bool        // apps whose image this server has emptied

	removeAll func(string) error // os.RemoveAll; a test's cut short
	// exists tells whether a site still exists (the store's site table);
	// nil: every site does. A start that mounts the image of a site
	// deleted meanwhile is refused, so that the deletion's removal, which
	// takes turns with mounts, leaves no image behind.
	exists func(site string) bool
}

func newLocalDisk(images *homefs.Homes) *localDisk {
	return &localDisk{images: images, refs: map[string]int{}, busy: map[string]*sync.Mutex{},
		apps: map[string]*sync.Mutex{}, fresh: map[string]bool{}, removeAll: os.RemoveAll}
}

// keyLock returns the mutex of key in m, made on first use.
func (l *localDisk) keyLock(m map[string]*sync.Mutex, key string) *sync.Mutex {
	l.mu.Lock()
	defer l.mu.Unlock()
	lock, ok := m[key]
	if !ok {
		lock = new(sync.Mutex)
		m[key] = lock
	}
	return lock
}

// mount makes runDir, an existing directory, the mount of the app's image
// of its tier's local storage. The first mount in this server's life
// empties the image of what instances of an earlier life left (a server
// stopped, or killed, with instances running), but for the mirrors, which
// are whole or absent and are swept when unused. It empties the directory
// under the image first, too: instances' leftovers from before the app had
// an image would otherwise be moved into the new one (and, more than the
// local storage, refuse it: the app would never start again), or stay on
// the server's disk hidden under the mount.
func (l *localDisk) mount(ctx context.Context, s deploy.Snapshot, runDir string) error {
	app := strings.ToLower(s.Site.Name)
	lock := l.keyLock(l.apps, app)
	lock.Lock()
	defer lock.Unlock()
	if l.exists != nil && !l.exists(s.Site.Name) {
		// The site's record goes before its files (arm's deleteSite),
		// and remove waits for this lock: the image is never made again
		// after the deletion removed it.
		return fmt.Errorf("the app %s was deleted; its instance does not start", s.Site.Name)
	}
	l.mu.Lock()
	first := !l.fresh[app]
	l.mu.Unlock()
	if first {
		emptyRunDir(runDir)
	}
	mb := s.Plan.SKU.LocalStorageMB()
	if _, err := l.images.Ensure(ctx, app, runDir, int64(mb)<<20, 0, 0); err != nil {
		return fmt.Errorf("mounting the app's local storage (%d MB): %w", mb, err)
	}
	if first {
		emptyRunDir(runDir)
		l.mu.Lock()
		l.fresh[app] = true
		l.mu.Unlock()
	}
	return nil
}

// emptyRunDir removes what instances left in runDir (the image mounted
// there, or the directory under it), but for whole mirrors.
func emptyRunDir(runDir string) {
	entries, _ := os.ReadDir(runDir)
	for _, e := range entries {
		if n := e.Name(); n != "lost+found" && (!strings.HasPrefix(n, "env-") || strings.HasSuffix(n, ".new")) {
			os.RemoveAll(filepath.Join(runDir, n))
		}
	}
}

// remove releases and deletes the app's image, for a deleted site; runDir
// is left an empty directory.
func (l *localDisk) remove(ctx context.Context, app, runDir string) error {
	app = strings.ToLower(app)
	lock := l.keyLock(l.apps, app) // after a mount in progress
	lock.Lock()
	defer lock.Unlock()
	l.mu.Lock()
	delete(l.fresh, app)
	l.mu.Unlock()
	return l.images.Remove(ctx, app, runDir)
}

// siteRunDir is where a site's instances keep their copies of the app and
// views of its environment: the mount point of its local storage.
func siteRunDir(dataDir, site string) string {
	return filepath.Join(dataDir, "sites", strings.ToLower(site), "run")
}

// mirror returns a copy of the sealed environment venvDir inside runDir,
// made on first use, and a release to call when the instance that uses it
// is gone. Mirrors of other environments that no instance uses are removed.
func (l *localDisk) mirror(ctx context.Context, runDir, venvDir string) (string, func(), error) {
	sum := sha256.Sum256([]byte(venvDir))
	path := filepath.Join(runDir, "env-"+hex.EncodeToString(sum[:8]))
	l.mu.Lock()
	l.refs[path]++
	l.mu.Unlock()
	lock := l.keyLock(l.busy, path)
	var once sync.Once
	release := func() {
		once.Do(func() {
			l.mu.Lock()
			if l.refs[path]--; l.refs[path] <= 0 {
				delete(l.refs, path)
			}
			l.mu.Unlock()
		})
	}
	lock.Lock()
	err := l.make(ctx, path, venvDir)
	lock.Unlock()
	if err != nil {
		release()
		return "", nil, err
	}
	l.sweep(runDir)
	return path, release, nil
}

// make copies venvDir to path unless it is there: into a temporary name
// first, so that a mirror that exists is whole.
func (l *localDisk) make(ctx context.Context, path, venvDir string) error {
	if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
		return nil
	}
	tmp := path + ".new"
	os.RemoveAll(tmp)
	// As root, without Chown: the copies keep the sealed files' modes and
	// are root's, so the app's hard links to them are read-only to it.
	if err := tree.Copy(ctx, venvDir, tmp, tree.Options{}); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("copying the environment into the app's local storage: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("copying the environment into the app's local storage: %w", err)
	}
	return nil
}

// sweep removes the mirrors in runDir that no instance uses. It holds a
// mirror's lock while deciding and removing, so that an instance starting
// meanwhile either keeps the mirror (it counted itself first) or waits and
// makes it again.
//
// A mirror first leaves its name, atomically, for one that is not a
// mirror's (gone-…): a removal cut short (the server killed, a file that
// would not go) then leaves a leftover that this sweep, a later one or the
// next first mount removes, never a partial env-… that make would take
// for whole.
func (l *localDisk) sweep(runDir string) {
	names, _ := filepath.Glob(filepath.Join(runDir, "env-*"))
	for _, p := range names {
		if strings.HasSuffix(p, ".new") {
			continue // being made, under its lock
		}
		lock := l.keyLock(l.busy, p)
		lock.Lock()
		l.mu.Lock()
		used := l.refs[p] > 0
		l.mu.Unlock()
		if !used {
			os.Rename(p, filepath.Join(runDir, "gone-"+strings.TrimPrefix(filepath.Base(p), "env-")))
		}
		lock.Unlock()
	}
	gone, _ := filepath.Glob(filepath.Join(runDir, "gone-*"))
	for _, p := range gone {
		l.removeAll(p)
	}
}
