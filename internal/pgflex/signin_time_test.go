package pgflex

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestEntraSignInTime measures sign-ins through the proxy, one after
// another, with a Go client (pgx, so that no client process is timed):
// a role's password, and a Microsoft Entra principal's token. It runs
// only when asked: SLIPWAY_MEASURE=<sign-ins per kind> (docs/benchmarks.md).
func TestEntraSignInTime(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SLIPWAY_MEASURE"))
	if n <= 0 {
		t.Skip("set SLIPWAY_MEASURE=<count> to measure sign-ins")
	}
	e := newEntraEnv(t)
	host, appTok := e.serverWithApp(t, "pgt-timed")
	for _, k := range []struct {
		kind, user, password string
		auth                 AuthConfig
	}{
		{"password (Entra off)", "myadmin", adminPW, AuthConfig{Password: true}},
		{"password (Entra on)", "myadmin", adminPW, entraOn},
		{"entra", "webapp1", appTok, entraOn},
	} {
		e.m.SetAuthConfig("pgt-timed", k.auth)
		signInOnce(t, e.addr, host, k.user, k.password) // the first sets the proxy's password
		times := make([]time.Duration, n)
		for i := range n {
			start := time.Now()
			signInOnce(t, e.addr, host, k.user, k.password)
			times[i] = time.Since(start)
		}
		slices.Sort(times)
		var sum time.Duration
		for _, d := range times {
			sum += d
		}
		t.Logf("%s sign-in: n=%d mean=%v median=%v p90=%v", k.kind, n, sum/time.Duration(n), times[n/2], times[n*9/10])
	}
}

// signInOnce opens one session through the proxy as a client would (TLS
// with the server's name) and closes it.
func signInOnce(t *testing.T, addr, host, user, password string) {
	t.Helper()
	if err := signInErr(addr, host, user, password); err != nil {
		t.Fatal(err)
	}
}

// signInErr is signInOnce's sign-in, for any goroutine.
func signInErr(addr, host, user, password string) error {
	cfg, err := pgx.ParseConfig("host=" + host + " port=5432 dbname=postgres sslmode=require connect_timeout=10")
	if err != nil {
		return err
	}
	cfg.User, cfg.Password = user, password
	cfg.LookupFunc = func(context.Context, string) ([]string, error) { return []string{"127.0.0.1"}, nil }
	cfg.DialFunc = func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("signing in as %s: %w", user, err)
	}
	return conn.Close(ctx)
}
