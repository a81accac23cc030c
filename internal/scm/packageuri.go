package scm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/redact"
)

// Deploying from a URL (docs/appservice.md §5): App Service's Kudu takes,
// instead of the zip itself, a JSON body {"packageUri": "<url>"} — PUT
// /api/zipdeploy (Kudu's ZipPushDeployViaUrl), POST /api/zipdeploy and
// /api/publish with such a body, and ARM's OneDeploy extension
// (PUT SITE/extensions/onedeploy, which az webapp deploy --src-url sends)
// — and fetches the package from there; the usual source is a blob with a
// SAS ("Deploy ZIP package from URL", Microsoft's "Deploy files to App
// Service").
//
// A server that fetches whatever URL a tenant names is a way into
// whatever that server can reach (SSRF): its loopback services, the
// instances' networks, a cloud's metadata endpoint. So this server takes
// only URLs that name a blob of its own blob service, in the forms that
// service answers for blobs (BlobAddresses), and reads the blob in-process
// through the blob service's own handler as an anonymous client that
// presents nothing but the URL's query (its SAS): the blob service's SAS
// and public-access checks decide, and no socket is opened (Packages).

// Packages opens deployment packages named by a packageUri.
type Packages interface {
	// Open reads the blob u names (one parsePackageURI accepted) and
	// returns its content and size. A refusal of the blob service (no
	// such blob, a SAS that does not allow reading it) is an error with
	// a code (slipway.Error) that says why, in the blob service's words.
	Open(ctx context.Context, u *url.URL) (body io.ReadCloser, size int64, err error)
}

// BlobAddresses are the addresses of this server's blob service that a
// packageUri may name, as the server answers for blobs (README "Blob
// storage", "Azure's own names").
type BlobAddresses struct {
	// Domain: host-style names <account>.blob.<Domain>, through the front
	// door on Port (or with no port).
	Domain string
	Port   int
	// PathHosts are the host names and addresses of the path-style
	// listener (127.0.0.1, localhost), on BlobPort:
	// http://127.0.0.1:<BlobPort>/<account>/<container>/<blob>.
	PathHosts []string
	BlobPort  int
}

// azureBlobSuffix is Azure's name for blob endpoints, which the server
// answers as its own (for apps, inside their sandboxes).
const azureBlobSuffix = ".blob.core.windows.net"

// Bounds of a deployment from a URL.
const (
	maxPackageURI       = 8 << 10 // bytes of the URL
	maxPackageURIBody   = 64 << 10
	packageFetchTimeout = 10 * time.Minute
)

// forms names the accepted forms of a packageUri, for refusals.
func (a BlobAddresses) forms() string {
	path := "http://127.0.0.1:<blob port>/<account>/<container>/<blob>?<SAS>"
	if a.BlobPort != 0 {
		path = fmt.Sprintf("http://127.0.0.1:%d/<account>/<container>/<blob>?<SAS>", a.BlobPort)
	}
	host := fmt.Sprintf("https://<account>.blob.%s/<container>/<blob>?<SAS>", a.Domain)
	if a.Port != 0 && a.Port != 443 && a.Port != 80 {
		host = fmt.Sprintf("https://<account>.blob.%s:%d/<container>/<blob>?<SAS>", a.Domain, a.Port)
	}
	return fmt.Sprintf("this server deploys only from a blob of its own blob service: %s, %s or https://<account>%s/<container>/<blob>?<SAS>",
		host, path, azureBlobSuffix)
}

// parsePackageURI checks that raw names a blob of this server's blob
// service in one of the forms it answers (a) and returns it parsed.
// Anything else — another host, an IP address other than the blob
// listener's loopback, another port, a user name or password, a scheme
// other than http and https — is refused, saying what is accepted.
func parsePackageURI(raw string, a BlobAddresses) (*url.URL, error) {
	u, _, err := parseBlobURL(raw, a)
	return u, err
}

// parseBlobURL is parsePackageURI, which also returns the blob's path in
// its account, <container>/<blob>, escaped.
func parseBlobURL(raw string, a BlobAddresses) (*url.URL, string, error) {
	refuse := func(why string) error {
		return slipway.Errorf(slipway.EINVALID, "packageUri is refused: %s; %s.", why, a.forms())
	}
	switch {
	case raw == "":
		return nil, "", slipway.Errorf(slipway.EINVALID, "packageUri is empty: give the URL of the zip, e.g. a blob with a SAS; %s.", a.forms())
	case len(raw) > maxPackageURI:
		return nil, "", refuse(fmt.Sprintf("it is longer than %d bytes", maxPackageURI))
	case strings.ContainsAny(raw, "\\\x00\r\n\t "):
		return nil, "", refuse("it holds a backslash, a space or a control character")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", refuse("it is not a URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, "", refuse(fmt.Sprintf("its scheme is %q, not http or https", u.Scheme))
	case u.Opaque != "" || u.Host == "":
		return nil, "", refuse("it names no host")
	case u.User != nil:
		return nil, "", refuse("it carries a user name or password")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	u.Fragment, u.RawFragment = "", ""
	var account, rest string
	switch {
	case a.Domain != "" && strings.HasSuffix(host, ".blob."+strings.ToLower(a.Domain)):
		account = strings.TrimSuffix(host, ".blob."+strings.ToLower(a.Domain))
		if port != "" && port != strconv.Itoa(a.Port) {
			return nil, "", refuse(fmt.Sprintf("port %s is not the blob service's (%d)", port, a.Port))
		}
		rest = strings.TrimPrefix(u.EscapedPath(), "/")
	case strings.HasSuffix(host, azureBlobSuffix):
		account = strings.TrimSuffix(host, azureBlobSuffix)
		if port != "" && port != "443" {
			return nil, "", refuse(fmt.Sprintf("port %s is not the blob service's (443)", port))
		}
		rest = strings.TrimPrefix(u.EscapedPath(), "/")
	case slices.ContainsFunc(a.PathHosts, func(h string) bool { return strings.EqualFold(host, h) }):
		if a.BlobPort == 0 || port != strconv.Itoa(a.BlobPort) {
			return nil, "", refuse(fmt.Sprintf("%s is the blob service only on port %d", u.Host, a.BlobPort))
		}
		account, rest, _ = strings.Cut(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	default:
		return nil, "", refuse(fmt.Sprintf("the host %q is not this server's blob service", u.Hostname()))
	}
	if !slipway.ValidStorageAccountName(account) {
		return nil, "", refuse(fmt.Sprintf("%q is not a storage account name", account))
	}
	if container, blob, _ := strings.Cut(rest, "/"); container == "" || blob == "" {
		return nil, "", refuse("it names no blob (/<container>/<blob>)")
	}
	if q := u.Query(); q.Has("comp") || q.Has("restype") {
		return nil, "", refuse("it names an operation (comp, restype), not a blob")
	}
	u.Host = strings.ToLower(u.Host)
	return u, rest, nil
}

// packageRequest is the JSON body of a deployment from a URL: Kudu's
// {"packageUri": ...}, or ARM's flavour of it, wrapped in "properties".
type packageRequest struct {
	PackageURI string          `json:"packageUri"`
	Properties *packageRequest `json:"properties"`
}

// isJSON reports whether r's body is JSON: a packageUri, not a zip.
func isJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json"
}

// packageURIFromBody reads the packageUri of a JSON body.
func packageURIFromBody(r *http.Request) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxPackageURIBody+1))
	if err != nil {
		return "", uploadError("the request", err)
	}
	if len(b) > maxPackageURIBody {
		return "", slipway.Errorf(slipway.EINVALID, "The JSON body is larger than %d KB: it should hold only {\"packageUri\": \"<url>\"}.", maxPackageURIBody>>10)
	}
	var req packageRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return "", slipway.Errorf(slipway.EINVALID, "The JSON body is not valid: send {\"packageUri\": \"<url of the zip>\"}, or the zip itself with another Content-Type (application/octet-stream).")
	}
	if req.PackageURI == "" && req.Properties != nil {
		req.PackageURI = req.Properties.PackageURI
	}
	if req.PackageURI == "" {
		return "", slipway.Errorf(slipway.EINVALID, "The JSON body has no packageUri: send {\"packageUri\": \"<url of the zip>\"}, or the zip itself with another Content-Type (application/octet-stream).")
	}
	return req.PackageURI, nil
}

// openPackageURI checks raw and opens the blob it names, bounded as a
// pushed package is (deploy.DefaultMaxPackage). The caller closes the
// body; ctx bounds the read.
func (h *Handler) openPackageURI(ctx context.Context, raw string) (io.ReadCloser, *url.URL, error) {
	if h.cfg.Packages == nil {
		return nil, nil, errPackageURI
	}
	u, err := parsePackageURI(raw, h.cfg.PackageAddresses)
	if err != nil {
		return nil, nil, err
	}
	body, size, err := h.cfg.Packages.Open(ctx, u)
	if err != nil {
		if slipway.ErrorCode(err) == "" || slipway.ErrorCode(err) == slipway.EINTERNAL {
			h.cfg.Logger.Error("reading a packageUri", "uri", redact.SASURL(u), "err", err)
			return nil, nil, slipway.Errorf(slipway.EINTERNAL, "Reading the package at %s failed.", redact.SASURL(u))
		}
		return nil, nil, slipway.Errorf(slipway.ErrorCode(err), "The package at %s could not be read: %s", redact.SASURL(u), slipway.ErrorMessage(err))
	}
	if size > deploy.DefaultMaxPackage {
		body.Close()
		return nil, nil, slipway.Errorf(slipway.EINVALID, "The package at %s is %d MB, larger than %d MB, the deployment limit.", redact.SASURL(u), size>>20, deploy.DefaultMaxPackage>>20)
	}
	if size == 0 {
		body.Close()
		return nil, nil, slipway.Errorf(slipway.EINVALID, "The package at %s is empty.", redact.SASURL(u))
	}
	return fetchBody{ctx, body}, u, nil
}

var errPackageURI = slipway.Errorf(slipway.EINVALID, "Deploying from a packageUri is not supported by this server; send the zip as the request body.")

// fetchBody is a package read from a URL: a read that fails once ctx
// (packageFetchTimeout) has ended says so, rather than as a failure of
// the server.
type fetchBody struct {
	ctx context.Context
	io.ReadCloser
}

func (b fetchBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.ctx.Err() != nil {
		if errors.Is(b.ctx.Err(), context.DeadlineExceeded) {
			return n, slipway.Errorf(slipway.EUNAVAILABLE, "Reading the package took longer than %s; nothing was deployed.", packageFetchTimeout)
		}
		return n, slipway.Errorf(slipway.EINVALID, "The request ended before the package was read; nothing was deployed.")
	}
	return n, err
}

// submitFromURL submits the package a packageUri (raw) names as the push
// p: read in full before Submit returns, within packageFetchTimeout.
func (h *Handler) submitFromURL(ctx context.Context, s slipway.Site, raw string, p pushOptions) (slipway.Deployment, error) {
	ctx, cancel := context.WithTimeout(ctx, packageFetchTimeout)
	defer cancel()
	body, u, err := h.openPackageURI(ctx, raw)
	if err != nil {
		return slipway.Deployment{}, err
	}
	defer body.Close()
	p.opts.Deployer = p.deployer
	// The record says where the package came from, its SAS's signature
	// masked: deployment records are shown to anyone who may read the app.
	switch from := redact.SASURL(u); p.opts.Message {
	case "":
		p.opts.Message = "Created via a push deployment from " + from
	case "OneDeploy":
		p.opts.Message = "OneDeploy from " + from
	}
	return h.cfg.Deployer.Submit(ctx, s, body, p.opts)
}

// PublishFromURL runs OneDeploy from a packageUri for ARM's OneDeploy
// extension (PUT SITE/extensions/onedeploy, az webapp deploy --src-url):
// q holds its properties (type, path, clean, restart) as /api/publish's
// query holds them. As App Service's, it answers once the package is read
// and the deployment has started, whatever q's async says; the
// deployment's record tells how it ends.
func (h *Handler) PublishFromURL(ctx context.Context, s slipway.Site, packageURI string, q url.Values) (slipway.Deployment, error) {
	p, err := publishOptions(q)
	if err != nil {
		return slipway.Deployment{}, err
	}
	return h.submitFromURL(ctx, s, packageURI, p)
}
