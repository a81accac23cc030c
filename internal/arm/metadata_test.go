package arm

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMetadataEndpointsIsPublic: `az cloud register` reads
// /metadata/endpoints with no Authorization header, and needs name,
// authentication.loginEndpoint, authentication.audiences[0] and suffixes
// (docs/arm.md §2.1, "Measured with the real az"). It is the only public route.
func TestMetadataEndpointsIsPublic(t *testing.T) {
	e := newEnv(t)
	host := e.srv.Listener.Addr().String()
	cloud := map[string]any{
		"name":            "Slipway",
		"resourceManager": "http://" + host + "/",
		"authentication": map[string]any{
			"loginEndpoint":    "https://login.localhost",
			"audiences":        []any{"http://" + host + "/"},
			"tenant":           "common",
			"identityProvider": "AAD",
		},
		"suffixes":             map[string]any{"storage": "localhost:8080", "keyVaultDns": "vault.localhost:8080"},
		"appServiceResourceId": "http://" + host + "/",
	}
	httpsCloud := map[string]any{}
	b, _ := json.Marshal(cloud)
	json.Unmarshal(b, &httpsCloud)
	httpsCloud["resourceManager"] = "https://" + host + "/"
	httpsCloud["authentication"].(map[string]any)["audiences"] = []any{"https://" + host + "/"}
	httpsCloud["appServiceResourceId"] = "https://" + host + "/"
	tests := []struct {
		name, path string
		hdr        []string
		want       any
	}{
		{"2022-09-01 (az cloud register), doubled slash", "//metadata/endpoints?api-version=2022-09-01", nil, cloud},
		{"any case", "/Metadata/Endpoints?api-version=2020-06-01", nil, cloud},
		{"behind a TLS-terminating proxy", "/metadata/endpoints?api-version=2022-09-01", []string{"X-Forwarded-Proto", "https"}, httpsCloud},
		{"2019-05-01 lists clouds", "/metadata/endpoints?api-version=2019-05-01", nil, []any{cloud}},
		{"2015-01-01 original shape", "/metadata/endpoints?api-version=2015-01-01", nil, map[string]any{
			"galleryEndpoint": "", "graphEndpoint": "", "portalEndpoint": "",
			"authentication": map[string]any{"loginEndpoint": "https://login.localhost/", "audiences": []any{"http://" + host + "/"}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, "", append([]string{"Authorization", ""}, tc.hdr...)...)
			if r.status != 200 {
				t.Fatalf("status %d, want 200\n%s", r.status, r.body)
			}
			var got any
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatalf("%v\n%s", err, r.body)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("document (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("configured management URL", func(t *testing.T) {
		h := New(Config{Store: e.store, Controller: e.ctl, ManagementURL: "https://management.localhost:8443", AuthorityURL: "https://login.localhost/",
			GraphURL: "https://graph.localhost:8443/"})
		rec := newRecorder(h, "GET", "/metadata/endpoints?api-version=2022-09-01")
		m := map[string]any{}
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &m) != nil {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
		auth := m["authentication"].(map[string]any)
		if m["resourceManager"] != "https://management.localhost:8443/" || auth["audiences"].([]any)[0] != "https://management.localhost:8443/" || auth["loginEndpoint"] != "https://login.localhost" ||
			m["microsoftGraphResourceId"] != "https://graph.localhost:8443/" {
			t.Errorf("document %s", rec.Body)
		}
	})
	t.Run("still needs api-version", func(t *testing.T) {
		if r := e.do("GET", "/metadata/endpoints?x=1", "", "Authorization", ""); r.status != 400 {
			t.Errorf("status %d, want 400", r.status)
		}
		for _, v := range []string{"2", "2019-05-01-preview-long", "zzzz"} {
			if r := e.do("GET", "/metadata/endpoints?api-version="+v, "", "Authorization", ""); r.status >= 500 {
				t.Errorf("api-version %q: status %d", v, r.status)
			}
		}
	})
	t.Run("nothing else is public", func(t *testing.T) {
		for _, tc := range []struct{ method, path string }{
			{"PUT", "/metadata/endpoints?api-version=2022-09-01"},
			{"GET", "/metadata/endpoints/x?api-version=2022-09-01"},
			{"GET", "/metadata?api-version=2022-09-01"},
			{"GET", "/subscriptions?api-version=2022-12-01"},
		} {
			if r := e.do(tc.method, tc.path, "", "Authorization", ""); r.status != http.StatusUnauthorized {
				t.Errorf("%s %s without credentials = %d, want 401", tc.method, tc.path, r.status)
			}
		}
	})
}

func newRecorder(h http.Handler, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}
