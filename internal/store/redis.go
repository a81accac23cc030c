package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-dev/slipway"
)

// Azure Cache for Redis (migration 0033_redis_caches.sql): one row per
// cache, with its access keys sealed, and its firewall rules. The ARM
// layer (internal/arm/redis.go) writes them; the backend that runs the
// caches (internal/rediscache) reads RedisCaches at start to bring its
// servers back in line.

func errRedisCacheNotFound(rg, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.Cache/Redis/%s' under resource group '%s' was not found.", name, rg)
}

// errRedisNameTaken is the answer to a cache name in use anywhere.
func errRedisNameTaken(name string) error {
	return slipway.Errorf(slipway.ECONFLICT, "The name '%s' is already in use: cache names are unique across Slipway, as across Azure, because they name the cache's host (%s.redis.cache.windows.net). Choose another name.", name, strings.ToLower(name))
}

// redisKeysAAD binds a cache's sealed keys to its name (unique over the
// installation).
func redisKeysAAD(name string) string { return "redis-keys\x00" + strings.ToLower(name) }

func (s *Store) sealRedisKeys(name string, k slipway.RedisKeys) ([]byte, error) {
	if k.Primary == "" || k.Secondary == "" || strings.Contains(k.Primary+k.Secondary, "\x00") {
		return nil, fmt.Errorf("sealing the keys of cache %s: two non-empty keys are needed", name)
	}
	return s.seal(k.Primary+"\x00"+k.Secondary, redisKeysAAD(name))
}

func (s *Store) openRedisKeys(name string, sealed []byte) (slipway.RedisKeys, error) {
	plain, err := s.open(sealed, redisKeysAAD(name))
	if err != nil {
		return slipway.RedisKeys{}, fmt.Errorf("reading the keys of cache %s: %w", name, err)
	}
	p, sec, ok := strings.Cut(plain, "\x00")
	if !ok {
		return slipway.RedisKeys{}, fmt.Errorf("reading the keys of cache %s: malformed", name)
	}
	return slipway.RedisKeys{Primary: p, Secondary: sec}, nil
}

const redisSelect = `SELECT resource_group, name, location, tags, sku_name, sku_family, sku_capacity, version, created FROM redis_caches`

func scanRedisCache(r rowScanner) (slipway.RedisCache, error) {
	var c slipway.RedisCache
	var tags string
	var created int64
	if err := r.Scan(&c.ResourceGroup, &c.Name, &c.Location, &tags, &c.SKUName, &c.SKUFamily, &c.SKUCapacity, &c.Version, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return c, err
		}
		return c, fmt.Errorf("reading cache: %w", err)
	}
	var err error
	if c.Tags, err = decodeTags(tags); err != nil {
		return c, err
	}
	c.Created = fromUnix(created)
	return c, nil
}

// CreateRedisCache records a new cache with its keys in its resource
// group (which must exist; the location defaults to the group's). The
// name must be free across the installation: ECONFLICT where it is taken.
func (s *Store) CreateRedisCache(ctx context.Context, c slipway.RedisCache, keys slipway.RedisKeys) (slipway.RedisCache, error) {
	if err := slipway.ValidateRedisCacheName(c.Name); err != nil {
		return c, err
	}
	if c.Tags == nil {
		c.Tags = map[string]string{}
	}
	sealed, err := s.sealRedisKeys(c.Name, keys)
	if err != nil {
		return c, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := groupInTx(ctx, tx, c.ResourceGroup)
		if err != nil {
			return err
		}
		c.ResourceGroup = g.Name
		if strings.TrimSpace(c.Location) == "" {
			c.Location = g.Location
		}
		if taken, err := redisNameTaken(ctx, tx, c.Name); err != nil {
			return err
		} else if taken {
			return errRedisNameTaken(c.Name)
		}
		c.Created = s.now().UTC()
		if _, err := tx.ExecContext(ctx, `INSERT INTO redis_caches (resource_group, name, location, tags, sku_name, sku_family, sku_capacity,
			version, keys_sealed, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ResourceGroup, c.Name, c.Location, encodeTags(c.Tags), c.SKUName, c.SKUFamily, c.SKUCapacity, c.Version, sealed, toUnix(c.Created)); err != nil {
			return fmt.Errorf("storing cache: %w", err)
		}
		return nil
	})
	return c, err
}

func redisNameTaken(ctx context.Context, q querier, name string) (bool, error) {
	var rg string
	switch err := q.QueryRowContext(ctx, `SELECT resource_group FROM redis_caches WHERE name = ?`, name).Scan(&rg); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("looking up cache: %w", err)
	}
	return true, nil
}

// RedisCacheNameTaken reports whether a cache of any group has the name.
func (s *Store) RedisCacheNameTaken(ctx context.Context, name string) (bool, error) {
	return redisNameTaken(ctx, s.read, name)
}

// UpdateRedisCache stores a cache's changeable fields: tags, SKU and
// version.
func (s *Store) UpdateRedisCache(ctx context.Context, c slipway.RedisCache) error {
	if c.Tags == nil {
		c.Tags = map[string]string{}
	}
	return s.updateRedisRow(ctx, c.ResourceGroup, c.Name, `tags = ?, sku_name = ?, sku_family = ?, sku_capacity = ?, version = ?`,
		encodeTags(c.Tags), c.SKUName, c.SKUFamily, c.SKUCapacity, c.Version)
}

// SetRedisCacheKeys replaces a cache's keys.
func (s *Store) SetRedisCacheKeys(ctx context.Context, rg, name string, keys slipway.RedisKeys) error {
	sealed, err := s.sealRedisKeys(name, keys)
	if err != nil {
		return err
	}
	return s.updateRedisRow(ctx, rg, name, `keys_sealed = ?`, sealed)
}

func (s *Store) updateRedisRow(ctx context.Context, rg, name, set string, args ...any) error {
	res, err := s.write.ExecContext(ctx, `UPDATE redis_caches SET `+set+` WHERE resource_group = ? AND name = ?`, append(args, rg, name)...)
	if err != nil {
		return fmt.Errorf("updating cache: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errRedisCacheNotFound(rg, name)
	}
	return nil
}

// RedisCache returns a cache of a group; ENOTFOUND (naming a missing
// group first) when there is none.
func (s *Store) RedisCache(ctx context.Context, rg, name string) (slipway.RedisCache, error) {
	c, err := scanRedisCache(s.read.QueryRowContext(ctx, redisSelect+` WHERE resource_group = ? AND name = ?`, rg, name))
	if errors.Is(err, sql.ErrNoRows) {
		return c, redisCacheExists(ctx, s.read, rg, name)
	}
	return c, err
}

// RedisCacheKeys returns a cache's keys, unsealed.
func (s *Store) RedisCacheKeys(ctx context.Context, rg, name string) (slipway.RedisKeys, error) {
	var sealed []byte
	var stored string
	err := s.read.QueryRowContext(ctx, `SELECT name, keys_sealed FROM redis_caches WHERE resource_group = ? AND name = ?`, rg, name).Scan(&stored, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return slipway.RedisKeys{}, redisCacheExists(ctx, s.read, rg, name)
	} else if err != nil {
		return slipway.RedisKeys{}, fmt.Errorf("reading cache: %w", err)
	}
	return s.openRedisKeys(stored, sealed)
}

// RedisCachesIn lists the caches of a resource group, or of every group
// when rg is "", by group and name.
func (s *Store) RedisCachesIn(ctx context.Context, rg string) ([]slipway.RedisCache, error) {
	return listInGroup(ctx, s, "caches", scanRedisCache, redisSelect, rg)
}

// DeleteRedisCache deletes a cache's record with its keys and firewall
// rules; ENOTFOUND when there is none.
func (s *Store) DeleteRedisCache(ctx context.Context, rg, name string) error {
	return deleteInGroup(ctx, s, "redis_caches", rg, name, errRedisCacheNotFound)
}

// RedisCacheState is what the backend needs of a cache at start.
type RedisCacheState struct {
	Name      string // lower-case, as the backend knows it
	MaxMemory int64  // bytes, by the cache's size
	Keys      slipway.RedisKeys
	Rules     []slipway.RedisFirewallRule
}

// RedisCaches lists every cache of the installation with its memory, its
// keys (unsealed) and its firewall rules, by name, so that the backend
// can be brought back in line after a restart.
func (s *Store) RedisCaches(ctx context.Context) ([]RedisCacheState, error) {
	type row struct {
		c      slipway.RedisCache
		sealed []byte
	}
	rows, err := listRows(ctx, s.read, "listing caches", func(r rowScanner) (row, error) {
		var x row
		err := r.Scan(&x.c.Name, &x.c.SKUFamily, &x.c.SKUCapacity, &x.sealed)
		return x, err
	}, `SELECT name, sku_family, sku_capacity, keys_sealed FROM redis_caches ORDER BY name`)
	if err != nil {
		return nil, err
	}
	rules, err := redisRules.all(redisRules.list(ctx, s.read, ""))
	if err != nil {
		return nil, err
	}
	by := map[string][]slipway.RedisFirewallRule{}
	for _, r := range rules {
		by[strings.ToLower(r.Cache)] = append(by[strings.ToLower(r.Cache)], r)
	}
	out := make([]RedisCacheState, 0, len(rows))
	for _, x := range rows {
		keys, err := s.openRedisKeys(x.c.Name, x.sealed)
		if err != nil {
			return nil, err
		}
		name := strings.ToLower(x.c.Name)
		out = append(out, RedisCacheState{Name: name, MaxMemory: slipway.RedisMaxMemory(x.c.SKUFamily, x.c.SKUCapacity), Keys: keys, Rules: by[name]})
	}
	return out, nil
}

// redisCacheExists checks that the cache is rg's (ENOTFOUND naming the
// group or the cache otherwise).
func redisCacheExists(ctx context.Context, q querier, rg, name string) error {
	return resourceExists(ctx, q, "redis_caches", rg, name, errRedisCacheNotFound)
}

// Firewall rules.

// redisRules is the table of the caches' firewall rules.
var redisRules = typedRules[slipway.RedisFirewallRule]{
	ipRuleTable: ipRuleTable{table: "redis_firewall_rules", owner: "cache", what: "cache firewall rule", ownerExists: redisCacheExists, notFound: errRedisRuleNotFound},
	to: func(r ipRule) slipway.RedisFirewallRule {
		return slipway.RedisFirewallRule{Cache: r.owner, Name: r.name, Start: r.start, End: r.end}
	},
	from: func(f slipway.RedisFirewallRule) ipRule {
		return ipRule{owner: f.Cache, name: f.Name, start: f.Start, end: f.End}
	},
	validate: slipway.ValidateRedisFirewallRuleName,
}

func errRedisRuleNotFound(cache, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.Cache/Redis/%s/firewallRules/%s' was not found.", cache, name)
}

// PutRedisFirewallRule creates or replaces a firewall rule of rg's cache
// and returns the cache's rules after the change.
func (s *Store) PutRedisFirewallRule(ctx context.Context, rg string, f slipway.RedisFirewallRule) ([]slipway.RedisFirewallRule, error) {
	return redisRules.putIn(ctx, s, rg, f)
}

// RedisFirewallRule returns a firewall rule of rg's cache.
func (s *Store) RedisFirewallRule(ctx context.Context, rg, cache, name string) (slipway.RedisFirewallRule, error) {
	return redisRules.getIn(ctx, s, rg, cache, name)
}

// RedisFirewallRules lists the firewall rules of rg's cache by name.
func (s *Store) RedisFirewallRules(ctx context.Context, rg, cache string) ([]slipway.RedisFirewallRule, error) {
	return redisRules.listIn(ctx, s, rg, cache)
}

// DeleteRedisFirewallRule deletes a firewall rule and returns the
// cache's rules after the change; ENOTFOUND when there is none.
func (s *Store) DeleteRedisFirewallRule(ctx context.Context, rg, cache, name string) ([]slipway.RedisFirewallRule, error) {
	return redisRules.deleteIn(ctx, s, rg, cache, name)
}
