package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// signInClient drives the platform's sign-in endpoints over HTTPS as a
// browser's steps would, one request at a time (a cookie jar, no
// redirects followed), and sets the directory up through Graph with the
// admin token.
type signInClient struct {
	s      *testServer
	client *http.Client
	port   int
	tenant string
	roots  *x509.CertPool
}

func newSignInClient(t *testing.T, s *testServer) *signInClient {
	t.Helper()
	var info struct {
		TenantID string `json:"tenantId"`
		CAFile   string `json:"caFile"`
	}
	b, err := os.ReadFile(filepath.Join(s.data, "server.json"))
	if err != nil || json.Unmarshal(b, &info) != nil || info.TenantID == "" {
		t.Fatalf("server.json has no tenantId: %v", err)
	}
	pem, err := os.ReadFile(info.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", info.CAFile)
	}
	c := &signInClient{s: s, port: s.info.HTTPPort, tenant: info.TenantID, roots: roots}
	c.client = c.browser()
	return c
}

// browser is a fresh client (its own cookie jar) that trusts the
// platform's root and dials every platform name at the server.
func (c *signInClient) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	addr := fmt.Sprintf("127.0.0.1:%d", c.port)
	return &http.Client{Timeout: 20 * time.Second, Jar: jar,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.roots},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (c *signInClient) login(path string) string {
	return fmt.Sprintf("https://login.localhost:%d/%s%s", c.port, c.tenant, path)
}

// graph calls Graph with the admin token and returns the status and the
// decoded answer.
func (c *signInClient) graph(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, fmt.Sprintf("https://graph.localhost:%d/v1.0%s", c.port, path), rd)
	req.Header.Set("Authorization", "Bearer "+c.s.info.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (c *signInClient) mustGraph(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	code, m := c.graph(t, method, path, body)
	if code != want {
		t.Fatalf("Graph %s %s = %d %v, want %d", method, path, code, m, want)
	}
	return m
}

// createUser creates an enabled user.
func (c *signInClient) createUser(t *testing.T, upn, password string) {
	t.Helper()
	c.mustGraph(t, "POST", "/users", map[string]any{"accountEnabled": true, "displayName": "Test User", "userPrincipalName": upn,
		"passwordProfile": map[string]any{"password": password, "forceChangePasswordNextSignIn": false}}, 201)
}

// signInApp is an app registration with a client secret.
type signInApp struct {
	ID, AppID, Secret string
	Redirects         []string
}

// registerApp registers an application with the web redirect URIs, ID
// tokens on, and a client secret.
func (c *signInClient) registerApp(t *testing.T, redirects ...string) signInApp {
	t.Helper()
	a := c.mustGraph(t, "POST", "/applications", map[string]any{"displayName": "sign-in test",
		"web": map[string]any{"redirectUris": redirects, "implicitGrantSettings": map[string]any{"enableIdTokenIssuance": true}}}, 201)
	pw := c.mustGraph(t, "POST", "/applications/"+a["id"].(string)+"/addPassword", map[string]any{}, 200)
	return signInApp{ID: a["id"].(string), AppID: a["appId"].(string), Secret: pw["secretText"].(string), Redirects: redirects}
}

// authorizeURL is the v2.0 authorize URL for the app's first redirect
// URI with more parameters in extra.
func (c *signInClient) authorizeURL(app signInApp, extra url.Values) string {
	q := url.Values{"client_id": {app.AppID}, "redirect_uri": {app.Redirects[0]}, "response_type": {"code"},
		"scope": {"openid profile offline_access"}, "state": {"st-1"}, "nonce": {"n-1"}}
	for k, v := range extra {
		q[k] = v
	}
	return c.login("/oauth2/v2.0/authorize?" + q.Encode())
}

var (
	signInFlowRE   = regexp.MustCompile(`name="flow" value="([^"]+)"`)
	signInActionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

func (c *signInClient) do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(b)
}

// signIn opens the authorize URL with a fresh browser, posts the form
// with the credentials and returns the answer (a 302 with the code on
// success).
func (c *signInClient) signIn(t *testing.T, app signInApp, upn, password string) int {
	t.Helper()
	c.client = c.browser()
	req, _ := http.NewRequest("GET", c.authorizeURL(app, nil), nil)
	resp, page := c.do(t, req)
	fm, am := signInFlowRE.FindStringSubmatch(page), signInActionRE.FindStringSubmatch(page)
	if resp.StatusCode != 200 || fm == nil || am == nil {
		t.Fatalf("authorize: %d, no sign-in form: %.500s", resp.StatusCode, page)
	}
	action, _ := url.Parse(html.UnescapeString(am[1]))
	target := resp.Request.URL.ResolveReference(action)
	form := url.Values{"flow": {html.UnescapeString(fm[1])}, "login": {upn}, "passwd": {password}}
	req, _ = http.NewRequest("POST", target.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, page = c.do(t, req)
	if resp.StatusCode == http.StatusFound && !strings.HasPrefix(resp.Header.Get("Location"), app.Redirects[0]+"?") {
		t.Fatalf("signed in, redirected to %q, not %s", resp.Header.Get("Location"), app.Redirects[0])
	}
	return resp.StatusCode
}

// redeem posts an authorization code to the token endpoint and returns
// the status and the answer.
func (c *signInClient) redeem(t *testing.T, app signInApp, redirect, code string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {app.AppID}, "client_secret": {app.Secret},
		"code": {code}, "redirect_uri": {redirect}, "scope": {"openid profile offline_access"}}
	req, _ := http.NewRequest("POST", c.login("/oauth2/v2.0/token"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := c.do(t, req)
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	return resp.StatusCode, m
}
