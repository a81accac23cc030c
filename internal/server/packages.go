package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/arm"
	"github.com/slipway-dev/slipway/internal/scm"
)

// blobPackages reads the packages Kudu deploys from a URL (a packageUri,
// package scm's packageuri.go) out of the server's own blob service, in
// process: the blob service's handler serves a GET that carries nothing
// but the URL's path and query (its SAS) — no Authorization header, no
// cookies, nothing of the Kudu request's credentials — from this machine,
// so that the blob service's own SAS and public-access checks decide what
// may be read. No socket is opened, so a URL cannot lead anywhere else.
type blobPackages struct {
	blobs http.Handler
}

var (
	_ scm.Packages    = blobPackages{}
	_ scm.BackupBlobs = blobPackages{}
	_ arm.OneDeploy   = (*scm.Handler)(nil)
)

// blobAddresses are the blob service's addresses a packageUri may name:
// host-style through the front door on port, path-style on the blob
// listener (listen, and the loopback names) on blobPort.
func blobAddresses(domain string, port int, listen string, blobPort int) scm.BlobAddresses {
	hosts := []string{"127.0.0.1", "localhost"}
	if ip := net.ParseIP(listen); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		hosts = append(hosts, listen)
	}
	return scm.BlobAddresses{Domain: domain, Port: port, PathHosts: hosts, BlobPort: blobPort}
}

// maxBlobError bounds the error document read from a refusal.
const maxBlobError = 64 << 10

// request is the request for u the blob service's handler serves: the
// URL's path and query, and nothing else of any caller.
func blobRequest(ctx context.Context, method string, u *url.URL, body io.ReadCloser) *http.Request {
	req := (&http.Request{
		Method: method, Host: u.Host,
		URL:   &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery},
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: body,
		// From this machine: the server itself reads it.
		RemoteAddr: "127.0.0.1:0",
	}).WithContext(ctx)
	req.RequestURI = req.URL.RequestURI()
	if u.Scheme == "https" {
		// The URL asks for HTTPS: a SAS restricted to it (spr=https) is
		// honoured, as it would be over the network.
		req.TLS = &tls.ConnectionState{HandshakeComplete: true, ServerName: u.Hostname()}
	}
	return req
}

// Put writes an app backup's blob (package scm's backup.go): a block
// blob of size bytes, in one Put Blob, as the URL's SAS allows.
func (p blobPackages) Put(ctx context.Context, u *url.URL, body io.Reader, size int64) error {
	req := blobRequest(ctx, http.MethodPut, u, io.NopCloser(body))
	req.ContentLength = size
	req.Header.Set("Content-Length", strconv.FormatInt(size, 10))
	req.Header.Set("Content-Type", "application/zip")
	req.Header.Set("x-ms-blob-type", "BlockBlob")
	return p.call(req, http.StatusCreated)
}

// Delete deletes an app backup's blob, as the URL's SAS allows.
func (p blobPackages) Delete(ctx context.Context, u *url.URL) error {
	return p.call(blobRequest(ctx, http.MethodDelete, u, http.NoBody), http.StatusAccepted)
}

// call serves req and wants the status want; otherwise the blob
// service's refusal.
func (p blobPackages) call(req *http.Request, want int) error {
	w := &keptResponse{header: http.Header{}}
	p.blobs.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status != want {
		return blobRefusal(w.status, w.header, bytes.NewReader(w.body))
	}
	return nil
}

// keptResponse keeps an answer's status, headers and the first
// maxBlobError bytes of its body.
type keptResponse struct {
	header http.Header
	status int
	body   []byte
}

func (w *keptResponse) Header() http.Header { return w.header }
func (w *keptResponse) WriteHeader(status int) {
	if w.status == 0 && status >= 200 {
		w.status = status
	}
}
func (w *keptResponse) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if room := maxBlobError - len(w.body); room > 0 {
		w.body = append(w.body, b[:min(len(b), room)]...)
	}
	return len(b), nil
}

func (p blobPackages) Open(ctx context.Context, u *url.URL) (io.ReadCloser, int64, error) {
	req := blobRequest(ctx, http.MethodGet, u, http.NoBody)
	pr, pw := io.Pipe()
	w := &pipeResponse{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil { // the blob service cut its answer (http.ErrAbortHandler)
				w.WriteHeader(http.StatusInternalServerError)
				pw.CloseWithError(fmt.Errorf("the blob service aborted the read: %v", v))
			}
		}()
		p.blobs.ServeHTTP(w, req)
		w.WriteHeader(http.StatusOK) // an answer without a body
		pw.Close()
	}()
	stop := context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
	body := &packageBody{PipeReader: pr, stop: stop, done: done}
	<-w.ready
	if w.status != http.StatusOK {
		defer body.Close()
		return nil, 0, blobRefusal(w.status, w.sent, io.LimitReader(pr, maxBlobError))
	}
	if w.sent.Get("x-ms-blob-type") == "" {
		body.Close()
		return nil, 0, slipway.Errorf(slipway.EINVALID, "The URL names no blob: the blob service's answer is not a blob's.")
	}
	size, err := strconv.ParseInt(w.sent.Get("Content-Length"), 10, 64)
	if err != nil || size < 0 {
		body.Close()
		return nil, 0, fmt.Errorf("reading a package blob: the blob service sent no length")
	}
	return body, size, nil
}

// blobRefusal is the blob service's refusal, in its words: its error
// code and the first line of its message.
func blobRefusal(status int, h http.Header, body io.Reader) error {
	var doc struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	b, _ := io.ReadAll(body)
	xml.Unmarshal(b, &doc)
	code := h.Get("x-ms-error-code")
	if code == "" {
		code = doc.Code
	}
	msg, _, _ := strings.Cut(strings.TrimSpace(doc.Message), "\n")
	text := fmt.Sprintf("the blob service answered %d %s", status, code)
	if msg != "" {
		text += ": " + strings.TrimSpace(msg)
	}
	switch {
	case status == http.StatusNotFound:
		return slipway.Errorf(slipway.ENOTFOUND, "%s", text)
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		return slipway.Errorf(slipway.EFORBIDDEN, "%s", text)
	case status >= 400 && status < 500:
		return slipway.Errorf(slipway.EINVALID, "%s", text)
	case status == http.StatusServiceUnavailable:
		return slipway.Errorf(slipway.EUNAVAILABLE, "%s", text)
	}
	return fmt.Errorf("reading a package blob: %s", text)
}

// pipeResponse is the blob service's answer as Open reads it: the status
// and headers once they are sent (ready), the body through a pipe, so
// that a large blob is never held in memory.
type pipeResponse struct {
	header http.Header
	pw     *io.PipeWriter
	once   sync.Once
	ready  chan struct{}
	status int         // set before ready is closed
	sent   http.Header // the headers as sent; set before ready is closed
}

func (w *pipeResponse) Header() http.Header { return w.header }

func (w *pipeResponse) WriteHeader(status int) {
	if status < 200 {
		return
	}
	w.once.Do(func() {
		w.status, w.sent = status, w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeResponse) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(b)
}

// packageBody is the blob's content; Close stops the blob service's
// handler (its writes fail) and waits for it.
type packageBody struct {
	*io.PipeReader
	stop func() bool
	done chan struct{}
}

func (b *packageBody) Close() error {
	b.stop()
	b.PipeReader.CloseWithError(errors.New("the package was closed"))
	<-b.done
	return nil
}

// backups gives ARM's backup routes Kudu's side of a backup (package
// scm's backup.go) in the management API's terms.
type backups struct{ kudu *scm.Handler }

var _ arm.Backups = backups{}

func (b backups) BackupBlobURL(container, blobName string) (*url.URL, error) {
	return b.kudu.BackupBlobURL(container, blobName)
}

func (b backups) WriteBackup(ctx context.Context, s slipway.Site, u *url.URL, meta []byte) (size, siteSize int64, left []string, err error) {
	w, err := b.kudu.WriteBackup(ctx, s, u, meta)
	return w.Size, w.SiteSize, w.Left, err
}

func (b backups) OpenBackup(ctx context.Context, s slipway.Site, u *url.URL) (arm.OpenedBackup, error) {
	o, err := b.kudu.OpenBackup(ctx, s, u)
	if err != nil {
		return nil, err
	}
	return o, nil
}

func (b backups) DeleteBackupBlob(ctx context.Context, u *url.URL) error {
	return b.kudu.DeleteBackupBlob(ctx, u)
}
