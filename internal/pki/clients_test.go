package pki

import (
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRealClientsRefuseExpiredAndWrongName: curl with --cacert and
// Python's requests with REQUESTS_CA_BUNDLE — trusting the platform root
// and nothing else — accept a leaf of the platform CA for the name they
// asked, and refuse an expired leaf and a leaf for another name (issue 10,
// acceptance 1; Go's verifier is covered by TestRenewal and TestHTTPS).
func TestRealClientsRefuseExpiredAndWrongName(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	past := &clock{t: time.Now().Add(-30 * 24 * time.Hour)}
	ca := openCA(t, Config{Now: past.Now})
	expired, err := ca.Issue([]string{"app.localhost"}, nil) // valid for 7 days, 30 days ago
	if err != nil {
		t.Fatal(err)
	}
	past.Add(30 * 24 * time.Hour) // today
	good, err := ca.Issue([]string{"app.localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ca.Issue([]string{"other.localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(rootFile, ca.RootPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	serve := func(c *tls.Certificate) string {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{*c}})
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		return ln.Addr().String()
	}
	for _, tc := range []struct {
		name string
		cert *tls.Certificate
		want string // "" for success, else a word the refusal carries
	}{
		{"good", good, ""},
		{"expired", expired, "expired"},
		{"wrong name", other, "app.localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(tc.cert)
			_, port, _ := net.SplitHostPort(addr)
			url := "https://app.localhost:" + port + "/"
			curl, err := exec.Command("curl", "-sS", "--max-time", "10", "--cacert", rootFile,
				"--resolve", "app.localhost:"+port+":127.0.0.1", url).CombinedOutput()
			if tc.want == "" {
				if err != nil || string(curl) != "ok" {
					t.Errorf("curl --cacert refused a good leaf: %v %s", err, curl)
				}
			} else if err == nil {
				t.Errorf("curl --cacert accepted the %s leaf: %s", tc.name, curl)
			}
			py := exec.Command("python3", "-c", `
import socket, sys, requests
real = socket.getaddrinfo
socket.getaddrinfo = lambda h, *a, **k: real("127.0.0.1", *a, **k) if h == "app.localhost" else real(h, *a, **k)
try:
    print(requests.get(sys.argv[1], timeout=10).text)
except requests.exceptions.SSLError as e:
    print("refused:", e)`, url)
			py.Env = append(os.Environ(), "REQUESTS_CA_BUNDLE="+rootFile)
			out, err := py.CombinedOutput()
			got := strings.TrimSpace(string(out))
			switch {
			case err != nil:
				t.Errorf("python: %v\n%s", err, out)
			case tc.want == "" && got != "ok":
				t.Errorf("requests with REQUESTS_CA_BUNDLE refused a good leaf: %s", got)
			case tc.want != "" && (!strings.HasPrefix(got, "refused:") || !strings.Contains(got, tc.want)):
				t.Errorf("requests on the %s leaf: %s; want a refusal naming %q", tc.name, got, tc.want)
			}
		})
	}
}

// TestRealClientsAcceptServedLeaves: Python's ssl module and curl (both
// OpenSSL, which matches a wildcard to exactly one label and refuses one
// with fewer than two labels after it) accept the leaf GetCertificate
// serves for each kind of platform name, and refuse it for a name one
// label deeper than its wildcard.
func TestRealClientsAcceptServedLeaves(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	ca := openCA(t, Config{})
	rootFile := filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(rootFile, ca.RootPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverConfig(ca))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	// script names argv[3] in its ClientHello and verifies the leaf it
	// gets against the same name and the root in argv[1].
	const script = `
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
sock = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10)
try:
    ctx.wrap_socket(sock, server_hostname=sys.argv[3]).close()
    print("ok")
except ssl.SSLError as e:
    print("refused:", e)`
	for _, tc := range []struct {
		name string
		want string // "ok", or a word of the refusal
	}{
		{"localhost", "ok"},
		{"app.localhost", "ok"},
		{"app.scm.localhost", "ok"},
		{"acct.blob.localhost", "ok"},
		{"kv.vault.localhost", "ok"},
		{"management.localhost", "ok"},
		{"app.azurewebsites.net", "ok"},
		{"app.scm.azurewebsites.net", "ok"},
		{"acct.blob.core.windows.net", "ok"},
		{"kv.vault.azure.net", "ok"},
		{"management.azure.com", "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command("python3", "-c", script, rootFile, port, tc.name).CombinedOutput()
			if got := strings.TrimSpace(string(out)); err != nil || got != tc.want {
				t.Errorf("python ssl for %s: %v %s; want %s", tc.name, err, got, tc.want)
			}
			if _, err := exec.LookPath("curl"); err != nil {
				return
			}
			curl, err := exec.Command("curl", "-sS", "--max-time", "10", "--cacert", rootFile,
				"--resolve", tc.name+":"+port+":127.0.0.1", "https://"+tc.name+":"+port+"/").CombinedOutput()
			if err != nil || string(curl) != "ok" {
				t.Errorf("curl --cacert for %s: %v %s", tc.name, err, curl)
			}
		})
	}
	// A wildcard covers one label: *.scm.localhost is no leaf for a name
	// below app.scm.localhost, even if a server sent it.
	cert, err := ca.GetCertificate(&tls.ClientHelloInfo{ServerName: "app.scm.localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.Leaf.VerifyHostname("x.app.scm.localhost"); err == nil {
		t.Error("*.scm.localhost verifies for x.app.scm.localhost in Go")
	}
	if err := cert.Leaf.VerifyHostname("scm.localhost"); err == nil {
		t.Error("*.scm.localhost verifies for scm.localhost in Go")
	}
}
