package dnstest

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

func query(t *testing.T, s *Server, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	in, _, err := c.Exchange(m, s.Addr())
	if err != nil {
		t.Fatalf("%s %s: %v", network, name, err)
	}
	return in
}

func TestServer(t *testing.T) {
	s := Start(t)
	s.SetA("App.Example.test.", "127.0.0.1", "127.0.0.2")
	s.SetCNAME("www.example.test", "alias.example.test")
	s.SetCNAME("alias.example.test", "app.example.test")
	s.SetTXT("asuid.www.example.test", "abc")
	for _, network := range []string{"udp", "tcp"} {
		if in := query(t, s, network, "APP.example.test", dns.TypeA); in.Rcode != dns.RcodeSuccess || len(in.Answer) != 2 {
			t.Errorf("%s A: %v", network, in)
		}
		in := query(t, s, network, "www.example.test", dns.TypeA)
		if len(in.Answer) != 4 { // two CNAMEs, then two A
			t.Errorf("%s CNAME chain: %v", network, in.Answer)
		} else if a, ok := in.Answer[3].(*dns.A); !ok || a.A.String() != "127.0.0.2" {
			t.Errorf("%s chain ends in %v", network, in.Answer[3])
		}
		if in := query(t, s, network, "asuid.www.example.test", dns.TypeTXT); len(in.Answer) != 1 || in.Answer[0].(*dns.TXT).Txt[0] != "abc" {
			t.Errorf("%s TXT: %v", network, in.Answer)
		}
		if in := query(t, s, network, "nope.example.test", dns.TypeA); in.Rcode != dns.RcodeNameError {
			t.Errorf("%s unknown name: rcode %d", network, in.Rcode)
		}
		if in := query(t, s, network, "app.example.test", dns.TypeAAAA); in.Rcode != dns.RcodeSuccess || len(in.Answer) != 0 {
			t.Errorf("%s AAAA: %v", network, in)
		}
	}
	s.SetCNAME("loop1.example.test", "loop2.example.test")
	s.SetCNAME("loop2.example.test", "loop1.example.test")
	if in := query(t, s, "udp", "loop1.example.test", dns.TypeA); len(in.Answer) > maxCNAMEHops {
		t.Errorf("CNAME loop answered %d records", len(in.Answer))
	}
	s.Remove("APP.example.test.")
	if in := query(t, s, "udp", "app.example.test", dns.TypeA); in.Rcode != dns.RcodeNameError {
		t.Errorf("removed name: rcode %d", in.Rcode)
	}
}
