package identity

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// loginServer serves the login handler over TLS on 127.0.0.1.
func loginServer(t *testing.T, e *env) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(e.svc.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// The real Azure SDK for Go signs in with a client secret against the
// handler, as against a custom cloud, and Verify accepts what it gets.
func TestAzidentityClientSecret(t *testing.T) {
	e := newEnv(t)
	srv := loginServer(t, e)
	_, creds := e.servicePrincipal(t)
	opts := &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"},
			Transport: srv.Client(),
		},
		DisableInstanceDiscovery: true,
	}
	for _, tenant := range []string{creds.Tenant, strings.ToUpper(creds.Tenant), "organizations"} {
		t.Run(tenant, func(t *testing.T) {
			cred, err := azidentity.NewClientSecretCredential(tenant, creds.AppID, creds.Password, opts)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := cred.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com//.default"}})
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			c, err := e.svc.Verify(t.Context(), tok.Token, []string{"https://management.azure.com"})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.AppID != creds.AppID || c.Audience != "https://management.azure.com/" {
				t.Errorf("claims = %+v", c)
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		cred, err := azidentity.NewClientSecretCredential(creds.Tenant, creds.AppID, wrongSecret(creds.Password), opts)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cred.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
		if err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
			t.Errorf("GetToken with a wrong secret = %v, want AADSTS7000215", err)
		}
	})
}

// post sends a token request and decodes the JSON answer.
func post(t *testing.T, srv *httptest.Server, path string, form url.Values, mod func(*http.Request)) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if mod != nil {
		mod(req)
	}
	return do(t, srv, req)
}

func get(t *testing.T, srv *httptest.Server, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
	return do(t, srv, req)
}

func do(t *testing.T, srv *httptest.Server, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: body is not JSON: %q", req.Method, req.URL.Path, b)
	}
	return resp.StatusCode, m
}

func TestTokenEndpoint(t *testing.T) {
	e := newEnv(t)
	srv := loginServer(t, e)
	_, creds := e.servicePrincipal(t)
	tenant := creds.Tenant
	v2 := "/" + tenant + "/oauth2/v2.0/token"
	form := func(kv ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {creds.AppID}, "client_secret": {creds.Password},
			"scope": {"https://management.azure.com//.default"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v
	}

	t.Run("v2 success", func(t *testing.T) {
		code, body := post(t, srv, v2, form("claims", `{"access_token":{"xms_cc":{"values":["CP1"]}}}`, "client_info", "1"), nil)
		if code != 200 || body["token_type"] != "Bearer" || !(body["expires_in"].(float64) > 3590 && body["expires_in"].(float64) <= 3600) || body["access_token"] == nil {
			t.Fatalf("%d %v", code, body)
		}
	})
	t.Run("v1 success with Basic", func(t *testing.T) {
		code, body := post(t, srv, "/"+tenant+"/oauth2/token", form("client_id", "", "client_secret", "", "scope", "", "resource", "https://vault.azure.net"),
			func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(creds.AppID), url.QueryEscape(creds.Password)) })
		if code != 200 || body["resource"] != "https://vault.azure.net" || !strings.HasPrefix(body["expires_in"].(string), "359") || body["expires_on"] == nil {
			t.Fatalf("%d %v", code, body)
		}
		if _, err := e.svc.Verify(t.Context(), body["access_token"].(string), []string{"https://vault.azure.net"}); err != nil {
			t.Error(err)
		}
	})
	t.Run("adfs form", func(t *testing.T) {
		code, body := get(t, srv, "/adfs/.well-known/openid-configuration")
		if code != 200 || !strings.HasSuffix(body["token_endpoint"].(string), "/adfs/oauth2/token") {
			t.Fatalf("%d %v", code, body)
		}
		if code, body := post(t, srv, "/adfs/oauth2/token", form("scope", "", "resource", "https://management.core.windows.net/"), nil); code != 200 {
			t.Fatalf("%d %v", code, body)
		}
	})

	for _, tc := range []struct {
		name, path string
		form       url.Values
		mod        func(*http.Request)
		status     int
		errCode    string
		aadsts     float64
	}{
		{"wrong secret", v2, form("client_secret", wrongSecret(creds.Password)), nil, 401, "invalid_client", 7000215},
		{"no secret", v2, form("client_secret", ""), nil, 400, "invalid_client", 7000216},
		{"unknown app", v2, form("client_id", "11111111-1111-1111-1111-111111111111"), nil, 400, "unauthorized_client", 700016},
		{"app id not a GUID", v2, form("client_id", "deployer"), nil, 400, "unauthorized_client", 700016},
		{"other tenant", "/22222222-2222-2222-2222-222222222222/oauth2/v2.0/token", form(), nil, 400, "invalid_tenant", 90002},
		{"unknown resource", v2, form("scope", "https://evil.example/.default"), nil, 400, "invalid_resource", 500011},
		{"scope without .default", v2, form("scope", "https://management.azure.com/user_impersonation"), nil, 400, "invalid_scope", 1002012},
		{"two resources", v2, form("scope", "https://vault.azure.net/.default https://management.azure.com/.default"), nil, 400, "invalid_scope", 70011},
		{"password grant", v2, form("grant_type", "password"), nil, 400, "unsupported_grant_type", 70003},
		{"no grant", v2, form("grant_type", ""), nil, 400, "invalid_request", 900144},
		{"secret twice", v2, form(), func(r *http.Request) { r.SetBasicAuth(creds.AppID, creds.Password) }, 400, "invalid_request", 900144},
		{"v1 without resource or scope", "/" + tenant + "/oauth2/token", form("scope", ""), nil, 400, "invalid_request", 900144},
		{"managed identity's app id", v2, nil, nil, 401, "invalid_client", 7000215},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.form
			if f == nil { // a managed identity has no secret to sign in with
				mi, err := e.svc.EnsureSystemAssignedIdentity(t.Context(), "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app", "app")
				if err != nil {
					t.Fatal(err)
				}
				f = form("client_id", mi.AppID)
			}
			code, body := post(t, srv, tc.path, f, tc.mod)
			if code != tc.status || body["error"] != tc.errCode {
				t.Fatalf("got %d %v, want %d %s", code, body, tc.status, tc.errCode)
			}
			codes, _ := body["error_codes"].([]any)
			desc, _ := body["error_description"].(string)
			if len(codes) != 1 || codes[0] != tc.aadsts || !strings.HasPrefix(desc, "AADSTS") ||
				body["trace_id"] == nil || body["correlation_id"] == nil || body["timestamp"] == nil {
				t.Errorf("error body %v", body)
			}
			if strings.Contains(desc, creds.Password) {
				t.Error("the error quotes the secret")
			}
			if _, ok := body["access_token"]; ok {
				t.Error("an error carries a token")
			}
		})
	}

	t.Run("oversized body", func(t *testing.T) {
		code, body := post(t, srv, v2, form("pad", strings.Repeat("a", maxFormBytes)), nil)
		if code != 400 || body["error"] != "invalid_request" {
			t.Fatalf("%d %v", code, body)
		}
	})
	t.Run("GET token", func(t *testing.T) {
		if code, _ := get(t, srv, v2); code != http.StatusMethodNotAllowed {
			t.Errorf("GET token endpoint = %d", code)
		}
	})
	t.Run("correlation id echoed", func(t *testing.T) {
		corr := "33333333-3333-3333-3333-333333333333"
		_, body := post(t, srv, v2, form("client_secret", "wrong-secret-wrong-secret"), func(r *http.Request) { r.Header.Set("client-request-id", corr) })
		if body["correlation_id"] != corr {
			t.Errorf("correlation_id = %v", body["correlation_id"])
		}
	})
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	srv := loginServer(t, e)
	host := strings.TrimPrefix(srv.URL, "https://")
	tenant := e.svc.TenantID()
	for _, tc := range []struct{ path, token, issuer, jwks string }{
		{"/" + tenant + "/v2.0/.well-known/openid-configuration", "/" + tenant + "/oauth2/v2.0/token", "https://login.microsoftonline.com/" + tenant + "/v2.0", "/" + tenant + "/discovery/v2.0/keys"},
		{"/organizations/v2.0/.well-known/openid-configuration", "/" + tenant + "/oauth2/v2.0/token", "https://login.microsoftonline.com/" + tenant + "/v2.0", "/" + tenant + "/discovery/v2.0/keys"},
		{"/" + tenant + "/.well-known/openid-configuration", "/" + tenant + "/oauth2/token", e.svc.Issuer(), "/" + tenant + "/discovery/keys"},
		{"/adfs/.well-known/openid-configuration", "/adfs/oauth2/token", e.svc.Issuer(), "/adfs/discovery/keys"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, doc := get(t, srv, tc.path)
			if code != 200 || doc["token_endpoint"] != "https://"+host+tc.token || doc["issuer"] != tc.issuer ||
				doc["jwks_uri"] != "https://"+host+tc.jwks || doc["authorization_endpoint"] == nil {
				t.Fatalf("%d %v", code, doc)
			}
			code, keys := get(t, srv, tc.jwks)
			ks, _ := keys["keys"].([]any)
			if code != 200 || len(ks) != 1 {
				t.Fatalf("JWKS %d %v", code, keys)
			}
			k := ks[0].(map[string]any)
			if k["kty"] != "RSA" || k["kid"] != k["x5t"] || k["e"] != "AQAB" || len(k["x5c"].([]any)) != 1 {
				t.Errorf("key %v", k)
			}
		})
	}
	t.Run("unknown tenant", func(t *testing.T) {
		code, body := get(t, srv, "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration")
		if code != 400 || !strings.HasPrefix(body["error_description"].(string), "AADSTS90002") {
			t.Errorf("%d %v", code, body)
		}
	})
	t.Run("instance discovery", func(t *testing.T) {
		ae := url.QueryEscape("https://" + host + "/" + tenant + "/oauth2/v2.0/authorize")
		code, body := get(t, srv, "/common/discovery/instance?api-version=1.1&authorization_endpoint="+ae)
		if code != 200 || body["tenant_discovery_endpoint"] != "https://"+host+"/"+tenant+"/v2.0/.well-known/openid-configuration" {
			t.Fatalf("%d %v", code, body)
		}
		ae = url.QueryEscape("https://login.evil.example/" + tenant + "/oauth2/v2.0/authorize")
		code, body = get(t, srv, "/common/discovery/instance?api-version=1.1&authorization_endpoint="+ae)
		if code != 400 || body["error"] != "invalid_instance" {
			t.Errorf("unknown host: %d %v", code, body)
		}
	})
	t.Run("bad host header", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/"+tenant+"/v2.0/.well-known/openid-configuration", nil)
		req.Host = `evil"/><script>`
		if code, _ := do(t, srv, req); code != 400 {
			t.Errorf("status %d", code)
		}
	})
}

// wrongSecret returns secret with its last character changed.
func wrongSecret(secret string) string {
	last := byte('x')
	if secret[len(secret)-1] == last {
		last = 'y'
	}
	return secret[:len(secret)-1] + string(last)
}
