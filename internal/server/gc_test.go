package server

import (
	"runtime/debug"
	"testing"
)

// TestTuneGC: the server's settings apply by default, and an operator's
// GOGC or GOMEMLIMIT wins.
func TestTuneGC(t *testing.T) {
	prevGC := debug.SetGCPercent(100)
	prevLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(prevGC); debug.SetMemoryLimit(prevLimit) })

	none := func(string) string { return "" }
	if gc, limit := TuneGC(none); gc != serverGCPercent || limit != serverMemoryLimit {
		t.Fatalf("defaults: GOGC %d, limit %d; want %d, %d", gc, limit, serverGCPercent, serverMemoryLimit)
	}

	debug.SetGCPercent(150) // as the runtime does for GOGC=150
	debug.SetMemoryLimit(3 << 30)
	operator := func(k string) string { return map[string]string{"GOGC": "150", "GOMEMLIMIT": "3GiB"}[k] }
	if gc, limit := TuneGC(operator); gc != 150 || limit != 3<<30 {
		t.Fatalf("operator's settings: GOGC %d, limit %d; want 150, %d", gc, limit, 3<<30)
	}
}
