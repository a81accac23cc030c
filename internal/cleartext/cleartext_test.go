package cleartext

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestFromNetwork(t *testing.T) {
	local := func(ip string) context.Context {
		return context.WithValue(context.Background(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.ParseIP(ip), Port: 8080})
	}
	for _, c := range []struct {
		name    string
		remote  string
		ctx     context.Context
		overTLS bool
		hdr     []string
		want    bool
	}{
		{"loopback", "127.0.0.1:50000", nil, false, nil, false},
		{"loopback 127/8", "127.8.9.10:50000", nil, false, nil, false},
		{"IPv6 loopback", "[::1]:50000", nil, false, nil, false},
		{"IPv4-mapped loopback", "[::ffff:127.0.0.1]:50000", nil, false, nil, false},
		{"the listening address itself", "192.0.2.1:50000", local("192.0.2.1"), false, nil, false},
		{"the listening IPv6 address itself", "[2001:db8::1]:50000", local("2001:db8::1"), false, nil, false},
		{"TLS from the network", "192.0.2.1:50000", nil, true, nil, false},
		{"IPv4 peer", "192.0.2.1:50000", nil, false, nil, true},
		{"IPv4 peer, another local address", "192.0.2.7:50000", local("192.0.2.1"), false, nil, true},
		{"IPv6 peer", "[2001:db8::1]:50000", nil, false, nil, true},
		{"IPv4-mapped peer", "[::ffff:192.0.2.1]:50000", nil, false, nil, true},
		{"link-local peer with a zone", "[fe80::1%eth0]:50000", nil, false, nil, true},
		{"an instance on the gateway", "169.254.128.2:40000", local("169.254.0.1"), false, nil, true},
		{"unspecified", "0.0.0.0:50000", nil, false, nil, true},
		{"no port: not what net/http's server sets", "127.0.0.1", nil, false, nil, true},
		{"empty", "", nil, false, nil, true},
		{"a Unix socket's", "@", nil, false, nil, true},
		{"a claimed TLS terminator", "192.0.2.1:50000", nil, false, []string{"X-Forwarded-Proto", "https"}, true},
		{"a claimed loopback client", "192.0.2.1:50000", nil, false, []string{"X-Forwarded-For", "127.0.0.1"}, true},
	} {
		r := httptest.NewRequest("GET", "http://example.com/", nil)
		if c.ctx != nil {
			r = r.WithContext(c.ctx)
		}
		r.RemoteAddr = c.remote
		if c.overTLS {
			r.TLS = &tls.ConnectionState{HandshakeComplete: true}
		}
		for i := 0; i+1 < len(c.hdr); i += 2 {
			r.Header.Set(c.hdr[i], c.hdr[i+1])
		}
		if got := FromNetwork(r); got != c.want {
			t.Errorf("%s: FromNetwork(%q, TLS %v, %v) = %v, want %v", c.name, c.remote, c.overTLS, c.hdr, got, c.want)
		}
	}
}

// TestFromNetworkOwnAddress: a client on the server's machine that calls
// it on one of the machine's own (non-loopback) addresses is this
// machine, as net/http's server presents the connection.
func TestFromNetworkOwnAddress(t *testing.T) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skip(err)
	}
	var own net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
			own = n.IP
			break
		}
	}
	if own == nil {
		t.Skip("this machine has no non-loopback IPv4 address")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(own.String(), "0"))
	if err != nil {
		t.Skip(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if FromNetwork(r) {
			io.WriteString(w, "network "+r.RemoteAddr)
		} else {
			io.WriteString(w, "this machine")
		}
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "this machine" {
		t.Errorf("a request from this machine to %s: %s", own, b)
	}
}
