package blob

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
)

// mapAccounts is a map-backed Accounts for tests.
type mapAccounts struct {
	mu sync.Mutex
	m  map[string]Account
}

var _ Accounts = (*mapAccounts)(nil)

func (a *mapAccounts) Account(_ context.Context, name string) (Account, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	acct, ok := a.m[name]
	if !ok {
		return Account{}, fmt.Errorf("account %q: %w", name, ErrAccountNotFound)
	}
	return acct, nil
}

// testAccounts holds the development account and a second account
// "otheraccount" with a different key.
func testAccounts() *mapAccounts {
	other := Account{Name: "otheraccount", Keys: [][]byte{[]byte("0123456789abcdef0123456789abcdef"), []byte("second-key-second-key-second-key")}}
	return &mapAccounts{m: map[string]Account{DevelopmentAccountName: DevelopmentAccount(), other.Name: other}}
}

type testServer struct {
	svc  *Service
	srv  *httptest.Server
	dir  string
	conn string // connection string for the development account
}

func (ts *testServer) endpoint() string { return ts.srv.URL + "/" + DevelopmentAccountName }

func connectionString(endpoint, account string, key []byte) string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;",
		account, base64.StdEncoding.EncodeToString(key), endpoint)
}

// startService opens a Service on a temp dir and serves it on a loopback
// listener for the duration of the test.
func startService(t testing.TB, cfg Config) *testServer {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.Accounts == nil {
		cfg.Accounts = testAccounts()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	svc, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	srv := httptest.NewServer(svc)
	t.Cleanup(func() {
		srv.Close()
		if err := svc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	ts := &testServer{svc: svc, srv: srv, dir: cfg.Dir}
	ts.conn = connectionString(ts.endpoint(), DevelopmentAccountName, DevelopmentAccount().Keys[0])
	return ts
}
