// Package dnstest runs a small authoritative DNS server on loopback for
// tests: A, CNAME and TXT records set by the test, NXDOMAIN for names it
// does not know, and CNAME chains followed within its own records. It serves
// UDP and TCP on the same 127.0.0.1 port and stops when the test ends.
package dnstest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const (
	ttl          = 1 // seconds; tests change records and must not see stale ones
	maxCNAMEHops = 8 // a longer (or looping) chain ends the answer
	startTimeout = 5 * time.Second
)

// Server is a running DNS server. Its methods are safe for concurrent use.
type Server struct {
	addr string

	mu      sync.RWMutex
	a       map[string][]net.IP
	cname   map[string]string
	txt     map[string][]string
	servers []*dns.Server
}

// Start serves DNS on 127.0.0.1 (UDP and TCP, one port) until t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{a: map[string][]net.IP{}, cname: map[string]string{}, txt: map[string][]string{}}
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	// The kernel picks a free UDP port; the same TCP port is usually free
	// too. Try a bounded number of times.
	for range 20 {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: listen udp: %v", err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatalf("dnstest: no port free for both UDP and TCP: %v", err)
	}
	s.addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: ln, Handler: s}
	var wg sync.WaitGroup
	for _, srv := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = srv.ActivateAndServe()
		}()
		select {
		case <-started:
		case <-time.After(startTimeout):
			t.Fatalf("dnstest: server did not start within %v", startTimeout)
		}
		s.servers = append(s.servers, srv)
	}
	t.Cleanup(func() {
		for _, srv := range s.servers {
			_ = srv.Shutdown()
		}
		wg.Wait()
	})
	return s
}

// Addr returns the server's address, "127.0.0.1:port", for UDP and TCP.
func (s *Server) Addr() string { return s.addr }

// SetA sets name's A records, replacing any.
func (s *Server) SetA(name string, ips ...string) {
	parsed := make([]net.IP, 0, len(ips))
	for _, ip := range ips {
		p := net.ParseIP(ip).To4()
		if p == nil {
			panic(fmt.Sprintf("dnstest: %q is not an IPv4 address", ip))
		}
		parsed = append(parsed, p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.a[canonical(name)] = parsed
}

// SetCNAME makes name an alias of target.
func (s *Server) SetCNAME(name, target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cname[canonical(name)] = canonical(target)
}

// SetTXT sets name's TXT records, replacing any.
func (s *Server) SetTXT(name string, values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txt[canonical(name)] = append([]string(nil), values...)
}

// Remove deletes every record of name.
func (s *Server) Remove(name string) {
	n := canonical(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.a, n)
	delete(s.cname, n)
	delete(s.txt, n)
}

func canonical(name string) string { return dns.Fqdn(strings.ToLower(name)) }

func (s *Server) known(n string) bool {
	_, a := s.a[n]
	_, c := s.cname[n]
	_, t := s.txt[n]
	return a || c || t
}

// ServeDNS answers one query.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 || req.Question[0].Qclass != dns.ClassINET {
		m.Rcode = dns.RcodeRefused
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	s.mu.RLock()
	defer s.mu.RUnlock()
	name := canonical(q.Name)
	if !s.known(name) {
		m.Rcode = dns.RcodeNameError
		_ = w.WriteMsg(m)
		return
	}
	owner := q.Name // answers carry the name as asked, then the chain's targets
	for range maxCNAMEHops {
		target, ok := s.cname[name]
		if !ok || q.Qtype == dns.TypeCNAME && name == canonical(q.Name) {
			break
		}
		m.Answer = append(m.Answer, &dns.CNAME{Hdr: hdr(owner, dns.TypeCNAME), Target: target})
		name, owner = target, target
		if !s.known(name) {
			break
		}
	}
	switch q.Qtype {
	case dns.TypeA:
		for _, ip := range s.a[name] {
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr(owner, dns.TypeA), A: ip})
		}
	case dns.TypeTXT:
		for _, v := range s.txt[name] {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr(owner, dns.TypeTXT), Txt: splitTXT(v)})
		}
	case dns.TypeCNAME:
		if target, ok := s.cname[name]; ok {
			m.Answer = append(m.Answer, &dns.CNAME{Hdr: hdr(owner, dns.TypeCNAME), Target: target})
		}
	}
	_ = w.WriteMsg(m)
}

func hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

// splitTXT cuts a value into the 255-byte strings a TXT record holds.
func splitTXT(v string) []string {
	var out []string
	for len(v) > 255 {
		out = append(out, v[:255])
		v = v[255:]
	}
	return append(out, v)
}
