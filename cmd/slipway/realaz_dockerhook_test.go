package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// realAzContainerCD follows azure-cli's test_linux_webapp's continuous
// deployment steps (`webapp deployment container config -e true`, then
// `show-cd-url`, test_webapp_commands.py) and goes on to call the URL az
// prints, as a registry's webhook does: Kudu's POST /docker/hook answers
// 200, restarting the app while DOCKER_ENABLE_CI is true (the app serves
// again after it) and doing nothing once it is false.
func realAzContainerCD(t *testing.T, cli *realAz, web platformHTTP, rg, app string, port int) {
	t.Helper()
	var cd struct {
		Enabled bool   `json:"DOCKER_ENABLE_CI"`
		URL     string `json:"CI_CD_URL"`
	}
	out := cli.must("webapp", "deployment", "container", "config", "-g", rg, "-n", app, "-e", "true", "-o", "json")
	if err := json.Unmarshal([]byte(out), &cd); err != nil || !cd.Enabled || !strings.HasSuffix(cd.URL, "/docker/hook") {
		t.Fatalf("webapp deployment container config -e true: %v\n%s", err, out)
	}
	u, err := url.Parse(cd.URL)
	if err != nil || u.User == nil {
		t.Fatalf("CI_CD_URL %q: %v", cd.URL, err)
	}
	pass, _ := u.User.Password()
	user := u.User.Username()
	u.User = nil
	start := time.Now()
	if code, body := web.send(t, http.MethodPost, u.String(), user, pass, nil); code != http.StatusOK {
		t.Fatalf("POST %s = %d %s", u, code, body)
	}
	t.Logf("POST /docker/hook (a restart) took %v", time.Since(start).Round(time.Millisecond))
	if code, body := web.get(t, fmt.Sprintf("https://%s.localhost:%d/", app, port)); code != http.StatusOK {
		t.Fatalf("the app after the hook's restart = %d %s", code, body)
	}
	if code, _ := web.send(t, http.MethodPost, u.String(), user, "wrong", nil); code != http.StatusUnauthorized {
		t.Fatalf("POST %s with a wrong password = %d, want 401", u, code)
	}
	out = cli.must("webapp", "deployment", "container", "config", "-g", rg, "-n", app, "-e", "false", "-o", "json")
	if err := json.Unmarshal([]byte(out), &cd); err != nil || cd.Enabled || cd.URL != "" {
		t.Fatalf("webapp deployment container config -e false: %v\n%s", err, out)
	}
	if code, body := web.send(t, http.MethodPost, u.String(), user, pass, nil); code != http.StatusOK {
		t.Fatalf("POST %s with CI off = %d %s", u, code, body)
	}
}
