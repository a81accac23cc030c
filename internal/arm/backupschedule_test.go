package arm

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// manualClock is a clock a test moves.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestBackupSchedules: az webapp config backup update sets a schedule and
// show reads it (404 before); the scheduler takes a backup when one is due
// — once for missed ones — and deletes the schedule's own backups past
// their retention, keeping the newest when told, never a backup taken on
// request. Refused: a unit that is not Day or Hour, an interval out of
// range, databases, a container of another host.
func TestBackupSchedules(t *testing.T) {
	fb := &fakeBackups{metas: map[string][]byte{}}
	clock := &manualClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	e := newEnvWith(t, func(c *Config) { c.Backups = fb; c.Now = clock.Now })
	e.seed()
	e.must(404, "POST", sitePath+"/config/backup/list", "")
	schedule := func(body string) string {
		return `{"properties":{"backupName":"app_202612011000","enabled":true,"storageAccountUrl":"` + backupContainer + `",` + body + `}}`
	}
	for _, c := range []struct{ body, want string }{
		{`"backupSchedule":{"frequencyInterval":1,"frequencyUnit":"Week","retentionPeriodInDays":1}`, "Day or Hour"},
		{`"backupSchedule":{"frequencyInterval":0,"frequencyUnit":"Hour","retentionPeriodInDays":1}`, "out of range"},
		{`"backupSchedule":{"frequencyInterval":400,"frequencyUnit":"Day","retentionPeriodInDays":1}`, "out of range"},
		{`"backupSchedule":{"frequencyInterval":1,"frequencyUnit":"Day","retentionPeriodInDays":1},"databases":[{"databaseType":"SqlAzure","name":"d","connectionString":"x"}]`, "does not back up databases"},
	} {
		if r := e.must(400, "PUT", sitePath+"/config/backup", schedule(c.body)); !strings.Contains(string(r.body), c.want) {
			t.Errorf("PUT %s: %s, want %q", c.body, r.body, c.want)
		}
	}
	if r := e.must(400, "PUT", sitePath+"/config/backup", `{"properties":{"storageAccountUrl":"https://evil.example/c?sig=x","backupSchedule":{"frequencyInterval":1,"frequencyUnit":"Hour"}}}`); !strings.Contains(string(r.body), "not this server's blob service") {
		t.Errorf("PUT to another host: %s", r.body)
	}

	// az sends --retention as a string.
	got := e.must(200, "PUT", sitePath+"/config/backup", schedule(`"backupSchedule":{"frequencyInterval":12,"frequencyUnit":"Hour","keepAtLeastOneBackup":true,"retentionPeriodInDays":"1"}`)).json(t)
	sched, _ := got["properties"].(map[string]any)["backupSchedule"].(map[string]any)
	if sched["frequencyInterval"] != float64(12) || sched["frequencyUnit"] != "Hour" || sched["retentionPeriodInDays"] != float64(1) || sched["keepAtLeastOneBackup"] != true {
		t.Fatalf("schedule = %v", got)
	}
	if u, _ := got["properties"].(map[string]any)["storageAccountUrl"].(string); strings.Contains(u, "secret") {
		t.Errorf("the schedule shows the SAS's signature: %s", u)
	}
	e.must(200, "POST", sitePath+"/config/backup/list", "")
	e.must(200, "POST", sitePath+"/backup", `{"properties":{"backupName":"by-hand","storageAccountUrl":"`+backupContainer+`"}}`)

	scheduled := func() []string {
		t.Helper()
		var names []string
		for _, v := range e.must(200, "GET", sitePath+"/backups", "").json(t)["value"].([]any) {
			p := v.(map[string]any)["properties"].(map[string]any)
			if p["scheduled"] == true {
				names = append(names, p["name"].(string))
			}
		}
		return names
	}
	ctx := t.Context()
	e.h.runDueBackups(ctx) // due at once: the schedule starts now
	if n := scheduled(); len(n) != 1 || n[0] != "app_202612011000" {
		t.Fatalf("after the first run: %v", n)
	}
	clock.add(6 * time.Hour)
	e.h.runDueBackups(ctx)
	if n := scheduled(); len(n) != 1 {
		t.Fatalf("6 hours later (every 12): %v", n)
	}
	clock.add(30 * time.Hour) // two and a half periods missed: one backup
	e.h.runDueBackups(ctx)
	if n := scheduled(); len(n) != 1 || n[0] != "app_202612022200" {
		t.Fatalf("36 hours in, with a retention of a day: %v, want only the new one", n)
	}
	if len(fb.deleted) != 1 || fb.deleted[0] != "/backups/app_202612011000.zip" {
		t.Errorf("deleted blobs = %v", fb.deleted)
	}
	// Keep at least one: when the next backup fails, the last that
	// succeeded stays however old.
	fb.failWrites = true
	clock.add(72 * time.Hour)
	e.h.runDueBackups(ctx)
	if n := scheduled(); len(n) != 2 || n[0] != "app_202612022200" || n[1] != "app_202612052200" {
		t.Fatalf("after a failed backup, 72 hours on: %v, want the last good one kept and the failed one", n)
	}
	fb.failWrites = false
	// Disabled: nothing taken.
	e.must(200, "PUT", sitePath+"/config/backup", `{"properties":{"enabled":false,"storageAccountUrl":"`+backupContainer+`","backupSchedule":{"frequencyInterval":12,"frequencyUnit":"Hour","keepAtLeastOneBackup":true,"retentionPeriodInDays":1}}}`)
	clock.add(72 * time.Hour)
	e.h.runDueBackups(ctx)
	if n := scheduled(); len(n) != 2 {
		t.Fatalf("disabled schedule: %v", n)
	}
	byHand := false
	for _, v := range e.must(200, "GET", sitePath+"/backups", "").json(t)["value"].([]any) {
		byHand = byHand || v.(map[string]any)["properties"].(map[string]any)["name"] == "by-hand"
	}
	if !byHand {
		t.Errorf("the backup taken on request was expired by the schedule")
	}
	e.must(200, "DELETE", sitePath+"/config/backup", "")
	e.must(404, "POST", sitePath+"/config/backup/list", "")
}
