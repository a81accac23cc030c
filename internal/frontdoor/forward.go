package frontdoor

// The direct path: a request without a body or upgrade — nearly all of an
// app's traffic — is forwarded by the front door itself instead of through
// httputil.ReverseProxy. Under load (docs/benchmarks.md, "The front door")
// ReverseProxy's own work around the round trip was a tenth of the front
// door's CPU: it clones the request (the Request struct, its URL and a copy
// of every header) only to write it out again, and sets up a client trace
// and its closure per request. Here the upstream request head is written
// straight from the client's request — its fields less the hop-by-hop and
// platform ones, then the platform's own — and the answer is relayed as
// ReverseProxy relays it. Measured: about 10% more requests per second over
// HTTP/1.1 and HTTP/2 with a lower p99.
//
// It keeps ReverseProxy's behaviour, which TestDirectPathAsReverseProxy
// checks by sending the same requests both ways: hop-by-hop fields (and
// those the Connection field names) dropped both ways, "TE: trailers" kept,
// unparsable query parameters dropped, no User-Agent added, informational
// (1xx) answers passed on, trailers announced and relayed, streams (unknown
// length, text/event-stream) flushed as they come, an aborted copy aborting
// the client's response, and a refused connection moving the request to the
// next instance. Requests it does not take (bodies, upgrades, Expect,
// CONNECT, a Host that is not plain ASCII) go to ReverseProxy unchanged.

import (
	"bufio"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// hopHeaders are the hop-by-hop fields dropped both ways besides those the
// Connection field names (RFC 9110 §7.6.1); ReverseProxy's list.
var hopHeaders = map[string]bool{
	"Connection":          true,
	"Proxy-Connection":    true, // non-standard, still sent by libcurl
	"Keep-Alive":          true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
}

// directable reports whether the front door forwards r to base (an
// instance's base URL) itself.
func directable(r *http.Request, base *url.URL) bool {
	if r.ContentLength != 0 || r.Method == "CONNECT" || len(r.TransferEncoding) != 0 ||
		!plainBase(base) || !strings.HasPrefix(r.URL.Path, "/") {
		return false
	}
	h := r.Header
	if len(h["Upgrade"]) != 0 || len(h["Expect"]) != 0 || len(h["Transfer-Encoding"]) != 0 {
		return false
	}
	host := r.Host
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 || host[i] == '%' {
			return false // punycode or a zone: Request.Write's business
		}
	}
	return host != "" && httpguts.ValidHostHeader(host)
}

// plainBase reports whether an instance's base URL is one the direct path
// writes requests to as they came: plain HTTP, host and port only.
func plainBase(u *url.URL) bool {
	return u.Scheme == "http" && u.Path == "" && u.RawQuery == "" && u.User == nil
}

// forward carries r to the first of rt's backends that takes the
// connection and relays the answer to w. It reports false, having done
// nothing, when r is not for the direct path.
func (f *FrontDoor) forward(w http.ResponseWriter, r *http.Request, rt *route) bool {
	base, err := f.urls.get(rt.backends[0].URL)
	if err != nil || f.noDirect || !directable(r, base) {
		return false
	}
	out := new(http.Request)
	*out = *r // the client's request, shared read-only: the head is written from it
	u := *r.URL
	u.Scheme, u.Host = base.Scheme, base.Host
	u.RawQuery = cleanQuery(u.RawQuery)
	out.URL, out.Body, out.Close = &u, nil, false
	head := &directHead{w: w, in: r, principal: rt.principal}
	platformFields(r, head.add)
	resp, err := f.upstream.roundTrip(out, head)
	for i := 1; err != nil && i < len(rt.backends) && isRefused(err); i++ {
		// Nothing reached the app: the next instance may take it.
		next, perr := f.urls.get(rt.backends[i].URL)
		if perr != nil || !plainBase(next) {
			break
		}
		u.Host = next.Host
		resp, err = f.upstream.roundTrip(out, head)
	}
	if err != nil {
		f.proxyError(w, out, err)
		return true
	}
	f.relay(w, out, resp, rt)
	return true
}

// relay sends the app's answer to the client as ReverseProxy does.
func (f *FrontDoor) relay(w http.ResponseWriter, out *http.Request, resp *http.Response, rt *route) {
	removeHopHeaders(resp.Header)
	setAffinity(resp, rt)
	dropAppCORS(resp, rt)
	h := w.Header()
	for k, vv := range resp.Header {
		if len(h[k]) == 0 {
			h[k] = vv // resp is this request's own: no copy
		} else {
			h[k] = append(h[k], vv...)
		}
	}
	announced := len(resp.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	stream := resp.ContentLength == -1 || isEventStream(resp.Header["Content-Type"])
	if stream {
		rc.Flush() // the head goes at once; the body may be long in coming
	}
	if err := f.copyBody(w, rc, resp.Body, stream); err != nil {
		resp.Body.Close()
		if out.Context().Value(http.ServerContextKey) != nil {
			// The client must not take a cut answer for a whole one; the
			// server aborts the response (as ReverseProxy does).
			panic(http.ErrAbortHandler)
		}
		return
	}
	resp.Body.Close() // fills resp.Trailer
	if len(resp.Trailer) == 0 {
		return
	}
	rc.Flush() // a chunked answer, so that the trailers can follow
	if len(resp.Trailer) == announced {
		for k, vv := range resp.Trailer {
			h[k] = append(h[k], vv...)
		}
		return
	}
	for k, vv := range resp.Trailer {
		for _, v := range vv {
			h.Add(http.TrailerPrefix+k, v)
		}
	}
}

// copyBody copies an answer's body to the client, flushing after each
// write when it is a stream. It returns the first write error, or a read
// error other than the end of the body.
func (f *FrontDoor) copyBody(w io.Writer, rc *http.ResponseController, body io.Reader, stream bool) error {
	buf := f.bufs.Get()
	defer f.bufs.Put(buf)
	for {
		n, rerr := body.Read(buf)
		if rerr != nil && rerr != io.EOF && !errors.Is(rerr, context.Canceled) {
			f.cfg.Logger.Warn("reading the app's response", "err", rerr)
		}
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if stream {
				rc.Flush()
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

func isEventStream(ct []string) bool {
	if len(ct) == 0 || !strings.Contains(strings.ToLower(ct[0]), "event-stream") {
		return false // the common case, without parsing
	}
	base, _, _ := mime.ParseMediaType(ct[0])
	return base == "text/event-stream"
}

// removeHopHeaders drops the hop-by-hop fields of h.
func removeHopHeaders(h http.Header) {
	for _, c := range h["Connection"] {
		for name := range strings.SplitSeq(c, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for k := range hopHeaders {
		delete(h, k)
	}
}

// cleanQuery drops the query parameters url.ParseQuery rejects (a ';'
// separator, a bad %-escape) by re-encoding the query when it has any, as
// ReverseProxy does so that the app cannot read a parameter differently
// from the front door.
func cleanQuery(q string) string {
	const maxParams = 10000 // url.ParseQuery's limit
	reencode := strings.Count(q, "&")+1 > maxParams
	for i := 0; i < len(q) && !reencode; i++ {
		switch q[i] {
		case ';':
			reencode = true
		case '%':
			if i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2]) {
				reencode = true
			}
			i += 2
		}
	}
	if !reencode {
		return q
	}
	v, _ := url.ParseQuery(q)
	return v.Encode()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// directHead is the upstream head of a directly forwarded request.
type directHead struct {
	w      http.ResponseWriter // where informational answers go
	in     *http.Request       // the client's request
	fields [maxPlatformFields]struct{ name, value string }
	n      int
	// principal are the signed-in user's fields (route.principal).
	principal http.Header
}

func (d *directHead) add(name, value string) {
	d.fields[d.n].name, d.fields[d.n].value = name, value
	d.n++
}

// write writes out's request line and Host, then the client's fields but
// the hop-by-hop and platform ones (and those Request.Write writes itself),
// then the platform's.
func (d *directHead) write(bw *bufio.Writer, out *http.Request) error {
	ruri := out.URL.RequestURI()
	if badTarget(ruri) {
		return errors.New("a space or control character in the request target")
	}
	in := d.in.Header
	conn := in["Connection"]
	dropped := func(k string) bool {
		return hopHeaders[k] || reqWriteExcluded[k] || isPlatformHeader(k) || !httpguts.ValidHeaderFieldName(k) ||
			(len(conn) > 0 && httpguts.HeaderValuesContainsToken(conn, k))
	}
	bw.WriteString(out.Method)
	bw.WriteByte(' ')
	bw.WriteString(ruri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(out.Host)
	bw.WriteString("\r\n")
	if ua := in["User-Agent"]; len(ua) > 0 && ua[0] != "" && !(len(conn) > 0 && httpguts.HeaderValuesContainsToken(conn, "User-Agent")) {
		writeField(bw, "User-Agent", cleanValue(ua[0]))
	}
	switch out.Method {
	case "POST", "PUT", "PATCH":
		bw.WriteString("Content-Length: 0\r\n") // Request.Write's rule for these without a body
	}
	for k, vs := range in {
		if dropped(k) {
			continue
		}
		for _, v := range vs {
			writeField(bw, k, cleanValue(v))
		}
	}
	if httpguts.HeaderValuesContainsToken(in["Te"], "trailers") {
		bw.WriteString("Te: trailers\r\n") // the client takes trailers; so do we
	}
	for _, f := range d.fields[:d.n] {
		writeField(bw, f.name, f.value)
	}
	for k, vs := range d.principal {
		for _, v := range vs {
			writeField(bw, k, cleanValue(v))
		}
	}
	_, err := bw.WriteString("\r\n")
	return err
}

// got1xx passes an informational answer (103 Early Hints, …) on to the client.
func (d *directHead) got1xx(_ *http.Request, code int, h http.Header) error {
	rh := d.w.Header()
	for k, vv := range h {
		rh[k] = append(rh[k], vv...)
	}
	d.w.WriteHeader(code)
	clear(rh) // WriteHeader keeps a 1xx's fields; the real answer's are its own
	return nil
}

// growStack grows the calling goroutine's stack once, while it is shallow.
// HTTP/2 runs each request in a goroutine of its own whose stack starts
// small; the proxy's path (the handler, the upstream client, the read of
// the answer) then outgrew it deep down, and a growth at depth copies and
// adjusts every frame below it: 8.6% of the front door's CPU under h2load.
// Growing it at the top first, where there are few frames to move, halved
// that and gave about 5% more requests per second over HTTP/2
// (docs/benchmarks.md, "The front door"). HTTP/1.1 needs none: a
// connection's goroutine serves all its requests and keeps its stack.
//
//go:noinline
func growStack(i int) byte {
	var b [growFrame]byte // larger than the proxy's path needs, measured
	b[i] = 1
	return b[i/2]
}

// growFrame makes growStack's frame need an 8 KiB stack.
const growFrame = 4 << 10
