package slipway

import "strings"

// TLSCipherSuites are the values of siteConfig.minTlsCipherSuite, from the
// strongest to the weakest, in App Service's order (its TlsCipherSuites:
// https://learn.microsoft.com/rest/api/appservice/web-apps/get-configuration).
// A minimum admits the suites up to and including it.
var TLSCipherSuites = []string{
	"TLS_AES_256_GCM_SHA384",
	"TLS_AES_128_GCM_SHA256",
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
	"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
	"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
	"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	"TLS_RSA_WITH_AES_256_GCM_SHA384",
	"TLS_RSA_WITH_AES_128_GCM_SHA256",
	"TLS_RSA_WITH_AES_256_CBC_SHA256",
	"TLS_RSA_WITH_AES_128_CBC_SHA256",
	"TLS_RSA_WITH_AES_256_CBC_SHA",
	"TLS_RSA_WITH_AES_128_CBC_SHA",
}

// CanonicalMinTLSCipherSuite returns a minTlsCipherSuite value in its
// canonical spelling ("" for none). A name App Service does not list is
// EINVALID; so is TLS_AES_256_GCM_SHA384, which would leave TLS 1.3's
// AES-128 suite out: Go's TLS 1.3, which the front door speaks, offers
// all of its suites or none.
func CanonicalMinTLSCipherSuite(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	for _, s := range TLSCipherSuites {
		if strings.EqualFold(s, v) {
			if s == "TLS_AES_256_GCM_SHA384" {
				return "", Errorf(EINVALID, "minTlsCipherSuite TLS_AES_256_GCM_SHA384 cannot be applied by Slipway's front door, whose TLS 1.3 offers its AES-128 suite too; use TLS_AES_128_GCM_SHA256 (TLS 1.3 only) or a TLS 1.2 suite.")
			}
			return s, nil
		}
	}
	return "", Errorf(EINVALID, "minTlsCipherSuite '%s' is not one of App Service's cipher suites: %s.", v, strings.Join(TLSCipherSuites, ", "))
}
