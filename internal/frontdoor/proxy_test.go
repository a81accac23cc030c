package frontdoor

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestStreamingWithoutEventStream: a body of unknown length that is not
// text/event-stream (a chunked long poll, a streamed download) still
// reaches the client as the app writes it, with no flush interval set.
func TestStreamingWithoutEventStream(t *testing.T) {
	release := make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "first\n")
		http.NewResponseController(w).Flush() // chunked: no Content-Length
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		fmt.Fprint(w, "second\n")
	}))
	defer app.Close()
	base := serve(t, New(Config{Domain: "localhost", Backends: backends{"todo": {app.URL}}}))
	req, _ := http.NewRequest("GET", base+"/poll", nil)
	req.Host = "todo.localhost"
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	done := make(chan string, 1)
	go func() { l, _ := bufio.NewReader(resp.Body).ReadString('\n'); done <- l }()
	select {
	case l := <-done:
		if l != "first\n" {
			t.Fatalf("first line = %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first chunk did not arrive while the response was still open")
	}
	close(release)
}

// TestBodiesTrailersAndContinue: request bodies reach the app whole, an
// app's trailers reach the client, Expect: 100-continue is answered, and
// a gzip answer passes through compressed, as the client asked for it.
func TestBodiesTrailersAndContinue(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gzip":
			if r.Header.Get("Accept-Encoding") != "gzip" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			io.WriteString(zw, "compressed body")
			zw.Close()
			return
		case "/plain":
			fmt.Fprintf(w, "accept-encoding=%q", r.Header.Get("Accept-Encoding"))
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Trailer", "X-Checksum")
		fmt.Fprintf(w, "got %d bytes", len(b))
		w.Header().Set("X-Checksum", fmt.Sprint(len(b)))
	}))
	defer app.Close()
	base := serve(t, New(Config{Domain: "localhost", Backends: backends{"todo": {app.URL}}}))

	body := bytes.Repeat([]byte("x"), 1<<20)
	req, _ := http.NewRequest("POST", base+"/upload", bytes.NewReader(body))
	req.Host = "todo.localhost"
	req.Header.Set("Expect", "100-continue")
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "got 1048576 bytes" || resp.Trailer.Get("X-Checksum") != "1048576" {
		t.Errorf("POST: body %q, trailer %q", got, resp.Trailer.Get("X-Checksum"))
	}

	// Expect: 100-continue on the wire: the front door's server answers
	// 100 before the body is sent.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(conn, "POST /upload HTTP/1.1\r\nHost: todo.localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(conn)
	if l, _ := br.ReadString('\n'); !strings.Contains(l, "100") {
		t.Fatalf("status before the body = %q, want 100 Continue", l)
	}
	br.ReadString('\n') // the blank line after 100 Continue
	fmt.Fprint(conn, "hello")
	if l, _ := br.ReadString('\n'); !strings.Contains(l, "200") {
		t.Fatalf("final status = %q", l)
	}

	// The client's Accept-Encoding goes through as sent: gzip when asked
	// (and the body stays compressed), none when not.
	req, _ = http.NewRequest("GET", base+"/gzip", nil)
	req.Host = "todo.localhost"
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip answer: Content-Encoding %q, %v", resp.Header.Get("Content-Encoding"), err)
	}
	if plain, _ := io.ReadAll(zr); string(plain) != "compressed body" {
		t.Errorf("gzip body = %q", plain)
	}
	conn2, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	conn2.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(conn2, "GET /plain HTTP/1.1\r\nHost: todo.localhost\r\nConnection: close\r\n\r\n")
	all, _ := io.ReadAll(conn2)
	if !strings.Contains(string(all), `accept-encoding=""`) {
		t.Errorf("a client that asked for no encoding: the app saw %s", all)
	}
}

// BenchmarkProxy measures the front door's own cost per request to an app
// over keep-alive connections on both sides.
func BenchmarkProxy(b *testing.B) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer app.Close()
	benchProxy(b, New(Config{Domain: "localhost", Backends: backends{"todo": {app.URL}}}))
}

// benchProxy runs parallel GETs for todo.localhost through fd, served as
// internal/server serves it (the lane).
func benchProxy(b *testing.B, fd *FrontDoor) {
	srv, stop := laneServer(fd)
	defer stop()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", srv.URL+"/", nil)
			req.Host = "todo.localhost"
			resp, err := tr.RoundTrip(req)
			if err != nil {
				b.Error(err)
				return
			}
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
