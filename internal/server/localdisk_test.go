package server

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	slipway "github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/homefs"
)

// TestAttackMirrorHalfRemoved: a mirror of an environment no instance
// uses is removed when the next instance starts, and removing thousands of
// files is not atomic. A removal cut short — the server killed in the
// middle, or a file it could not remove — must never leave a partial
// mirror that the next instance of that version takes for whole (the
// first mount of a server's life keeps mirrors): its instances would run
// with modules missing.
func TestAttackMirrorHalfRemoved(t *testing.T) {
	ctx := t.Context()
	env := func(names ...string) string {
		dir := t.TempDir()
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o444); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	venvA, venvB := env("a1.py", "a2.py", "a3.py"), env("b.py")
	runDir := t.TempDir()
	l := newLocalDisk(nil)
	_, release, err := l.mirror(ctx, runDir, venvA)
	if err != nil {
		t.Fatal(err)
	}
	release() // version A's last instance ends
	l.removeAll = func(p string) error {
		// The server dies after the first file.
		names, _ := os.ReadDir(p)
		if len(names) > 0 {
			os.Remove(filepath.Join(p, names[0].Name()))
		}
		return errors.New("killed")
	}
	if _, _, err := l.mirror(ctx, runDir, venvB); err != nil { // sweeps A's
		t.Fatal(err)
	}
	l.removeAll = os.RemoveAll
	m, _, err := l.mirror(ctx, runDir, venvA) // version A starts again
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	ents, _ := os.ReadDir(m)
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if want := []string{"a1.py", "a2.py", "a3.py"}; !slices.Equal(got, want) {
		t.Errorf("the mirror of A holds %v; want %v", got, want)
	}
}

// localImages is a data directory and local-storage images under it, for
// a test that needs loop devices (skipped where homefs cannot run).
func localImages(t *testing.T) (string, *homefs.Homes) {
	t.Helper()
	if ok, why := homefs.Supported(); !ok {
		t.Skip(why)
	}
	data := t.TempDir()
	images, err := homefs.New(homefs.Config{ImageDir: filepath.Join(data, "images"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { images.Close() })
	return data, images
}

// TestAttackLocalStorageLeftovers: what an app's instances left in its run
// directory before it had an image (a server before local storage, killed
// with instances running: their copies of the app and views of the
// environment) is the app's to fill and no one's to keep. More of it than
// the tier's local storage must not stop the image from being made — the
// app would never start again — nor stay on the server's disk under the
// mount.
func TestAttackLocalStorageLeftovers(t *testing.T) {
	ctx := t.Context()
	data, images := localImages(t)
	runDir := filepath.Join(data, "run")
	left := filepath.Join(runDir, "0123456789ab-1-antenv")
	if err := os.MkdirAll(left, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(left, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(600 << 20) // sparse: the host's disk is spared, not the count
	f.Close()
	f1, _ := slipway.ParseSKU("F1")
	l := newLocalDisk(images)
	s := deploy.Snapshot{Site: slipway.Site{Name: "App"}, Plan: slipway.Plan{SKU: f1}}
	if err := l.mount(ctx, s, runDir); err != nil {
		t.Fatalf("mounting the app's local storage over 600 MB of leftovers: %v", err)
	}
	if _, total, err := images.Usage("app", runDir); err != nil || total > 500<<20 {
		t.Errorf("the app's local storage: %d bytes, %v; want its 500 MB image", total, err)
	}
	if err := images.Unmount("app", runDir); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(runDir); len(ents) != 0 {
		t.Errorf("left under the mount, on the server's disk: %v", ents)
	}
}

// TestAttackLocalStorageOfADeletedApp: an app deleted while one of its
// instances starts must not keep a local-storage image (and its loop
// device): the start's mount and the deletion's removal take turns, and a
// mount for an app that no longer exists is refused. Otherwise creating,
// starting and deleting apps in a loop leaks loop devices until no app on
// the server can start.
func TestAttackLocalStorageOfADeletedApp(t *testing.T) {
	ctx := t.Context()
	data, images := localImages(t)
	f1, _ := slipway.ParseSKU("F1")
	var exists atomic.Bool
	exists.Store(true)
	l := newLocalDisk(images)
	l.exists = func(string) bool { return exists.Load() }
	s := deploy.Snapshot{Site: slipway.Site{Name: "Gone"}, Plan: slipway.Plan{SKU: f1}}
	runDir := filepath.Join(data, "run")
	if err := os.MkdirAll(runDir, 0o711); err != nil {
		t.Fatal(err)
	}

	// Deleted (its record gone) before a starting instance mounts.
	exists.Store(false)
	if err := l.mount(ctx, s, runDir); err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("mounting the local storage of a deleted app: %v; want a refusal", err)
	}
	if names, err := images.Images(); err != nil || len(names) != 0 {
		t.Errorf("images after the refused mount: %v", names)
	}

	// Deleted while a start holds the mount: the removal waits for it,
	// then takes the image.
	exists.Store(true)
	lock := l.keyLock(l.apps, "gone")
	lock.Lock()
	removed := make(chan error, 1)
	go func() { removed <- l.remove(ctx, "Gone", runDir) }()
	select {
	case err := <-removed:
		t.Fatalf("the removal did not wait for a mount in progress: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	lock.Unlock()
	if err := <-removed; err != nil {
		t.Fatal(err)
	}
}

// TestAttackHomeOfADeletedApp: a Kudu file request or an instance start
// that began before its app was deleted mounts the app's home after the
// deletion removed it — a quota-sized image and a loop device left for
// ever, and for the next app of that name. Once mounted, a home whose app
// is gone from the store is removed again and the request refused.
func TestAttackHomeOfADeletedApp(t *testing.T) {
	ctx := t.Context()
	data, homes := localImages(t)
	f1, _ := slipway.ParseSKU("F1")
	var exists atomic.Bool
	p := &planner{homes: homes, home: func(site string) string { return filepath.Join(data, "sites", strings.ToLower(site), "home") }}
	p.exists = func(string) bool { return exists.Load() }
	s := deploy.Snapshot{Site: slipway.Site{Name: "Gone"}, Plan: slipway.Plan{SKU: f1}}

	exists.Store(true)
	if _, err := p.prepareHome(ctx, s, 0, 0); err != nil {
		t.Fatal(err)
	}
	if names, _ := homes.Images(); len(names) != 1 {
		t.Fatalf("images of a live app: %v", names)
	}
	// The deletion runs (its record gone, its home removed) while a
	// request that already found the app is on its way to the home.
	exists.Store(false)
	if err := homes.Remove(ctx, "gone", p.home("Gone")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.prepareHome(ctx, s, 0, 0); err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("preparing the home of a deleted app: %v; want a refusal", err)
	}
	if names, err := homes.Images(); err != nil || len(names) != 0 {
		t.Errorf("images after the deleted app's home was prepared: %v, %v", names, err)
	}
}
