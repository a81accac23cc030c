package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestHTTPS: every platform name is served over HTTPS on the front door's
// port with a certificate of the platform's own CA; real clients verify
// the chain with only the platform root added, negotiate HTTP/2, refuse a
// name the root does not cover, and the app learns the request was HTTPS
// from the front door's headers (never from the client's).
func TestHTTPS(t *testing.T) {
	s := startServer(t)
	var info struct {
		CAFile string `json:"caFile"`
	}
	b, _ := os.ReadFile(s.data + "/server.json")
	if err := json.Unmarshal(b, &info); err != nil || info.CAFile == "" {
		t.Fatalf("server.json names no caFile: %s", b)
	}
	s.createApp("secure", "SCM_DO_BUILD_DURING_DEPLOYMENT=true")
	if code := s.deployZip("secure", zipDir(t, "testdata/apps/probe", nil)); code != "200" {
		t.Fatalf("deploy: %s", code)
	}
	u, _ := url.Parse(s.info.URL)
	host := s.host("secure") // secure.localhost:<port>

	// curl with only the platform root, as Microsoft documents curl calls.
	out, err := exec.Command("curl", "-sS", "--max-time", "30", "--cacert", info.CAFile, "--http2",
		"--connect-to", host+":"+u.Host, "-o", "/dev/null", "-w", "%{http_code} %{http_version}", "https://"+host+"/").CombinedOutput()
	if err != nil || string(out) != "200 2" {
		t.Fatalf("curl --cacert over HTTPS: %q %v; want 200 over HTTP/2", out, err)
	}
	// The same name, without the root: refused.
	if out, err := exec.Command("curl", "-sS", "--max-time", "30", "--connect-to", host+":"+u.Host,
		"-o", "/dev/null", "https://"+host+"/").CombinedOutput(); err == nil {
		t.Errorf("curl without the platform root accepted the certificate: %s", out)
	}

	// Go, with a pool holding only the root, as `slipway ca show` prints it.
	pem, _ := os.ReadFile(info.CAFile)
	if shown := s.mustCLI("", "ca", "show"); shown != string(pem) || !strings.HasPrefix(shown, "-----BEGIN CERTIFICATE-----") {
		t.Errorf("slipway ca show printed %q, want the root in %s", tail(shown, 2), info.CAFile)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", info.CAFile)
	}
	dial := func(ctxNet, _ string) (net.Conn, error) { return net.Dial("tcp", u.Host) }
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Dial: dial, TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
	}}
	req, _ := http.NewRequest("GET", "https://"+host+"/headers", nil)
	req.Header.Set("X-Forwarded-Proto", "http") // a client cannot say otherwise either
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("Go client over HTTPS: %v", err)
	}
	var headers map[string]string
	json.NewDecoder(resp.Body).Decode(&headers)
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("Go client negotiated %s, want HTTP/2", resp.Proto)
	}
	if headers["HTTP_X_FORWARDED_PROTO"] != "https" || headers["HTTP_X_ARR_SSL"] == "" {
		t.Errorf("behind HTTPS the app sees X-Forwarded-Proto %q, X-ARR-SSL %q; want https and set", headers["HTTP_X_FORWARDED_PROTO"], headers["HTTP_X_ARR_SSL"])
	}
	// A name the root does not vouch for gets no certificate.
	bad := &tls.Config{RootCAs: pool, ServerName: "secure.example.com"}
	if c, err := tls.Dial("tcp", u.Host, bad); err == nil {
		c.Close()
		t.Errorf("the server completed a handshake for secure.example.com")
	}

	// httpsOnly: plain HTTP gets a 301 to the same URL over HTTPS.
	if code, _ := s.get(host, "/env?x=1"); code != 200 {
		t.Fatalf("before httpsOnly, plain HTTP answers %d", code)
	}
	s.mustCLI("", "webapp", "update", "-g", "rg-secure", "-n", "secure", "--https-only", "true")
	plain, err := s.client.Get("http://" + host + "/env?x=1")
	if err != nil {
		t.Fatal(err)
	}
	plain.Body.Close()
	if plain.StatusCode != http.StatusMovedPermanently || plain.Header.Get("Location") != "https://"+host+"/env?x=1" {
		t.Errorf("with httpsOnly, plain HTTP answers %d Location %q; want 301 to https://%s/env?x=1", plain.StatusCode, plain.Header.Get("Location"), host)
	}
	if resp, err := client.Get("https://" + host + "/"); err != nil || resp.StatusCode != 200 {
		t.Errorf("with httpsOnly, HTTPS answers %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// Python's requests with REQUESTS_CA_BUNDLE (what Azure SDKs use).
	py := exec.Command("python3", "-c", `
import os, socket, requests
real = socket.getaddrinfo
socket.getaddrinfo = lambda h, *a, **k: real("127.0.0.1", *a, **k) if h.endswith(".localhost") else real(h, *a, **k)
r = requests.get("https://`+host+`/", timeout=30)
print(r.status_code, r.text)`)
	py.Env = append(os.Environ(), "REQUESTS_CA_BUNDLE="+info.CAFile)
	if out, err := py.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "200 probe secure" {
		t.Errorf("python requests with REQUESTS_CA_BUNDLE: %v\n%s", err, out)
	}
}
