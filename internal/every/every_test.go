package every

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestRun: calls come every d and stop when the context ends.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	done := make(chan struct{})
	go func() {
		Run(ctx, 10*time.Millisecond, func(context.Context) {
			if n.Add(1) == 3 {
				cancel()
			}
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	time.Sleep(30 * time.Millisecond)
	if got := n.Load(); got != 3 {
		t.Fatalf("%d calls, want 3 (none after the context ended)", got)
	}
}
