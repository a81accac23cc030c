package frontdoor

// Platform CORS (siteConfig.cors; the domain's cors.go decides which
// origins are allowed). A site with allowed origins has CORS answered here,
// for every name of the app (default, azurewebsites.net, custom domains,
// slots by the routed slot's own configuration), on every path the front
// door serves an app by (the lane, net/http over HTTP/1.1 and HTTP/2,
// WebSocket upgrades), as App Service does
// (https://learn.microsoft.com/azure/app-service/app-service-web-tutorial-rest-api):
//
//   - A preflight — OPTIONS with Origin and Access-Control-Request-Method —
//     is answered by the front door with 204 and never reaches the app. For
//     an allowed origin the answer allows it, the method asked for and the
//     headers asked for (App Service allows every method and header, as
//     ASP.NET Core's AllowAnyMethod and AllowAnyHeader, which echo the
//     request's); for any other origin it allows nothing, so the browser
//     refuses the request.
//   - Any other request goes to the app. When its Origin is allowed the
//     answer gets Access-Control-Allow-Origin (the origin, or "*" when every
//     origin is allowed and credentials are not) and, with
//     supportCredentials, Access-Control-Allow-Credentials: true.
//   - The app's own Access-Control-* response fields are dropped: "App
//     Service CORS takes precedence and your own CORS code has no effect".
//   - Vary: Origin goes on every answer whose CORS fields depend on the
//     Origin (all but "*" without credentials), so that a cache never hands
//     one origin's answer to another (Fetch standard, §3.2.5 "CORS protocol
//     and HTTP caches").
//
// The Origin a request carries is never reflected unless the policy allows
// it, and only a well-formed origin can be allowed (no path, no "null",
// nothing a lookalike can pass). A site without CORS pays one nil check.
//
// Where the fields are written: serveApp calls serveCORS before the answer
// is relayed, so the allowance sits in the ResponseWriter's header — the
// lane's laneResponse or net/http's, HTTP/1.1 or HTTP/2 — and the app's
// fields join it there; the app's Access-Control-* fields are dropped
// before that by dropAppCORS, in relay (the direct path, for bodiless
// requests from the lane and from net/http) and in ReverseProxy's
// ModifyResponse (requests with a body, and upgrades, whose 101 carries the
// header as set).

import (
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/slipway-dev/slipway"
)

// maxRequestHeadersField bounds the Access-Control-Request-Headers value a
// preflight's answer echoes.
const maxRequestHeadersField = 4 << 10

// serveCORS applies the site's CORS to a request about to go to the app:
// it answers a preflight itself (and reports true), or sets the allowance
// of an actual request on w's header for the app's answer to join.
func (f *FrontDoor) serveCORS(w http.ResponseWriter, r *http.Request, site string, p *slipway.CORSPolicy) bool {
	h := w.Header()
	if !p.AnyOrigin() || p.Credentials() {
		h["Vary"] = append(h["Vary"], "Origin")
	}
	origin, allowed := "", false
	if o := r.Header["Origin"]; len(o) == 1 { // two Origin fields are no origin
		origin, allowed = o[0], p.AllowsOrigin(o[0])
	}
	if allowed {
		if p.AnyOrigin() && !p.Credentials() {
			h["Access-Control-Allow-Origin"] = []string{"*"}
		} else {
			h["Access-Control-Allow-Origin"] = []string{origin}
		}
		if p.Credentials() {
			h["Access-Control-Allow-Credentials"] = []string{"true"}
		}
	}
	if !isPreflight(r) {
		return false
	}
	start := time.Now()
	if allowed {
		if m := r.Header["Access-Control-Request-Method"]; len(m) == 1 && httpguts.ValidHeaderFieldName(m[0]) {
			h["Access-Control-Allow-Methods"] = []string{m[0]}
		}
		if names, ok := requestedHeaders(r.Header["Access-Control-Request-Headers"]); ok && names != "" {
			h["Access-Control-Allow-Headers"] = []string{names}
		}
	}
	w.WriteHeader(http.StatusNoContent)
	if f.cfg.Observe != nil {
		f.cfg.Observe(site, r, http.StatusNoContent, time.Since(start))
	}
	return true
}

// isPreflight reports whether r is a CORS preflight request (Fetch
// standard §3.2.2): OPTIONS with Origin and Access-Control-Request-Method.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && len(r.Header["Origin"]) > 0 && len(r.Header["Access-Control-Request-Method"]) > 0
}

// requestedHeaders checks a preflight's Access-Control-Request-Headers, a
// comma-separated list of field names, and returns it joined for the
// answer; ok is false when any element is no field name (nothing is then
// echoed) or the list is too long.
func requestedHeaders(fields []string) (string, bool) {
	n := 0
	for _, v := range fields {
		n += len(v) + 1
	}
	if n > maxRequestHeadersField {
		return "", false
	}
	names := make([]string, 0, 8)
	for _, v := range fields {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if !httpguts.ValidHeaderFieldName(name) {
				return "", false
			}
			names = append(names, name)
		}
	}
	return strings.Join(names, ", "), true
}

// dropAppCORS removes the CORS fields of the app's answer when its site
// has platform CORS, which takes precedence.
func dropAppCORS(resp *http.Response, rt *route) {
	if rt == nil || !rt.cors {
		return
	}
	for k := range resp.Header {
		if len(k) > len("Access-Control-") && strings.EqualFold(k[:len("Access-Control-")], "Access-Control-") {
			delete(resp.Header, k)
		}
	}
}
