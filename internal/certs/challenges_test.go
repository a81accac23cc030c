package certs

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestChallengesServeHTTP(t *testing.T) {
	ch := NewChallenges()
	const token = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
	if err := ch.Present(context.Background(), "WWW.Example.test", token, token+".thumb"); err != nil {
		t.Fatal(err)
	}
	if err := ch.Present(context.Background(), "x.example.test", "../../etc/passwd", "k"); err == nil {
		t.Error("Present accepted a token outside base64url")
	}
	tests := []struct {
		name, method, host, path string
		status                   int
	}{
		{"answer", "GET", "www.example.test", "/.well-known/acme-challenge/" + token, 200},
		{"host with port and dot", "GET", "WWW.example.test.:80", "/.well-known/acme-challenge/" + token, 200},
		{"head", "HEAD", "www.example.test", "/.well-known/acme-challenge/" + token, 200},
		{"other host", "GET", "evil.example.test", "/.well-known/acme-challenge/" + token, 404},
		{"unknown token", "GET", "www.example.test", "/.well-known/acme-challenge/abc", 404},
		{"traversal", "GET", "www.example.test", "/.well-known/acme-challenge/../../etc/passwd", 404},
		{"encoded traversal", "GET", "www.example.test", "/.well-known/acme-challenge/..%2f..%2fetc%2fpasswd", 404},
		{"reflection", "GET", "www.example.test", "/.well-known/acme-challenge/<script>alert(1)</script>", 404},
		{"token with suffix", "GET", "www.example.test", "/.well-known/acme-challenge/" + token + "/x", 404},
		{"long token", "GET", "www.example.test", "/.well-known/acme-challenge/" + strings.Repeat("a", 5000), 404},
		{"other path", "GET", "www.example.test", "/" + token, 404},
		{"post", "POST", "www.example.test", "/.well-known/acme-challenge/" + token, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://placeholder"+tt.path, nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			ch.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			body := w.Body.String()
			if tt.status == 200 && tt.method == "GET" && body != token+".thumb" {
				t.Errorf("body %q", body)
			}
			if tt.status != 200 && (strings.Contains(body, "script") || strings.Contains(body, "passwd")) {
				t.Errorf("response reflects the request: %q", body)
			}
		})
	}
	_ = ch.CleanUp(context.Background(), "www.example.test", token, "")
	r := httptest.NewRequest("GET", "/.well-known/acme-challenge/"+token, nil)
	r.Host = "www.example.test"
	w := httptest.NewRecorder()
	ch.ServeHTTP(w, r)
	if w.Code != http.StatusNotFound {
		t.Errorf("after CleanUp: %d", w.Code)
	}
	// Not an acme-tls/1 handshake: nil, nil so the caller serves its own.
	if c, err := ch.GetCertificate(&tls.ClientHelloInfo{ServerName: "www.example.test", SupportedProtos: []string{"h2"}}); c != nil || err != nil {
		t.Errorf("GetCertificate for h2 = %v, %v", c, err)
	}
	if _, err := ch.GetCertificate(&tls.ClientHelloInfo{ServerName: "www.example.test", SupportedProtos: []string{ACMETLSProtocol}}); err == nil {
		t.Error("GetCertificate answered acme-tls/1 with no challenge under way")
	}
}

func TestObtainRejectsNames(t *testing.T) {
	iss, err := NewIssuer(Config{DirectoryURL: "https://127.0.0.1:1/dir"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range [][]string{nil, {"*.example.com"}, {"example"}, {"a..example.com"}, {strings.Repeat("a", 60) + ".example.com"}, {"ex ample.com"}} {
		if _, err := iss.Obtain(context.Background(), d); err == nil || !strings.Contains(err.Error(), "code=invalid") {
			t.Errorf("Obtain(%q) = %v, want EINVALID", d, err)
		}
	}
}
