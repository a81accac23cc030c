package frontdoor

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// boundNames is a HostNames over a fixed map (the store's index in the server).
type boundNames map[string]string

func (b boundNames) SiteForHostName(host string) (string, bool) {
	s, ok := b[host]
	return s, ok
}

// TestCustomDomains: a bound name reaches its site, with the Host it was
// called by and the default name in WAS-DEFAULT-HOSTNAME; the default name
// still works; an unbound name, a name bound to a deleted site, and an ARM
// path on a bound name are not sent anywhere else.
func TestCustomDomains(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"host": r.Host, "default": r.Header.Get("Was-Default-Hostname"), "path": r.URL.Path})
	}))
	defer app.Close()
	mgmt := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "arm") })
	base := serve(t, New(Config{
		Domain:     "localhost",
		Backends:   backends{"todo": {app.URL}},
		Sites:      sites{"todo": true},
		SCM:        http.NotFoundHandler(),
		Management: mgmt,
		HostNames:  boundNames{"www.contoso.com": "todo", "gone.contoso.com": "deleted"},
	}))

	tests := []struct {
		name, host, path string
		status           int
		contains         string
	}{
		{"custom name", "www.contoso.com:8080", "/x", 200, `"host":"www.contoso.com:8080"`},
		{"default name in WAS-DEFAULT-HOSTNAME", "WWW.Contoso.com.", "/", 200, `"default":"todo.localhost"`},
		{"ARM path on a custom name goes to the app", "www.contoso.com", "/subscriptions/x", 200, `"path":"/subscriptions/x"`},
		{"default name still", "todo.localhost:8080", "/", 200, `"default":"todo.localhost:8080"`},
		{"unbound name", "other.contoso.com", "/", 404, "404 Web Site not found"},
		{"bound to a deleted site", "gone.contoso.com", "/", 404, "404 Web Site not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := get(t, base, tt.host, tt.path)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Errorf("GET %s%s = %d %s; want %d containing %s", tt.host, tt.path, status, body, tt.status, tt.contains)
			}
		})
	}
}
