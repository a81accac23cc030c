package frontdoor

// writeHead writes the head of a request the upstream client carries itself
// (no body, no upgrade): the bytes net/http's Request.Write would send, with
// one difference — the header fields go out in the map's order instead of
// sorted by name. HTTP gives no meaning to the order of fields with different
// names (RFC 9110 §5.3), and the sort, with the formatted writes and the
// transfer writer Request.Write builds for every request, was 5% of the
// front door's CPU under load (docs/benchmarks.md, "The front door").
// Values of one field keep their order.
//
// Requests it would write differently from Request.Write (a zoned IPv6
// host, an invalid Host, Close set, a CONNECT) are written by Request.Write.

import (
	"bufio"
	"errors"
	"net/http"
	"net/textproto"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// reqWriteExcluded are the fields Request.Write writes itself (or not at all).
var reqWriteExcluded = map[string]bool{
	"Host":              true,
	"User-Agent":        true,
	"Content-Length":    true,
	"Transfer-Encoding": true,
	"Trailer":           true,
}

// defaultUserAgent is what Request.Write sends when the request has no
// User-Agent field at all (an empty one sends none).
const defaultUserAgent = "Go-http-client/1.1"

func writeHead(bw *bufio.Writer, req *http.Request) error {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	host, err := httpguts.PunycodeHostPort(host)
	if err != nil {
		return err
	}
	if req.Close || req.Method == "CONNECT" || strings.IndexByte(host, '%') >= 0 || !httpguts.ValidHostHeader(host) {
		return req.Write(bw)
	}
	ruri := req.URL.RequestURI()
	if hasCTL(ruri) {
		return errors.New("net/http: can't write control character in Request.URL")
	}
	method := req.Method
	if method == "" {
		method = "GET"
	}
	bw.WriteString(method)
	bw.WriteByte(' ')
	bw.WriteString(ruri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	ua := defaultUserAgent
	if v, ok := req.Header["User-Agent"]; ok {
		ua = ""
		if len(v) > 0 {
			ua = v[0]
		}
	}
	if ua != "" {
		writeField(bw, "User-Agent", cleanValue(ua))
	}
	// Request.Write's rule for a request without a body: these methods
	// carry an explicit zero length, others none.
	switch method {
	case "POST", "PUT", "PATCH":
		bw.WriteString("Content-Length: 0\r\n")
	}
	for k, vs := range req.Header {
		if reqWriteExcluded[k] || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vs {
			writeField(bw, k, cleanValue(v))
		}
	}
	_, err = bw.WriteString("\r\n")
	return err
}

func writeField(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

var newlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

// cleanValue is what Request.Write does to a value: each CR and LF becomes a
// space, and the spaces and tabs around it go.
func cleanValue(v string) string {
	if strings.ContainsAny(v, "\r\n") {
		v = newlineToSpace.Replace(v)
	}
	return textproto.TrimString(v)
}

func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' || b == 0x7f {
			return true
		}
	}
	return false
}
