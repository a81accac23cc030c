package slipway

import "time"

// HostNameBinding is a custom host name bound to a site (ARM
// Microsoft.Web/sites/hostNameBindings): requests whose Host is that name
// reach the site. The name is unique across the platform, compared without
// case; "*.contoso.com" binds every name one label below contoso.com.
type HostNameBinding struct {
	ResourceGroup string
	Site          string
	HostName      string // lower case, no trailing dot
	// RecordType is the DNS record that routes the name to the app, as
	// customHostNameDnsRecordType names it: "CName" or "A".
	RecordType string
	// SSLState is "Disabled" (no certificate), "SniEnabled" or
	// "IpBasedEnabled", as HostNameSslState.sslState names them.
	SSLState string
	// Thumbprint is the bound certificate's SHA-1 thumbprint (upper-case
	// hex), or "" when SSLState is "Disabled".
	Thumbprint string
	Created    time.Time
}

// SSL states of a host name (HostNameBinding.SSLState).
const (
	SSLDisabled       = "Disabled"
	SSLSniEnabled     = "SniEnabled"
	SSLIPBasedEnabled = "IpBasedEnabled"
)
