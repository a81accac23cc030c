package runtime

import (
	"context"
	"errors"
	"testing"

	"github.com/slipway-dev/slipway/internal/applog"
)

// A gate sees every new ready instance before traffic moves; its error
// keeps the old instances serving (docs/slots.md §2).
func TestRollGate(t *testing.T) {
	r := newRuntime(t)
	log := applog.NewHub(applog.Config{}).App("app", "")
	if err := r.Roll(context.Background(), "app", server(t, log, "v1", 1)); err != nil {
		t.Fatal(err)
	}
	refused := server(t, log, "v2", 2)
	var seen []string
	refused.Gate = func(ctx context.Context, backends []string) error {
		seen = backends
		for _, b := range backends {
			if got := fetch(t, b); got != "v2" {
				t.Errorf("gate saw %q at %s, want the new v2", got, b)
			}
		}
		if got := fetch(t, r.Backends("app")[0]); got != "v1" {
			t.Errorf("traffic moved before the gate: %q", got)
		}
		return errors.New("warm-up failed")
	}
	if err := r.Roll(context.Background(), "app", refused); err == nil || err.Error() != "warm-up failed" {
		t.Fatalf("Roll = %v, want the gate's error", err)
	}
	if len(seen) != 2 {
		t.Fatalf("gate saw %d backends, want 2", len(seen))
	}
	if b := r.Backends("app"); len(b) != 1 || fetch(t, b[0]) != "v1" {
		t.Fatalf("after a refused gate the old instance must serve: %v", b)
	}
	passed := server(t, log, "v2", 1)
	passed.Gate = func(context.Context, []string) error { return nil }
	if err := r.Roll(context.Background(), "app", passed); err != nil {
		t.Fatal(err)
	}
	if b := r.Backends("app"); len(b) != 1 || fetch(t, b[0]) != "v2" {
		t.Fatalf("after a passed gate the new instance must serve: %v", b)
	}
}
