package server

// The number of threads running Go code at once (GOMAXPROCS), sized to the
// load: the fewest that keep runnable goroutines from waiting.
//
// Measured on a 2-core host (docs/benchmarks.md, "The front door"): with
// GOMAXPROCS at the core count, a front door that is not saturated spends
// about a third of its CPU in the kernel switching threads (a goroutine made
// runnable wakes an idle thread, which finds little to do and sleeps
// again), and that CPU comes out of the apps' share: a small app under
// gunicorn's sync worker served 0.66× what it served behind nginx. With one
// thread the same app served 0.94×, but a saturated front door was capped at
// one core (0.75× nginx's rate in front of a fast app instead of 0.92×).
//
// So the server starts with one thread and watches the scheduler's own
// measure of waiting, runtime/metrics' /sched/latencies:seconds (the time
// goroutines spend runnable before they run): when more than procsUp of the
// sampled waits in an interval took 100 µs or longer, the threads are too
// few and their count doubles (up to the cores Go found at start); after
// procsHold quiet intervals in a row it halves. A halving made under load
// (not for idleness) that is undone soon after doubles the hold, so a load
// that needs the threads keeps them.

import (
	"context"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/slipway-dev/slipway/internal/every"
)

const (
	procsInterval   = time.Second
	procsWaitLong   = 100e-6 // seconds a runnable goroutine waits that count as "waiting"
	procsUp         = 0.10   // share of waits ≥ procsWaitLong that doubles the threads
	procsQuiet      = 0.03   // share under which an interval is quiet
	procsMinSamples = 300    // fewer sampled waits in an interval: too idle to say, counts as quiet
	procsHoldMin    = 3
	procsHoldMax    = 120
	procsFlap       = 30 // a doubling within this many intervals of a halving is a flap
)

// procsState is the controller's memory between intervals.
type procsState struct {
	cur, max  int
	quiet     int // quiet intervals in a row
	hold      int // quiet intervals needed to halve
	sinceDown int // intervals since the last halving made under load; 0 when none is recent
	lastBusy  bool
}

func newProcsState(max int) procsState {
	return procsState{cur: 1, max: max, hold: procsHoldMin}
}

// next decides the thread count for the next interval from the last one's
// sampled scheduling waits: how many, and the share that took procsWaitLong
// or longer.
func (s *procsState) next(samples uint64, longShare float64) int {
	if s.sinceDown > 0 {
		if s.sinceDown++; s.sinceDown > procsFlap {
			s.sinceDown = 0
			s.hold = max(procsHoldMin, s.hold/2) // calm again: relax the hold
		}
	}
	busy := samples >= procsMinSamples
	defer func() { s.lastBusy = busy }()
	switch {
	case busy && longShare >= procsUp && s.cur < s.max:
		if s.sinceDown > 0 {
			s.hold = min(procsHoldMax, s.hold*2)
			s.sinceDown = 0
		}
		s.cur = min(s.max, s.cur*2)
		s.quiet = 0
	case !busy || longShare < procsQuiet:
		if s.cur > 1 {
			if s.quiet++; s.quiet >= s.hold {
				s.cur = max(1, s.cur/2)
				s.quiet = 0
				s.sinceDown = 0
				if busy && s.lastBusy {
					// Judged under load that fewer threads suffice: watch
					// whether they do. (After idleness, load coming back
					// is not a misjudgment.)
					s.sinceDown = 1
				}
			}
		}
	default:
		s.quiet = 0
	}
	return s.cur
}

// waitReader returns, at each call, the scheduling waits sampled since the
// previous one: how many, and the share of them procsWaitLong or longer.
func waitReader() func() (uint64, float64) {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(s)
	prev := append([]uint64(nil), s[0].Value.Float64Histogram().Counts...)
	return func() (uint64, float64) {
		metrics.Read(s)
		h := s[0].Value.Float64Histogram()
		var total, long uint64
		for i, c := range h.Counts {
			d := c - prev[i]
			total += d
			if h.Buckets[i] >= procsWaitLong { // the bucket's lower bound
				long += d
			}
		}
		copy(prev, h.Counts)
		if total == 0 {
			return 0, 0
		}
		return total, float64(long) / float64(total)
	}
}

// AdaptProcs sizes GOMAXPROCS to the load until ctx ends, unless the
// operator set GOMAXPROCS. The ceiling is the count Go chose at start (the
// cores, or the container's CPU limit).
func AdaptProcs(ctx context.Context, getenv func(string) string) {
	if getenv("GOMAXPROCS") != "" {
		return
	}
	ceiling := runtime.GOMAXPROCS(0)
	if ceiling <= 1 {
		return
	}
	st := newProcsState(ceiling)
	runtime.GOMAXPROCS(st.cur)
	waits := waitReader()
	go every.Run(ctx, procsInterval, func(context.Context) {
		if n := st.next(waits()); n != runtime.GOMAXPROCS(0) {
			runtime.GOMAXPROCS(n)
		}
	})
}
