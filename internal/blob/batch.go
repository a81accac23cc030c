package blob

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Blob Batch (POST /?comp=batch, POST /<container>?restype=container&comp=batch)
// carries up to 256 Delete Blob or Set Blob Tier sub-requests, all of one
// kind, as application/http parts of a multipart/mixed body. The whole body
// is parsed and checked before any sub-request runs, so a malformed batch
// changes nothing. Each sub-request is then served through the service's
// own request path (address, classify, authorize, the operation) with a
// response recorder, and its response becomes one part of the
// multipart/mixed answer.
//
// As Azure answers: a missing Content-Type is a plain 400; any other fault
// of the batch itself (bad boundary, unparsable part, mixed or unsupported
// operations, too many parts) is a 202 whose body holds a single part, with
// no Content-ID, carrying the error.

// Azure's limits on a batch.
const (
	maxBatchBytes       = 4 << 20
	maxBatchSubRequests = 256
	// maxSubResponseBytes bounds the recorded body of one sub-response
	// (Delete Blob and Set Blob Tier answer with at most an error).
	maxSubResponseBytes = 64 << 10
)

var (
	errBatchSameAPI = newError(400, "AllBatchSubRequestsShouldBeSameApi", "All batch subrequests should be the same api.")
	errBatchTooMany = newError(400, "ExceedsMaxBatchRequestCount", "The batch operation exceeds maximum number of allowed subrequests.")
)

// batchPart is one sub-request as the batch body carries it.
type batchPart struct {
	contentID string // as sent; "" when the part has none
	method    string
	target    string // request target: path and query
	header    http.Header
}

// batchSub is a parsed sub-request ready to serve.
type batchSub struct {
	contentID string
	r         *http.Request
}

func (s *Service) submitBatch(rq *req) error {
	ct := rq.r.Header.Get("Content-Type")
	if ct == "" {
		return errMissingHeader
	}
	if rq.r.ContentLength > maxBatchBytes {
		return errRequestBodyTooLarge
	}
	subs, err := s.readBatch(rq, ct)
	var fault *storageError
	if errors.Is(err, errRequestBodyTooLarge) || (err != nil && !errors.As(err, &fault)) {
		return err
	}
	boundary := "batchresponse_" + uuid.NewString()
	rq.w.Header().Set("Content-Type", "multipart/mixed; boundary="+boundary)
	rq.w.WriteHeader(http.StatusAccepted)
	if fault != nil {
		return s.writeBatchFault(rq, boundary, fault)
	}
	return s.runBatch(rq, boundary, subs)
}

// runBatch serves the sub-requests in order, writing each response as it
// completes (so only one is held at a time).
func (s *Service) runBatch(rq *req, boundary string, subs []batchSub) error {
	version := rq.w.Header().Get("x-ms-version")
	for _, sub := range subs {
		res := newSubResponse()
		v := sub.r.Header.Get("x-ms-version")
		if v == "" {
			// The batch's version applies to sub-requests that name none.
			v = version
		}
		s.serveVersion(res, sub.r, v, nil)
		if err := writeBatchPart(rq.w, boundary, sub.contentID, res); err != nil {
			return err
		}
	}
	return writeBatchClose(rq.w, boundary)
}

// writeBatchFault answers a batch refused as a whole: one part, without
// Content-ID, holding the error under the batch's own request id.
func (s *Service) writeBatchFault(rq *req, boundary string, fault *storageError) error {
	res := newSubResponse()
	res.Header().Set("x-ms-request-id", rq.id)
	res.Header().Set("x-ms-version", rq.w.Header().Get("x-ms-version"))
	s.writeError(res, rq.r, rq.id, fault)
	if err := writeBatchPart(rq.w, boundary, "", res); err != nil {
		return err
	}
	return writeBatchClose(rq.w, boundary)
}

// readBatch parses the batch body and turns its parts into sub-requests,
// refusing the whole batch if any part is malformed or not allowed.
func (s *Service) readBatch(rq *req, contentType string) ([]batchSub, error) {
	boundary, err := batchBoundary(contentType)
	if err != nil {
		return nil, err
	}
	parts, err := parseBatch(rq.r.Body, boundary)
	if err != nil {
		return nil, err
	}
	subs := make([]batchSub, 0, len(parts))
	kind := ""
	for _, p := range parts {
		sub, name, err := s.batchSubRequest(rq, p)
		if err != nil {
			return nil, err
		}
		if kind == "" {
			kind = name
		} else if name != kind {
			return nil, errBatchSameAPI
		}
		subs = append(subs, batchSub{contentID: p.contentID, r: sub})
	}
	return subs, nil
}

// batchSubRequest builds the request a part carries and checks that a batch
// may hold it: Delete Blob or Set Blob Tier in the batch's account (and
// container, for a container-scoped batch). It returns the operation name.
func (s *Service) batchSubRequest(rq *req, p batchPart) (*http.Request, string, error) {
	u, err := url.ParseRequestURI(p.target)
	if err != nil {
		return nil, "", errInvalidInput
	}
	env := rq.r
	if p.header.Get("Authorization") == "" && !u.Query().Has("sig") && rq.sas != nil {
		// A sub-request without credentials of its own is authorised by
		// the batch's SAS, checked against the sub-request's own target.
		u.RawQuery = joinQuery(u.RawQuery, sasQuery(rq.q))
		path, _, _ := strings.Cut(p.target, "?")
		p.target = path + "?" + u.RawQuery
	}
	sub := (&http.Request{
		Method: p.method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: p.header, Body: http.NoBody, Host: env.Host, RemoteAddr: env.RemoteAddr,
		TLS: env.TLS, RequestURI: p.target,
	}).WithContext(env.Context())
	account, container, blob, _ := s.address(sub)
	if account != rq.acct.Name || (rq.container != "" && container != rq.container) {
		return nil, "", errInvalidInput
	}
	o, err := classify(sub.Method, &req{r: sub, container: container, blob: blob, q: u.Query()})
	if err != nil || (o.name != "DeleteBlob" && o.name != "SetBlobTier") {
		return nil, "", errInvalidInput
	}
	return sub, o.name, nil
}

// sasQuery is the SAS part of a batch's query: everything but the batch's
// own comp, restype and timeout parameters.
func sasQuery(q url.Values) string {
	keep := url.Values{}
	for k, v := range q {
		switch strings.ToLower(k) {
		case "comp", "restype", "timeout":
		default:
			keep[k] = v
		}
	}
	return keep.Encode()
}

func joinQuery(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "&" + b
}

// batchBoundary returns the boundary of a batch's Content-Type, which must
// be multipart/mixed with exactly one boundary parameter. As Azure (and
// Azurite's cases) accept: the parameter name in any case, whitespace
// around the value, a quoted value, and '=' inside the value. Duplicate
// boundary parameters are InvalidInput; anything else wrong is
// InvalidHeaderValue.
func batchBoundary(contentType string) (string, error) {
	media, rest, _ := strings.Cut(contentType, ";")
	if !strings.EqualFold(strings.TrimSpace(media), "multipart/mixed") {
		return "", errInvalidHeader
	}
	boundary, found := "", false
	for rest != "" {
		name, value, tail, err := nextMediaParam(rest)
		if err != nil {
			return "", err
		}
		rest = tail
		if !strings.EqualFold(name, "boundary") {
			continue
		}
		if found {
			return "", errInvalidInput
		}
		boundary, found = value, true
	}
	if !validBoundary(boundary) {
		return "", errInvalidHeader
	}
	return boundary, nil
}

// nextMediaParam reads one "; name=value" parameter from s (the text after
// a ';'), returning the rest after the next ';'.
func nextMediaParam(s string) (name, value, rest string, err error) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, "=;")
	if i < 0 || s[i] == ';' {
		// A parameter without a value: skip it.
		if i < 0 {
			return strings.TrimSpace(s), "", "", nil
		}
		return strings.TrimSpace(s[:i]), "", s[i+1:], nil
	}
	name = strings.TrimSpace(s[:i])
	s = strings.TrimLeft(s[i+1:], " \t")
	if !strings.HasPrefix(s, `"`) {
		value, rest, _ = strings.Cut(s, ";")
		return name, strings.TrimSpace(value), rest, nil
	}
	var b strings.Builder
	for j := 1; j < len(s); j++ {
		switch c := s[j]; c {
		case '\\':
			if j+1 == len(s) {
				return "", "", "", errInvalidHeader
			}
			j++
			b.WriteByte(s[j])
		case '"':
			tail := strings.TrimLeft(s[j+1:], " \t")
			if tail != "" && tail[0] != ';' {
				return "", "", "", errInvalidHeader
			}
			return name, b.String(), strings.TrimPrefix(tail, ";"), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", "", errInvalidHeader // unterminated quoted string
}

// validBoundary applies RFC 2046: 1 to 70 characters from bchars, not
// ending in a space.
func validBoundary(b string) bool {
	if b == "" || len(b) > 70 || strings.HasSuffix(b, " ") {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("'()+_,-./:=? ", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// cappedReader fails with errRequestBodyTooLarge once more than left bytes
// have been read. It keeps the first error of the body itself (a stalled
// or broken connection), which the multipart parser would report as a
// malformed batch.
type cappedReader struct {
	r    io.Reader
	left int64
	over bool
	err  error
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.over {
		return 0, errRequestBodyTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	c.left -= int64(n)
	if c.left < 0 {
		c.over = true
		return 0, errRequestBodyTooLarge
	}
	return n, err
}

// parseBatch reads a batch body of at most maxBatchBytes, streaming, and
// returns its sub-requests. A body that is not a multipart/mixed list of 1
// to 256 HTTP requests is InvalidInput (ExceedsMaxBatchRequestCount past
// 256); one over the size limit is RequestBodyTooLarge.
func parseBatch(body io.Reader, boundary string) ([]batchPart, error) {
	cr := &cappedReader{r: body, left: maxBatchBytes}
	parts, err := parseBatchParts(multipart.NewReader(cr, boundary))
	if cr.over {
		return nil, errRequestBodyTooLarge
	}
	if cr.err != nil {
		return nil, fmt.Errorf("reading the batch: %w", cr.err)
	}
	return parts, err
}

func parseBatchParts(mr *multipart.Reader) ([]batchPart, error) {
	var parts []batchPart
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errInvalidInput
		}
		if len(parts) == maxBatchSubRequests {
			return nil, errBatchTooMany
		}
		if ct := p.Header.Get("Content-Type"); ct != "" && !strings.EqualFold(strings.TrimSpace(strings.Split(ct, ";")[0]), "application/http") {
			return nil, errInvalidInput
		}
		bp, err := parseSubRequest(p)
		if err != nil {
			return nil, err
		}
		bp.contentID = strings.TrimSpace(p.Header.Get("Content-ID"))
		parts = append(parts, bp)
	}
	if len(parts) == 0 {
		return nil, errInvalidInput
	}
	return parts, nil
}

// parseSubRequest reads "METHOD target HTTP/1.1" and the headers of one
// part. A sub-request body is not read: Delete Blob and Set Blob Tier take
// none.
func parseSubRequest(r io.Reader) (batchPart, error) {
	// Clients end the headers with the part (no blank line before the
	// next boundary); supply the end of the header block.
	tp := textproto.NewReader(bufio.NewReader(io.MultiReader(r, strings.NewReader("\r\n\r\n"))))
	line, err := tp.ReadLine()
	if err != nil {
		return batchPart{}, errInvalidInput
	}
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !validMethod(method) || target == "" || !strings.HasPrefix(proto, "HTTP/1.") {
		return batchPart{}, errInvalidInput
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return batchPart{}, errInvalidInput
	}
	return batchPart{method: method, target: target, header: http.Header(h)}, nil
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// subResponse records one sub-request's response.
type subResponse struct {
	header http.Header
	sent   http.Header // header as of WriteHeader
	status int
	body   bytes.Buffer
}

var _ http.ResponseWriter = (*subResponse)(nil)

func newSubResponse() *subResponse { return &subResponse{header: http.Header{}} }

func (r *subResponse) Header() http.Header { return r.header }

func (r *subResponse) WriteHeader(code int) {
	if r.status == 0 {
		r.status, r.sent = code, r.header.Clone()
	}
}

func (r *subResponse) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	if r.body.Len()+len(b) > maxSubResponseBytes {
		return 0, errors.New("writing batch sub-response: body exceeds its limit")
	}
	return r.body.Write(b)
}

// writeBatchPart writes one sub-response as Azure does: the part headers,
// a blank line, the HTTP/1.1 status line and headers, and for a body a
// blank line and the body.
func writeBatchPart(w io.Writer, boundary, contentID string, res *subResponse) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/http\r\n", boundary)
	if contentID != "" {
		fmt.Fprintf(&b, "Content-ID: %s\r\n", contentID)
	}
	status := res.status
	if status == 0 {
		status = http.StatusOK
	}
	fmt.Fprintf(&b, "\r\nHTTP/1.1 %d %s\r\n", status, statusReason(status, res.body.Bytes()))
	h := res.sent
	names := make([]string, 0, len(h))
	for k := range h {
		switch k {
		case "Date", "Server", "Content-Length":
		default:
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range h[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", wireHeaderName(k), v)
		}
	}
	if res.body.Len() > 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", res.body.Len())
		b.Write(res.body.Bytes())
	}
	b.WriteString("\r\n")
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("writing batch response: %w", err)
	}
	return nil
}

// writeBatchClose writes the closing boundary.
func writeBatchClose(w io.Writer, boundary string) error {
	if _, err := io.WriteString(w, "--"+boundary+"--\r\n"); err != nil {
		return fmt.Errorf("writing batch response: %w", err)
	}
	return nil
}

// statusReason is the reason phrase of a sub-response: for an error
// Azure's message (the first line of its Message), else the standard text.
func statusReason(status int, body []byte) string {
	if status >= 400 && len(body) > 0 {
		var e errorBody
		if xml.Unmarshal(body, &e) == nil && e.Message != "" {
			msg, _, _ := strings.Cut(e.Message, "\n")
			return msg
		}
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return strconv.Itoa(status)
}

// wireHeaderName spells a header as Azure does in batch sub-responses:
// x-ms-* in lower case (clients match "x-ms-error-code" exactly), the
// others in their usual form.
func wireHeaderName(k string) string {
	switch lk := strings.ToLower(k); {
	case strings.HasPrefix(lk, "x-ms-"):
		return lk
	case lk == "etag":
		return "ETag"
	case lk == "content-md5":
		return "Content-MD5"
	}
	return k
}
