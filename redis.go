package slipway

import (
	"net/netip"
	"regexp"
	"strings"
	"time"
)

// RedisCache is an Azure Cache for Redis (ARM type Microsoft.Cache/redis):
// a Redis server apps reach with TLS at <name>.redis.cache.windows.net:6380,
// authenticating with either of its two access keys. Its name is unique
// across the installation, as Azure's are across Azure (the host name is
// made of it). The keys are kept sealed by the store; they are never part
// of this type's answers except through listKeys.
type RedisCache struct {
	ResourceGroup string
	Name          string
	Location      string
	Tags          map[string]string
	SKUName       string // Basic, Standard, Premium
	SKUFamily     string // C (Basic, Standard) or P (Premium)
	SKUCapacity   int    // 0–6 (C), 1–5 (P)
	// Version is the Redis version the cache really runs ("" while it is
	// being created).
	Version string
	Created time.Time
}

// RedisKeys are a cache's two access keys (listKeys).
type RedisKeys struct{ Primary, Secondary string }

// RedisFirewallRule is a cache's firewall rule (redis/firewallRules):
// clients from Start to End (IPv4) may connect. A cache without rules
// admits every client, as Azure's does.
type RedisFirewallRule struct {
	Cache string
	Name  string
	Start netip.Addr
	End   netip.Addr
}

var redisCacheNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// ValidateRedisCacheName checks a cache's name as Azure does: 1–63
// letters, digits and hyphens, starting and ending with a letter or digit,
// without consecutive hyphens
// (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftcache).
func ValidateRedisCacheName(name string) error {
	if !redisCacheNameRE.MatchString(name) || strings.Contains(name, "--") {
		return Errorf(EINVALID, "The cache name '%s' is invalid. It must be 1 to 63 characters long, contain only letters, numbers and hyphens, start and end with a letter or number, and must not contain consecutive hyphens.", name)
	}
	return nil
}

var redisRuleRE = regexp.MustCompile(`^[A-Za-z0-9]{1,256}$`)

// ValidateRedisFirewallRuleName checks a firewall rule's name as Azure
// does: 1–256 letters and digits.
func ValidateRedisFirewallRuleName(name string) error {
	if !redisRuleRE.MatchString(name) {
		return Errorf(EINVALID, "The firewall rule name '%s' is invalid. It can contain only letters and digits, at most 256 characters.", name)
	}
	return nil
}

// redisMemoryMiB is each size's memory, by family and capacity, as
// Azure's pricing page lists it
// (https://azure.microsoft.com/pricing/details/cache/): C0 250 MB to C6
// 53 GB, P1 6 GB to P5 120 GB.
var redisMemoryMiB = map[string][]int64{
	"C": {250, 1 << 10, 2560, 6 << 10, 13 << 10, 26 << 10, 53 << 10},
	"P": {0, 6 << 10, 13 << 10, 26 << 10, 53 << 10, 120 << 10},
}

// RedisMaxMemory is the memory, in bytes, of a cache of the family (C or
// P) and capacity; 0 for a size Azure does not offer.
func RedisMaxMemory(family string, capacity int) int64 {
	sizes := redisMemoryMiB[strings.ToUpper(family)]
	if capacity < 0 || capacity >= len(sizes) {
		return 0
	}
	return sizes[capacity] << 20
}
