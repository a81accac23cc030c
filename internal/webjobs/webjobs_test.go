package webjobs

import (
	"strings"
	"testing"
	"time"
)

func TestScript(t *testing.T) {
	for _, tc := range []struct {
		files       []string
		script, cmd string
		ok          bool
	}{
		{[]string{"run.py", "run.sh"}, "run.sh", "bash", true}, // run.* in host order: Bash first
		{[]string{"a.sh", "run.py"}, "run.py", "python", true}, // any run.* before other files
		{[]string{"b.py", "a.sh"}, "a.sh", "bash", true},       // then the first host's first file
		{[]string{"z.py", "m.py", "notes.txt"}, "m.py", "python", true},
		{[]string{"readme.txt", "settings.job"}, "", "", false}, // nothing to run
		{[]string{".sh"}, "", "", false},                        // an extension alone is no script
		{[]string{"run.cmd", "run.ps1"}, "", "", false},         // Windows hosts: not on Linux
	} {
		script, cmd, ok := Script(tc.files)
		if script != tc.script || cmd != tc.cmd || ok != tc.ok {
			t.Errorf("Script(%v) = %q %q %v, want %q %q %v", tc.files, script, cmd, ok, tc.script, tc.cmd, tc.ok)
		}
	}
}

func TestParseSettings(t *testing.T) {
	s, err := ParseSettings([]byte(`{"schedule": "0 */5 * * * *", "is_singleton": true, "stopping_wait_time": 30, "is_in_place": true, "other": 1}`))
	if err != nil || s.Schedule != "0 */5 * * * *" || !s.IsSingleton || s.StoppingWaitTime != 30*time.Second || !s.IsInPlace || s.Raw["other"] != float64(1) {
		t.Errorf("settings: %+v %v", s, err)
	}
	if s, err := ParseSettings(nil); err != nil || s.StoppingWaitTime != DefaultStoppingWait || s.Schedule != "" {
		t.Errorf("no settings: %+v %v", s, err)
	}
	// A member of the wrong type keeps its default, and the error says so.
	s, err = ParseSettings([]byte(`{"is_singleton": "yes", "stopping_wait_time": 2.5, "schedule": "*/5 * * * *"}`))
	if err == nil || s.IsSingleton || s.StoppingWaitTime != DefaultStoppingWait || s.Schedule != "" ||
		!strings.Contains(err.Error(), "five fields") || !strings.Contains(err.Error(), "is_singleton") || !strings.Contains(err.Error(), "stopping_wait_time") {
		t.Errorf("bad settings: %+v %v", s, err)
	}
	if _, err := ParseSettings([]byte(`[1]`)); err == nil {
		t.Error("an array was taken for settings")
	}
	if s, _ := ParseSettings([]byte(`{"stopping_wait_time": 999999}`)); s.StoppingWaitTime != MaxStoppingWait {
		t.Errorf("stopping_wait_time is not bounded: %v", s.StoppingWaitTime)
	}
}

func TestParseSchedule(t *testing.T) {
	at := time.Date(2026, 12, 7, 11, 59, 58, 0, time.UTC)
	for expr, want := range map[string]time.Time{
		"*/2 * * * * *":  time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC),
		"0 0 2 * * *":    time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC),
		"0 30 9 * * 1-5": time.Date(2026, 12, 8, 9, 30, 0, 0, time.UTC), // a Tuesday
		"@daily":         time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC),
	} {
		sch, err := ParseSchedule(expr)
		if err != nil {
			t.Errorf("%q: %v", expr, err)
			continue
		}
		if got := sch.Next(at); !got.Equal(want) {
			t.Errorf("%q next after %v = %v, want %v", expr, at, got, want)
		}
	}
	for _, bad := range []string{"", "* * * * *", "61 * * * * *", "every minute"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("%q was taken for a schedule", bad)
		}
	}
}

func TestRunIDAndLogLine(t *testing.T) {
	at := time.Date(2026, 12, 7, 11, 44, 0, 123456789, time.UTC)
	if id := RunID(at); id != "202612071144001234" || !ValidRunID(id) {
		t.Errorf("RunID = %q", id)
	}
	for _, bad := range []string{"", "20261207114400123", "2026120711440012345", "../x", "20261207114400123a"} {
		if ValidRunID(bad) {
			t.Errorf("%q taken for a run id", bad)
		}
	}
	if got := LogLine(at, "0a1b2c3d4e", LevelErr, "oops"); got != "[12/07/2026 11:44:00 > 0a1b2c: ERR ] oops\n" {
		t.Errorf("LogLine = %q", got)
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"report": true, "my-job_2": true, "9lives": true,
		"": false, ".hidden": false, "-x": false, "a/b": false, "..": false, "a b": false, strings.Repeat("a", 65): false,
	} {
		if ValidName(name) != want {
			t.Errorf("ValidName(%q) = %v", name, !want)
		}
	}
}
