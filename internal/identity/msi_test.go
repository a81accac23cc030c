package identity

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/slipway-dev/slipway/internal/store"
)

// msiEnv is a token service with two apps, each with a system-assigned
// identity; app1 also has a user-assigned one. Each app's instance has its
// own IDENTITY_HEADER.
type msiEnv struct {
	*env
	srv              *httptest.Server
	app1, app2, user Principal
	header1, header2 string
	headers          *IdentityHeaders
}

func newMSIEnv(t *testing.T) *msiEnv {
	t.Helper()
	e := newEnv(t)
	ctx := t.Context()
	m := &msiEnv{env: e, headers: NewIdentityHeaders()}
	var err error
	if m.app1, err = e.svc.EnsureSystemAssignedIdentity(ctx, "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app1", "app1"); err != nil {
		t.Fatal(err)
	}
	if m.app2, err = e.svc.EnsureSystemAssignedIdentity(ctx, "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app2", "app2"); err != nil {
		t.Fatal(err)
	}
	if m.user, err = e.store.CreatePrincipal(ctx, store.Principal{Kind: store.UserAssignedIdentity, DisplayName: "shared",
		ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/shared"}); err != nil {
		t.Fatal(err)
	}
	if m.header1, err = m.headers.Register(Instance{SystemAssigned: &m.app1, UserAssigned: []Principal{m.user}}); err != nil {
		t.Fatal(err)
	}
	if m.header2, err = m.headers.Register(Instance{SystemAssigned: &m.app2}); err != nil {
		t.Fatal(err)
	}
	m.srv = httptest.NewServer(e.svc.MSIHandler(m.headers.Lookup))
	t.Cleanup(m.srv.Close)
	return m
}

// The real azidentity ManagedIdentityCredential, configured only by
// IDENTITY_ENDPOINT and IDENTITY_HEADER as on App Service, gets tokens for
// the system-assigned and a user-assigned identity.
func TestAzidentityManagedIdentity(t *testing.T) {
	m := newMSIEnv(t)
	t.Setenv("IDENTITY_ENDPOINT", m.srv.URL+MSIPath)
	t.Setenv("IDENTITY_HEADER", m.header1)
	for _, tc := range []struct {
		name string
		id   azidentity.ManagedIDKind
		want Principal
	}{
		{"system-assigned", nil, m.app1},
		{"user-assigned by client id", azidentity.ClientID(m.user.AppID), m.user},
		{"user-assigned by resource id", azidentity.ResourceID(m.user.ResourceID), m.user},
		{"user-assigned by object id", azidentity.ObjectID(m.user.ObjectID), m.user},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: tc.id})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := cred.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{m.fresh + ".default"}})
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			c, err := m.svc.Verify(t.Context(), tok.Token, []string{m.fresh})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.ObjectID != tc.want.ObjectID || c.MIResourceID != tc.want.ResourceID {
				t.Errorf("token for %s (%s), want %s", c.ObjectID, c.MIResourceID, tc.want.ObjectID)
			}
			if time.Until(tok.ExpiresOn) < 50*time.Minute {
				t.Errorf("expires on %v", tok.ExpiresOn)
			}
		})
	}
}

func (m *msiEnv) get(t *testing.T, header string, q url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, m.srv.URL+MSIPath+"?"+q.Encode(), nil)
	if header != "" {
		req.Header.Set("X-IDENTITY-HEADER", header)
	}
	return do(t, m.srv, req)
}

func TestMSIEndpoint(t *testing.T) {
	m := newMSIEnv(t)
	q := func(kv ...string) url.Values {
		v := url.Values{"api-version": {MSIAPIVersion}, "resource": {"https://management.azure.com/"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v
	}

	t.Run("App Service's answer", func(t *testing.T) {
		code, body := m.get(t, m.header1, q())
		if code != 200 || body["token_type"] != "Bearer" || body["resource"] != "https://management.azure.com/" || body["client_id"] != m.app1.AppID {
			t.Fatalf("%d %v", code, body)
		}
		exp, err := strconv.ParseInt(body["expires_on"].(string), 10, 64) // epoch seconds, as a string
		if err != nil || time.Until(time.Unix(exp, 0)) < 50*time.Minute {
			t.Errorf("expires_on %v", body["expires_on"])
		}
		c, err := m.svc.Verify(t.Context(), body["access_token"].(string), []string{"https://management.azure.com/"})
		if err != nil || c.ObjectID != m.app1.ObjectID {
			t.Errorf("Verify = %+v, %v", c, err)
		}
	})
	t.Run("each header yields its own app", func(t *testing.T) {
		_, body := m.get(t, m.header2, q())
		c, err := m.svc.Verify(t.Context(), body["access_token"].(string), []string{"https://management.azure.com/"})
		if err != nil || c.ObjectID != m.app2.ObjectID {
			t.Errorf("app2's header gave %+v, %v", c, err)
		}
	})

	for _, tc := range []struct {
		name   string
		header string
		q      url.Values
		status int
	}{
		{"no header", "", q(), 401},
		{"wrong header", "00000000-0000-0000-0000-000000000000", q(), 401},
		{"header with a changed character", flip(m.header1), q(), 401},
		{"oversized header", strings.Repeat("a", 10000), q(), 401},
		// app2's instance names app1's identities: they are not its own.
		{"another app's identity by client id", m.header2, q("client_id", m.app1.AppID), 400},
		{"another app's identity by principal id", m.header2, q("principal_id", m.app1.ObjectID), 400},
		{"another app's user-assigned identity", m.header2, q("mi_res_id", m.user.ResourceID), 400},
		{"two selectors", m.header1, q("client_id", m.user.AppID, "mi_res_id", m.user.ResourceID), 400},
		{"old api-version", m.header1, q("api-version", "2017-09-01"), 400},
		{"no resource", m.header1, q("resource", ""), 400},
		{"unknown resource", m.header1, q("resource", "https://evil.example/"), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := m.get(t, tc.header, tc.q)
			if code != tc.status || body["statusCode"] != float64(tc.status) || body["message"] == nil || body["correlationId"] == nil {
				t.Fatalf("got %d %v, want %d with App Service's error shape", code, body, tc.status)
			}
			if _, ok := body["access_token"]; ok {
				t.Error("an error carries a token")
			}
		})
	}
	t.Run("no system-assigned identity", func(t *testing.T) {
		h, _ := m.headers.Register(Instance{UserAssigned: []Principal{m.user}})
		code, body := m.get(t, h, q())
		if code != 400 || body["message"] != "Unable to load the proper Managed Identity." {
			t.Errorf("%d %v", code, body)
		}
	})
	t.Run("removed header", func(t *testing.T) {
		h, _ := m.headers.Register(Instance{SystemAssigned: &m.app1})
		m.headers.Remove(h)
		if code, _ := m.get(t, h, q()); code != 401 {
			t.Errorf("a removed header still works: %d", code)
		}
	})
	t.Run("POST", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, m.srv.URL+MSIPath+"?"+q().Encode(), nil)
		req.Header.Set("X-IDENTITY-HEADER", m.header1)
		if code, _ := do(t, m.srv, req); code != 405 {
			t.Errorf("POST = %d", code)
		}
	})
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'a' {
		b[0] = 'b'
	} else {
		b[0] = 'a'
	}
	return string(b)
}
