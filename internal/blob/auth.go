package blob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// sharedKeyStringToSign builds the SharedKey string-to-sign for the Blob
// service, version 2009-09-19 and later, as documented in "Authorize with
// Shared Key". resourcePath is the request URI's path, still escaped, as
// the client signed it; query holds the decoded query parameters.
func sharedKeyStringToSign(method string, h http.Header, account, resourcePath string, query url.Values) string {
	contentLength := h.Get("Content-Length")
	if contentLength == "0" {
		contentLength = ""
	}
	var b strings.Builder
	for _, part := range []string{
		method,
		h.Get("Content-Encoding"),
		h.Get("Content-Language"),
		contentLength,
		h.Get("Content-MD5"),
		h.Get("Content-Type"),
		h.Get("Date"),
		h.Get("If-Modified-Since"),
		h.Get("If-Match"),
		h.Get("If-None-Match"),
		h.Get("If-Unmodified-Since"),
		h.Get("Range"),
	} {
		b.WriteString(part)
		b.WriteByte('\n')
	}
	b.WriteString(canonicalizedHeaders(h))
	b.WriteString(canonicalizedResource(account, resourcePath, query))
	return b.String()
}

// sharedKeyLiteStringToSign builds the SharedKeyLite string-to-sign for the
// Blob service.
func sharedKeyLiteStringToSign(method string, h http.Header, account, resourcePath string, query url.Values) string {
	var b strings.Builder
	for _, part := range []string{method, h.Get("Content-MD5"), h.Get("Content-Type"), h.Get("Date")} {
		b.WriteString(part)
		b.WriteByte('\n')
	}
	b.WriteString(canonicalizedHeaders(h))
	b.WriteString("/" + account + resourcePath)
	if comp, ok := query["comp"]; ok {
		b.WriteString("?comp=" + strings.Join(comp, ","))
	}
	return b.String()
}

// canonicalizedHeaders returns the x-ms-* headers, lower-cased and sorted,
// each as "name:value\n"; repeated headers are joined with commas and
// runs of whitespace in values are folded to one space.
func canonicalizedHeaders(h http.Header) string {
	var names []string
	vals := map[string][]string{}
	for k, v := range h {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "x-ms-") {
			continue
		}
		if _, seen := vals[lk]; !seen {
			names = append(names, lk)
		}
		vals[lk] = append(vals[lk], v...)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		vs := make([]string, len(vals[n]))
		for i, v := range vals[n] {
			vs[i] = foldSpace(v)
		}
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strings.Join(vs, ","))
		b.WriteByte('\n')
	}
	return b.String()
}

func foldSpace(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	return strings.Join(strings.Fields(v), " ")
}

// canonicalizedResource returns "/<account><path>" followed, for each query
// parameter in sorted lower-cased name order, by "\nname:v1,v2".
func canonicalizedResource(account, path string, query url.Values) string {
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	b.WriteString("/" + account + path)
	names := make([]string, 0, len(query))
	merged := map[string][]string{}
	for k, v := range query {
		lk := strings.ToLower(k)
		if _, ok := merged[lk]; !ok {
			names = append(names, lk)
		}
		merged[lk] = append(merged[lk], v...)
	}
	sort.Strings(names)
	for _, n := range names {
		vs := append([]string(nil), merged[n]...)
		sort.Strings(vs)
		b.WriteString("\n" + n + ":" + strings.Join(vs, ","))
	}
	return b.String()
}

// queryAmbiguous reports whether the canonicalized resource of query
// stands for more than one request: it lower-cases parameter names and
// joins repeated ones, while the service reads names as sent and the first
// value. Such a query is refused under SharedKey rather than read one way
// and signed another (the SDKs send each name once, in lower case).
func queryAmbiguous(query url.Values) bool {
	for k, v := range query {
		if len(v) > 1 || strings.ToLower(k) != k {
			return true
		}
	}
	return false
}

func sign(key []byte, stringToSign string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// signatureMatches reports whether sig is the HMAC of any candidate string
// under any of the account's keys, in constant time per comparison.
func signatureMatches(keys [][]byte, sig string, candidates ...string) bool {
	want, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	for _, k := range keys {
		for _, c := range candidates {
			m := hmac.New(sha256.New, k)
			m.Write([]byte(c))
			if hmac.Equal(m.Sum(nil), want) {
				return true
			}
		}
	}
	return false
}

// rawPath returns the request path exactly as sent (still escaped).
func rawPath(r *http.Request) string {
	p := r.RequestURI
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		if u, err := url.Parse(p); err == nil {
			p = u.EscapedPath()
		}
	}
	if p == "" {
		p = r.URL.EscapedPath()
	}
	return p
}

// sasParams are the parsed SAS query parameters.
type sasParams struct {
	Version, Services, ResourceTypes, Permissions    string
	Start, Expiry, IP, Protocol, Resource            string
	Identifier, Signature, EncryptionScope, Snapshot string
	CacheControl, ContentDisposition                 string
	ContentEncoding, ContentLanguage, ContentType    string

	// User delegation SAS (delegation.go): the key's fields, and the
	// optional signed object ids and correlation id.
	DelegationOID, DelegationTID, KeyStart, KeyExpiry string
	KeyService, KeyVersion                            string
	AuthorizedOID, UnauthorizedOID, CorrelationID     string
	DelegatedUserTID, DelegatedUserOID                string
	RequestHeaders, RequestQuery                      string
}

// parseSAS extracts SAS parameters from a query; ok is false when the query
// carries no signature.
func parseSAS(q url.Values) (p sasParams, ok bool) {
	if q.Get("sig") == "" {
		return p, false
	}
	// The signed snapshot time is the snapshot a snapshot SAS (sr=bs)
	// names. A blob or container SAS signs none, and reads the blob's
	// snapshots too: a request's ?snapshot= is not part of what it signs
	// (azure-cli's test_storage_blob_copy_with_sas_and_snapshot copies a
	// snapshot with a blob SAS of its base blob).
	var snapshot string
	if q.Get("sr") == "bs" {
		snapshot = q.Get("snapshot")
	}
	return sasParams{
		Version: q.Get("sv"), Services: q.Get("ss"), ResourceTypes: q.Get("srt"),
		Permissions: q.Get("sp"), Start: q.Get("st"), Expiry: q.Get("se"), IP: q.Get("sip"),
		Protocol: q.Get("spr"), Resource: q.Get("sr"), Identifier: q.Get("si"),
		Signature: q.Get("sig"), EncryptionScope: q.Get("ses"), Snapshot: snapshot,
		CacheControl: q.Get("rscc"), ContentDisposition: q.Get("rscd"), ContentEncoding: q.Get("rsce"),
		ContentLanguage: q.Get("rscl"), ContentType: q.Get("rsct"),
		DelegationOID: q.Get("skoid"), DelegationTID: q.Get("sktid"), KeyStart: q.Get("skt"), KeyExpiry: q.Get("ske"),
		KeyService: q.Get("sks"), KeyVersion: q.Get("skv"),
		AuthorizedOID: q.Get("saoid"), UnauthorizedOID: q.Get("suoid"), CorrelationID: q.Get("scid"),
		DelegatedUserTID: q.Get("skdutid"), DelegatedUserOID: q.Get("sduoid"),
		RequestHeaders: q.Get("srh"), RequestQuery: q.Get("srq"),
	}, true
}

// sasFields are the query parameters a SAS signs or is checked by.
var sasFields = []string{"sv", "ss", "srt", "sp", "st", "se", "sip", "spr", "sr", "si", "sig", "ses",
	"rscc", "rscd", "rsce", "rscl", "rsct", "skoid", "sktid", "skt", "ske", "sks", "skv",
	"saoid", "suoid", "scid", "skdutid", "sduoid", "srh", "srq"}

// sasAmbiguous reports whether a SAS field appears more than once in q;
// such a SAS is refused rather than read one way or the other.
func sasAmbiguous(q url.Values) bool {
	for _, f := range sasFields {
		if len(q[f]) > 1 {
			return true
		}
	}
	return false
}

// isAccountSAS reports whether p is an account SAS (it names services and
// resource types rather than a resource).
func (p sasParams) isAccountSAS() bool { return p.Services != "" || p.ResourceTypes != "" }

// accountSASStringToSign is the string-to-sign of an account SAS.
func accountSASStringToSign(account string, p sasParams) string {
	parts := []string{account, p.Permissions, p.Services, p.ResourceTypes, p.Start, p.Expiry, p.IP, p.Protocol, p.Version}
	if p.Version >= "2020-12-06" {
		parts = append(parts, p.EncryptionScope)
	}
	return strings.Join(parts, "\n") + "\n"
}

// serviceSASStringToSign is the string-to-sign of a service SAS for the
// canonical resource "/blob/<account>/<container>[/<blob>]". Permissions,
// start and expiry are the signed fields as they appear in the query (a
// stored access policy supplies missing ones only at validation).
func serviceSASStringToSign(canonical string, p sasParams) string {
	parts := []string{p.Permissions, p.Start, p.Expiry, canonical, p.Identifier, p.IP, p.Protocol, p.Version}
	switch {
	case p.Version >= "2020-12-06":
		parts = append(parts, p.Resource, p.Snapshot, p.EncryptionScope)
	case p.Version >= "2018-11-09":
		parts = append(parts, p.Resource, p.Snapshot)
	}
	parts = append(parts, p.CacheControl, p.ContentDisposition, p.ContentEncoding, p.ContentLanguage, p.ContentType)
	return strings.Join(parts, "\n")
}

// parseSASTime parses the ISO 8601 forms Azure accepts in st and se.
func parseSASTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ipAllowed reports whether remote (host:port or host) is within sip,
// which is one address or "low-high".
func ipAllowed(sip, remote string) bool {
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip4 := ip.To4(); ip4 != nil {
		ip = ip4
	}
	lo, hi, found := strings.Cut(sip, "-")
	if !found {
		hi = lo
	}
	l, h := net.ParseIP(strings.TrimSpace(lo)), net.ParseIP(strings.TrimSpace(hi))
	if l == nil || h == nil {
		return false
	}
	if l4 := l.To4(); l4 != nil {
		l = l4
	}
	if h4 := h.To4(); h4 != nil {
		h = h4
	}
	if len(l) != len(ip) || len(h) != len(ip) {
		return false
	}
	return bytesCompare(ip, l) >= 0 && bytesCompare(ip, h) <= 0
}

func bytesCompare(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
