package frontdoor

// The app lane's ResponseWriter: net/http's server's response and
// chunkWriter (net/http/server.go) rule for rule, for an HTTP/1.1 request
// without a body (keep-alives on until Shutdown), so that an answer
// through the lane has the bytes net/http's server would give it
// (TestLaneAsNetHTTP, TestLaneFuzzAsNetHTTP).

import (
	"bufio"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// laneResponse is net/http's response for the lane: the same fields, the
// same rules (net/http/server.go: response and chunkWriter).
type laneResponse struct {
	c             *laneConn
	req           *http.Request
	handlerHeader http.Header
	calledHeader  bool
	wroteHeader   bool
	status        int
	contentLength int64 // -1: not known
	written       int64
	closeAfter    bool
	handlerDone   bool
	trailers      []string
	cw            laneChunkWriter
	statusBuf     [3]byte
	clenBuf       [20]byte
	chunkBuf      [16]byte
}

func (w *laneResponse) Header() http.Header {
	if w.cw.header == nil && w.wroteHeader && !w.cw.wroteHeader {
		w.cw.header = w.handlerHeader.Clone()
	}
	w.calledHeader = true
	return w.handlerHeader
}

func (w *laneResponse) WriteHeader(code int) {
	if w.wroteHeader {
		w.c.lane.log.Debug("http: superfluous response.WriteHeader call", "status", code)
		return
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code))
	}
	bw := w.c.bw
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		writeStatusLine(bw, code, w.statusBuf[:0])
		w.handlerHeader.WriteSubset(bw, noBodyHeaders)
		bw.WriteString("\r\n")
		bw.Flush()
		return
	}
	w.wroteHeader = true
	w.status = code
	if w.calledHeader && w.cw.header == nil {
		w.cw.header = w.handlerHeader.Clone()
	}
	if cl := hget(w.handlerHeader, "Content-Length"); cl != "" {
		v, err := strconv.ParseInt(cl, 10, 64)
		if err == nil && v >= 0 {
			w.contentLength = v
		} else {
			w.c.lane.log.Warn("http: invalid Content-Length", "value", cl)
			w.handlerHeader.Del("Content-Length")
		}
	}
}

var noBodyHeaders = map[string]bool{"Content-Length": true, "Transfer-Encoding": true}

func (w *laneResponse) Write(p []byte) (int, error) { return w.write(len(p), p, "") }

func (w *laneResponse) WriteString(s string) (int, error) { return w.write(len(s), nil, s) }

// write is net/http's response.write: the body in p, or else in s.
func (w *laneResponse) write(n int, p []byte, s string) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if n == 0 {
		return 0, nil
	}
	if !bodyAllowedForStatus(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(n)
	if w.contentLength != -1 && w.written > w.contentLength {
		return 0, http.ErrContentLength
	}
	if p != nil {
		return w.c.body.Write(p)
	}
	return w.c.body.WriteString(s)
}

func (w *laneResponse) Flush() { w.FlushError() }

func (w *laneResponse) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	err := w.c.body.Flush()
	if e2 := w.cw.flush(); err == nil {
		err = e2
	}
	return err
}

func (w *laneResponse) finishRequest() {
	w.handlerDone = true
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.c.body.Flush()
	w.cw.close()
	w.c.bw.Flush()
}

func (w *laneResponse) shouldReuseConnection() bool {
	if w.closeAfter {
		return false
	}
	if w.req.Method != "HEAD" && w.contentLength != -1 && bodyAllowedForStatus(w.status) && w.contentLength != w.written {
		return false // did not write enough: out of step
	}
	return w.c.werr == nil
}

func (w *laneResponse) declareTrailer(k string) {
	k = http.CanonicalHeaderKey(k)
	if !httpguts.ValidTrailerHeader(k) {
		return
	}
	w.trailers = append(w.trailers, k)
}

func (w *laneResponse) finalTrailers() http.Header {
	var t http.Header
	for k, vv := range w.handlerHeader {
		if kk, found := strings.CutPrefix(k, http.TrailerPrefix); found {
			if t == nil {
				t = make(http.Header)
			}
			t[kk] = vv
		}
	}
	for _, k := range w.trailers {
		if t == nil {
			t = make(http.Header)
		}
		for _, v := range w.handlerHeader[k] {
			t.Add(k, v)
		}
	}
	return t
}

// laneChunkWriter is net/http's chunkWriter: it writes the head with the
// first bytes of the body, then the body, chunked when its length is not
// known.
type laneChunkWriter struct {
	res         *laneResponse
	header      http.Header // the handler's, as it was at WriteHeader (when it was asked for)
	wroteHeader bool
	chunking    bool
}

func (cw *laneChunkWriter) Write(p []byte) (n int, err error) {
	if !cw.wroteHeader {
		cw.writeHeader(p)
	}
	if cw.res.req.Method == "HEAD" {
		return len(p), nil // eaten
	}
	bw := cw.res.c.bw
	if cw.chunking {
		bw.Write(strconv.AppendInt(cw.res.chunkBuf[:0], int64(len(p)), 16))
		_, err = bw.WriteString("\r\n")
		if err != nil {
			cw.res.c.rwc.Close()
			return
		}
	}
	n, err = bw.Write(p)
	if cw.chunking && err == nil {
		_, err = bw.WriteString("\r\n")
	}
	if err != nil {
		cw.res.c.rwc.Close()
	}
	return
}

func (cw *laneChunkWriter) flush() error {
	if !cw.wroteHeader {
		cw.writeHeader(nil)
	}
	return cw.res.c.bw.Flush()
}

func (cw *laneChunkWriter) close() {
	if !cw.wroteHeader {
		cw.writeHeader(nil)
	}
	if cw.chunking {
		bw := cw.res.c.bw
		bw.WriteString("0\r\n")
		if trailers := cw.res.finalTrailers(); trailers != nil {
			trailers.Write(bw)
		}
		bw.WriteString("\r\n")
	}
}

// writeHeader writes the head, p being the body's first bytes: net/http's
// chunkWriter.writeHeader for an HTTP/1.1 request without a body.
func (cw *laneChunkWriter) writeHeader(p []byte) {
	if cw.wroteHeader {
		return
	}
	cw.wroteHeader = true
	w := cw.res
	isHEAD := w.req.Method == "HEAD"
	header := cw.header
	owned := header != nil
	if !owned {
		header = w.handlerHeader
	}
	var exclude map[string]bool
	del := func(key string) {
		if owned {
			header.Del(key)
			return
		}
		if _, ok := header[key]; !ok {
			return
		}
		if exclude == nil {
			exclude = make(map[string]bool)
		}
		exclude[key] = true
	}
	var set extraFields

	trailers := false
	for k := range cw.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			if exclude == nil {
				exclude = make(map[string]bool)
			}
			exclude[k] = true
			trailers = true
		}
	}
	for _, v := range cw.header["Trailer"] {
		trailers = true
		foreachHeaderElement(v, w.declareTrailer)
	}

	te := hget(header, "Transfer-Encoding")
	hasTE := te != ""
	if w.handlerDone && !trailers && !hasTE && bodyAllowedForStatus(w.status) && !hhas(header, "Content-Length") && (!isHEAD || len(p) > 0) {
		w.contentLength = int64(len(p))
		set.contentLength = strconv.AppendInt(w.clenBuf[:0], int64(len(p)), 10)
	}
	hasCL := w.contentLength != -1
	if w.req.Close {
		// The client's Connection: close. ReadRequest sets Close when
		// "close" is among the field's tokens, and laneTakes leaves only
		// values that are "close" or "keep-alive" whole: net/http's
		// wantsClose, for every request the lane serves.
		w.closeAfter = true
	}
	// Keep-alives end once Shutdown has begun: the answer says so.
	keepAlives := !w.c.lane.closing.Load()
	if hget(header, "Connection") == "close" || !keepAlives {
		w.closeAfter = true
	}

	code := w.status
	if bodyAllowedForStatus(code) {
		_, haveType := header["Content-Type"]
		if header.Get("Content-Encoding") == "" && !haveType && !hasTE && len(p) > 0 {
			set.contentType = http.DetectContentType(p)
		}
	} else {
		del("Content-Length")
		del("Transfer-Encoding")
		if code == http.StatusNotModified {
			del("Content-Type")
		}
	}
	if !hhas(header, "Date") {
		set.date = true
	}
	if hasCL && hasTE && te != "identity" {
		w.c.lane.log.Warn("http: WriteHeader called with both Transfer-Encoding and a Content-Length", "transfer-encoding", te)
		del("Content-Length")
		hasCL = false
	}
	switch {
	case isHEAD || !bodyAllowedForStatus(code) || code == http.StatusNoContent:
		del("Transfer-Encoding")
	case hasCL:
		del("Transfer-Encoding")
	case hasTE && te == "identity":
		cw.chunking = false
		w.closeAfter = true
		del("Transfer-Encoding")
	default:
		cw.chunking = true
		set.chunked = true
		if hasTE && te == "chunked" {
			del("Transfer-Encoding")
		}
	}
	if cw.chunking {
		del("Content-Length")
	}
	if w.closeAfter && (!keepAlives || !hasToken(hget(cw.header, "Connection"), "close")) &&
		!(code == http.StatusSwitchingProtocols && header.Get("Upgrade") != "" && httpguts.HeaderValuesContainsToken(header["Connection"], "Upgrade")) {
		del("Connection")
		set.close = true
	}

	bw := w.c.bw
	writeStatusLine(bw, code, w.statusBuf[:0])
	cw.header.WriteSubset(bw, exclude)
	set.write(bw)
	bw.WriteString("\r\n")
}

// extraFields are the fields net/http's server adds to a head, written in
// its order (extraHeader.Write).
type extraFields struct {
	date, chunked, close bool
	contentType          string
	contentLength        []byte
}

func (e *extraFields) write(bw *bufio.Writer) {
	if e.date {
		var b [len(http.TimeFormat)]byte
		bw.WriteString("Date: ")
		bw.Write(time.Now().UTC().AppendFormat(b[:0], http.TimeFormat))
		bw.WriteString("\r\n")
	}
	if e.contentLength != nil {
		bw.WriteString("Content-Length: ")
		bw.Write(e.contentLength)
		bw.WriteString("\r\n")
	}
	if e.contentType != "" {
		bw.WriteString("Content-Type: " + e.contentType + "\r\n")
	}
	if e.close {
		bw.WriteString("Connection: close\r\n")
	}
	if e.chunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
}

func writeStatusLine(bw *bufio.Writer, code int, scratch []byte) {
	bw.WriteString("HTTP/1.1 ")
	if text := http.StatusText(code); text != "" {
		bw.Write(strconv.AppendInt(scratch, int64(code), 10))
		bw.WriteByte(' ')
		bw.WriteString(text)
		bw.WriteString("\r\n")
		return
	}
	c := strconv.Itoa(code)
	bw.WriteString(c + " status code " + c + "\r\n") // code is three digits (WriteHeader)
}

// hasToken is net/http's: token (lower case) in v, bounded by the start,
// the end, a space, a comma or a tab. A response keeps its handler's
// Connection field when this finds "close" in its first value; a
// comma-separated match (httpguts.HeaderValuesContainsToken) is not the
// same rule.
func hasToken(v, token string) bool {
	for sp := 0; sp+len(token) <= len(v); sp++ {
		if sp > 0 && !isTokenBoundary(v[sp-1]) {
			continue
		}
		if end := sp + len(token); end != len(v) && !isTokenBoundary(v[end]) {
			continue
		}
		if strings.EqualFold(v[sp:sp+len(token)], token) {
			return true
		}
	}
	return false
}

func isTokenBoundary(b byte) bool { return b == ' ' || b == ',' || b == '\t' }

func bodyAllowedForStatus(status int) bool {
	return !(status >= 100 && status <= 199) && status != http.StatusNoContent && status != http.StatusNotModified
}

func hget(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func hhas(h http.Header, key string) bool {
	_, ok := h[key]
	return ok
}

// foreachHeaderElement calls fn for each non-empty element of a
// comma-separated field value (net/http's).
func foreachHeaderElement(v string, fn func(string)) {
	for f := range strings.SplitSeq(v, ",") {
		if f = textproto.TrimString(f); f != "" {
			fn(f)
		}
	}
}
