package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The driver must count only checked responses: a wrong status, a body
// without the field asked for, or a non-JSON body is an error, not a request.
func TestLoadChecksEveryResponse(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test") != "yes" || r.Method != http.MethodPost {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch n.Add(1) % 3 {
		case 0:
			w.Write([]byte(`{"access_token":"x"}`))
		case 1:
			w.Write([]byte(`{"other":"x"}`))
		case 2:
			w.Write([]byte(`not json`))
		}
	}))
	defer srv.Close()
	client, err := newClient("", "", false, 2, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Load(context.Background(), LoadConfig{URL: srv.URL, Method: http.MethodPost, Body: "a=b",
		Headers: http.Header{"X-Test": {"yes"}}, Concurrency: 2, Duration: 300 * time.Millisecond,
		Timeout: time.Second, Max: 90, Expect: http.StatusOK, JSONField: "access_token", Client: client})
	if err != nil {
		t.Fatal(err)
	}
	total := res.Requests + res.Errors
	if total == 0 || total > 90 {
		t.Fatalf("sent %d requests, want 1..90 (-max)", total)
	}
	// Two in three responses fail the check.
	if res.Requests*3 > total+3 || res.Errors*3 < 2*total-3 {
		t.Errorf("requests=%d errors=%d: want about a third counted", res.Requests, res.Errors)
	}
	if res.FirstError == "" || int64(len(res.Latencies)) != res.Requests {
		t.Errorf("first error %q, %d latencies for %d requests", res.FirstError, len(res.Latencies), res.Requests)
	}

	// A wrong status is an error whatever the body.
	res, err = Load(context.Background(), LoadConfig{URL: srv.URL, Method: http.MethodGet,
		Concurrency: 1, Duration: 100 * time.Millisecond, Timeout: time.Second, Max: 20, Expect: http.StatusOK, Client: client})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 0 || res.Errors == 0 || !strings.Contains(res.FirstError, "HTTP 400") {
		t.Errorf("requests=%d errors=%d first=%q: want every GET refused as HTTP 400", res.Requests, res.Errors, res.FirstError)
	}
}

// Requests sent during the warm-up are not counted, and the run stops at
// its duration even when the server is slow.
func TestLoadWarmupAndDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
	}))
	defer srv.Close()
	client, _ := newClient("", "", false, 1, time.Second)
	t0 := time.Now()
	res, err := Load(context.Background(), LoadConfig{URL: srv.URL, Method: http.MethodGet, Concurrency: 1,
		Warmup: 200 * time.Millisecond, Duration: 200 * time.Millisecond, Timeout: time.Second, Max: 1000,
		Expect: http.StatusOK, Client: client})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el > 2*time.Second {
		t.Errorf("run took %v", el)
	}
	// About 10 requests fit in 200 ms at 20 ms each; the warm-up's must not count.
	if res.Requests < 3 || res.Requests > 11 {
		t.Errorf("requests=%d, want about 10 (warm-up excluded)", res.Requests)
	}
	if p := res.Percentile(0.5); p < 20*time.Millisecond {
		t.Errorf("p50 %v below the server's 20 ms", p)
	}
}

func TestPercentile(t *testing.T) {
	r := LoadResult{Latencies: []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}
	for q, want := range map[float64]time.Duration{0.5: 5, 0.9: 9, 0.99: 10, 1: 10, 0.01: 1} {
		if got := r.Percentile(q); got != want {
			t.Errorf("Percentile(%v) = %v, want %v", q, got, want)
		}
	}
	if (LoadResult{}).Percentile(0.5) != 0 {
		t.Error("empty result: want 0")
	}
}

// load refuses to dial anything but loopback.
func TestLoadRefusesNonLoopback(t *testing.T) {
	var out strings.Builder
	err := run(context.Background(), []string{"load", "-url", "http://example.invalid/", "-connect", "10.0.0.1:80"}, &out)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	err = run(context.Background(), []string{"msi", "-data", t.TempDir(), "-listen", "0.0.0.0:0"}, &out)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("msi on 0.0.0.0: err = %v, want a refusal", err)
	}
}
