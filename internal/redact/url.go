package redact

import (
	"net/url"
	"strings"
)

// SASURL returns u as it may be shown and recorded: the signature of its
// shared access signature (sig, the secret part, however its name is
// cased or escaped) replaced by Mask, and any user information dropped.
// The rest of the SAS (permissions, expiry) stays, to tell why a request
// with it was refused.
func SASURL(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		parts := strings.Split(c.RawQuery, "&")
		for i, p := range parts {
			k, _, _ := strings.Cut(p, "=")
			if name, err := url.QueryUnescape(k); err == nil && strings.EqualFold(name, "sig") || strings.EqualFold(k, "sig") {
				parts[i] = k + "=" + Mask
			}
		}
		c.RawQuery = strings.Join(parts, "&")
	}
	return c.String()
}
