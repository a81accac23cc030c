package easyauth

// login.preserveUrlFragmentsForLogins
// (https://learn.microsoft.com/azure/app-service/configure-authentication-file-based#configuration-file-reference):
// a browser sends no URL fragment ("#/orders/7", a single-page app's
// route), so a sign-in that starts from a redirect would come back
// without it. With the setting on, an unauthenticated browser gets a page
// instead of the redirect, whose script adds location.hash to
// post_login_redirect_uri and goes on to the sign-in; the sign-in then
// returns to the path with its fragment.

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
)

// fragmentScript is the page's only script: fixed, allowed by its hash.
const fragmentScript = `var t=document.getElementById("t").dataset.target;location.replace(t+encodeURIComponent(location.hash));`

var fragmentCSP = func() string {
	h := sha256.Sum256([]byte(fragmentScript))
	return "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'; frame-ancestors 'none'; base-uri 'none'"
}()

var fragmentPage = template.Must(template.New("f").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Signing in</title></head>
<body><p id="t" data-target="{{.}}">Signing in&hellip; <a href="{{.}}">Continue</a></p>
<script>` + fragmentScript + `</script></body></html>
`))

// writeFragmentRedirect answers the page that carries the request's URL
// fragment on to target (the login URL, ending in an escaped
// post_login_redirect_uri). The target goes into an attribute by
// html/template's escaping; the script takes it from there, never from
// the page's text.
func writeFragmentRedirect(w http.ResponseWriter, r *http.Request, target string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", fragmentCSP)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	fragmentPage.Execute(w, target)
}
