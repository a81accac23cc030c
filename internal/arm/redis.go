package arm

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/rediscache"
)

// Azure Cache for Redis (Microsoft.Cache/redis; REST:
// https://learn.microsoft.com/rest/api/redis/redis): what `az redis
// create|show|list|update|delete|list-keys|regenerate-keys` and `az redis
// firewall-rules create|list|show|delete` send. The caches run in the
// backend (Config.Redis, internal/rediscache): this file keeps their
// records, makes their access keys (kept sealed by the store, answered by
// listKeys and by the answer to a create or update, as Azure's API says,
// never by a GET) and calls the backend.
//
// az's SDK (azure-mgmt-redis) takes a 200 or 201 to a create, 200 or 202
// to an update and 200, 202 or 204 to a delete: the change is made before
// the answer, which is the resource with provisioningState Succeeded, so
// there is nothing to poll.

// RedisCaches runs the caches behind Microsoft.Cache/redis (internal/rediscache). Nil: the provider is refused as before.
type RedisCaches interface {
	// CreateCache makes and starts a cache named name (unique across Slipway, lower-case) of maxMemory bytes, whose clients authenticate with either access key; it returns the Redis version it runs (e.g. "7.0.15").
	CreateCache(ctx context.Context, name string, maxMemory int64, primaryKey, secondaryKey string) (version string, err error)
	// SetKeys replaces the access keys (az redis regenerate-keys).
	SetKeys(ctx context.Context, name, primaryKey, secondaryKey string) error
	// DeleteCache stops a cache and removes it. No cache: nil.
	DeleteCache(ctx context.Context, name string) error
	// SetFirewallRules replaces a cache's firewall rules; none admits every client, as on Azure.
	SetFirewallRules(name string, rules []RedisFirewallRule)
}

// RedisFirewallRule is rediscache's, so that the lead's manager is a RedisCaches.
type RedisFirewallRule = rediscache.FirewallRule

const (
	redisNamespace = "Microsoft.Cache"
	redisType      = "Microsoft.Cache/Redis"
	// redisMaxMemoryPolicy is the eviction policy of every cache, Azure's
	// default; the backend runs its servers with it.
	redisMaxMemoryPolicy = "volatile-lru"
)

func redisCacheID(sub, rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/" + redisType + "/" + name
}

// backendName is a cache's name as the backend knows it (and its host).
func backendName(name string) string { return strings.ToLower(name) }

// rc wraps a handler of this provider: refused without a backend.
func (h *Handler) rc(fn func(http.ResponseWriter, *http.Request, params) error) func(http.ResponseWriter, *http.Request, params) error {
	return func(w http.ResponseWriter, r *http.Request, p params) error {
		if h.cfg.Redis == nil {
			return h.errUnservedNamespace(r.URL.Path, redisNamespace)
		}
		return fn(w, r, p)
	}
}

func badRedis(format string, args ...any) error {
	return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(format, args...)}
}

// newRedisKey is an access key as Azure makes them: 32 random bytes in
// base64 (44 characters).
func newRedisKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return base64.StdEncoding.EncodeToString(b[:])
}

// redisSizes are the SKUs: the family and capacities of each.
var redisSizes = []struct {
	name, family string
	max          int
}{{"Basic", "C", 6}, {"Standard", "C", 6}, {"Premium", "P", 5}}

// redisSKU checks a SKU and returns its canonical spelling.
func redisSKU(name, family string, capacity int) (string, string, error) {
	for _, s := range redisSizes {
		if !strings.EqualFold(s.name, name) {
			continue
		}
		if !strings.EqualFold(family, s.family) || capacity < 0 || capacity > s.max || slipway.RedisMaxMemory(s.family, capacity) == 0 {
			return "", "", badRedis("Invalid VM size %s%d for the %s SKU. Valid sizes: %s.", family, capacity, s.name,
				map[string]string{"C": "C0, C1, C2, C3, C4, C5, C6", "P": "P1, P2, P3, P4, P5"}[s.family])
		}
		return s.name, s.family, nil
	}
	return "", "", badRedis("The SKU '%s' is invalid. Allowed values: Basic, Standard, Premium.", name)
}

// redisJSON is a cache as Azure answers it (RedisResource); keys are in
// it only in the answer to a create or update.
func redisJSON(sub string, c slipway.RedisCache, keys *slipway.RedisKeys) map[string]any {
	tags := c.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	var accessKeys any
	if keys != nil {
		accessKeys = map[string]any{"primaryKey": keys.Primary, "secondaryKey": keys.Secondary}
	}
	state := "Succeeded"
	if c.Version == "" { // being created (putRedisCache)
		state = "Creating"
	}
	return map[string]any{
		"id":       redisCacheID(sub, c.ResourceGroup, c.Name),
		"name":     c.Name,
		"type":     redisType,
		"location": displayLocation(c.Location),
		"tags":     tags,
		"properties": map[string]any{
			"provisioningState":              state,
			"redisVersion":                   c.Version,
			"sku":                            map[string]any{"name": c.SKUName, "family": c.SKUFamily, "capacity": c.SKUCapacity},
			"enableNonSslPort":               false,
			"minimumTlsVersion":              "1.2",
			"publicNetworkAccess":            "Enabled",
			"disableAccessKeyAuthentication": false,
			"updateChannel":                  "Stable",
			"zonalAllocationPolicy":          "NoZones",
			"redisConfiguration":             map[string]any{"maxmemory-policy": redisMaxMemoryPolicy},
			"accessKeys":                     accessKeys,
			"hostName":                       backendName(c.Name) + rediscache.Suffix,
			"port":                           6379,
			"sslPort":                        rediscache.SSLPort,
			"linkedServers":                  []any{},
			"privateEndpointConnections":     []any{},
			"tenantSettings":                 map[string]any{},
		},
	}
}

// redisBody is a cache's PUT or PATCH document (RedisCreateParameters,
// RedisUpdateParameters). What Slipway cannot do is named so that it is
// refused, not ignored.
type redisBody struct {
	Location *string           `json:"location"`
	Tags     map[string]string `json:"tags"`
	Zones    []string          `json:"zones"`
	Identity *struct {
		Type string `json:"type"`
	} `json:"identity"`
	Properties *struct {
		SKU *struct {
			Name     string `json:"name"`
			Family   string `json:"family"`
			Capacity int    `json:"capacity"`
		} `json:"sku"`
		RedisConfiguration             map[string]any    `json:"redisConfiguration"`
		RedisVersion                   *string           `json:"redisVersion"`
		EnableNonSslPort               *bool             `json:"enableNonSslPort"`
		ReplicasPerMaster              *int              `json:"replicasPerMaster"`
		ReplicasPerPrimary             *int              `json:"replicasPerPrimary"`
		TenantSettings                 map[string]string `json:"tenantSettings"`
		ShardCount                     *int              `json:"shardCount"`
		MinimumTLSVersion              *string           `json:"minimumTlsVersion"`
		PublicNetworkAccess            *string           `json:"publicNetworkAccess"`
		UpdateChannel                  *string           `json:"updateChannel"`
		DisableAccessKeyAuthentication *bool             `json:"disableAccessKeyAuthentication"`
		ZonalAllocationPolicy          *string           `json:"zonalAllocationPolicy"`
		SubnetID                       *string           `json:"subnetId"`
		StaticIP                       *string           `json:"staticIP"`
	} `json:"properties"`
}

var redisVersionRE = regexp.MustCompile(`^(?i:latest|[0-9]+(\.[0-9]+){0,2})$`)

// refuseUnsupported refuses what Slipway's caches do not have, by the
// body's own words, before anything is changed. What az echoes of a
// cache's own answer (az redis update sends it back) passes.
func (b *redisBody) refuseUnsupported() error {
	const sorry = "Slipway's caches are single Redis servers, reached with TLS on port 6380 and an access key: "
	if b.Identity != nil && b.Identity.Type != "" && !strings.EqualFold(b.Identity.Type, "None") {
		return badRedis(sorry + "managed identities on a cache (for import, export and persistence to storage) are not supported.")
	}
	if len(b.Zones) > 0 {
		return badRedis(sorry + "availability zones are not supported.")
	}
	pr := b.Properties
	if pr == nil {
		return nil
	}
	switch {
	case pr.EnableNonSslPort != nil && *pr.EnableNonSslPort:
		return badRedis(sorry + "the non-TLS port (6379, enableNonSslPort) cannot be enabled: the proxy finds a cache by the TLS server name, which a plain connection does not send. Connect with TLS to port 6380 (rediss://).")
	case pr.SubnetID != nil && *pr.SubnetID != "", pr.StaticIP != nil && *pr.StaticIP != "":
		return badRedis(sorry + "VNet injection (subnetId, staticIP) is not supported: use public access with firewall rules.")
	case !unsetOr(pr.PublicNetworkAccess, "Enabled"):
		return badRedis(sorry + "publicNetworkAccess can only be Enabled (private endpoints are not supported); restrict access with firewall rules.")
	case pr.ShardCount != nil && *pr.ShardCount > 0:
		return badRedis(sorry + "clustering (shardCount) is not supported.")
	case pr.ReplicasPerMaster != nil && *pr.ReplicasPerMaster > 1, pr.ReplicasPerPrimary != nil && *pr.ReplicasPerPrimary > 1:
		return badRedis(sorry + "more than one replica per primary is not supported.")
	case !unsetOr(pr.ZonalAllocationPolicy, "NoZones", "Automatic"):
		return badRedis(sorry + "availability zones (zonalAllocationPolicy UserDefined) are not supported.")
	case pr.DisableAccessKeyAuthentication != nil && *pr.DisableAccessKeyAuthentication:
		return badRedis(sorry + "access keys cannot be disabled: Microsoft Entra authentication is not supported.")
	case len(pr.TenantSettings) > 0:
		return badRedis(sorry + "tenantSettings are not supported.")
	case !unsetOr(pr.MinimumTLSVersion, "1.2"):
		return badRedis(sorry+"minimumTlsVersion '%s' is not supported; TLS 1.2 or later is required.", *pr.MinimumTLSVersion)
	case !unsetOr(pr.UpdateChannel, "Stable", "Preview"):
		return badRedis("The updateChannel '%s' is invalid. Allowed values: Stable, Preview.", *pr.UpdateChannel)
	case pr.RedisVersion != nil && *pr.RedisVersion != "" && !redisVersionRE.MatchString(*pr.RedisVersion):
		return badRedis("The redisVersion '%s' is invalid. Allowed values: 'latest' or a major version such as '6'.", *pr.RedisVersion)
	}
	return checkRedisConfiguration(pr.RedisConfiguration)
}

// checkRedisConfiguration takes a cache's redisConfiguration as it is
// answered (the eviction policy), empty values and Azure's memory
// reservations (which a single server has no use for); it refuses any
// other setting, persistence and Entra authentication by name.
func checkRedisConfiguration(conf map[string]any) error {
	const sorry = "Slipway's caches run Redis with a fixed configuration: "
	for k, v := range conf {
		val := strings.TrimSpace(fmt.Sprint(v))
		if v == nil || val == "" {
			continue
		}
		off := strings.EqualFold(val, "false") || strings.EqualFold(val, "disabled")
		switch strings.ToLower(k) {
		case "maxmemory-policy":
			if !strings.EqualFold(val, redisMaxMemoryPolicy) {
				return badRedis(sorry+"maxmemory-policy is %s and cannot be changed.", redisMaxMemoryPolicy)
			}
		case "maxmemory-reserved", "maxfragmentationmemory-reserved", "maxmemory-delta", "maxclients":
			// Azure's figures, which az echoes back; they reserve nothing here.
		case "aad-enabled":
			if !off {
				return badRedis(sorry + "Microsoft Entra authentication (aad-enabled) is not supported; clients authenticate with an access key.")
			}
		case "rdb-backup-enabled", "aof-backup-enabled":
			if !off {
				return badRedis(sorry + "data persistence (RDB or AOF) is not supported: a cache's data lives in memory only.")
			}
		case "authnotrequired":
			if !off {
				return badRedis(sorry + "authentication cannot be turned off (authnotrequired).")
			}
		default:
			return badRedis(sorry+"the setting '%s' is not supported.", k)
		}
	}
	return nil
}

// putRedisCache answers a PUT (put) or PATCH of a cache: a PUT creates
// one (the backend makes and starts it with new keys); either updates an
// existing one.
func (h *Handler) putRedisCache(put bool) func(http.ResponseWriter, *http.Request, params) error {
	return func(w http.ResponseWriter, r *http.Request, p params) error {
		var body redisBody
		if err := readJSON(r, &body); err != nil {
			return err
		}
		if err := slipway.ValidateRedisCacheName(p.redis); put && err != nil {
			return badRedis("%s", slipway.ErrorMessage(err))
		}
		if err := body.refuseUnsupported(); err != nil {
			return err
		}
		old, err := h.cfg.Store.RedisCache(r.Context(), p.rg, p.redis)
		switch {
		case err == nil:
			return h.updateRedisCache(w, r, p, old, &body, put)
		case slipway.ErrorCode(err) != slipway.ENOTFOUND || !put:
			return err
		}
		return h.createRedisCache(w, r, p, &body)
	}
}

// createRedisCache makes a new cache: its record, its keys, its server.
func (h *Handler) createRedisCache(w http.ResponseWriter, r *http.Request, p params, body *redisBody) error {
	ctx, name := r.Context(), p.redis
	g, err := h.cfg.Store.ResourceGroup(ctx, p.rg)
	if err != nil {
		return err
	}
	if body.Location == nil || strings.TrimSpace(*body.Location) == "" {
		return &apiError{Status: http.StatusBadRequest, Code: "LocationRequired", Message: "The location property is required for this definition."}
	}
	pr := body.Properties
	if pr == nil || pr.SKU == nil || pr.SKU.Name == "" {
		return badRedis("properties.sku (name, family and capacity) is required to create a cache.")
	}
	c := slipway.RedisCache{ResourceGroup: g.Name, Name: name, Location: normalizeLocation(*body.Location), Tags: body.Tags, SKUCapacity: pr.SKU.Capacity}
	if c.SKUName, c.SKUFamily, err = redisSKU(pr.SKU.Name, pr.SKU.Family, pr.SKU.Capacity); err != nil {
		return err
	}
	keys := slipway.RedisKeys{Primary: newRedisKey(), Secondary: newRedisKey()}
	// The record first: it holds the name against another group's PUT.
	stored, err := h.cfg.Store.CreateRedisCache(ctx, c, keys)
	if slipway.ErrorCode(err) == slipway.ECONFLICT {
		return &apiError{Status: http.StatusConflict, Code: "NameNotAvailable", Message: slipway.ErrorMessage(err)}
	} else if err != nil {
		return err
	}
	version, err := h.cfg.Redis.CreateCache(ctx, backendName(name), slipway.RedisMaxMemory(c.SKUFamily, c.SKUCapacity), keys.Primary, keys.Secondary)
	if err == nil {
		stored.Version = version
		err = h.cfg.Store.UpdateRedisCache(ctx, stored)
	}
	if err != nil {
		// Nothing half made is left: neither the record nor the server.
		cleanup := context.WithoutCancel(ctx)
		derr := h.cfg.Store.DeleteRedisCache(cleanup, stored.ResourceGroup, name)
		if slipway.ErrorCode(derr) == slipway.ENOTFOUND {
			derr = nil
		}
		return errors.Join(fmt.Errorf("creating cache %s: %w", name, err), derr, h.cfg.Redis.DeleteCache(cleanup, backendName(name)))
	}
	return writeJSON(w, http.StatusCreated, redisJSON(p.sub, stored, &keys))
}

// updateRedisCache applies a PUT (put) or PATCH to an existing cache:
// its tags; its SKU only as it is, since a running server is not resized.
func (h *Handler) updateRedisCache(w http.ResponseWriter, r *http.Request, p params, c slipway.RedisCache, body *redisBody, put bool) error {
	ctx := r.Context()
	if err := errRedisBusy(c); err != nil {
		return err
	}
	if body.Location != nil && strings.TrimSpace(*body.Location) != "" && normalizeLocation(*body.Location) != normalizeLocation(c.Location) {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidResourceLocation", Message: fmt.Sprintf(
			"The resource '%s/%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.",
			redisType, c.Name, c.Location, c.ResourceGroup, normalizeLocation(*body.Location))}
	}
	if pr := body.Properties; pr != nil && pr.SKU != nil && pr.SKU.Name != "" {
		name, family, err := redisSKU(pr.SKU.Name, pr.SKU.Family, pr.SKU.Capacity)
		if err != nil {
			return err
		}
		if name != c.SKUName || family != c.SKUFamily || pr.SKU.Capacity != c.SKUCapacity {
			return badRedis("Scaling a cache (from %s %s%d to %s %s%d) is not supported by Slipway: create a new cache of the size you need.",
				c.SKUName, c.SKUFamily, c.SKUCapacity, name, family, pr.SKU.Capacity)
		}
	}
	if body.Tags != nil || put {
		c.Tags = body.Tags
	}
	if err := h.cfg.Store.UpdateRedisCache(ctx, c); err != nil {
		return err
	}
	keys, err := h.cfg.Store.RedisCacheKeys(ctx, c.ResourceGroup, c.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, redisJSON(p.sub, c, &keys))
}

func (h *Handler) getRedisCache(w http.ResponseWriter, r *http.Request, p params) error {
	c, err := h.cfg.Store.RedisCache(r.Context(), p.rg, p.redis)
	return writeOne(w, c, err, func(c slipway.RedisCache) map[string]any { return redisJSON(p.sub, c, nil) })
}

// listRedisCaches lists the caches of a group or of the subscription.
func (h *Handler) listRedisCaches(w http.ResponseWriter, r *http.Request, p params) error {
	all, err := h.cfg.Store.RedisCachesIn(r.Context(), p.rg)
	return writeValues(w, all, err, func(c slipway.RedisCache) map[string]any { return redisJSON(p.sub, c, nil) })
}

// deleteRedisCache deletes the record, then the cache: 200, or 204 when
// there is none.
func (h *Handler) deleteRedisCache(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	c, err := h.cfg.Store.RedisCache(ctx, p.rg, p.redis)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return h.writeDeleted(w, r, p.rg, err)
	} else if err != nil {
		return err
	}
	if err := h.cfg.Store.DeleteRedisCache(ctx, c.ResourceGroup, c.Name); err != nil {
		return err
	}
	if err := h.cfg.Redis.DeleteCache(context.WithoutCancel(ctx), backendName(c.Name)); err != nil {
		return fmt.Errorf("deleting cache %s: %w", c.Name, err)
	}
	return writeEmpty(w, http.StatusOK)
}

// listRedisKeys answers POST .../listKeys (RedisAccessKeys).
func (h *Handler) listRedisKeys(w http.ResponseWriter, r *http.Request, p params) error {
	keys, err := h.cfg.Store.RedisCacheKeys(r.Context(), p.rg, p.redis)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"primaryKey": keys.Primary, "secondaryKey": keys.Secondary})
}

// regenerateRedisKey answers POST .../regenerateKey {"keyType"}: the
// backend takes the new pair first, then the store keeps it.
// errRedisBusy answers a change to a cache whose creation is under way
// (its record holds no version until the backend has made it).
func errRedisBusy(c slipway.RedisCache) error {
	if c.Version != "" {
		return nil
	}
	return &apiError{Status: http.StatusConflict, Code: "Conflict",
		Message: fmt.Sprintf("The cache '%s' is being created. Try again when its provisioningState is Succeeded.", c.Name)}
}

func (h *Handler) regenerateRedisKey(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		KeyType string `json:"keyType"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	c, err := h.cfg.Store.RedisCache(ctx, p.rg, p.redis)
	if err != nil {
		return err
	}
	if err := errRedisBusy(c); err != nil {
		return err
	}
	mu, _ := h.redisKeyLocks.LoadOrStore(backendName(c.Name), &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	keys, err := h.cfg.Store.RedisCacheKeys(ctx, c.ResourceGroup, c.Name)
	if err != nil {
		return err
	}
	switch {
	case strings.EqualFold(body.KeyType, "Primary"):
		keys.Primary = newRedisKey()
	case strings.EqualFold(body.KeyType, "Secondary"):
		keys.Secondary = newRedisKey()
	default:
		return badRedis("The keyType '%s' is invalid. Allowed values: Primary, Secondary.", body.KeyType)
	}
	if err := h.cfg.Redis.SetKeys(ctx, backendName(c.Name), keys.Primary, keys.Secondary); err != nil {
		return fmt.Errorf("setting the keys of cache %s: %w", c.Name, err)
	}
	if err := h.cfg.Store.SetRedisCacheKeys(ctx, c.ResourceGroup, c.Name, keys); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"primaryKey": keys.Primary, "secondaryKey": keys.Secondary})
}

// forceRedisReboot answers POST .../forceReboot with a refusal: the
// backend has no reboot, and saying one happened would be false.
func (h *Handler) forceRedisReboot(w http.ResponseWriter, r *http.Request, p params) error {
	if _, err := h.cfg.Store.RedisCache(r.Context(), p.rg, p.redis); err != nil {
		return err
	}
	return badRedis("Rebooting a cache (az redis force-reboot) is not supported by Slipway: its server runs until the cache is deleted.")
}

// checkRedisNameAvailability answers POST /providers/Microsoft.Cache/
// CheckNameAvailability: 200 when the name is free, 409 when a cache of
// any group has it (Azure answers no body, only the status).
func (h *Handler) checkRedisNameAvailability(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.Type != "" && !strings.EqualFold(body.Type, redisType) {
		return badRedis("The type '%s' is not checked here; use '%s'.", body.Type, redisType)
	}
	if err := slipway.ValidateRedisCacheName(body.Name); err != nil {
		return badRedis("%s", slipway.ErrorMessage(err))
	}
	taken, err := h.cfg.Store.RedisCacheNameTaken(r.Context(), body.Name)
	if err != nil {
		return err
	}
	if taken {
		return &apiError{Status: http.StatusConflict, Code: "NameNotAvailable", Message: fmt.Sprintf("The name '%s' is already in use.", body.Name)}
	}
	return writeEmpty(w, http.StatusOK)
}

// Firewall rules.

func redisRuleJSON(sub, rg string, f slipway.RedisFirewallRule) map[string]any {
	return map[string]any{
		"id":         redisCacheID(sub, rg, f.Cache) + "/firewallRules/" + f.Name,
		"name":       f.Cache + "/" + f.Name,
		"type":       redisType + "/firewallRules",
		"properties": map[string]any{"startIP": f.Start.String(), "endIP": f.End.String()},
	}
}

// syncRedisRules gives the backend the cache's full set of rules, as
// given (the store's answer to the change). Changes are serialized so that
// the last set given is the last stored.
func (h *Handler) syncRedisRules(name string, rules []slipway.RedisFirewallRule) {
	out := make([]RedisFirewallRule, 0, len(rules))
	for _, f := range rules {
		out = append(out, RedisFirewallRule{Start: f.Start, End: f.End})
	}
	h.cfg.Redis.SetFirewallRules(backendName(name), out)
}

func (h *Handler) putRedisFirewallRule(w http.ResponseWriter, r *http.Request, p params) error {
	var body struct {
		Properties struct {
			StartIP string `json:"startIP"`
			EndIP   string `json:"endIP"`
		} `json:"properties"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if err := slipway.ValidateRedisFirewallRuleName(p.id); err != nil {
		return badRedis("%s", slipway.ErrorMessage(err))
	}
	start, end, err := parseIPv4Range("startIP", body.Properties.StartIP, "endIP", body.Properties.EndIP)
	if err != nil {
		return err
	}
	ctx := r.Context()
	c, err := h.cfg.Store.RedisCache(ctx, p.rg, p.redis)
	if err != nil {
		return err
	}
	rule := slipway.RedisFirewallRule{Cache: c.Name, Name: p.id, Start: start, End: end}
	h.redisRulesMu.Lock()
	defer h.redisRulesMu.Unlock()
	rules, err := h.cfg.Store.PutRedisFirewallRule(ctx, c.ResourceGroup, rule)
	if err != nil {
		return err
	}
	h.syncRedisRules(c.Name, rules)
	return writeJSON(w, http.StatusOK, redisRuleJSON(p.sub, c.ResourceGroup, rule))
}

func (h *Handler) getRedisFirewallRule(w http.ResponseWriter, r *http.Request, p params) error {
	f, err := h.cfg.Store.RedisFirewallRule(r.Context(), p.rg, p.redis, p.id)
	return writeOne(w, f, err, func(f slipway.RedisFirewallRule) map[string]any { return redisRuleJSON(p.sub, p.rg, f) })
}

func (h *Handler) listRedisFirewallRules(w http.ResponseWriter, r *http.Request, p params) error {
	fs, err := h.cfg.Store.RedisFirewallRules(r.Context(), p.rg, p.redis)
	return writeValues(w, fs, err, func(f slipway.RedisFirewallRule) map[string]any { return redisRuleJSON(p.sub, p.rg, f) })
}

func (h *Handler) deleteRedisFirewallRule(w http.ResponseWriter, r *http.Request, p params) error {
	ctx := r.Context()
	c, err := h.cfg.Store.RedisCache(ctx, p.rg, p.redis)
	if err != nil {
		return err
	}
	h.redisRulesMu.Lock()
	defer h.redisRulesMu.Unlock()
	rules, err := h.cfg.Store.DeleteRedisFirewallRule(ctx, c.ResourceGroup, c.Name, p.id)
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return writeEmpty(w, http.StatusNoContent)
	} else if err != nil {
		return err
	}
	h.syncRedisRules(c.Name, rules)
	return writeEmpty(w, http.StatusOK)
}

// redisRoutes are this provider's routes (routes.go).
func (h *Handler) redisRoutes(sub, rg string, r func(string, string, func(http.ResponseWriter, *http.Request, params) error) route,
	list func(string, func(http.ResponseWriter, *http.Request, params) error) route) []route {
	cache := rg + "/providers/Microsoft.Cache/redis/{redis}"
	// The name check says nothing of any group (a name in use is public
	// in DNS on Azure): a Contributor of one group makes it to create a
	// cache there.
	check := r(http.MethodPost, sub+"/providers/Microsoft.Cache/CheckNameAvailability", h.rc(h.checkRedisNameAvailability))
	check.anyRole = true
	return []route{
		list(sub+"/providers/Microsoft.Cache/redis", h.rc(h.listRedisCaches)),
		list(rg+"/providers/Microsoft.Cache/redis", h.rc(h.listRedisCaches)),
		check,
		r(http.MethodPut, cache, h.rc(h.putRedisCache(true))),
		r(http.MethodGet, cache, h.rc(h.getRedisCache)),
		r(http.MethodPatch, cache, h.rc(h.putRedisCache(false))),
		r(http.MethodDelete, cache, h.rc(h.deleteRedisCache)),
		r(http.MethodPost, cache+"/listKeys", h.rc(h.listRedisKeys)),
		r(http.MethodPost, cache+"/regenerateKey", h.rc(h.regenerateRedisKey)),
		r(http.MethodPost, cache+"/forceReboot", h.rc(h.forceRedisReboot)),
		r(http.MethodGet, cache+"/firewallRules", h.rc(h.listRedisFirewallRules)),
		r(http.MethodPut, cache+"/firewallRules/{id}", h.rc(h.putRedisFirewallRule)),
		r(http.MethodGet, cache+"/firewallRules/{id}", h.rc(h.getRedisFirewallRule)),
		r(http.MethodDelete, cache+"/firewallRules/{id}", h.rc(h.deleteRedisFirewallRule)),
	}
}
