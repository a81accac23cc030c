package server

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestProcsController: one thread while goroutines do not wait; doubled at
// once when they do; halved only after a quiet spell; and a load that pulls
// the threads back up soon after a halving earns a longer hold.
func TestProcsController(t *testing.T) {
	st := newProcsState(4)
	steps := func(samples uint64, long float64, n int) int {
		var got int
		for i := 0; i < n; i++ {
			got = st.next(samples, long)
		}
		return got
	}
	if got := steps(3000, 0.01, 10); got != 1 {
		t.Fatalf("no waiting: %d threads, want 1", got)
	}
	if got := steps(12000, 0.26, 1); got != 2 {
		t.Fatalf("goroutines waiting on one thread: %d, want 2", got)
	}
	if got := steps(12000, 0.20, 1); got != 4 {
		t.Fatalf("still waiting on two: %d, want 4", got)
	}
	if got := steps(12000, 0.30, 3); got != 4 {
		t.Fatalf("at the ceiling: %d, want 4", got)
	}
	if got := steps(12000, 0.05, 20); got != 4 {
		t.Fatalf("between quiet and waiting the count stays: %d, want 4", got)
	}
	if got := steps(3000, 0.01, procsHoldMin-1); got != 4 {
		t.Fatalf("halved before the hold: %d", got)
	}
	if got := steps(3000, 0.01, 1); got != 2 {
		t.Fatalf("after a quiet spell: %d, want 2", got)
	}
	if got := steps(12000, 0.2, 1); got != 4 {
		t.Fatalf("flap up: %d, want 4", got)
	}
	if st.hold != 2*procsHoldMin {
		t.Fatalf("hold after a flap = %d, want %d", st.hold, 2*procsHoldMin)
	}
	if got := steps(3000, 0.01, 2*procsHoldMin-1); got != 4 {
		t.Fatalf("halved before the longer hold: %d", got)
	}
	if got := steps(3000, 0.01, 1); got != 2 {
		t.Fatalf("after the longer hold: %d, want 2", got)
	}
	// An idle server (too few samples to judge) comes down too, and a
	// waiting interval in between restarts the count of quiet ones.
	st = newProcsState(2)
	steps(12000, 0.3, 1)
	steps(10, 1.0, procsHoldMin-1) // a handful of samples, all long: idle, not busy
	steps(12000, 0.05, 1)
	if got := steps(10, 1.0, procsHoldMin-1); got != 2 {
		t.Fatalf("quiet intervals counted across a busy one: %d", got)
	}
	if got := steps(10, 1.0, 1); got != 1 {
		t.Fatalf("after a whole quiet spell: %d, want 1", got)
	}
	// Load coming back after idleness is no flap: the hold stays.
	if got := steps(12000, 0.3, 1); got != 2 || st.hold != procsHoldMin {
		t.Fatalf("load after idleness: %d threads, hold %d; want 2, %d", got, st.hold, procsHoldMin)
	}
}

// TestWaitReader: goroutines queued behind one thread are seen waiting.
func TestWaitReader(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	waits := waitReader()
	var wg sync.WaitGroup
	stop := time.Now().Add(300 * time.Millisecond)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				slice := time.Now().Add(200 * time.Microsecond)
				for time.Now().Before(slice) { // a slice of work, then yield
				}
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	n, long := waits()
	if n == 0 || long < procsUp {
		t.Fatalf("8 goroutines sharing one thread: %d sampled waits, %.2f of them long; want some, at least %.2f", n, long, procsUp)
	}
}
