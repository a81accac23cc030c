package store

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
)

// TestRedisCaches: a cache's name is taken across every group; its keys
// are sealed (in no file of the store in clear, the WAL included) and
// come back unsealed to listKeys and to the backend with its memory and
// rules; its rules are reached through its own group only; a group's
// deletion names its caches and frees their names.
func TestRedisCaches(t *testing.T) {
	s, dir := openTest(t)
	ctx := t.Context()
	for _, g := range []string{"rg", "other"} {
		if _, _, err := s.PutResourceGroup(ctx, slipway.ResourceGroup{Name: g, Location: "westeurope"}); err != nil {
			t.Fatal(err)
		}
	}
	keys := slipway.RedisKeys{Primary: "PrimaryKeyOfTheCacheInClear0000000000000000=", Secondary: "SecondaryKeyOfTheCacheInClear00000000000000="}
	c := slipway.RedisCache{ResourceGroup: "rg", Name: "Cache1", SKUName: "Basic", SKUFamily: "C", SKUCapacity: 1, Version: "7.0.15"}
	got, err := s.CreateRedisCache(ctx, c, keys)
	if err != nil || got.Location != "westeurope" {
		t.Fatalf("create = %+v, %v", got, err)
	}
	taken := c
	taken.ResourceGroup, taken.Name = "other", "cache1"
	_, err = s.CreateRedisCache(ctx, taken, keys)
	wantCode(t, err, slipway.ECONFLICT)
	_, err = s.CreateRedisCache(ctx, slipway.RedisCache{ResourceGroup: "rg", Name: "bad--name"}, keys)
	wantCode(t, err, slipway.EINVALID)
	_, err = s.RedisCache(ctx, "other", "cache1")
	wantCode(t, err, slipway.ENOTFOUND)
	_, err = s.RedisCacheKeys(ctx, "other", "cache1")
	wantCode(t, err, slipway.ENOTFOUND)
	if k, err := s.RedisCacheKeys(ctx, "rg", "cache1"); err != nil || k != keys {
		t.Fatalf("keys = %+v, %v", k, err)
	}

	_, err = s.PutRedisFirewallRule(ctx, "other", slipway.RedisFirewallRule{Cache: "cache1", Name: "all", Start: netip.MustParseAddr("0.0.0.0"), End: netip.MustParseAddr("255.255.255.255")})
	wantCode(t, err, slipway.ENOTFOUND)
	rule := slipway.RedisFirewallRule{Cache: "Cache1", Name: "office", Start: netip.MustParseAddr("10.0.0.1"), End: netip.MustParseAddr("10.0.0.9")}
	if rules, err := s.PutRedisFirewallRule(ctx, "rg", rule); err != nil || len(rules) != 1 {
		t.Fatalf("rules = %v, %v", rules, err)
	}
	_, err = s.PutRedisFirewallRule(ctx, "rg", slipway.RedisFirewallRule{Cache: "cache1", Name: "no-hyphens", Start: rule.Start, End: rule.End})
	wantCode(t, err, slipway.EINVALID)

	newKeys := slipway.RedisKeys{Primary: "RegeneratedPrimaryKeyInClear000000000000000=", Secondary: keys.Secondary}
	if err := s.SetRedisCacheKeys(ctx, "rg", "cache1", newKeys); err != nil {
		t.Fatal(err)
	}
	states, err := s.RedisCaches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []RedisCacheState{{Name: "cache1", MaxMemory: 1 << 30, Keys: newKeys, Rules: []slipway.RedisFirewallRule{rule}}}
	if diff := cmp.Diff(want, states, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Fatalf("RedisCaches (-want +got):\n%s", diff)
	}

	// No key is in any of the store's files in clear.
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, k := range []string{keys.Primary, keys.Secondary, newKeys.Primary} {
			if strings.Contains(string(b), k) {
				t.Errorf("%s holds the key %q in clear", p, k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	d, err := s.DeleteResourceGroupContents(ctx, "rg")
	if err != nil || len(d.RedisCaches) != 1 || d.RedisCaches[0] != "Cache1" {
		t.Fatalf("deleted = %+v, %v", d, err)
	}
	if taken, err := s.RedisCacheNameTaken(ctx, "cache1"); err != nil || taken {
		t.Fatalf("name taken after the group's deletion: %v, %v", taken, err)
	}
}

// TestRedisMaxMemory: Azure's sizes.
func TestRedisMaxMemory(t *testing.T) {
	for _, c := range []struct {
		family string
		cap    int
		want   int64
	}{{"C", 0, 250 << 20}, {"c", 2, 2560 << 20}, {"C", 6, 53 << 30}, {"C", 7, 0}, {"P", 0, 0}, {"P", 1, 6 << 30}, {"P", 5, 120 << 30}, {"X", 1, 0}} {
		if got := slipway.RedisMaxMemory(c.family, c.cap); got != c.want {
			t.Errorf("RedisMaxMemory(%s, %d) = %d, want %d", c.family, c.cap, got, c.want)
		}
	}
}
