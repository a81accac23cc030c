package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/slipway-dev/slipway/internal/arm"
	"github.com/slipway-dev/slipway/internal/server"
)

// stubRedis stands in for the caches' backend (internal/rediscache, with
// its own end-to-end test against real redis-servers): here the real az's
// requests are what is under test, and the stub keeps what ARM gave it.
type stubRedis struct {
	mu     sync.Mutex
	caches map[string]stubCache
}

type stubCache struct {
	maxMemory          int64
	primary, secondary string
	rules              []arm.RedisFirewallRule
}

var _ arm.RedisCaches = (*stubRedis)(nil)

func (s *stubRedis) CreateCache(_ context.Context, name string, maxMemory int64, primary, secondary string) (string, error) {
	s.edit(name, func(c *stubCache) { *c = stubCache{maxMemory: maxMemory, primary: primary, secondary: secondary} })
	return "7.0.15", nil
}

func (s *stubRedis) SetKeys(_ context.Context, name, primary, secondary string) error {
	s.edit(name, func(c *stubCache) { c.primary, c.secondary = primary, secondary })
	return nil
}

func (s *stubRedis) DeleteCache(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.caches, name)
	return nil
}

func (s *stubRedis) SetFirewallRules(name string, rules []arm.RedisFirewallRule) {
	s.edit(name, func(c *stubCache) { c.rules = rules })
}

// edit changes the named cache (making it) under the lock.
func (s *stubRedis) edit(name string, fn func(*stubCache)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.caches == nil {
		s.caches = map[string]stubCache{}
	}
	c := s.caches[name]
	fn(&c)
	s.caches[name] = c
}

func (s *stubRedis) cache(name string) (stubCache, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.caches[name]
	return c, ok
}

// TestRealAzRedisCache: the cache of Microsoft's Django tutorial with
// PostgreSQL and Redis (the sample's AZURE_REDIS_CONNECTIONSTRING), made
// and managed with the installed az: redis create (Basic C0), show, list,
// list-keys, regenerate-keys, firewall-rules create|list|delete, update
// --set tags and delete; and what Slipway refuses (the non-TLS port).
func TestRealAzRedisCache(t *testing.T) {
	t.Parallel() // its own server and names; az mostly waits (CI time)
	rc := &stubRedis{}
	r := startRealAzEdit(t, realAzPath(t), func(c *server.Config) { c.Redis = rc })
	cli := r.cli
	rg, name := "rg-realaz-redis", "realaz-cache1"
	cli.must("group", "create", "-n", rg, "-l", "westeurope", "-o", "none")
	cache := []string{"--name", name, "--resource-group", rg}

	if out := cli.fail(append([]string{"redis", "create", "--location", "westeurope", "--sku", "Basic", "--vm-size", "c0", "--enable-non-ssl-port"}, cache...)...); !strings.Contains(out, "non-TLS port") {
		t.Fatalf("create --enable-non-ssl-port: %s", out)
	}
	// az prints the answer to the create, which has the keys (Azure's API
	// sets accessKeys in the answer to a create or update only).
	out := cli.must(append([]string{"redis", "create", "--location", "westeurope", "--sku", "Basic", "--vm-size", "c0", "-o", "json"}, cache...)...)
	var created struct {
		HostName, ProvisioningState, RedisVersion string
		SslPort                                   int
		EnableNonSslPort                          bool
		AccessKeys                                struct{ PrimaryKey, SecondaryKey string }
		Sku                                       struct{ Name, Family string }
	}
	c, ok := rc.cache(name)
	if err := json.Unmarshal([]byte(out), &created); err != nil || !ok || created.HostName != name+".redis.cache.windows.net" || created.SslPort != 6380 ||
		created.EnableNonSslPort || created.ProvisioningState != "Succeeded" || created.RedisVersion != "7.0.15" ||
		created.Sku.Name != "Basic" || created.Sku.Family != "C" || created.AccessKeys.PrimaryKey != c.primary || c.maxMemory != 250<<20 {
		t.Fatalf("create (%v), backend %+v:\n%s", err, c, out)
	}

	out = cli.must(append([]string{"redis", "show", "-o", "json"}, cache...)...)
	if !strings.Contains(out, `"accessKeys": null`) || strings.Contains(out, c.primary) || !strings.Contains(out, `"provisioningState": "Succeeded"`) {
		t.Fatalf("show:\n%s", out)
	}
	if got := strings.TrimSpace(cli.must("redis", "list", "-g", rg, "--query", "[].name", "-o", "tsv")); got != name {
		t.Fatalf("list = %q", got)
	}
	if got := strings.TrimSpace(cli.must(append([]string{"redis", "list-keys", "--query", "primaryKey", "-o", "tsv"}, cache...)...)); got != c.primary {
		t.Fatalf("list-keys primary = %q, want %q", got, c.primary)
	}
	cli.must(append([]string{"redis", "regenerate-keys", "--key-type", "Primary", "-o", "none"}, cache...)...)
	if now, _ := rc.cache(name); now.primary == c.primary || now.secondary != c.secondary {
		t.Fatalf("backend keys after regenerate-keys: %+v", now)
	}

	cli.must(append([]string{"redis", "firewall-rules", "create", "--rule-name", "office", "--start-ip", "203.0.113.1", "--end-ip", "203.0.113.9", "-o", "none"}, cache...)...)
	if got := strings.TrimSpace(cli.must(append([]string{"redis", "firewall-rules", "list", "--query", "[].startIp", "-o", "tsv"}, cache...)...)); got != "203.0.113.1" {
		t.Fatalf("firewall-rules list = %q", got)
	}
	if now, _ := rc.cache(name); len(now.rules) != 1 || now.rules[0].End.String() != "203.0.113.9" {
		t.Fatalf("backend rules = %v", now.rules)
	}
	cli.must(append([]string{"redis", "firewall-rules", "delete", "--rule-name", "office"}, cache...)...)
	if now, _ := rc.cache(name); len(now.rules) != 0 {
		t.Fatalf("backend rules after delete = %v", now.rules)
	}

	// update: az GETs the cache and PATCHes it back with the change.
	cli.must(append([]string{"redis", "update", "--set", "tags.env=dev", "-o", "none"}, cache...)...)
	if got := strings.TrimSpace(cli.must(append([]string{"redis", "show", "--query", "tags.env", "-o", "tsv"}, cache...)...)); got != "dev" {
		t.Fatalf("tags after update = %q", got)
	}

	cli.must(append([]string{"redis", "delete", "--yes"}, cache...)...)
	if _, ok := rc.cache(name); ok {
		t.Fatal("the backend's cache was not deleted")
	}
	if out := cli.fail(append([]string{"redis", "show"}, cache...)...); !strings.Contains(out, "ResourceNotFound") && !strings.Contains(out, "was not found") {
		t.Fatalf("show after delete: %s", out)
	}
}
