// Package dnstest runs a small authoritative DNS server on loopback for
// tests: A, CNAME and TXT records set and removed while it runs, answered
// over UDP and TCP on the same 127.0.0.1 port. Unknown names answer
// NXDOMAIN; a name with records of other types answers NODATA; answers
// follow CNAME chains through the records it holds, as an authoritative
// server follows them within its zone (RFC 1034 §4.3.2).
//
// Names are case-insensitive and may be given with or without the trailing
// dot. The server stops when the test ends.
package dnstest

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// maxChain bounds the CNAME links followed in one answer (a loop ends there).
const maxChain = 8

// ttl is every record's TTL.
const ttl = 60

// Server is a running DNS server. Its methods are safe for concurrent use.
type Server struct {
	addr string

	mu      sync.RWMutex
	records map[string]*entry // by lower-case fully qualified name
}

// entry holds one name's records.
type entry struct {
	a     []net.IP
	cname string // fully qualified, lower case; "" when none
	txt   []string
}

// Start starts a server on 127.0.0.1 (a free port, UDP and TCP) and stops
// it with t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{records: map[string]*entry{}}
	h := dns.HandlerFunc(s.serveDNS)

	// UDP and TCP on the same port: take a UDP port, then its TCP twin;
	// try a few times in case another process holds the TCP side.
	var pc net.PacketConn
	var ln net.Listener
	for range 20 {
		p, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: listening on UDP: %v", err)
		}
		l, err := net.Listen("tcp", p.LocalAddr().String())
		if err == nil {
			pc, ln = p, l
			break
		}
		p.Close()
	}
	if pc == nil {
		t.Fatal("dnstest: no port free on both UDP and TCP")
	}
	s.addr = pc.LocalAddr().String()

	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: ln, Handler: h, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second}
	var wg sync.WaitGroup
	for _, srv := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.ActivateAndServe(); err != nil && !errors.Is(err, net.ErrClosed) {
				t.Errorf("dnstest: serving: %v", err)
			}
		}()
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("dnstest: server did not start")
		}
	}
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
		wg.Wait()
	})
	return s
}

// Addr returns the server's address, "127.0.0.1:port", for UDP and TCP.
func (s *Server) Addr() string { return s.addr }

// fqdn returns name in lower case with one trailing dot.
func fqdn(name string) string {
	return dns.Fqdn(strings.ToLower(strings.TrimSuffix(name, ".")))
}

// edit runs fn on name's entry, creating it.
func (s *Server) edit(name string, fn func(e *entry)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := fqdn(name)
	e := s.records[k]
	if e == nil {
		e = &entry{}
		s.records[k] = e
	}
	fn(e)
}

// SetA replaces name's A records. It panics on a value that is not an IPv4
// address: a test's mistake.
func (s *Server) SetA(name string, ips ...string) {
	var parsed []net.IP
	for _, ip := range ips {
		p := net.ParseIP(ip).To4()
		if p == nil {
			panic("dnstest: SetA: not an IPv4 address: " + ip)
		}
		parsed = append(parsed, p)
	}
	s.edit(name, func(e *entry) { e.a = parsed })
}

// SetCNAME makes name an alias of target.
func (s *Server) SetCNAME(name, target string) {
	s.edit(name, func(e *entry) { e.cname = fqdn(target) })
}

// SetTXT replaces name's TXT records, one record per value. A value longer
// than 255 bytes is split into several strings of one record, as a zone
// file would hold it; clients join them again (RFC 7208 §3.3).
func (s *Server) SetTXT(name string, values ...string) {
	s.edit(name, func(e *entry) { e.txt = append([]string(nil), values...) })
}

// Remove removes every record of name.
func (s *Server) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, fqdn(name))
}

// serveDNS answers one query.
func (s *Server) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m) // the client went away: nothing to do
		return
	}
	q := req.Question[0]
	m.Answer, m.Rcode = s.answer(fqdn(q.Name), q.Qtype)
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if o := req.IsEdns0(); o != nil && int(o.UDPSize()) > size {
			size = int(o.UDPSize())
		}
		m.Truncate(size) // sets TC so the client retries over TCP
	}
	_ = w.WriteMsg(m) // the client went away: nothing to do
}

// answer returns the records for name and type, following CNAMEs.
func (s *Server) answer(name string, qtype uint16) ([]dns.RR, int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []dns.RR
	hdr := func(n string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: n, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	for i := 0; i <= maxChain; i++ {
		e, ok := s.records[name]
		if !ok {
			if i == 0 {
				return nil, dns.RcodeNameError
			}
			return out, dns.RcodeSuccess // a dangling alias: the chain ends outside the zone
		}
		if e.cname != "" && qtype != dns.TypeCNAME {
			out = append(out, &dns.CNAME{Hdr: hdr(name, dns.TypeCNAME), Target: e.cname})
			name = e.cname
			continue
		}
		switch qtype {
		case dns.TypeA:
			for _, ip := range e.a {
				out = append(out, &dns.A{Hdr: hdr(name, dns.TypeA), A: ip})
			}
		case dns.TypeCNAME:
			if e.cname != "" {
				out = append(out, &dns.CNAME{Hdr: hdr(name, dns.TypeCNAME), Target: e.cname})
			}
		case dns.TypeTXT:
			for _, v := range e.txt {
				out = append(out, &dns.TXT{Hdr: hdr(name, dns.TypeTXT), Txt: split255(v)})
			}
		}
		return out, dns.RcodeSuccess
	}
	return out, dns.RcodeServerFailure // a CNAME loop
}

// split255 splits a TXT value into strings of at most 255 bytes.
func split255(v string) []string {
	if v == "" {
		return []string{""}
	}
	var out []string
	for len(v) > 255 {
		out = append(out, v[:255])
		v = v[255:]
	}
	return append(out, v)
}
