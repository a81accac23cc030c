package arm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
)

// fakeRedis stands in for the backend that runs the caches
// (internal/rediscache, whose own tests run real redis-servers): it
// records what it was asked.
type fakeRedis struct {
	fakeBackend[fakeCache]
	keys []string // every key it was given
	// hold, when set, is waited on by SetKeys of the cache it names
	// (a server a client holds).
	hold     chan struct{}
	holdName string
}

type fakeCache struct {
	maxMemory          int64
	primary, secondary string
	rules              []RedisFirewallRule
}

var _ RedisCaches = (*fakeRedis)(nil)

func newFakeRedis() *fakeRedis {
	return &fakeRedis{fakeBackend: fakeBackend[fakeCache]{items: map[string]*fakeCache{}}}
}

func (f *fakeRedis) CreateCache(_ context.Context, name string, maxMemory int64, primary, secondary string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, primary, secondary)
	if err := f.call("create %s %d", name, maxMemory); err != nil {
		return "", err
	}
	if name != strings.ToLower(name) {
		return "", fmt.Errorf("name %q is not lower-case", name)
	}
	f.items[name] = &fakeCache{maxMemory: maxMemory, primary: primary, secondary: secondary}
	return "7.0.15", nil
}

func (f *fakeRedis) SetKeys(_ context.Context, name, primary, secondary string) error {
	if f.hold != nil && name == f.holdName {
		<-f.hold
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, primary, secondary)
	if err := f.call("keys %s", name); err != nil {
		return err
	}
	c, ok := f.items[name]
	if !ok {
		return errors.New("no such cache")
	}
	c.primary, c.secondary = primary, secondary
	return nil
}

func (f *fakeRedis) DeleteCache(_ context.Context, name string) error { return f.remove(name) }

func (f *fakeRedis) SetFirewallRules(name string, rules []RedisFirewallRule) {
	f.rules(name, len(rules), func(c *fakeCache) { c.rules = slices.Clone(rules) })
}

const (
	redisAPI  = "?api-version=2024-11-01"
	redisPath = "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Cache/redis"
	// redisCreateBody is what az redis create -l westeurope --sku Basic
	// --vm-size c0 sends (RedisCreateParameters).
	redisCreateBody = `{"location":"westeurope","properties":{"redisConfiguration":{},"tenantSettings":{},"sku":{"name":"Basic","family":"c","capacity":0}}}`
)

// redisEnv is newEnv with a fake backend of caches (e.rc) and group rg.
func redisEnv(t *testing.T) *env {
	t.Helper()
	rc := newFakeRedis()
	e := backendEnv(t, func(c *Config) { c.Redis = rc })
	e.rc = rc
	return e
}

// TestRedisCache_Lifecycle: what az redis create, show, list, list-keys,
// regenerate-keys, update and delete send, with Azure's shapes; the
// backend is asked for each.
func TestRedisCache_Lifecycle(t *testing.T) {
	e := redisEnv(t)
	e.must(404, "GET", redisPath+"/Cache1"+redisAPI, "")
	created := e.must(201, "PUT", redisPath+"/Cache1"+redisAPI, redisCreateBody).json(t)
	c, ok := e.rc.item("cache1")
	if !ok || c.maxMemory != 250<<20 || len(c.primary) != 44 || len(c.secondary) != 44 || c.primary == c.secondary {
		t.Fatalf("backend cache = %+v, %v (calls %v)", c, ok, e.rc.Calls())
	}
	// The answer to the create has the keys, as Azure's API says.
	ck := created["properties"].(map[string]any)["accessKeys"].(map[string]any)
	if ck["primaryKey"] != c.primary || ck["secondaryKey"] != c.secondary {
		t.Fatalf("create's keys = %v", ck)
	}
	got := e.must(200, "GET", redisPath+"/Cache1"+redisAPI, "").json(t)
	props := got["properties"].(map[string]any)
	sku := props["sku"].(map[string]any)
	if got["id"] != e.path(strings.Replace(redisPath, "/redis", "/Redis", 1)+"/Cache1") || got["type"] != "Microsoft.Cache/Redis" || got["location"] != "West Europe" ||
		sku["name"] != "Basic" || sku["family"] != "C" || sku["capacity"] != float64(0) ||
		props["hostName"] != "cache1.redis.cache.windows.net" || props["sslPort"] != float64(6380) || props["port"] != float64(6379) ||
		props["enableNonSslPort"] != false || props["provisioningState"] != "Succeeded" || props["redisVersion"] != "7.0.15" ||
		props["minimumTlsVersion"] != "1.2" || props["publicNetworkAccess"] != "Enabled" || props["accessKeys"] != nil {
		t.Fatalf("GET = %v", got)
	}
	for _, p := range []string{redisPath, "/subscriptions/{s}/providers/Microsoft.Cache/redis"} {
		l := e.must(200, "GET", p+redisAPI, "")
		if v := l.json(t)["value"].([]any); len(v) != 1 || v[0].(map[string]any)["name"] != "Cache1" || strings.Contains(string(l.body), c.primary) {
			t.Fatalf("GET %s = %s", p, l.body)
		}
	}
	keys := e.must(200, "POST", redisPath+"/cache1/listKeys"+redisAPI, "").json(t)
	if keys["primaryKey"] != c.primary || keys["secondaryKey"] != c.secondary {
		t.Fatalf("listKeys = %v", keys)
	}

	// regenerate-keys --key-type Primary: a new primary, the secondary kept.
	regen := e.must(200, "POST", redisPath+"/cache1/regenerateKey"+redisAPI, `{"keyType":"Primary"}`).json(t)
	now, _ := e.rc.item("cache1")
	if now.primary == c.primary || now.secondary != c.secondary || regen["primaryKey"] != now.primary || len(now.primary) != 44 {
		t.Fatalf("after regenerate: backend %+v, answer %v", now, regen)
	}
	if keys := e.must(200, "POST", redisPath+"/cache1/listKeys"+redisAPI, "").json(t); keys["primaryKey"] != now.primary {
		t.Fatalf("listKeys after regenerate = %v", keys)
	}
	e.must(400, "POST", redisPath+"/cache1/regenerateKey"+redisAPI, `{"keyType":"Both"}`)

	// update --set tags.env=dev: a PATCH echoing the cache as az read it.
	patch := `{"tags":{"env":"dev"},"properties":{"redisConfiguration":{"maxmemory-policy":"volatile-lru"},"enableNonSslPort":false,
		"minimumTlsVersion":"1.2","redisVersion":"7.0.15","publicNetworkAccess":"Enabled","updateChannel":"Stable",
		"disableAccessKeyAuthentication":false,"zonalAllocationPolicy":"NoZones","tenantSettings":{},"sku":{"name":"Basic","family":"C","capacity":0}}}`
	e.must(200, "PATCH", redisPath+"/cache1"+redisAPI, patch)
	if tags := e.must(200, "GET", redisPath+"/cache1"+redisAPI, "").json(t)["tags"].(map[string]any); tags["env"] != "dev" {
		t.Fatalf("tags = %v", tags)
	}
	// Scaling is refused, the cache unchanged.
	if r := e.do("PATCH", redisPath+"/cache1"+redisAPI, strings.Replace(patch, `"capacity":0`, `"capacity":1`, 1)); r.status != 400 || !strings.Contains(string(r.body), "Scaling") {
		t.Fatalf("scale: %d %s", r.status, r.body)
	}
	if r := e.do("POST", redisPath+"/cache1/forceReboot"+redisAPI, `{"rebootType":"AllNodes"}`); r.status != 400 || !strings.Contains(string(r.body), "not supported") {
		t.Fatalf("forceReboot: %d %s", r.status, r.body)
	}

	e.must(200, "DELETE", redisPath+"/cache1"+redisAPI, "")
	if _, ok := e.rc.item("cache1"); ok {
		t.Fatal("delete did not delete the backend's cache")
	}
	e.must(204, "DELETE", redisPath+"/cache1"+redisAPI, "")
	e.must(404, "GET", redisPath+"/cache1"+redisAPI, "")
}

// TestRedisFirewallRules: az redis firewall-rules create, show, list and
// delete; the backend gets the full set after each change.
func TestRedisFirewallRules(t *testing.T) {
	e := redisEnv(t)
	e.must(201, "PUT", redisPath+"/cache1"+redisAPI, redisCreateBody)
	rule := e.must(200, "PUT", redisPath+"/cache1/firewallRules/office"+redisAPI, `{"properties":{"startIP":"10.0.0.1","endIP":"10.0.0.9"}}`).json(t)
	if rule["name"] != "cache1/office" || rule["properties"].(map[string]any)["startIP"] != "10.0.0.1" {
		t.Fatalf("PUT rule = %v", rule)
	}
	e.must(200, "PUT", redisPath+"/cache1/firewallRules/home"+redisAPI, `{"properties":{"startIP":"192.0.2.1","endIP":"192.0.2.1"}}`)
	want := []RedisFirewallRule{{Start: netip.MustParseAddr("192.0.2.1"), End: netip.MustParseAddr("192.0.2.1")}, {Start: netip.MustParseAddr("10.0.0.1"), End: netip.MustParseAddr("10.0.0.9")}}
	if c, _ := e.rc.item("cache1"); !slices.Equal(c.rules, want) {
		t.Fatalf("backend rules = %v, want %v", c.rules, want)
	}
	if l := e.must(200, "GET", redisPath+"/cache1/firewallRules"+redisAPI, "").json(t)["value"].([]any); len(l) != 2 {
		t.Fatalf("list = %v", l)
	}
	e.must(200, "GET", redisPath+"/cache1/firewallRules/office"+redisAPI, "")
	for _, bad := range []struct{ name, body string }{
		{"bad-name", `{"properties":{"startIP":"10.0.0.1","endIP":"10.0.0.9"}}`},
		{"r1", `{"properties":{"startIP":"10.0.0.9","endIP":"10.0.0.1"}}`},
		{"r1", `{"properties":{"startIP":"::1","endIP":"::1"}}`},
		{"r1", `{"properties":{"startIP":"nope","endIP":"10.0.0.1"}}`},
	} {
		e.must(400, "PUT", redisPath+"/cache1/firewallRules/"+bad.name+redisAPI, bad.body)
	}
	e.must(200, "DELETE", redisPath+"/cache1/firewallRules/office"+redisAPI, "")
	e.must(200, "DELETE", redisPath+"/cache1/firewallRules/home"+redisAPI, "")
	e.must(204, "DELETE", redisPath+"/cache1/firewallRules/home"+redisAPI, "")
	if c, _ := e.rc.item("cache1"); len(c.rules) != 0 || !slices.Contains(e.rc.Calls(), "rules cache1 0") {
		t.Fatalf("backend rules after deletes = %v (calls %v)", c.rules, e.rc.Calls())
	}
	e.must(404, "GET", redisPath+"/nocache/firewallRules"+redisAPI, "")
}

// TestRedisValidation: bad names, SKUs and sizes, and everything a
// single TLS-only server is not, are refused with a clear error before
// the backend is asked.
func TestRedisValidation(t *testing.T) {
	e := redisEnv(t)
	body := func(props string) string {
		return `{"location":"westeurope","properties":{"sku":{"name":"Basic","family":"C","capacity":0}` + props + `}}`
	}
	for _, c := range []struct{ name, body, want string }{
		{"-bad", redisCreateBody, "invalid"},
		{"bad--name", redisCreateBody, "consecutive hyphens"},
		{strings.Repeat("a", 64), redisCreateBody, "1 to 63"},
		{"ok1", `{"location":"westeurope"}`, "sku"},
		{"ok1", `{"properties":{"sku":{"name":"Basic","family":"C","capacity":0}}}`, "location"},
		{"ok1", `{"location":"westeurope","properties":{"sku":{"name":"Basic","family":"P","capacity":1}}}`, "Invalid VM size"},
		{"ok1", `{"location":"westeurope","properties":{"sku":{"name":"Standard","family":"C","capacity":7}}}`, "Invalid VM size"},
		{"ok1", `{"location":"westeurope","properties":{"sku":{"name":"Premium","family":"P","capacity":0}}}`, "Invalid VM size"},
		{"ok1", `{"location":"westeurope","properties":{"sku":{"name":"Enterprise","family":"E","capacity":1}}}`, "Allowed values"},
		{"ok1", body(`,"enableNonSslPort":true`), "non-TLS port"},
		{"ok1", body(`,"subnetId":"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"`), "VNet"},
		{"ok1", body(`,"staticIP":"10.0.0.5"`), "VNet"},
		{"ok1", body(`,"publicNetworkAccess":"Disabled"`), "private endpoints"},
		{"ok1", body(`,"shardCount":2`), "clustering"},
		{"ok1", body(`,"replicasPerMaster":2`), "replica"},
		{"ok1", `{"location":"westeurope","zones":["1"],"properties":{"sku":{"name":"Premium","family":"P","capacity":1}}}`, "zones"},
		{"ok1", body(`,"disableAccessKeyAuthentication":true`), "Entra"},
		{"ok1", body(`,"redisConfiguration":{"aad-enabled":"true"}`), "Entra"},
		{"ok1", body(`,"redisConfiguration":{"rdb-backup-enabled":"true"}`), "persistence"},
		{"ok1", body(`,"redisConfiguration":{"aof-backup-enabled":"true"}`), "persistence"},
		{"ok1", body(`,"redisConfiguration":{"maxmemory-policy":"allkeys-lru"}`), "maxmemory-policy"},
		{"ok1", body(`,"redisConfiguration":{"notify-keyspace-events":"KEA"}`), "not supported"},
		{"ok1", body(`,"minimumTlsVersion":"1.0"`), "TLS 1.2"},
		{"ok1", body(`,"redisVersion":"seven"`), "redisVersion"},
		{"ok1", `{"location":"westeurope","identity":{"type":"SystemAssigned"},"properties":{"sku":{"name":"Basic","family":"C","capacity":0}}}`, "managed identities"},
	} {
		r := e.do("PUT", redisPath+"/"+c.name+redisAPI, c.body)
		if r.status != 400 || !strings.Contains(string(r.body), c.want) {
			t.Errorf("PUT %s %s: %d %s; want 400 with %q", c.name, c.body, r.status, r.body, c.want)
		}
	}
	if len(e.rc.Calls()) != 0 {
		t.Fatalf("the backend was asked: %v", e.rc.Calls())
	}
	// What az sends for --redis-version 6 and --minimum-tls-version 1.2 is taken.
	e.must(201, "PUT", redisPath+"/ok1"+redisAPI, body(`,"redisVersion":"6","minimumTlsVersion":"1.2","redisConfiguration":{"maxmemory-policy":"volatile-lru"}`))
	// Premium P5 is 120 GB.
	e.must(201, "PUT", redisPath+"/big"+redisAPI, `{"location":"westeurope","properties":{"sku":{"name":"Premium","family":"P","capacity":5}}}`)
	if c, _ := e.rc.item("big"); c.maxMemory != 120<<30 {
		t.Fatalf("P5 memory = %d", c.maxMemory)
	}
}

// TestRedisNames: a name is Slipway's once (409 to another group, and
// to the name check); the check answers 200 for a free name.
func TestRedisNames(t *testing.T) {
	e := redisEnv(t)
	e.must(201, "PUT", "/subscriptions/{s}/resourceGroups/other", `{"location":"westeurope"}`)
	e.must(201, "PUT", redisPath+"/taken"+redisAPI, redisCreateBody)
	if r := e.do("PUT", "/subscriptions/{s}/resourceGroups/other/providers/Microsoft.Cache/redis/TAKEN"+redisAPI, redisCreateBody); r.status != 409 || !strings.Contains(string(r.body), "already in use") {
		t.Fatalf("a taken name in another group: %d %s", r.status, r.body)
	}
	check := "/subscriptions/{s}/providers/Microsoft.Cache/CheckNameAvailability" + redisAPI
	e.must(409, "POST", check, `{"name":"taken","type":"Microsoft.Cache/Redis"}`)
	e.must(200, "POST", check, `{"name":"free","type":"Microsoft.Cache/Redis"}`)
	e.must(400, "POST", check, `{"name":"no--good","type":"Microsoft.Cache/Redis"}`)
}

// TestRedisBackendFailureLeavesNothing: a cache the backend fails to make
// is neither recorded nor left in the backend, and its name is free.
func TestRedisBackendFailureLeavesNothing(t *testing.T) {
	e := redisEnv(t)
	e.rc.failNext = errors.New("no memory")
	e.must(500, "PUT", redisPath+"/cache1"+redisAPI, redisCreateBody)
	e.must(404, "GET", redisPath+"/cache1"+redisAPI, "")
	if !slices.Contains(e.rc.Calls(), "delete cache1") {
		t.Fatalf("the backend's half-made cache stays: %v", e.rc.Calls())
	}
	e.must(201, "PUT", redisPath+"/cache1"+redisAPI, redisCreateBody)
}

// TestAttack_RedisAcrossGroups: a principal with roles on rg only neither
// reads, lists the keys of, regenerates, changes, deletes nor opens the
// firewall of other's cache, nor takes its name; a Reader reads a cache
// but not its keys (Microsoft.Cache/redis/listKeys/action); and no key is
// in any answer but listKeys' nor in the store's files nor in the log.
func TestAttack_RedisAcrossGroups(t *testing.T) {
	e, call := scopeEnv(t)
	otherCache := otherRG + "/providers/Microsoft.Cache/redis/victimcache"
	if s, b := call("", "PUT", otherCache, redisCreateBody); s != 201 {
		t.Fatalf("seed: %d %s", s, b)
	}
	victim, _ := e.rc.item("victimcache")
	wantAllDenied(t, call, otherCache, []deniedCall{
		{"GET", otherCache, ""},
		{"POST", otherCache + "/listKeys", ""},
		{"POST", otherCache + "/regenerateKey", `{"keyType":"Primary"}`},
		{"PATCH", otherCache, `{"tags":{"owned":"yes"}}`},
		{"PUT", otherCache, redisCreateBody},
		{"DELETE", otherCache, ""},
		{"PUT", otherCache + "/firewallRules/all", `{"properties":{"startIP":"0.0.0.0","endIP":"255.255.255.255"}}`},
		{"GET", otherCache + "/firewallRules", ""},
	}, "/subscriptions/{s}/providers/Microsoft.Cache/redis", "victimcache")
	if now, ok := e.rc.item("victimcache"); !ok || now.primary != victim.primary || len(now.rules) != 0 {
		t.Errorf("victim's cache changed: %+v", now)
	}
	// The name is other's: rg's Contributor cannot have it in rg.
	if s, b := call(principal1, "PUT", rgPath+"/providers/Microsoft.Cache/redis/victimcache", redisCreateBody); s != 409 {
		t.Errorf("rg's contributor takes other's cache name: %d %s", s, b)
	}
	// rg's Contributor creates a cache there and reads its keys; a Reader
	// of rg reads the cache but not its keys.
	mine := rgPath + "/providers/Microsoft.Cache/redis/mine"
	if s, b := call(principal1, "PUT", mine, redisCreateBody); s != 201 {
		t.Fatalf("rg's contributor creates a cache: %d %s", s, b)
	}
	if s, b := call(principal1, "POST", mine+"/listKeys", ""); s != 200 {
		t.Errorf("rg's contributor lists its keys: %d %s", s, b)
	}
	if s, b := call("", "PUT", rgPath+"/providers/Microsoft.Authorization/roleAssignments/"+raName6, raBody("{s}", readerID, principal3)); s != 201 {
		t.Fatalf("reader role: %d %s", s, b)
	}
	if s, b := call(principal3, "GET", mine, ""); s != 200 {
		t.Errorf("rg's reader reads the cache: %d %s", s, b)
	}
	s, b := call(principal3, "POST", mine+"/listKeys", "")
	wantDenied(t, "reader listKeys", s, b)
	if !strings.Contains(b, "Microsoft.Cache/redis/listKeys/action") {
		t.Errorf("reader listKeys denial names %s", b)
	}

	// No key is in any answer but listKeys' and in none of the store's files.
	for _, p := range []string{otherCache, mine, "/subscriptions/{s}/providers/Microsoft.Cache/redis", otherRG + "/resources"} {
		if s, b := call("", "GET", p, ""); s != 200 || strings.Contains(b, victim.primary) || strings.Contains(b, victim.secondary) {
			t.Errorf("GET %s: %d, a key in %s", p, s, b)
		}
	}
	if len(e.rc.keys) < 4 {
		t.Fatal("no keys reached the backend")
	}
	noneInFiles(t, e.dir, e.rc.keys)
	// Nor in the handler's log (at debug level).
	for _, k := range e.rc.keys {
		if strings.Contains(e.logs.String(), k) {
			t.Errorf("the log holds the key %q", k)
		}
	}
}

// TestRedisBusyWhileCreated: a cache whose creation is under way (its
// record without a version) shows Creating and refuses changes and new
// keys, without asking the backend.
func TestRedisBusyWhileCreated(t *testing.T) {
	e := redisEnv(t)
	keys := slipway.RedisKeys{Primary: "p", Secondary: "s"}
	if _, err := e.store.CreateRedisCache(t.Context(), slipway.RedisCache{ResourceGroup: "rg", Name: "cache1", SKUName: "Basic", SKUFamily: "C"}, keys); err != nil {
		t.Fatal(err)
	}
	if st := e.must(200, "GET", redisPath+"/cache1"+redisAPI, "").json(t)["properties"].(map[string]any)["provisioningState"]; st != "Creating" {
		t.Fatalf("provisioningState = %v", st)
	}
	e.must(409, "PATCH", redisPath+"/cache1"+redisAPI, `{"tags":{"a":"b"}}`)
	e.must(409, "PUT", redisPath+"/cache1"+redisAPI, redisCreateBody)
	e.must(409, "POST", redisPath+"/cache1/regenerateKey"+redisAPI, `{"keyType":"Primary"}`)
	if calls := e.rc.Calls(); len(calls) != 0 {
		t.Errorf("the backend was asked: %v", calls)
	}
}

// TestTemplateDeploymentRedisCache: a template (as azd's Bicep for the
// Django sample) makes a cache and builds the app's
// AZURE_REDIS_CONNECTIONSTRING from listKeys() and reference().
func TestTemplateDeploymentRedisCache(t *testing.T) {
	e := redisEnv(t)
	tpl := `{"contentVersion":"1.0.0.0","resources":[
	 {"type":"Microsoft.Cache/redis","apiVersion":"2024-11-01","name":"cache7","location":"westeurope",
	  "properties":{"sku":{"name":"Basic","family":"C","capacity":0},"enableNonSslPort":false,"minimumTlsVersion":"1.2","redisConfiguration":{}}}],
	 "outputs":{"conn":{"type":"string","value":"[concat('rediss://:', listKeys(resourceId('Microsoft.Cache/redis', 'cache7'), '2024-11-01').primaryKey, '@', reference('cache7').hostName, ':', string(reference('cache7').sslPort), '/0')]"}}}`
	b := string(e.deploy(http.StatusCreated, "cache", depBody(tpl, "")).body)
	c, ok := e.rc.item("cache7")
	if !ok || !strings.Contains(b, `"value":"rediss://:`+c.primary+`@cache7.redis.cache.windows.net:6380/0"`) {
		t.Fatalf("backend %+v %v; deployment: %s", c, ok, b)
	}
}

// A tenant whose cache is slow to take new keys (a client holds its
// server: the backend waits, then restarts it) holds up no other tenant's
// regenerate-keys.
func TestRedisCache_SlowKeyChangeHoldsNoOther(t *testing.T) {
	e := redisEnv(t)
	e.must(201, "PUT", redisPath+"/held"+redisAPI, redisCreateBody)
	e.must(201, "PUT", redisPath+"/other"+redisAPI, redisCreateBody)
	e.rc.hold, e.rc.holdName = make(chan struct{}), "held"
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.do("POST", redisPath+"/held/regenerateKey"+redisAPI, `{"keyType":"Primary"}`)
	}()
	time.Sleep(100 * time.Millisecond)
	other := make(chan struct{})
	go func() {
		defer close(other)
		e.do("POST", redisPath+"/other/regenerateKey"+redisAPI, `{"keyType":"Primary"}`)
	}()
	select {
	case <-other:
	case <-time.After(5 * time.Second):
		t.Error("another cache's regenerate-keys waited for the held one")
	}
	close(e.rc.hold)
	<-done
	<-other
}
