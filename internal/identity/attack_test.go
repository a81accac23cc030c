package identity

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The login host is served on the front door's one port, HTTP and HTTPS
// alike: over plain HTTP a client secret came in and an access token went
// out in the clear, for anyone on the network. Azure AD's token endpoint is
// HTTPS only.
func TestAttackTokenEndpointRefusesPlainHTTP(t *testing.T) {
	e := newEnv(t)
	_, creds := e.servicePrincipal(t)
	plain := httptest.NewServer(e.svc.Handler())
	t.Cleanup(plain.Close)
	for _, path := range []string{"/" + creds.Tenant + "/oauth2/v2.0/token", "/" + creds.Tenant + "/oauth2/token"} {
		f := url.Values{"grant_type": {"client_credentials"}, "client_id": {creds.AppID}, "client_secret": {creds.Password},
			"scope": {"https://vault.azure.net/.default"}}
		code, body := post(t, plain, path, f, nil)
		if code == 200 || body["access_token"] != nil {
			t.Fatalf("%s over plain HTTP = %d, a token", path, code)
		}
		if d, _ := body["error_description"].(string); !strings.Contains(d, "HTTPS") {
			t.Errorf("%s: the refusal does not say to use HTTPS: %v", path, body)
		}
	}
}
