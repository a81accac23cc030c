package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// instanceView is one row of `webapp list-instances`.
type instanceView struct {
	Name            string `json:"name"`
	State           string `json:"state"`
	SlipwayInstance struct {
		Status              string `json:"status"`
		Address             string `json:"address"`
		HealthCheckFailures int    `json:"healthCheckFailures"`
	} `json:"slipwayInstance"`
}

func (s *testServer) instances(app string) []instanceView {
	s.t.Helper()
	var out []instanceView
	if err := json.Unmarshal([]byte(s.mustCLI("", "webapp", "list-instances", "-g", "rg-"+app, "-n", app)), &out); err != nil {
		s.t.Fatalf("list-instances: %v", err)
	}
	return out
}

// statuses returns "status" per instance id.
func statuses(list []instanceView) map[string]string {
	m := map[string]string{}
	for _, in := range list {
		m[in.Name] = in.SlipwayInstance.Status
	}
	return m
}

// pinned GETs route of app through the front door with an ARRAffinity
// cookie (none when id is ""), and returns the body and the cookie set.
func (s *testServer) pinned(app, id, route string) (int, string, string) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.url(s.host(app), route), nil)
	if id != "" {
		req.AddCookie(&http.Cookie{Name: "ARRAffinity", Value: id})
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", route, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	set := ""
	for _, c := range resp.Cookies() {
		if c.Name == "ARRAffinity" {
			set = c.Value
		}
	}
	return resp.StatusCode, string(b), set
}

// direct GETs route of one instance at its address, with the app's Host.
func (s *testServer) direct(app, addr, route string) string {
	s.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+route, nil)
	req.Host = s.host(app)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		s.t.Fatalf("GET %s%s: %v", addr, route, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// killInstance sends SIGKILL to every process of the instance (found by
// its WEBSITE_INSTANCE_ID in /proc), as `kill -9` would.
func killInstance(t *testing.T, id string) int {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/environ")
	want := []byte("WEBSITE_INSTANCE_ID=" + id + "\x00")
	n := 0
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, want) {
			continue
		}
		pid, _ := strconv.Atoi(strings.Split(p, "/")[2])
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no process of instance %s found", id)
	}
	return n
}

// TestScaleOutInUnderLoad (issue 12, acceptance 4): scaling the plan out
// 1→3 and in 3→1 under load fails no request; with affinity on a client
// stays on its instance and is re-routed (and re-pinned) once that
// instance is gone; kill -9 of an instance under load loses at most the
// requests in flight, and the instance comes back.
func TestScaleOutInUnderLoad(t *testing.T) {
	needContainers(t)
	s := startServer(t)
	s.createApp("scaly")
	if code := s.deployZip("scaly", zipDir(t, "testdata/apps/probe", nil)); code != "200" {
		t.Fatalf("deploy: %s\n%s", code, s.lastDeploymentLog("scaly"))
	}
	first := s.instances("scaly")
	if len(first) != 1 {
		t.Fatalf("instances at start: %+v", first)
	}
	plan := []string{"appservice", "plan", "update", "-g", "rg-scaly", "-n", "plan-scaly"}

	l := s.loadGen(s.url(s.host("scaly"), "/"), 4, 0, nil)
	time.Sleep(500 * time.Millisecond)
	s.mustCLI("", append(plan, "--number-of-workers", "3")...)
	three := s.instances("scaly")
	if len(three) != 3 || statuses(three)[first[0].Name] != "Ready" {
		t.Fatalf("after scale-out: %+v; want 3 with the first still there", three)
	}
	// Affinity (on by default): pinned to an instance that will go at scale-in.
	var pin string
	for i := 0; i < 50 && (pin == "" || pin == first[0].Name); i++ {
		_, _, pin = s.pinned("scaly", "", "/instance")
	}
	if pin == "" || pin == first[0].Name {
		t.Fatalf("never pinned to a new instance (last cookie %q)", pin)
	}
	for range 10 {
		if _, body, set := s.pinned("scaly", pin, "/instance"); body != pin || set != "" {
			t.Fatalf("a client pinned to %s was served by %s (new cookie %q)", pin, body, set)
		}
	}
	s.mustCLI("", append(plan, "--number-of-workers", "1")...)
	time.Sleep(3 * time.Second) // past the drain delay
	total, failed, errs := l.end()
	if ok := total - failed; failed != 0 || ok < 20 {
		t.Fatalf("scaling 1→3→1 under load: %d of %d requests failed: %v", failed, total, errs)
	}
	one := s.instances("scaly")
	if len(one) != 1 || one[0].Name != first[0].Name {
		t.Fatalf("after scale-in: %+v; want the first instance alone", one)
	}
	if _, body, set := s.pinned("scaly", pin, "/instance"); body != first[0].Name || set != first[0].Name {
		t.Fatalf("pinned instance gone: served by %s with cookie %q; want %s re-pinned", body, set, first[0].Name)
	}

	// kill -9 of one of two instances under load.
	s.mustCLI("", append(plan, "--number-of-workers", "2")...)
	two := s.instances("scaly")
	victim := two[0].Name
	if victim == first[0].Name {
		victim = two[1].Name
	}
	l = s.loadGen(s.url(s.host("scaly"), "/"), 4, 0, nil)
	time.Sleep(500 * time.Millisecond)
	killInstance(t, victim)
	eventually(t, 10*time.Second, "the killed instance seen down", func() bool {
		return statuses(s.instances("scaly"))[victim] != "Ready"
	})
	eventually(t, 60*time.Second, "the killed instance to serve again", func() bool {
		st := statuses(s.instances("scaly"))
		return len(st) == 2 && st[victim] == "Ready" && st[first[0].Name] == "Ready"
	})
	time.Sleep(500 * time.Millisecond)
	total, failed, errs = l.end()
	if ok := total - failed; failed > 4 || ok < 20 {
		t.Fatalf("kill -9 under load: %d of %d requests failed (at most the 4 in flight may): %v", failed, total, errs)
	}
	if _, body, _ := s.pinned("scaly", victim, "/instance"); body != victim {
		t.Fatalf("the restarted instance does not serve its own cookie's clients: %s", body)
	}
}

// TestHealthCheckE2E (issue 12, acceptance 5): with a health check path,
// an instance whose path fails is taken out after the configured failures
// and back in on recovery; the percentage cap holds; when all are
// unhealthy none is out.
func TestHealthCheckE2E(t *testing.T) {
	needContainers(t)
	s := startServer(t, "--health-check-interval", "300ms")
	s.createApp("healthy", "WEBSITE_HEALTHCHECK_MAXPINGFAILURES=2")
	if code := s.deployZip("healthy", zipDir(t, "testdata/apps/probe", nil)); code != "200" {
		t.Fatalf("deploy: %s\n%s", code, s.lastDeploymentLog("healthy"))
	}
	s.mustCLI("", "appservice", "plan", "update", "-g", "rg-healthy", "-n", "plan-healthy", "--number-of-workers", "3")
	s.mustCLI("", "webapp", "config", "set", "-g", "rg-healthy", "-n", "healthy", "--generic-configurations", `{"healthCheckPath": "/health"}`)
	list := s.instances("healthy")
	if len(list) != 3 {
		t.Fatalf("instances: %+v", list)
	}
	a, b, c := list[0], list[1], list[2]
	want := func(what string, w map[string]string) {
		t.Helper()
		eventually(t, 30*time.Second, what, func() bool {
			st := statuses(s.instances("healthy"))
			for id, v := range w {
				if st[id] != v {
					return false
				}
			}
			return true
		})
	}

	s.direct("healthy", a.SlipwayInstance.Address, "/sick")
	want("the sick instance out", map[string]string{a.Name: "Removed", b.Name: "Ready", c.Name: "Ready"})
	for range 6 {
		if code, body, _ := s.pinned("healthy", a.Name, "/instance"); code != 200 || body == a.Name {
			t.Fatalf("a client pinned to the removed instance got %d from %s", code, body)
		}
	}
	// 50 % of 3 is 1: a second sick instance stays in.
	s.direct("healthy", b.SlipwayInstance.Address, "/sick")
	want("the second sick instance kept in", map[string]string{a.Name: "Removed", b.Name: "Unhealthy"})
	// All unhealthy: none out.
	s.direct("healthy", c.SlipwayInstance.Address, "/sick")
	want("all unhealthy, none out", map[string]string{a.Name: "Unhealthy", b.Name: "Unhealthy", c.Name: "Unhealthy"})
	for _, in := range []instanceView{a, b, c} {
		s.direct("healthy", in.SlipwayInstance.Address, "/well")
	}
	want("all back", map[string]string{a.Name: "Ready", b.Name: "Ready", c.Name: "Ready"})
	if _, body, _ := s.pinned("healthy", a.Name, "/instance"); body != a.Name {
		t.Fatalf("the recovered instance does not serve its client: %s", body)
	}
}
