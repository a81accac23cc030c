package scm

import (
	"bytes"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/diskreserve"
)

// TestDiskReserveRefusesPushes: the repository lies outside the app's
// quota, on the disk that holds the platform's own data. A push that
// would take that disk's last space is refused — before it starts on a
// short disk, midway when it outgrows the room left — and leaves neither
// objects nor a moved branch behind.
func TestDiskReserveRefusesPushes(t *testing.T) {
	if _, err := lookGit(); err != nil {
		t.Skip("git is not installed")
	}
	repo := filepath.Join(t.TempDir(), "sites", "app", "repository.git")
	var free atomic.Uint64
	free.Store(512 << 20) // below the 1 GiB reserve
	var logs bytes.Buffer
	h := New(Config{
		Store: &fakeStore{site: slipway.Site{ResourceGroup: "rg", Name: "app"}}, Deployer: fakeDeployer{},
		SiteOf:      func(*http.Request) string { return "app" },
		RepoDir:     func(string) string { return repo },
		ReserveDir:  t.TempDir(),
		Logger:      slog.New(slog.NewTextHandler(&logs, nil)),
		DiskReserve: diskreserve.Amount{Bytes: 1 << 30},
		FreeSpace: func(string) (diskreserve.Space, error) {
			return diskreserve.Space{Free: free.Load(), Size: 200 << 30}, nil
		},
	})
	_, remote, work := serveRepo(t, h)
	wantNothingStored := func(t *testing.T, branch string) {
		t.Helper()
		if out, err := gitClient(t, repo, "rev-parse", "--verify", "-q", "refs/heads/"+branch); err == nil {
			t.Errorf("the refused push created %s: %s", branch, out)
		}
		packs, _ := filepath.Glob(filepath.Join(repo, "objects", "pack", "*.pack"))
		incoming, _ := filepath.Glob(filepath.Join(repo, "objects", "incoming-*"))
		loose, _ := filepath.Glob(filepath.Join(repo, "objects", "??"))
		if len(packs)+len(incoming)+len(loose) > 0 {
			t.Errorf("the refused push left objects: %v %v %v", packs, incoming, loose)
		}
	}

	t.Run("short disk", func(t *testing.T) {
		commitRandom(t, work, "small", 10<<10)
		out, err := gitClient(t, work, "push", remote, "small")
		if err == nil || !strings.Contains(out, "503") {
			t.Fatalf("push on a short disk: %v %s; want it refused with 503", err, out)
		}
		wantNothingStored(t, "small")
	})
	t.Run("the push outgrows the room left", func(t *testing.T) {
		free.Store(1<<30 + 8<<20) // 8 MiB above the reserve
		commitRandom(t, work, "big", 24<<20)
		if out, err := gitClient(t, work, "push", remote, "big"); err == nil {
			t.Fatalf("a 24 MiB push into 8 MiB of room went in: %s", out)
		}
		wantNothingStored(t, "big")
	})
	if n := strings.Count(logs.String(), "DISK RESERVE REACHED"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, logs.String())
	}

	free.Store(100 << 30)
	time.Sleep(1100 * time.Millisecond) // the last reading of the disk is kept for a second
	if out, err := gitClient(t, work, "push", remote, "small"); err != nil {
		t.Errorf("push once space is back: %v %s", err, out)
	}
}
