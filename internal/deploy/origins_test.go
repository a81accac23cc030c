package deploy

import (
	"strings"
	"testing"
)

// TestDjangoOriginsTrusts: the HTTPS origins a Django project accepts forms
// from, as its CSRF middleware decides.
func TestDjangoOriginsTrusts(t *testing.T) {
	const port, noPort = "https://app.localhost:8080", "https://app.localhost"
	for _, tc := range []struct {
		name   string
		o      djangoOrigins
		origin string
		want   bool
	}{
		{"Microsoft's samples, front door on 8080", djangoOrigins{CSRF: true, Trusted: []string{noPort}}, port, false},
		{"Microsoft's samples, front door on 443", djangoOrigins{CSRF: true, Trusted: []string{noPort}}, noPort, true},
		{"nothing trusted", djangoOrigins{CSRF: true}, port, false},
		{"the origin with its port", djangoOrigins{CSRF: true, Trusted: []string{port}}, port, true},
		{"the proxy header: the request's own origin", djangoOrigins{CSRF: true, Proxy: true}, port, true},
		{"no CSRF middleware", djangoOrigins{Trusted: []string{noPort}}, port, true},
		{"wildcard without the port", djangoOrigins{CSRF: true, Trusted: []string{"https://*.localhost"}}, port, false},
		{"wildcard with the port", djangoOrigins{CSRF: true, Trusted: []string{"https://*.localhost:8080"}}, port, true},
		{"wildcard, other scheme", djangoOrigins{CSRF: true, Trusted: []string{"http://*.localhost:8080"}}, port, false},
		{"wildcard of another domain", djangoOrigins{CSRF: true, Trusted: []string{"https://*.example.com:8080"}}, port, false},
	} {
		if got := tc.o.trusts(tc.origin); got != tc.want {
			t.Errorf("%s: trusts(%s) = %v, want %v", tc.name, tc.origin, got, tc.want)
		}
	}
}

// TestUntrustedOriginMessage names the origin, what is trusted, and the way
// to App Service's origin.
func TestUntrustedOriginMessage(t *testing.T) {
	msg := untrustedOriginMessage("https://app.localhost:8080", []string{"https://app.localhost"})
	for _, want := range []string{"from https://app.localhost:8080:", "holds only https://app.localhost", "--http-port 443"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}
