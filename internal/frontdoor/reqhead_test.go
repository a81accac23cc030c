package frontdoor

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// headBytes writes req's head with write into a buffer.
func headBytes(t testing.TB, req *http.Request, write func(*bufio.Writer, *http.Request) error) (string, error) {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	err := write(bw, req)
	bw.Flush()
	return buf.String(), err
}

func stdWrite(bw *bufio.Writer, req *http.Request) error { return req.Write(bw) }

// sameHead fails unless the two heads have the same request line, the same
// Host line, and the same field lines — in any order between names, in the
// same order within a name.
func sameHead(t *testing.T, name, got, want string) {
	t.Helper()
	split := func(h string) (first, host string, fields map[string][]string) {
		lines := strings.Split(strings.TrimSuffix(h, "\r\n\r\n"), "\r\n")
		fields = map[string][]string{}
		for _, l := range lines[2:] {
			k, v, _ := strings.Cut(l, ": ")
			fields[k] = append(fields[k], v)
		}
		return lines[0], lines[1], fields
	}
	if !strings.HasSuffix(got, "\r\n\r\n") {
		t.Fatalf("%s: head does not end with an empty line: %q", name, got)
	}
	g1, gh, gf := split(got)
	w1, wh, wf := split(want)
	if g1 != w1 || gh != wh || fmt.Sprint(gf) != fmt.Sprint(wf) {
		t.Errorf("%s:\n got %q\nwant %q", name, got, want)
	}
}

func outbound(method, target string, h http.Header) *http.Request {
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		panic(err)
	}
	if h != nil {
		req.Header = h
	}
	return req
}

// TestWriteHeadAsRequestWrite checks the upstream client's head writer
// against net/http's Request.Write, byte for byte up to the order of fields.
func TestWriteHeadAsRequestWrite(t *testing.T) {
	cases := map[string]*http.Request{
		"proxied GET": outbound("GET", "http://10.0.0.2:8000/todo/?page=2&q=a%20b", http.Header{
			"Accept":          {"text/html"},
			"Cookie":          {"a=1", "b=2"},
			"X-Forwarded-For": {"127.0.0.1"},
			"X-Arr-Log-Id":    {"6b1d0d0e-8f5e-4d5c-9d53-1d2c3b4a5f60"},
			"User-Agent":      {""},
		}),
		"no User-Agent at all":        outbound("GET", "http://app/", http.Header{"Accept": {"*/*"}}),
		"a client's User-Agent":       outbound("GET", "http://app/", http.Header{"User-Agent": {"curl/8.5.0"}}),
		"a blank User-Agent":          outbound("GET", "http://app/", http.Header{"User-Agent": {"  "}}),
		"POST without a body":         outbound("POST", "http://app/logout", nil),
		"PUT without a body":          outbound("PUT", "http://app/x", nil),
		"PATCH without a body":        outbound("PATCH", "http://app/x", nil),
		"DELETE":                      outbound("DELETE", "http://app/x", nil),
		"OPTIONS":                     outbound("OPTIONS", "http://app/x", nil),
		"HEAD":                        outbound("HEAD", "http://app/", nil),
		"lines broken and padded":     outbound("GET", "http://app/", http.Header{"X-A": {" one\r\ntwo\t", "\tthree \n"}, "X-B": {""}}),
		"a name net/http would drop":  outbound("GET", "http://app/", http.Header{"Bad Name": {"x"}, "X-Ok": {"y"}}),
		"fields it writes itself":     outbound("GET", "http://app/", http.Header{"Host": {"evil"}, "Content-Length": {"5"}, "Transfer-Encoding": {"chunked"}, "Trailer": {"X"}}),
		"an international host":       outbound("GET", "http://bücher.example:8080/", nil),
		"an IPv6 host":                outbound("GET", "http://[::1]:8000/", nil),
		"a zoned IPv6 host":           outbound("GET", "http://[fe80::1%25eth0]:8000/", nil),
		"an escaped path":             outbound("GET", "http://app/a%2Fb/c%20d?x=%00", nil),
		"many values of one field":    outbound("GET", "http://app/", http.Header{"Accept": {"1", "2", "3", "4", "5"}}),
		"non-canonical names (proxy)": outbound("GET", "http://app/", http.Header{"x-lower": {"1"}, "X_Under": {"2"}}),
	}
	closing := outbound("GET", "http://app/", nil)
	closing.Close = true
	cases["Close set"] = closing
	hosted := outbound("GET", "http://10.0.0.2:8000/", nil)
	hosted.Host = "myapp.example.net"
	cases["Host differing from the URL"] = hosted
	badHost := outbound("GET", "http://app/", nil)
	badHost.Host = "a b"
	cases["an invalid Host"] = badHost
	noMethod := outbound("GET", "http://app/", nil)
	noMethod.Method = ""
	cases["no method"] = noMethod

	for name, req := range cases {
		want, werr := headBytes(t, req, stdWrite)
		got, gerr := headBytes(t, req, writeHead)
		if (werr != nil) != (gerr != nil) {
			t.Errorf("%s: error %v, Request.Write's %v", name, gerr, werr)
			continue
		}
		if werr != nil {
			continue
		}
		sameHead(t, name, got, want)
	}

	// A control character in the target is refused, as Request.Write does.
	ctl := outbound("GET", "http://app/", nil)
	ctl.URL.Opaque = "/a\x01b"
	if _, err := headBytes(t, ctl, writeHead); err == nil {
		t.Error("a target with a control character was written")
	}

	// Random headers: names and values from a small alphabet, several values.
	rng := rand.New(rand.NewSource(1))
	alphabet := []string{"A", "a", "-", "_", " ", "\t", "\r", "\n", "x", "é", ":", ",", ";", "="}
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		return b.String()
	}
	methods := []string{"GET", "HEAD", "POST", "DELETE", "OPTIONS", "PUT"}
	for i := range 300 {
		h := http.Header{}
		for range rng.Intn(8) {
			k := "X-" + word(1+rng.Intn(5))
			for range 1 + rng.Intn(3) {
				h[k] = append(h[k], word(rng.Intn(8)))
			}
		}
		req := outbound(methods[rng.Intn(len(methods))], "http://app/"+url.PathEscape(word(3)), h)
		want, werr := headBytes(t, req, stdWrite)
		got, gerr := headBytes(t, req, writeHead)
		if werr != nil || gerr != nil {
			t.Fatalf("random %d: errors %v / %v", i, gerr, werr)
		}
		sameHead(t, fmt.Sprintf("random %d", i), got, want)
	}
}

// TestWriteHeadGoesOutUnsorted pins the difference that is the point of
// writeHead: it does not sort (so the test cannot pass by calling
// Request.Write). With 20 fields the map's order matches the sorted one by
// chance about once in 20! — never, in effect, over 5 tries.
func TestWriteHeadGoesOutUnsorted(t *testing.T) {
	h := http.Header{}
	for i := range 20 {
		h[fmt.Sprintf("X-%02d", i)] = []string{"v"}
	}
	req := outbound("GET", "http://app/", h)
	for range 5 {
		got, err := headBytes(t, req, writeHead)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range strings.Split(got, "\r\n") {
			if strings.HasPrefix(l, "X-") {
				names = append(names, l)
			}
		}
		if len(names) != 20 {
			t.Fatalf("wrote %d of 20 fields: %q", len(names), got)
		}
		if !slices.IsSorted(names) {
			return
		}
	}
	t.Error("the fields went out sorted five times: writeHead sorts (or is Request.Write)")
}

func BenchmarkWriteHead(b *testing.B) {
	h := http.Header{"Accept": {"text/html,application/xhtml+xml"}, "Accept-Encoding": {"gzip, deflate, br"},
		"Accept-Language": {"en-GB,en;q=0.9"}, "Cookie": {"csrftoken=abc; sessionid=def"}, "User-Agent": {"Mozilla/5.0"}}
	var out http.Header = h.Clone()
	setPlatformHeaders(out, &http.Request{RemoteAddr: "127.0.0.1:5555", Host: "todo.localhost", URL: &url.URL{Path: "/"}})
	req := outbound("GET", "http://127.0.0.1:8000/", out)
	req.Host = "todo.localhost"
	for name, write := range map[string]func(*bufio.Writer, *http.Request) error{"writeHead": writeHead, "RequestWrite": stdWrite} {
		b.Run(name, func(b *testing.B) {
			bw := bufio.NewWriter(nilWriter{})
			b.ReportAllocs()
			for b.Loop() {
				if err := write(bw, req); err != nil {
					b.Fatal(err)
				}
				bw.Flush()
			}
		})
	}
}

type nilWriter struct{}

func (nilWriter) Write(p []byte) (int, error) { return len(p), nil }
