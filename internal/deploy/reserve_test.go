package deploy

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
	"github.com/slipway-dev/slipway/internal/diskreserve"
)

// TestDiskReserveRefusesPackages: pushed packages lie outside every
// app's quota, on the disk that holds the platform's own data. Each is
// bounded (MaxPackage), but a tenant pushing one after another, or the
// disk filling meanwhile, must not take its last space: a push that would
// is refused with a message the client prints, leaves no file behind and
// records no deployment.
func TestDiskReserveRefusesPackages(t *testing.T) {
	var (
		mu   sync.Mutex
		free uint64 = 512 << 20 // below the 1 GiB reserve
		now         = time.Now()
	)
	set := func(f uint64) { mu.Lock(); free, now = f, now.Add(2*time.Second); mu.Unlock() }
	var logs bytes.Buffer
	store := newRecordingStore()
	data := t.TempDir()
	c := New(Config{Store: store, Logs: applog.NewHub(applog.Config{}), DataDir: data,
		Logger:      slog.New(slog.NewTextHandler(&logs, nil)),
		DiskReserve: diskreserve.Amount{Bytes: 1 << 30},
		FreeSpace: func(string) (diskreserve.Space, error) {
			mu.Lock()
			defer mu.Unlock()
			return diskreserve.Space{Free: free, Size: 200 << 30}, nil
		},
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
	})
	t.Cleanup(func() { c.Close() })
	site := slipway.Site{ResourceGroup: "rg", Name: "app"}
	wantRefused := func(t *testing.T, err error) {
		t.Helper()
		if slipway.ErrorCode(err) != slipway.EUNAVAILABLE || !strings.Contains(slipway.ErrorMessage(err), "short of disk space") {
			t.Fatalf("err = %v; want EUNAVAILABLE saying the disk is short", err)
		}
		ents, _ := os.ReadDir(filepath.Join(data, "packages"))
		for _, e := range ents {
			t.Errorf("packages/%s left behind", e.Name())
		}
		if len(store.deployments) != 0 {
			t.Errorf("a refused push recorded %d deployments", len(store.deployments))
		}
	}

	warnings := func() int { return strings.Count(logs.String(), "DISK RESERVE REACHED") }
	t.Run("short disk", func(t *testing.T) {
		for range 2 {
			_, err := c.Submit(t.Context(), site, strings.NewReader("PK\x05\x06"+strings.Repeat("\x00", 18)), Options{Deployer: "Push-Deployer"})
			wantRefused(t, err)
		}
		if n := warnings(); n != 1 {
			t.Errorf("warned %d times of one shortage, want once:\n%s", n, logs.String())
		}
	})
	t.Run("the disk fills during the push", func(t *testing.T) {
		set(100 << 30)
		body := &fillingReader{r: io.LimitReader(zeros{}, 64<<20), at: 16 << 20, fill: func() { set(512 << 20) }}
		_, err := c.Submit(t.Context(), site, body, Options{Deployer: "Push-Deployer"})
		wantRefused(t, err)
	})
	if n := warnings(); n != 2 {
		t.Errorf("warned %d times of two shortages, want twice:\n%s", n, logs.String())
	}
}

// fillingReader runs fill once at bytes have been read from r.
type fillingReader struct {
	r    io.Reader
	n    int64
	at   int64
	fill func()
}

func (f *fillingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	f.n += int64(n)
	if f.fill != nil && f.n >= f.at {
		f.fill()
		f.fill = nil
	}
	return n, err
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
