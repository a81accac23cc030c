package frontdoor

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestAttackKuduHostSpellings: a Kudu request is tied to the one site its
// host name names, whatever the spelling — case, port, trailing dot, the
// Azure name apps use in their sandboxes, a slot's "<app>-<slot>" — and
// to none when the name only looks like one (an app's name with more
// labels, an empty label, an encoded dot, another platform name). An
// absolute-form request line wins over its Host field, so the name that
// routes is the name that binds.
func TestAttackKuduHostSpellings(t *testing.T) {
	scm := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "scm for %s", SiteFromContext(r.Context()))
	})
	base := serve(t, New(Config{
		Domain: "localhost", Backends: backends{}, SCM: scm,
		Sites: sites{"a": true, "a-b": true, "other": true},
	}))
	for _, c := range []struct{ host, want string }{
		{"a.scm.localhost", "scm for a"},
		{"A.SCM.LOCALHOST.", "scm for a"},
		{"a.scm.localhost.:8080", "scm for a"},
		{"a-b.scm.localhost", "scm for a-b"},
		{"a.scm.azurewebsites.net", "scm for a"},
		{"A-B.scm.azurewebsites.net.", "scm for a-b"},
		{"x.a.scm.localhost", "404"},
		{"a.scm.scm.localhost", "404"},
		{"a.b.scm.localhost", "404"},
		{".scm.localhost", "404"},
		{"a%2escm.localhost", "404"},
		{"a.scm.localhost.localhost", "404"},
		{"other.scm.azurewebsites.net.a.scm.localhost", "404"},
		{"a.scm.blob.core.windows.net", "404"},
	} {
		status, body, _ := get(t, base, c.host, "/api/settings")
		got := body
		if status == 404 {
			got = "404"
		}
		if got != c.want {
			t.Errorf("Host %q: %d %.60q, want %s", c.host, status, body, c.want)
		}
	}

	// Absolute form: the request line's host routes and binds.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET http://a.scm.localhost/api/settings HTTP/1.1\r\nHost: other.scm.localhost\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "scm for a" {
		t.Errorf("absolute form to a with Host other: %q", b)
	}
}
