package frontdoor

import (
	"testing"
	"time"
)

// TestInFlight: two long requests on one instance count 2 there and 0 on
// the other until they are answered.
func TestInFlight(t *testing.T) {
	hold, started := make(chan struct{}), make(chan string, 2)
	a := named(t, "a", hold, started, nil)
	set := &instances{}
	set.set(Backend{ID: "a", URL: a.URL})
	fd := New(Config{Domain: "localhost", Backends: set, Sites: set})
	base := serve(t, fd)
	if n := fd.InFlight([]string{a.URL}); n != 0 {
		t.Fatalf("idle InFlight = %d", n)
	}
	done := make(chan string, 2)
	for range 2 {
		go func() { s, _ := fetch(t, base, "/slow"); done <- s }()
	}
	for range 2 {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("a long request never reached the instance")
		}
	}
	if n, other := fd.InFlight([]string{a.URL}), fd.InFlight([]string{"http://127.0.0.1:1"}); n != 2 || other != 0 {
		t.Fatalf("InFlight = %d on the instance, %d elsewhere; want 2, 0", n, other)
	}
	close(hold)
	<-done
	<-done
	deadline := time.Now().Add(5 * time.Second)
	for fd.InFlight([]string{a.URL}) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := fd.InFlight([]string{a.URL}); n != 0 {
		t.Fatalf("InFlight after the answers = %d", n)
	}
}
