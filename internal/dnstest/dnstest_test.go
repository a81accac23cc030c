package dnstest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

func query(t *testing.T, s *Server, net, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: net}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := c.Exchange(m, s.Addr())
	if err != nil {
		t.Fatalf("%s query %s: %v", net, name, err)
	}
	return r
}

func rrs(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.Hdr.Name+" A "+v.A.String())
		case *dns.CNAME:
			out = append(out, v.Hdr.Name+" CNAME "+v.Target)
		case *dns.TXT:
			out = append(out, v.Hdr.Name+" TXT "+strings.Join(v.Txt, ""))
		}
	}
	return out
}

func TestRecords(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr = %q", s.Addr())
	}
	s.SetA("App.Localhost.", "127.0.0.9")
	s.SetCNAME("www.contoso.com", "mid.contoso.com.")
	s.SetCNAME("MID.contoso.com", "app.localhost")
	s.SetTXT("asuid.www.contoso.com", "ABC", strings.Repeat("x", 300))

	for _, proto := range []string{"udp", "tcp"} {
		t.Run(proto, func(t *testing.T) {
			r := query(t, s, proto, "WWW.contoso.com", dns.TypeA)
			want := []string{"www.contoso.com. CNAME mid.contoso.com.", "mid.contoso.com. CNAME app.localhost.", "app.localhost. A 127.0.0.9"}
			if got := rrs(r); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("A www: %q, want %q", got, want)
			}
			r = query(t, s, proto, "www.contoso.com", dns.TypeCNAME)
			if got := rrs(r); fmt.Sprint(got) != fmt.Sprint([]string{"www.contoso.com. CNAME mid.contoso.com."}) {
				t.Errorf("CNAME www: %q", got)
			}
			r = query(t, s, proto, "asuid.www.contoso.com", dns.TypeTXT)
			if got := rrs(r); len(got) != 2 || got[0] != "asuid.www.contoso.com. TXT ABC" || got[1] != "asuid.www.contoso.com. TXT "+strings.Repeat("x", 300) {
				t.Errorf("TXT: %q", got)
			}
			r = query(t, s, proto, "nothere.contoso.com", dns.TypeA)
			if r.Rcode != dns.RcodeNameError {
				t.Errorf("unknown name: rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
			}
			r = query(t, s, proto, "app.localhost", dns.TypeTXT)
			if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
				t.Errorf("NODATA: rcode %s, %d answers", dns.RcodeToString[r.Rcode], len(r.Answer))
			}
		})
	}

	s.Remove("www.contoso.com.")
	if r := query(t, s, "udp", "www.contoso.com", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("after Remove: rcode %s", dns.RcodeToString[r.Rcode])
	}
}

func TestCNAMELoopEnds(t *testing.T) {
	s := Start(t)
	s.SetCNAME("a.test", "b.test")
	s.SetCNAME("b.test", "a.test")
	r := query(t, s, "udp", "a.test", dns.TypeA)
	if r.Rcode != dns.RcodeServerFailure || len(r.Answer) > maxChain+1 {
		t.Errorf("loop: rcode %s, %d answers", dns.RcodeToString[r.Rcode], len(r.Answer))
	}
}

// TestTruncation: an answer too big for UDP comes truncated, whole over TCP.
func TestTruncation(t *testing.T) {
	s := Start(t)
	var many []string
	for i := range 40 {
		many = append(many, fmt.Sprintf("10.0.0.%d", i))
	}
	s.SetA("big.test", many...)
	s.SetTXT("big.test", strings.Repeat("y", 600), strings.Repeat("z", 600))
	if r := query(t, s, "udp", "big.test", dns.TypeTXT); !r.Truncated {
		t.Errorf("UDP answer of %d records not truncated", len(r.Answer))
	}
	if r := query(t, s, "tcp", "big.test", dns.TypeTXT); r.Truncated || len(r.Answer) != 2 {
		t.Errorf("TCP: truncated %v, %d records", r.Truncated, len(r.Answer))
	}
}

func TestConcurrent(t *testing.T) {
	s := Start(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				name := fmt.Sprintf("h%d.test", i)
				s.SetA(name, fmt.Sprintf("10.0.%d.%d", i, j))
				s.SetTXT(name, "v")
				c := &dns.Client{Net: "udp"}
				m := new(dns.Msg)
				m.SetQuestion(dns.Fqdn(name), dns.TypeA)
				if _, _, err := c.Exchange(m, s.Addr()); err != nil {
					t.Error(err)
					return
				}
				s.Remove(name)
			}
		}()
	}
	wg.Wait()
}
