package scm

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway"
)

// homePage is Kudu's home page as a browser sees it ("Kudu Services",
// https://<app>.scm.azurewebsites.net/, App Service's Advanced Tools):
// the environment and the REST API's links, with SSH and the log stream.
// No script runs on it.
var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Kudu Services: {{.Site}}</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; }
dt { font-weight: bold; float: left; clear: left; width: 9em; }
dd { margin: 0 0 .4em 10em; }
li { margin: .2em 0; }
</style>
</head>
<body>
<h1>Kudu Services</h1>
<h3>Environment</h3>
<dl>
<dt>Site</dt><dd id="site">{{.Site}}</dd>
<dt>Build</dt><dd>Slipway</dd>
<dt>Site folder</dt><dd>/home</dd>
<dt>Temp folder</dt><dd>/tmp</dd>
</dl>
<h3>Tools</h3>
<ul>
<li><a href="/webssh/host">SSH</a> (a shell inside a running instance)</li>
<li><a href="/api/logstream">Log stream</a></li>
<li><a href="/api/logs/docker">Current Docker logs</a> (<a href="/api/logs/docker/zip">download as zip</a>)</li>
<li><a href="/api/dump">Diagnostic dump</a></li>
</ul>
<h3>REST API (works best when using a JSON viewer extension)</h3>
<ul>
<li><a href="/api/settings">App Settings</a></li>
<li><a href="/api/deployments">Deployments</a></li>
<li><a href="/api/scm/info">Source control info</a></li>
<li><a href="/api/vfs/">Files</a></li>
<li><a href="/api/environment">Environment</a></li>
<li><a href="/api/webjobs">WebJobs</a></li>
<li><a href="/api/startuplogs">Startup logs</a></li>
</ul>
</body>
</html>
`))

// home answers GET /: Kudu's home page to a browser (one that accepts
// HTML), a line naming the API to anything else (curl, scripts).
func (h *Handler) home(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	w.Header().Set("Vary", "Accept")
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Kudu (Slipway) for %s. API: /api/zipdeploy, /api/publish, /api/deployments, /api/logstream, /api/vfs/, /api/zip/, /api/command, /api/logs/docker, /api/logs/recent, /api/dump, /api/diagnostics/settings, /api/scm; SSH in a browser: /webssh/host.\n", s.Name)
		return nil
	}
	var b bytes.Buffer
	if err := homePage.Execute(&b, struct{ Site string }{s.Name}); err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'")
	hd.Set("X-Frame-Options", "SAMEORIGIN")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(b.Len()))
	w.Write(b.Bytes())
	return nil
}
