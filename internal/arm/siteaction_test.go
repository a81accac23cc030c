package arm

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway"
)

// failingStart is the recorder with an app that cannot start: restarting
// or starting it fails as the deploy coordinator fails it (EUNAVAILABLE,
// the container's exit in the message), or with err when set.
type failingStart struct {
	*recorder
	err error
}

func (c failingStart) fail() error {
	if c.err != nil {
		return c.err
	}
	return slipway.Errorf(slipway.EUNAVAILABLE, "The app did not restart: container app_0 has exited (exit status 127) before answering the warmup request on /robots933456.txt, failing site start. The previous instances keep serving; see the log stream.")
}

func (c failingStart) RestartSite(ctx context.Context, rg, site string) error {
	c.recorder.RestartSite(ctx, rg, site)
	return c.fail()
}

func (c failingStart) StartSite(ctx context.Context, rg, site string) error {
	c.recorder.StartSite(ctx, rg, site)
	return c.fail()
}

// TestSiteActionAppFailsToStart: `az webapp restart` and `az webapp start`
// of an app that cannot start (a startup file with no code deployed) answer
// 200 as App Service does — the container's failure goes to the app's log,
// and to Slipway's CLI as a warning header — and the site is Running.
func TestSiteActionAppFailsToStart(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Controller = failingStart{recorder: c.Controller.(*recorder)} })
	e.seed()
	state := func() any {
		return e.must(200, "GET", sitePath, "").json(t)["properties"].(map[string]any)["state"]
	}
	for _, step := range []struct {
		action, warn, state string
	}{
		{"restart", "The app did not restart: container app_0 has exited", "Running"},
		{"stop", "", "Stopped"},
		{"start", "The app did not restart: container app_0 has exited", "Running"},
	} {
		r := e.do("POST", sitePath+"/"+step.action, "")
		if r.status != 200 || len(r.body) != 0 {
			t.Fatalf("POST %s = %d %s, want 200 and no body", step.action, r.status, r.body)
		}
		if got := r.header.Get("X-Slipway-Warning"); !strings.HasPrefix(got, step.warn) || (step.warn == "") != (got == "") {
			t.Errorf("POST %s: X-Slipway-Warning = %q, want it to start with %q", step.action, got, step.warn)
		}
		if got := state(); got != step.state {
			t.Errorf("after %s, state = %v, want %s", step.action, got, step.state)
		}
	}
	if diff := cmp.Diff([]string{"RestartSite rg/app", "StopSite rg/app", "StartSite rg/app"}, e.ctl.Calls()); diff != "" {
		t.Errorf("controller calls (-want +got):\n%s", diff)
	}
}

// TestSiteActionGenuineFailures: what is not the app failing to start stays
// an error — a site that does not exist, a failure of Slipway itself.
func TestSiteActionGenuineFailures(t *testing.T) {
	e := newEnvWith(t, func(c *Config) {
		c.Controller = failingStart{recorder: c.Controller.(*recorder), err: errors.New("reading the artifact: disk on fire")}
	})
	e.seed()
	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{webPath + "/sites/nope/restart", 404, "ResourceNotFound"},
		{webPath + "/sites/nope/start", 404, "ResourceNotFound"},
		{sitePath + "/restart", 500, "InternalServerError"},
		{sitePath + "/start", 500, "InternalServerError"},
	} {
		r := e.do("POST", tc.path, "")
		if r.status != tc.status || r.json(t)["error"].(map[string]any)["code"] != tc.code {
			t.Errorf("POST %s = %d %s, want %d %s", tc.path, r.status, r.body, tc.status, tc.code)
		}
		if w := r.header.Get("X-Slipway-Warning"); w != "" {
			t.Errorf("POST %s: a failure carries a warning header %q", tc.path, w)
		}
	}
}
