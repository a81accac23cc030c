package certs

import (
	"crypto/tls"
	"strings"
	"sync/atomic"
)

// maxNameLen is the longest DNS name (RFC 1035 §2.3.4, without the trailing
// dot); longer server names cannot be bound and are not looked up.
const maxNameLen = 253

// Table maps host names to the certificates bound to them, for SNI. Lookups
// read an immutable map through an atomic pointer, so the handshake path
// takes no lock; Replace swaps in a whole new map.
type Table struct {
	m atomic.Pointer[map[string]*tls.Certificate]
}

// NewTable returns an empty table.
func NewTable() *Table {
	t := &Table{}
	empty := map[string]*tls.Certificate{}
	t.m.Store(&empty)
	return t
}

// Replace makes bindings the table's contents. Keys are host names or
// wildcards ("*.example.com"), in any case, with or without a trailing dot;
// the map is copied, so the caller may reuse it.
func (t *Table) Replace(bindings map[string]*tls.Certificate) {
	m := make(map[string]*tls.Certificate, len(bindings))
	for name, c := range bindings {
		if c == nil {
			continue
		}
		m[strings.ToLower(strings.TrimSuffix(name, "."))] = c
	}
	t.m.Store(&m)
}

// Lookup returns the certificate for a client's server name: the binding of
// the exact name (case-insensitive, a trailing dot ignored) if there is one,
// else the wildcard binding for the name's parent ("*.example.com" serves
// "www.example.com", never "example.com" nor "a.b.example.com"). Server names
// come from clients: anything that is not a plausible host name misses.
func (t *Table) Lookup(serverName string) (*tls.Certificate, bool) {
	m := *t.m.Load()
	name := strings.TrimSuffix(serverName, ".")
	if len(name) == 0 || len(name) > maxNameLen {
		return nil, false
	}
	// Lower-case into a stack buffer; m[string(b)] does not allocate.
	var buf [maxNameLen + 2]byte
	b := buf[1:1]
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_':
		default:
			return nil, false // '*', spaces, control and non-ASCII bytes name no binding
		}
		b = append(b, c)
	}
	if c, ok := m[string(b)]; ok {
		return c, true
	}
	dot := -1
	for i, c := range b {
		if c == '.' {
			dot = i
			break
		}
	}
	if dot <= 0 || dot == len(b)-1 {
		return nil, false // no parent, or an empty first label
	}
	// buf[0] is free: write the '*' there so the wildcard key is buf[dot:].
	w := buf[dot : len(b)+1]
	w[0] = '*'
	c, ok := m[string(w)]
	return c, ok
}

// GetCertificate adapts the table to tls.Config.GetCertificate. It returns
// nil, nil on a miss so that a caller chaining sources can try the next one.
func (t *Table) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	c, _ := t.Lookup(hello.ServerName)
	return c, nil
}
