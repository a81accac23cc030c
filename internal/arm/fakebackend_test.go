package arm

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeBackend is what the stand-ins for the database backends share
// (fakePostgres, fakeRedis): their resources by name, the calls they were
// asked, and an error to fail the next call with. Its methods are called
// with mu held.
type fakeBackend[T any] struct {
	mu       sync.Mutex
	items    map[string]*T
	calls    []string
	failNext error
}

// call records a call and returns the error it is to fail with.
func (f *fakeBackend[T]) call(format string, args ...any) error {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	err := f.failNext
	f.failNext = nil
	return err
}

// item returns a copy of the named resource.
func (f *fakeBackend[T]) item(name string) (T, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.items[name]
	if !ok {
		var zero T
		return zero, false
	}
	return *v, true
}

// Calls returns the calls made so far.
func (f *fakeBackend[T]) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// remove is a DeleteX: the call recorded, then the resource gone.
func (f *fakeBackend[T]) remove(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("delete %s", name); err != nil {
		return err
	}
	delete(f.items, name)
	return nil
}

// rules is a SetFirewallRules: the call recorded ("rules NAME N"), then
// set applied to the resource, if there is one.
func (f *fakeBackend[T]) rules(name string, n int, set func(*T)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("rules %s %d", name, n))
	if v, ok := f.items[name]; ok {
		set(v)
	}
}

// backendEnv is newEnv with the handler's Config adjusted by edit (which
// gives it a fake backend) and group rg.
func backendEnv(t *testing.T, edit func(*Config)) *env {
	t.Helper()
	e := newEnvWith(t, edit)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	return e
}

// noneInFiles fails t for every file below dir (the store's: its
// database, WAL and all) that holds one of the secrets in clear.
func noneInFiles(t *testing.T, dir string, secrets []string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds the secret %q in clear", p, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDatabasesGoWithTheirGroup: deleting the resource group deletes its
// PostgreSQL servers and caches in their backends too (az resource list
// showed them), and frees their names.
func TestDatabasesGoWithTheirGroup(t *testing.T) {
	pg, rc := newFakePostgres(), newFakeRedis()
	e := backendEnv(t, func(c *Config) { c.Postgres, c.Redis = pg, rc })
	e.pg, e.rc = pg, rc
	e.accepted(e.do("PUT", pgPath+"/pg1"+pgAPI, pgCreateBody(pgPassword)))
	e.must(201, "PUT", redisPath+"/cache1"+redisAPI, redisCreateBody)
	if r := e.must(200, "GET", rgPath+"/resources", ""); !strings.Contains(string(r.body), `"type":"Microsoft.Cache/Redis"`) ||
		!strings.Contains(string(r.body), `"type":"Microsoft.DBforPostgreSQL/flexibleServers"`) {
		t.Fatalf("resources = %s", r.body)
	}
	e.must(200, "DELETE", rgPath, "")
	if _, ok := e.pg.item("pg1"); ok {
		t.Errorf("the backend's server stays: %v", e.pg.Calls())
	}
	if _, ok := e.rc.item("cache1"); ok {
		t.Errorf("the backend's cache stays: %v", e.rc.Calls())
	}
	if taken, _ := e.store.PostgresServerNameTaken(t.Context(), "pg1"); taken {
		t.Error("the server's name stays taken")
	}
	if taken, _ := e.store.RedisCacheNameTaken(t.Context(), "cache1"); taken {
		t.Error("the cache's name stays taken")
	}
}

// TestDatabasesRefusedWithoutBackends: without a backend each provider
// is refused as every unserved one.
func TestDatabasesRefusedWithoutBackends(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", rgPath, `{"location":"westeurope"}`)
	for _, c := range []struct{ path, body, ns string }{
		{pgPath + "/pg1" + pgAPI, pgCreateBody(pgPassword), "Microsoft.DBforPostgreSQL"},
		{redisPath + "/cache1" + redisAPI, redisCreateBody, "Microsoft.Cache"},
	} {
		r := e.do("PUT", c.path, c.body)
		if r.status != 404 || !strings.Contains(string(r.body), "does not serve the resource provider '"+c.ns+"'") {
			t.Errorf("PUT %s without a backend: %d %s", c.path, r.status, r.body)
		}
	}
}

// deniedCall is a request another group's principal makes at a victim's
// resource.
type deniedCall struct{ method, p, body string }

// wantAllDenied checks that principals 1 to 3 (roles on rg, or none) are
// denied every call, with the resource's path also tried in upper case,
// and that the subscription's list subList leaves the victim named name
// out.
func wantAllDenied(t *testing.T, call func(who, method, p, body string) (int, string), resource string, calls []deniedCall, subList, name string) {
	t.Helper()
	calls = append(calls, deniedCall{"GET", strings.ToUpper(resource[:14]) + resource[14:], ""})
	for _, who := range []string{principal1, principal2, principal3} {
		for _, c := range calls {
			s, b := call(who, c.method, c.p, c.body)
			wantDenied(t, who+" "+c.method+" "+c.p, s, b)
		}
		if s, b := call(who, "GET", subList, ""); strings.Contains(b, name) {
			t.Errorf("%s lists other's %s: %d %s", who, name, s, b)
		}
	}
}
