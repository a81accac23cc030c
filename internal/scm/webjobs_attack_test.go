package scm

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A stopping job the scheduler no longer wants is asked to stop at each of
// its looks (and at each poke, which an app's owner can send as fast as
// the API answers): one kill is armed, not a timer per look that lives
// for the job's stopping_wait_time (up to ten minutes).
func TestAttackWebJobStopArmsOneKill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pipe, err := newStopPipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pipe.release()
		var kills atomic.Int32
		stop := stopper(pipe, func() { kills.Add(1) })
		for range 1000 {
			stop(10 * time.Minute)
		}
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if n := kills.Load(); n != 0 {
			t.Fatalf("killed %d times before its stopping_wait_time", n)
		}
		stop(0) // the server stops: at once
		synctest.Wait()
		if n := kills.Load(); n != 1 {
			t.Fatalf("stop(0): killed %d times, want 1", n)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := kills.Load(); n != 1 {
			t.Errorf("%d kills were armed for one job; want 1", n)
		}
	})
}
