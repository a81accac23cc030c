package certs

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// TestAttackConcurrentPFXUploads: every PFX upload costs up to seconds of
// a core, so a burst of them must not run at once. At most
// MaxConcurrentPFX decode together; the rest wait rather than fail, and a
// waiting one whose request ends gives up with its context's error.
func TestAttackConcurrentPFXUploads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := NewPFXDecoder(MaxConcurrentPFX)
		var running, most atomic.Int32
		release := make(chan struct{})
		done := sync.OnceFunc(func() { close(release) })
		defer done() // a failed check leaves no goroutine blocked
		d.parse = func([]byte, string) (*Cert, error) {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			<-release
			running.Add(-1)
			return &Cert{}, nil
		}
		errs := make(chan error, 10)
		upload := func(ctx context.Context) {
			go func() {
				_, err := d.Decode(ctx, []byte("pfx"), "pw")
				errs <- err
			}()
		}
		for range MaxConcurrentPFX {
			upload(t.Context())
		}
		synctest.Wait() // the first uploads hold the decoder
		ctx, cancel := context.WithCancel(t.Context())
		upload(ctx)
		for range 7 {
			upload(t.Context())
		}
		synctest.Wait()
		if got := running.Load(); got != MaxConcurrentPFX {
			t.Fatalf("%d PFX files are decoded at once; want at most %d", got, MaxConcurrentPFX)
		}
		if len(errs) != 0 {
			t.Fatalf("an upload beyond the bound failed at once (%v); want it to wait", <-errs)
		}
		cancel()
		synctest.Wait()
		select {
		case err := <-errs:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("a waiting upload whose context ended: error = %v, want context.Canceled", err)
			}
		default:
			t.Fatal("a waiting upload did not give up when its context ended")
		}
		done()
		for range MaxConcurrentPFX + 7 {
			if err := <-errs; err != nil {
				t.Errorf("Decode: %v", err)
			}
		}
		if got := most.Load(); got != MaxConcurrentPFX {
			t.Errorf("at most %d PFX files were decoded at once; want %d", got, MaxConcurrentPFX)
		}
	})
}
