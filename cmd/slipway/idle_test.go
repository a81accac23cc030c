package main

import (
	"testing"
	"time"
)

// Always On and idle unload: with the idle time shortened to 3 s, an app
// without Always On (B1's default) loses its instances when nobody asks
// it anything, and the next request starts it and succeeds (a cold start,
// timed); an app with Always On keeps its instance.
func TestIdleUnload(t *testing.T) {
	s := startServer(t, "--idle-unload-after", "3s")
	s.createApp("idler")
	s.createApp("awake")
	s.mustCLI("", "webapp", "config", "set", "-g", "rg-awake", "-n", "awake", "--always-on", "true")
	for _, app := range []string{"idler", "awake"} {
		if code := s.deployZip(app, zipDir(t, "testdata/apps/hello", map[string]string{"VERSION": app})); code != "200" {
			t.Fatalf("deploy %s: %s", app, code)
		}
		if code, body := s.get(s.host(app), "/"); code != 200 || body != "hello "+app {
			t.Fatalf("GET %s = %d %q", app, code, body)
		}
	}
	awake := s.instances("awake")
	if len(awake) != 1 {
		t.Fatalf("awake has %d instances", len(awake))
	}

	eventually(t, 30*time.Second, "the idle app unloads", func() bool { return len(s.instances("idler")) == 0 })
	began := time.Now()
	code, body := s.get(s.host("idler"), "/")
	cold := time.Since(began)
	if code != 200 || body != "hello idler" {
		t.Fatalf("the first request after the unload: %d %q, want 200 \"hello idler\"", code, body)
	}
	t.Logf("cold start: the first request after the unload took %s", cold.Round(time.Millisecond))
	if n := len(s.instances("idler")); n != 1 {
		t.Fatalf("after the cold start idler has %d instances", n)
	}
	if code, body := s.get(s.host("idler"), "/"); code != 200 || body != "hello idler" {
		t.Fatalf("the second request: %d %q", code, body)
	}

	// Always On: the same instance still runs, not asked for more than
	// twice the idle time.
	time.Sleep(4 * time.Second)
	if now := s.instances("awake"); len(now) != 1 || now[0].SlipwayInstance.Address != awake[0].SlipwayInstance.Address {
		t.Fatalf("the Always On app's instances changed: %+v, were %+v", now, awake)
	}
	if code, body := s.get(s.host("awake"), "/"); code != 200 || body != "hello awake" {
		t.Fatalf("GET awake = %d %q", code, body)
	}
}
