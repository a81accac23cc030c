// Package webssh is the SSH page of an app's Kudu site, `/webssh/host`,
// where Microsoft's documentation sends a browser for an SSH session
// ("Open an SSH session in a browser",
// https://learn.microsoft.com/azure/app-service/configure-linux-open-ssh-session):
// a terminal in the page (xterm.js, from npm's @xterm/xterm, embedded) over
// Kudu's `/exec/shell` WebSocket, the same session `az webapp exec` and
// `az webapp ssh` open inside a running instance of the app.
//
// The package serves bytes only: the page, its script and the terminal's
// files. The caller (the scm handler) authenticates every request first, as
// it does every request to Kudu; a browser that signed in to the page with
// the app's Basic credentials sends them again with the WebSocket's
// handshake, whose Origin the handshake checks (a page of another site
// cannot open the session). The page takes nothing from its URL: a link
// that another site hands a signed-in browser opens an empty shell at
// most, never runs a command.
package webssh

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// hostPage is the page at /webssh/host: everything it runs comes from
// /webssh/ on the same origin, so its policy allows nothing else.
var hostPage = template.Must(template.New("host").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>SSH: {{.}}</title>
<link rel="stylesheet" href="/webssh/xterm.css">
<link rel="stylesheet" href="/webssh/webssh.css">
</head>
<body>
<header><span id="app">{{.}}</span> <span id="status">Connecting…</span></header>
<main id="terminal"></main>
<script type="module" src="/webssh/webssh.mjs"></script>
</body>
</html>
`))

// policy is the page's Content-Security-Policy: scripts and styles from
// /webssh/ only (xterm.js also sets styles from its script, which
// 'unsafe-inline' allows for styles, never for scripts), the WebSocket to
// its own origin, and no framing by another site (Kudu's own pages may
// frame it, as App Service's do).
const policy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"font-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; " +
	"base-uri 'none'; form-action 'none'"

// ServeHost answers GET /webssh/host with the page for the app named site.
func ServeHost(w http.ResponseWriter, site string) {
	var b bytes.Buffer
	if err := hostPage.Execute(&b, site); err != nil {
		http.Error(w, "The SSH page could not be made.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", policy)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.Write(b.Bytes())
}

// types are the content types of the files the page loads.
var types = map[string]string{
	".mjs": "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
}

// modified is what the files' Last-Modified says: they change only with
// the binary, whose start is as good a time as any.
var modified = time.Now()

// ServeFile answers GET /webssh/<name> with one of the page's files, or
// reports false if there is no such file (the caller answers 404).
func ServeFile(w http.ResponseWriter, r *http.Request, name string) bool {
	ct, ok := types[path.Ext(name)]
	if !ok || name != path.Base(name) || strings.HasPrefix(name, ".") {
		return false
	}
	data, err := static.ReadFile("static/" + name)
	if err != nil {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, max-age=3600")
	http.ServeContent(w, r, name, modified, bytes.NewReader(data))
	return true
}
