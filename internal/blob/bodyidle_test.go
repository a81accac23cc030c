package blob

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestIdleBodyEndsAtTheBody: once a body has been read to its end, its
// deadline is gone, even when the handler reads again. net/http's server
// then reads the connection in the background, and a deadline left there
// would cancel the context of a request still being served (a commit that
// takes longer than the idle timeout after its upload).
func TestIdleBodyEndsAtTheBody(t *testing.T) {
	const idle = 100 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := newIdleBody(w, r, idle)
		if body == nil || body.rc == nil {
			http.Error(w, "no deadline on the body", http.StatusInternalServerError)
			return
		}
		b, err := io.ReadAll(body)
		if err != nil || string(b) != "the whole body" {
			http.Error(w, fmt.Sprintf("reading the body: %q, %v", b, err), http.StatusInternalServerError)
			return
		}
		// Handlers read again after the end (a parser making sure).
		if n, err := body.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			http.Error(w, fmt.Sprintf("reading after the end: %d, %v", n, err), http.StatusInternalServerError)
			return
		}
		select {
		case <-r.Context().Done():
			http.Error(w, "the request was cancelled after its body was read", http.StatusInternalServerError)
		case <-time.After(3 * idle):
			io.WriteString(w, "served")
		}
	}))
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL, "text/plain", strings.NewReader("the whole body"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || string(b) != "served" {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}
