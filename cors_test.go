package slipway

import (
	"strings"
	"testing"
)

// TestCORSAllowsOrigin: which Origin values a site's allowed origins let
// through. A browser's Origin is scheme://host[:port], lower case, without
// the default port; anything else, and every lookalike, is refused.
func TestCORSAllowsOrigin(t *testing.T) {
	for _, c := range []struct {
		name    string
		allowed []string
		origin  string
		want    bool
	}{
		{"listed", []string{"https://example.com"}, "https://example.com", true},
		{"not listed", []string{"https://example.com"}, "https://other.test", false},
		{"lookalike suffix", []string{"https://example.com"}, "https://example.com.evil.test", false},
		{"lookalike prefix", []string{"https://example.com"}, "https://evilexample.com", false},
		{"subdomain of a listed origin", []string{"https://example.com"}, "https://a.example.com", false},
		{"other scheme", []string{"https://example.com"}, "http://example.com", false},
		{"other port", []string{"http://localhost:5000"}, "http://localhost:5001", false},
		{"port given", []string{"http://localhost:5000"}, "http://localhost:5000", true},
		{"no port where one is listed", []string{"http://localhost:5000"}, "http://localhost", false},
		{"case of the config", []string{"HTTPS://Example.COM"}, "https://example.com", true},
		{"case of the request", []string{"https://example.com"}, "https://EXAMPLE.com", true},
		{"default port in the config", []string{"https://example.com:443"}, "https://example.com", true},
		{"default port in the request", []string{"http://example.com"}, "http://example.com:80", true},
		{"https's port on http", []string{"http://example.com"}, "http://example.com:443", false},
		{"a path", []string{"https://example.com"}, "https://example.com/", false},
		{"a path and more", []string{"https://example.com"}, "https://example.com/x?y", false},
		{"user info", []string{"https://example.com"}, "https://evil@example.com", false},
		{"null", []string{"https://example.com"}, "null", false},
		{"empty", []string{"https://example.com"}, "", false},
		{"two origins in one value", []string{"https://example.com"}, "https://example.com https://evil.test", false},
		{"a comma list in one value", []string{"https://example.com"}, "https://example.com,https://evil.test", false},
		{"a control character", []string{"https://example.com"}, "https://example.com\r\nX: y", false},
		{"any", []string{"*"}, "https://whatever.test", true},
		{"any, null too", []string{"*"}, "null", true},
		{"any, but an Origin is needed", []string{"*"}, "", false},
		{"second of several", []string{"https://a.test", "https://b.test"}, "https://b.test", true},
		{"comma-separated entry", []string{"https://a.test, https://b.test"}, "https://b.test", true},
		{"wildcard subdomain", []string{"https://*.contoso.com"}, "https://api.contoso.com", true},
		{"wildcard, deeper", []string{"https://*.contoso.com"}, "https://a.b.contoso.com", true},
		{"wildcard, not the domain itself", []string{"https://*.contoso.com"}, "https://contoso.com", false},
		{"wildcard, lookalike", []string{"https://*.contoso.com"}, "https://evilcontoso.com", false},
		{"wildcard, lookalike suffix", []string{"https://*.contoso.com"}, "https://api.contoso.com.evil.test", false},
		{"wildcard, other scheme", []string{"https://*.contoso.com"}, "http://api.contoso.com", false},
		{"wildcard, other port", []string{"https://*.contoso.com"}, "https://api.contoso.com:8443", false},
		{"wildcard in the request", []string{"https://*.contoso.com"}, "https://*.contoso.com", false},
		{"IPv6", []string{"http://[::1]:8000"}, "http://[::1]:8000", true},
		{"IPv6 written long", []string{"http://[0:0::1]:8000"}, "http://[::1]:8000", true},
		{"app scheme", []string{"capacitor://localhost"}, "capacitor://localhost", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := CORS{AllowedOrigins: c.allowed}.Compile()
			if err != nil {
				t.Fatal(err)
			}
			if got := p.AllowsOrigin(c.origin); got != c.want {
				t.Errorf("allowed %q, Origin %q: %v, want %v", c.allowed, c.origin, got, c.want)
			}
		})
	}
	var none *CORSPolicy
	if none.AllowsOrigin("https://example.com") {
		t.Error("a site without CORS allows an origin")
	}
	if DenyAllCORS().AllowsOrigin("https://example.com") {
		t.Error("the deny-all policy allows an origin")
	}
}

// TestCORSValidate: what cannot be stored is refused saying why.
func TestCORSValidate(t *testing.T) {
	many := make([]string, MaxCORSOrigins+1)
	for i := range many {
		many[i] = "https://a" + strings.Repeat("b", i%50) + ".test"
	}
	for _, c := range []struct {
		name string
		cors CORS
		says string // "" = valid
	}{
		{"none", CORS{}, ""},
		{"credentials alone", CORS{SupportCredentials: true}, ""},
		{"origins and credentials", CORS{AllowedOrigins: []string{"https://a.test", "http://localhost:5000"}, SupportCredentials: true}, ""},
		{"any", CORS{AllowedOrigins: []string{"*"}}, ""},
		{"wildcard subdomain with credentials", CORS{AllowedOrigins: []string{"https://*.contoso.com"}, SupportCredentials: true}, ""},
		{"any with another", CORS{AllowedOrigins: []string{"*", "https://a.test"}}, "must be the only one"},
		{"any with credentials", CORS{AllowedOrigins: []string{"*"}, SupportCredentials: true}, "supportCredentials cannot be true"},
		{"a path", CORS{AllowedOrigins: []string{"https://a.test/"}}, "no path"},
		{"a query", CORS{AllowedOrigins: []string{"https://a.test?x=1"}}, "no path, query"},
		{"no scheme", CORS{AllowedOrigins: []string{"a.test"}}, "no scheme"},
		{"wildcard without scheme", CORS{AllowedOrigins: []string{"*.contoso.com"}}, "no scheme"},
		{"wildcard inside a label", CORS{AllowedOrigins: []string{"https://api*.contoso.com"}}, "wildcard may only be"},
		{"wildcard alone as host", CORS{AllowedOrigins: []string{"https://*"}}, "wildcard may only be"},
		{"null", CORS{AllowedOrigins: []string{"null"}}, "'null'"},
		{"empty", CORS{AllowedOrigins: []string{""}}, "empty"},
		{"bad port", CORS{AllowedOrigins: []string{"http://a.test:99999"}}, "port"},
		{"empty port", CORS{AllowedOrigins: []string{"http://a.test:"}}, "no port"},
		{"user info", CORS{AllowedOrigins: []string{"https://u:p@a.test"}}, "user name"},
		{"unicode host", CORS{AllowedOrigins: []string{"https://bücher.test"}}, "xn--"},
		{"too long", CORS{AllowedOrigins: []string{"https://" + strings.Repeat("a", MaxOriginLength) + ".test"}}, "longer than"},
		{"too many", CORS{AllowedOrigins: many}, "at most 100"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.cors.Validate()
			switch {
			case c.says == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.says != "" && err == nil:
				t.Errorf("accepted; want a refusal saying %q", c.says)
			case c.says != "" && !strings.Contains(ErrorMessage(err), c.says):
				t.Errorf("refused with %q; want it to say %q", ErrorMessage(err), c.says)
			case err != nil && ErrorCode(err) != EINVALID:
				t.Errorf("code %s, want EINVALID", ErrorCode(err))
			}
		})
	}
	if p, err := (CORS{SupportCredentials: true}).Compile(); p != nil || err != nil {
		t.Errorf("credentials without origins compile to %v, %v; want no policy", p, err)
	}
}
