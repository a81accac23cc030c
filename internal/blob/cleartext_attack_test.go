package blob

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// TestAttackCredentialsOverPlainHTTPFromNetwork: the blob port answers
// plain HTTP and TLS alike, and it took a Shared Key signature, a SAS or a
// bearer token over plain HTTP from anywhere. Anyone on the path read
// them: a SAS, or a token, is a credential until it expires, and a signed
// request can be replayed for 15 minutes. Azure refuses plain HTTP to an
// account that requires secure transfer (the default) with 400
// AccountRequiresHttps. From this machine (Azurite-style development at
// http://127.0.0.1:10000, the SDKs of this suite) no network carries the
// request, and it is served as before; so is an anonymous read of a public
// container, which carries nothing to steal. Whether a request came over
// TLS and from where is the connection's, never a header's.
func TestAttackCredentialsOverPlainHTTPFromNetwork(t *testing.T) {
	ts := startService(t, Config{})
	c := newClient(t, ts)
	uploadBlobs(t, c, "private", "a.txt")
	if _, err := c.CreateContainer(context.Background(), "public", &azblob.CreateContainerOptions{Access: to.Ptr(container.PublicAccessTypeBlob)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(context.Background(), "public", "a.txt", []byte("content of a.txt"), nil); err != nil {
		t.Fatal(err)
	}
	readSAS := accountSAS(t, sas.AccountPermissions{Read: true})
	key := DevelopmentAccount().Keys[0]
	sharedKey := func(scheme string, build func(string, http.Header, string, string, url.Values) string) func(*http.Request) {
		return func(r *http.Request) {
			sts := build(r.Method, r.Header, DevelopmentAccountName, rawPath(r), r.URL.Query())
			r.Header.Set("Authorization", scheme+" "+DevelopmentAccountName+":"+sign(key, sts))
		}
	}
	creds := []struct {
		name string
		add  func(*http.Request)
	}{
		{"Shared Key", sharedKey("SharedKey", sharedKeyStringToSign)},
		{"Shared Key Lite", sharedKey("SharedKeyLite", sharedKeyLiteStringToSign)},
		{"an account SAS", func(r *http.Request) {
			r.URL.RawQuery = readSAS
			r.RequestURI = r.URL.RequestURI()
		}},
	}
	// send is a Get Blob of the private blob by a client at remote.
	send := func(add func(*http.Request), remote, local string, overTLS bool, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/"+DevelopmentAccountName+"/private/a.txt", nil)
		r.Host = "127.0.0.1:10000"
		r.RemoteAddr = remote
		if local != "" {
			r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.ParseIP(local), Port: 10000}))
		}
		if overTLS {
			r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true}
		}
		r.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
		r.Header.Set("x-ms-version", "2021-08-06")
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		add(r)
		rec := httptest.NewRecorder()
		ts.svc.ServeHTTP(rec, r)
		return rec
	}
	bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer eyJ0eXAiOiJKV1QifQ.e30.c2ln") }
	for _, peer := range []struct {
		name, remote, local string
		hdr                 []string
	}{
		{"an IPv4 peer", "192.0.2.10:51000", "", nil},
		{"an IPv6 peer", "[2001:db8::10]:51000", "", nil},
		{"an IPv4-mapped IPv6 peer", "[::ffff:192.0.2.10]:51000", "", nil},
		{"an instance on the gateway", "169.254.128.2:40000", "169.254.0.1", nil},
		{"a peer that claims a TLS terminator", "192.0.2.10:51000", "", []string{"X-Forwarded-Proto", "https", "X-Arr-Ssl", "1"}},
		{"a peer that claims to be loopback", "192.0.2.10:51000", "", []string{"X-Forwarded-For", "127.0.0.1", "X-Real-Ip", "127.0.0.1"}},
		{"an unparsable peer", "somewhere", "", nil},
	} {
		for _, cred := range append(creds, struct {
			name string
			add  func(*http.Request)
		}{"a bearer token", bearer}) {
			t.Run(peer.name+", "+cred.name, func(t *testing.T) {
				rec := send(cred.add, peer.remote, peer.local, false, peer.hdr...)
				if rec.Code == http.StatusOK {
					t.Fatalf("%s over plain HTTP from %s was accepted: %s", cred.name, peer.remote, rec.Body)
				}
				var e errorBody
				if err := xml.Unmarshal(rec.Body.Bytes(), &e); err != nil {
					t.Fatalf("not the blob service's XML error (%v): %s", err, rec.Body)
				}
				if rec.Code != http.StatusBadRequest || e.Code != "AccountRequiresHttps" || rec.Header().Get("x-ms-error-code") != "AccountRequiresHttps" ||
					!strings.HasPrefix(e.Message, "The account being accessed does not support http.\n") {
					t.Errorf("got %d %s (x-ms-error-code %q) %q; want 400 AccountRequiresHttps", rec.Code, e.Code, rec.Header().Get("x-ms-error-code"), e.Message)
				}
				if rec.Header().Get("WWW-Authenticate") != "" {
					t.Errorf("a challenge invites credentials in the clear: %q", rec.Header().Get("WWW-Authenticate"))
				}
			})
		}
	}
	for _, peer := range []struct {
		name, remote, local string
		overTLS             bool
	}{
		{"loopback IPv4 in the clear (Azurite-style development)", "127.0.0.1:51000", "", false},
		{"loopback 127/8 in the clear", "127.0.0.2:51000", "", false},
		{"loopback IPv6 in the clear", "[::1]:51000", "", false},
		{"IPv4-mapped loopback in the clear", "[::ffff:127.0.0.1]:51000", "", false},
		{"the listening address itself in the clear", "192.0.2.1:51000", "192.0.2.1", false},
		{"a network peer over TLS", "192.0.2.10:51000", "", true},
	} {
		for _, cred := range creds {
			t.Run(peer.name+", "+cred.name, func(t *testing.T) {
				rec := send(cred.add, peer.remote, peer.local, peer.overTLS)
				if b, _ := io.ReadAll(rec.Body); rec.Code != http.StatusOK || string(b) != "content of a.txt" {
					t.Errorf("status %d, want 200: %s", rec.Code, b)
				}
			})
		}
	}
	t.Run("an anonymous read of a public container from the network", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/"+DevelopmentAccountName+"/public/a.txt", nil)
		r.RemoteAddr = "192.0.2.10:51000"
		rec := httptest.NewRecorder()
		ts.svc.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK || rec.Body.String() != "content of a.txt" {
			t.Errorf("status %d, want 200: %s", rec.Code, rec.Body)
		}
	})
}
