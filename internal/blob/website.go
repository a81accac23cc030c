package blob

// The static website: an account's $web container served anonymously, read
// only, at its web endpoint <account>.web.<BaseDomain>, as Azure serves it
// at https://<account>.z<N>.web.core.windows.net ("Static website hosting
// in Azure Storage",
// https://learn.microsoft.com/azure/storage/blobs/storage-blob-static-website).
// The blob service properties' StaticWebsite element turns it on and off
// (props.go); enabling it creates $web when missing, as Azure does, and
// disabling it stops the serving but keeps the container.
//
// What the endpoint serves, as Azure's does:
//   - GET and HEAD only (405 otherwise); no CORS ("CORS is not supported
//     with static website") and no listing: the query string is not read.
//   - The URL's path, decoded, names a blob of $web. Dot segments resolve
//     inside the site (as a browser resolves them; ".." at the root stays
//     there), a backslash is a slash (as in blob names) and empty segments
//     are dropped, so no path names anything but a blob of this account's
//     $web: the lookup is by (account, "$web", name), never a file path.
//   - The root, a path ending in "/" and a path naming a "directory" (no
//     blob of that name) serve IndexDocument inside it; with
//     DefaultIndexDocumentPath instead, that one blob for the root and
//     every directory that exists.
//   - Otherwise ErrorDocument404Path with status 404, or Azure's own
//     page (WebContentNotFound) when there is none. A site that is not
//     enabled answers 404 WebsiteDisabled.
//   - The blob's content properties (Content-Type, -Encoding, -Language,
//     -Disposition, Cache-Control, Content-MD5) with ETag and
//     Last-Modified; conditional requests (If-None-Match,
//     If-Modified-Since → 304; If-Match, If-Unmodified-Since → 412) and a
//     single Range (206, If-Range) as HTTP defines them.
//
// Whatever a tenant stores, nothing else reaches the response: not its
// metadata (x-ms-meta-*), tags, lease or any other x-ms- header, so a blob
// cannot set cookies or other headers; Azure's web endpoint lets a site set
// no headers of its own ("There's no way to configure headers as part of
// the static website feature"). A Content-Type is always sent (a blob
// without one is application/octet-stream), so nothing is content-sniffed
// by the server. The endpoint reads no cookies and no credentials: it
// answers every visitor alike.

import (
	"context"
	"database/sql"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// webContainer is the container a static website serves.
const webContainer = "$web"

// maxWebName bounds the documents' names: a blob's name is at most 1,024
// characters.
const maxWebName = 1024

// staticWebsiteXML is the StaticWebsite element of the service properties.
type staticWebsiteXML struct {
	Enabled                  *string `xml:"Enabled"`
	IndexDocument            *string `xml:"IndexDocument"`
	ErrorDocument404Path     *string `xml:"ErrorDocument404Path"`
	DefaultIndexDocumentPath *string `xml:"DefaultIndexDocumentPath"`
}

// website is an account's static website setting.
type website struct {
	Enabled      bool
	Index        string // IndexDocument: the name of every directory's index
	DefaultIndex string // DefaultIndexDocumentPath: the one index, a blob name
	Error404     string // ErrorDocument404Path, a blob name
}

var errInvalidXMLNodeValue = newError(400, "InvalidXmlNodeValue", "The value for one of the XML nodes is not in the correct format.")

// parseWebsite decodes and checks a StaticWebsite element: Enabled is
// required and a boolean; IndexDocument and DefaultIndexDocumentPath are
// mutually exclusive (Set Blob Service Properties,
// https://learn.microsoft.com/rest/api/storageservices/set-blob-service-properties);
// each name is a blob's, at most 1,024 characters without control
// characters. The paths are "absolute": a leading "/" is dropped.
func parseWebsite(raw *rawXML) (website, error) {
	var x staticWebsiteXML
	if raw == nil {
		return website{}, nil
	}
	if err := xml.Unmarshal([]byte("<StaticWebsite>"+raw.Inner+"</StaticWebsite>"), &x); err != nil {
		return website{}, errInvalidXML
	}
	if x.Enabled == nil {
		return website{}, errInvalidXML
	}
	enabled, err := strconv.ParseBool(strings.TrimSpace(*x.Enabled))
	if err != nil {
		return website{}, errInvalidXMLNodeValue
	}
	w := website{Enabled: enabled}
	for _, f := range []struct {
		v    *string
		dst  *string
		path bool
	}{{x.IndexDocument, &w.Index, false}, {x.DefaultIndexDocumentPath, &w.DefaultIndex, true}, {x.ErrorDocument404Path, &w.Error404, true}} {
		if f.v == nil {
			continue
		}
		v := *f.v
		if len(v) > maxWebName || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return website{}, errInvalidXMLNodeValue
		}
		if f.path {
			v = strings.TrimPrefix(v, "/")
		}
		*f.dst = v
	}
	if w.Index != "" && w.DefaultIndex != "" {
		return website{}, &storageError{Status: 400, Code: "InvalidXmlNodeValue",
			Message: "IndexDocument and DefaultIndexDocumentPath are mutually exclusive: set one of them."}
	}
	return w, nil
}

// ensureWebContainer creates the account's $web container if it has none,
// in tx: enabling a static website does ("If a blob storage container
// named $web doesn't already exist in the account, one is created for
// you"). It is private; the web endpoint does not ask.
func (s *Service) ensureWebContainer(ctx context.Context, tx *sql.Tx, account string) error {
	now := s.tick()
	_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO containers (account, name, etag, last_modified, metadata, public_access) VALUES (?,?,?,?,?,?)`,
		account, webContainer, newETag(now), now.UnixNano(), mustJSON(metadata{}), "")
	if err != nil {
		return fmt.Errorf("creating the $web container: %w", err)
	}
	return nil
}

// Website is the web endpoint of the accounts' static websites: requests
// whose Host is <account>.web.<BaseDomain>[:port] (the front door hands it
// those). Any other Host is a 404.
func (s *Service) Website() http.Handler { return websiteHandler{s} }

type websiteHandler struct{ s *Service }

// Azure's answers at a web endpoint, each rendered as its HTML page.
var (
	errWebContentNotFound = newError(404, "WebContentNotFound", "The requested content does not exist.")
	errWebsiteDisabled    = newError(404, "WebsiteDisabled", "The requested content does not exist.")
	errWebAccountNotFound = newError(404, "ResourceNotFound", "The specified resource does not exist.")
	errWebMethod          = newError(405, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.")
)

func (h websiteHandler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	s := h.s
	w := &trackingWriter{ResponseWriter: rw}
	id := uuid.NewString()
	hd := w.Header()
	hd.Set("x-ms-request-id", id)
	hd.Set("x-ms-version", defaultVersion)
	hd.Set("Server", "Slipway-Web")
	hd.Set("Date", s.now().UTC().Format(http.TimeFormat))
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.fail(w, r, id, fmt.Errorf("panic: %v", p))
		}
	}()
	if err := h.serve(w, r); err != nil {
		h.fail(w, r, id, err)
	}
}

// account is the account a web endpoint's Host names, or "".
func (h websiteHandler) account(host string) string {
	if hn, _, err := net.SplitHostPort(host); err == nil {
		host = hn
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	domain := strings.ToLower(h.s.cfg.BaseDomain)
	if domain == "" {
		return ""
	}
	account, ok := strings.CutSuffix(host, ".web."+domain)
	if !ok || account == "" || strings.Contains(account, ".") {
		return ""
	}
	return account
}

func (h websiteHandler) serve(w *trackingWriter, r *http.Request) error {
	s := h.s
	ctx := r.Context()
	name := h.account(r.Host)
	if name == "" {
		return errWebAccountNotFound
	}
	acct, err := s.cfg.Accounts.Account(ctx, name)
	if errors.Is(err, ErrAccountNotFound) {
		return errWebAccountNotFound
	}
	if err != nil {
		return fmt.Errorf("looking up account %s: %w", name, err)
	}
	props, err := s.loadServiceProperties(ctx, s.reader, acct.Name)
	if err != nil {
		return err
	}
	site, err := parseWebsite(props.StaticWebsite)
	if err != nil {
		// Stored before it was checked: no site, rather than a 500.
		site = website{}
	}
	if !site.Enabled {
		return errWebsiteDisabled
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return errWebMethod
	}
	for attempt := 0; ; attempt++ {
		err := h.serveSite(w, r, acct.Name, site)
		if !errors.Is(err, fs.ErrNotExist) || attempt == 3 || w.wrote {
			return err
		}
		// Replaced between the query and the open: read the new version.
	}
}

// serveSite answers one request to an enabled site.
func (h websiteHandler) serveSite(w *trackingWriter, r *http.Request, account string, site website) error {
	ctx := r.Context()
	name, dir := websitePath(r.URL.Path)
	b, err := h.resolve(ctx, account, site, name, dir)
	if err != nil {
		return err
	}
	if b != nil {
		return h.serveBlob(w, r, b, http.StatusOK)
	}
	if site.Error404 != "" {
		b, err := h.lookup(ctx, account, site.Error404)
		if err != nil {
			return err
		}
		if b != nil {
			return h.serveBlob(w, r, b, http.StatusNotFound)
		}
	}
	return errWebContentNotFound
}

// websitePath is the blob name a request path names, and whether it names
// a directory (the root, or a path ending in "/", "/." or "/.."). r.URL.Path
// is already decoded once (%2F is a slash, as in blob names; %252F stays
// "%2F", a name's own characters). See the package comment of this file.
func websitePath(p string) (name string, dir bool) {
	p = strings.ReplaceAll(p, `\`, "/")
	var out []string
	segs := strings.Split(p, "/")
	for _, seg := range segs {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	last := segs[len(segs)-1]
	return strings.Join(out, "/"), len(out) == 0 || last == "" || last == "." || last == ".."
}

// resolve finds the blob a request names: the blob itself, else a
// directory's index. nil: none.
func (h websiteHandler) resolve(ctx context.Context, account string, site website, name string, dir bool) (*blobRow, error) {
	if !dir {
		b, err := h.lookup(ctx, account, name)
		if b != nil || err != nil {
			return b, err
		}
	}
	switch {
	case site.DefaultIndex != "":
		if name != "" {
			ok, err := h.isDirectory(ctx, account, name)
			if !ok || err != nil {
				return nil, err
			}
		}
		return h.lookup(ctx, account, site.DefaultIndex)
	case site.Index != "":
		if name == "" {
			return h.lookup(ctx, account, site.Index)
		}
		return h.lookup(ctx, account, name+"/"+site.Index)
	}
	return nil, nil
}

// lookup is the base blob name of the account's $web, or nil.
func (h websiteHandler) lookup(ctx context.Context, account, name string) (*blobRow, error) {
	if name == "" || len(name) > maxWebName || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, nil // no blob has such a name
	}
	b, err := getBlob(ctx, h.s.rdb(), account, webContainer, name, "")
	if errors.Is(err, errBlobNotFound) {
		return nil, nil
	}
	return b, err
}

// isDirectory reports whether some live blob (not soft-deleted) of the
// account's $web lies under name + "/".
func (h websiteHandler) isDirectory(ctx context.Context, account, name string) (bool, error) {
	prefix := name + "/"
	var one int
	err := h.s.reader.QueryRowContext(ctx, `SELECT 1 FROM blobs WHERE account = ? AND container = ? AND snapshot = '' AND deleted_time = 0 AND name >= ? AND name < ? LIMIT 1`,
		account, webContainer, prefix, name+"0").Scan(&one) // '0' follows '/'
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking for a directory of $web: %w", err)
	}
	return true, nil
}

// serveBlob answers with b: status 200 (with the request's conditions and
// range) or 404 (the error document, whole).
func (h websiteHandler) serveBlob(w *trackingWriter, r *http.Request, b *blobRow, status int) error {
	if b.AccessTier == "Archive" {
		return errBlobArchived
	}
	hd := w.Header()
	setTimes(hd, b.ETag, b.LastModified)
	ct := b.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	hd.Set("Content-Type", ct)
	for k, v := range map[string]string{
		"Content-Encoding": b.ContentEncoding, "Content-Language": b.ContentLanguage,
		"Content-Disposition": b.ContentDisposition, "Cache-Control": b.CacheControl,
	} {
		if v != "" {
			hd.Set(k, v)
		}
	}
	hd.Set("Accept-Ranges", "bytes")
	start, n := int64(0), b.Size
	if status == http.StatusOK {
		switch err := checkConditions(r.Header, true, b.ETag, b.LastModified, condRead); err {
		case nil:
		case notModified, errUnsatisfiableCondition: // If-None-Match: * of a blob that exists
			for _, k := range []string{"Content-Type", "Content-Encoding", "Content-Language", "Content-Disposition", "Accept-Ranges"} {
				hd.Del(k)
			}
			w.WriteHeader(http.StatusNotModified)
			return nil
		default:
			return err
		}
		if st, en, ok := parseRange(r.Header.Get("Range")); ok && ifRange(r.Header.Get("If-Range"), b) {
			if st >= b.Size {
				hd.Set("Content-Range", fmt.Sprintf("bytes */%d", b.Size))
				return errInvalidRange
			}
			if en < 0 || en >= b.Size {
				en = b.Size - 1
			}
			start, n, status = st, en-st+1, http.StatusPartialContent
			hd.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", st, en, b.Size))
		}
	}
	if status != http.StatusPartialContent && b.ContentMD5 != nil {
		hd.Set("Content-MD5", md5Header(b.ContentMD5))
	}
	hd.Set("Content-Length", strconv.FormatInt(n, 10))
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return nil
	}
	f, release, err := h.s.openContent(r.Context(), b, start, start+n)
	if err != nil {
		return err
	}
	defer release()
	return writeContent(w, b, f, start, n, status)
}

// ifRange reports whether an If-Range condition (RFC 9110 §13.1.5) lets a
// Range apply: none, the blob's ETag, or its Last-Modified date exactly.
func ifRange(v string, b *blobRow) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return true
	}
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "W/") {
		return v == b.ETag || strings.Trim(v, `"`) == strings.Trim(b.ETag, `"`)
	}
	t, err := http.ParseTime(v)
	return err == nil && t.Equal(b.LastModified.Truncate(1e9))
}

// fail renders err as Azure's web endpoint does: an HTML page naming the
// status, the error code, the request and the time. Errors that are not
// classified are logged and shown as InternalError with the request ID.
func (h websiteHandler) fail(w *trackingWriter, r *http.Request, id string, err error) {
	if w.wrote {
		h.s.log.Error("web request failed after response started", "method", r.Method, "path", r.URL.Path, "request_id", id, "err", err)
		return
	}
	var e *storageError
	if !errors.As(err, &e) {
		h.s.log.Error("web request failed", "method", r.Method, "path", r.URL.Path, "request_id", id, "err", err)
		e = errInternal
	}
	hd := w.Header()
	for _, k := range []string{"ETag", "Last-Modified", "Content-Encoding", "Content-Language", "Content-Disposition", "Cache-Control", "Accept-Ranges", "Content-MD5", "Content-Length"} {
		hd.Del(k)
	}
	hd.Set("x-ms-error-code", e.Code)
	hd.Set("Content-Type", "text/html")
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	page := fmt.Sprintf(`<!DOCTYPE html><html><head><title>%s</title></head><body><h1>%s</h1><p><ul><li>HttpStatusCode: %d</li><li>ErrorCode: %s</li><li>RequestId : %s</li><li>TimeStamp : %s</li></ul></p></body></html>`,
		html.EscapeString(e.Code), html.EscapeString(e.Message), e.Status, html.EscapeString(e.Code), id, h.s.now().UTC().Format("2006-01-02T15:04:05.0000000Z"))
	hd.Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(e.Status)
	w.Write([]byte(page))
}
