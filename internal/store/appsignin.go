package store

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/slipway-dev/slipway"
)

// Limits on an application's sign-in registration, as Entra ID's
// (https://learn.microsoft.com/entra/identity-platform/reply-url): 256
// redirect URIs of at most 256 characters each.
const (
	MaxRedirectURIs    = 256
	MaxRedirectURILen  = 256
	MaxIdentifierURIs  = 50
	MaxIdentifierURILn = 256
)

// Validate checks the redirect and identifier URIs. A redirect URI is
// absolute, without userinfo, fragment or wildcard; a web one is https,
// or http only for localhost and 127.0.0.1 (Entra ID's rule); a public
// client one may also use a custom scheme (msal<appId>://auth). An
// identifier URI is checked by ValidateFor, which knows the app id.
func (si SignIn) Validate() error {
	if n := len(si.WebRedirectURIs) + len(si.PublicClientRedirectURIs); n > MaxRedirectURIs {
		return slipway.Errorf(slipway.EINVALID, "An application may register at most %d redirect URIs; this one gives %d.", MaxRedirectURIs, n)
	}
	for _, u := range si.WebRedirectURIs {
		if err := checkRedirectURI(u, false); err != nil {
			return err
		}
	}
	for _, u := range si.PublicClientRedirectURIs {
		if err := checkRedirectURI(u, true); err != nil {
			return err
		}
	}
	if len(si.IdentifierURIs) > MaxIdentifierURIs {
		return slipway.Errorf(slipway.EINVALID, "An application may have at most %d identifier URIs.", MaxIdentifierURIs)
	}
	for _, u := range si.IdentifierURIs {
		if len(u) > MaxIdentifierURILn || strings.ContainsAny(u, "*\"<>?# \t\r\n") {
			return slipway.Errorf(slipway.EINVALID, "Values of identifierUris property must be api://<appId>, at most %d characters, without wildcards: '%s' is not.", MaxIdentifierURILn, truncateString(u, 300))
		}
	}
	return nil
}

// ValidateFor is Validate, and checks that every identifier URI is
// api://<appID> or below it (api://<appID>/...): the directory has no
// verified domains, and Entra ID accepts api:// URIs that name the app
// (https://learn.microsoft.com/entra/identity-platform/identifier-uri-restrictions).
func (si SignIn) ValidateFor(appID string) error {
	if err := si.Validate(); err != nil {
		return err
	}
	want := "api://" + strings.ToLower(appID)
	for _, u := range si.IdentifierURIs {
		l := strings.ToLower(u)
		if l != want && !strings.HasPrefix(l, want+"/") {
			return slipway.Errorf(slipway.EINVALID, "Values of identifierUris property must use the application's own id: '%s' is not %s (or below it). Create the application first, then set it with az ad app update --id %s --identifier-uris %s.", truncateString(u, 300), want, appID, want)
		}
	}
	return nil
}

// checkRedirectURI validates one redirect URI.
func checkRedirectURI(u string, public bool) error {
	bad := func(why string) error {
		return slipway.Errorf(slipway.EINVALID, "Redirect URI '%s' is not valid: %s.", truncateString(u, 300), why)
	}
	if len(u) > MaxRedirectURILen {
		return bad("it is longer than 256 characters")
	}
	if strings.ContainsAny(u, "*\"<>\\ \t\r\n") {
		return bad("it may not contain wildcards, quotes, spaces or backslashes")
	}
	p, err := url.Parse(u)
	if err != nil || !p.IsAbs() || p.Opaque != "" {
		return bad("give an absolute URI such as https://myapp.example.com/.auth/login/aad/callback")
	}
	if p.User != nil {
		return bad("it may not carry a user name or password")
	}
	if p.Fragment != "" || strings.Contains(u, "#") {
		return bad("it may not contain a fragment (#)")
	}
	switch strings.ToLower(p.Scheme) {
	case "javascript", "data", "vbscript", "file", "blob":
		return bad("the scheme " + p.Scheme + " cannot be a redirect URI")
	case "https":
	case "http":
		if h := p.Hostname(); h != "localhost" && h != "127.0.0.1" && h != "::1" {
			return bad("http is allowed only for localhost; use https")
		}
	default:
		if !public {
			return bad("a web redirect URI must be https (or http://localhost)")
		}
	}
	if p.Host == "" && !public {
		return bad("it names no host")
	}
	return nil
}

func truncateString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// jsonList encodes a list of strings as a JSON array ("[]" for nil).
func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l) // a []string always encodes
	return string(b)
}
