package arm

import (
	"strings"
	"testing"
)

// TestBackups: az webapp config backup list finds none (Slipway takes
// none); creating, scheduling or restoring one is refused with the reason,
// and nothing answers for a site that does not exist.
func TestBackups(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Slots = &swapRecorder{} })
	e.seed()
	list := e.must(200, "GET", sitePath+"/backups", "").json(t)
	if v, ok := list["value"].([]any); !ok || len(v) != 0 {
		t.Fatalf("backups = %v, want an empty list", list)
	}
	e.standardPlan()
	e.must(200, "PUT", slotPath, `{"location":"West Europe","properties":{"serverFarmId":"x","siteConfig":{}}}`)
	e.must(200, "GET", slotPath+"/backups", "")
	e.must(404, "GET", sitePath+"/backups/1", "")
	for _, req := range []struct{ method, path string }{
		{"POST", sitePath + "/backup"},
		{"PUT", sitePath + "/config/backup"},
		{"POST", sitePath + "/backups/1/restore"},
	} {
		r := e.must(400, req.method, req.path, `{"properties":{"storageAccountUrl":"https://x.blob.core.windows.net/c?sig=y"}}`)
		if !strings.Contains(string(r.body), "does not take app backups") {
			t.Errorf("%s %s: %s, want the reason", req.method, req.path, r.body)
		}
	}
	e.must(404, "GET", webPath+"/sites/nope/backups", "")
	e.must(404, "POST", webPath+"/sites/nope/backup", "")
}
