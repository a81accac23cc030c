package insights

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// allocated is how many bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestSplitEnvelopesMemory: anyone may send a body (ingestion takes no
// credentials), so a body of the largest size made of the smallest items
// must be refused for its count without the server first holding every
// item apart: 16 MB of "0," is 8 million items, hundreds of MB as slices.
func TestSplitEnvelopesMemory(t *testing.T) {
	for name, body := range map[string][]byte{
		"array": append(append([]byte("["), bytes.Repeat([]byte("0,"), maxBody/2-1)...), '0', ']'),
		"lines": bytes.Repeat([]byte("0\n"), maxBody/2),
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			n := allocated(func() { _, err = splitEnvelopes(body) })
			if err == nil || !strings.Contains(err.Error(), "at most") {
				t.Errorf("%d small items: %v, want refused for their count", len(body)/2, err)
			}
			if n > 4*maxBody {
				t.Errorf("refusing a %d MB body took %d MB", len(body)>>20, n>>20)
			}
		})
	}
}

// TestSplitEnvelopesShapes: an array is read whole, and nothing after it.
func TestSplitEnvelopesShapes(t *testing.T) {
	for body, want := range map[string]int{`[{"a":1}, {"b":2}]`: 2, "{\"a\":1}\n\n{\"b\":2}\n": 2, `[{"a":1}`: -1, `[{"a":1}] [1]`: -1,
		`[{"a":1},]`: -1, `[]`: -1, `[{"a":1}]x`: -1} {
		raws, err := splitEnvelopes([]byte(body))
		if want < 0 && err == nil || want >= 0 && (err != nil || len(raws) != want) {
			t.Errorf("%s: %d items, %v; want %d", body, len(raws), err, want)
		}
	}
}

// TestQueryKeepsRetention: what is past its component's retention is gone
// for the query API at once, not only once some later track has run the
// expiry (on a quiet server that may be never).
func TestQueryKeepsRetention(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := now
	_, srv := newTestService(t, Config{Retention: time.Hour, Now: func() time.Time { return clock }})
	post(t, srv, []byte("["+envelopeJSON(keyA, "GET /old", now, true)+"]"), false)
	clock = now.Add(2 * time.Hour)
	code, v := getEvents(t, srv, "/v1/apps/app-a/events/requests?timespan=P1D", "reader-a")
	if vals, _ := v["value"].([]any); code != 200 || len(vals) != 0 {
		t.Errorf("two hours on, with an hour's retention: %d, %d events; want none", code, len(vals))
	}
}

// TestQueryAnswerBound: a component's telemetry is filled by anyone with
// its key, up to 256 MB; its reader must not have the server hold all of
// it (and its parsed form, many times that) for one answer. The answer
// stops at maxAnswer bytes and says so, as Azure's AddedLimitToQuery does.
func TestQueryAnswerBound(t *testing.T) {
	now := time.Now().UTC()
	_, srv := newTestService(t, Config{})
	big := strings.Repeat("x", 60000)
	total := 0
	for range 2 {
		var items []string
		for i := range 150 {
			items = append(items, strings.Replace(envelopeJSON(keyA, fmt.Sprintf("GET /%d", i), now, true), `"k":"v"`, `"k":"`+big+`"`, 1))
		}
		if code, tr := post(t, srv, []byte("["+strings.Join(items, ",")+"]"), false); code != 200 {
			t.Fatalf("track: %d %+v", code, tr)
		}
		total += len(items)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/v1/apps/app-a/events/$all?$top=10000&timespan=P1D", nil)
	req.Header.Set("Authorization", "Bearer reader-a")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v struct {
		Messages []struct{ Code, Message string } `json:"@ai.messages"`
		Value    []map[string]any                 `json:"value"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v %.300s", resp.StatusCode, err, raw)
	}
	if len(raw) > maxAnswer+64<<10 || len(v.Value) == 0 || len(v.Value) >= total {
		t.Errorf("the answer: %d bytes, %d of %d events; want at most %d bytes", len(raw), len(v.Value), total, maxAnswer)
	}
	if len(v.Messages) != 1 || v.Messages[0].Code != "AddedLimitToQuery" || !strings.Contains(v.Messages[0].Message, fmt.Sprintf("$skip=%d", len(v.Value))) {
		t.Errorf("the answer's messages: %+v", v.Messages)
	}
}

// TestCleartextTokens: a token that came over plain HTTP from another
// machine was readable on the way — for the query API the server's
// administrator token among them. It is refused, as ARM, Kudu and Blob
// refuse theirs, and no answer asks for one; telemetry without a token
// (an instrumentation key is not a secret) is still taken.
func TestCleartextTokens(t *testing.T) {
	now := time.Now().UTC()
	s, _ := newTestService(t, Config{AdminToken: "the-admin-token"})
	serve := func(method, path, token, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "http://api.insights.example"+path, strings.NewReader(body)) // from 192.0.2.1
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	for _, tok := range []string{"the-admin-token", "reader-a"} {
		if w := serve("GET", "/v1/apps/app-a/events/requests", tok, ""); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "HTTPS") {
			t.Errorf("a query with %s over plain HTTP: %d %s, want 400", tok, w.Code, w.Body)
		}
	}
	if w := serve("GET", "/v1/apps/app-a/events/requests", "", ""); w.Code != http.StatusBadRequest || w.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("a query without a token over plain HTTP: %d %v, want 400 without a challenge", w.Code, w.Header())
	}
	item := "[" + envelopeJSON(keyC, "GET /c", now, true) + "]"
	if w := serve("POST", "/v2.1/track", "publisher-c", item); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "HTTPS") {
		t.Errorf("telemetry with a token over plain HTTP: %d %s, want 400", w.Code, w.Body)
	}
	if w := serve("POST", "/v2.1/track", "", "["+envelopeJSON(keyA, "GET /a", now, true)+"]"); w.Code != http.StatusOK {
		t.Errorf("telemetry without a token over plain HTTP: %d %s, want 200", w.Code, w.Body)
	}
}

// TestExpiryOutlivesItsRequest: the expiry runs in the track request that
// finds it due; a client that hangs up at once (its context cancelled)
// must not stop it, or a sender first in every minute could keep every
// component's expired and deleted telemetry on disk for ever.
func TestExpiryOutlivesItsRequest(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s, srv := newTestService(t, Config{Retention: time.Hour, Now: func() time.Time { return now }})
	post(t, srv, []byte("["+envelopeJSON(keyA, "GET /old", now, true)+"]"), false)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s.expireSometimes(ctx, now.Add(2*time.Hour))
	var n int
	s.db.r.QueryRow(`SELECT count(*) FROM items`).Scan(&n)
	if n != 0 {
		t.Errorf("after an expiry whose request had gone: %d items, want 0", n)
	}
}

// TestConcurrentBodiesMemory: a gzipped body of 16 MB of blanks is 16 KB
// on the wire, and ingestion takes no credentials: many of them at once
// must not have the server hold 16 MB (and more) for each. Bodies are
// decompressed a few at a time; the rest wait, or are told to come back.
func TestConcurrentBodiesMemory(t *testing.T) {
	_, srv := newTestService(t, Config{})
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte("[" + envelopeJSON(keyA, "GET /", time.Now(), true)))
	zw.Write(bytes.Repeat([]byte(" "), maxBody-4096))
	zw.Write([]byte("]"))
	zw.Close()
	const clients = 48
	var peak uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var wg sync.WaitGroup
	codes := make([]int, clients)
	for i := range clients {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", srv.URL+"/v2.1/track", bytes.NewReader(z.Bytes()))
			req.Header.Set("Content-Encoding", "gzip")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	close(done)
	<-sampled
	used := (peak - min(peak, base.HeapInuse)) >> 20
	t.Logf("%d bodies of %d KB gzipped at once: %d MB at the peak; answers %v", clients, z.Len()>>10, used, codes)
	if used > 6*maxDecoding*maxBody>>20 {
		t.Errorf("%d small gzipped bodies at once took %d MB", clients, used)
	}
	for _, c := range codes {
		if c != 200 && c != http.StatusServiceUnavailable {
			t.Errorf("answers %v: want 200 or 503", codes)
			break
		}
	}
}
