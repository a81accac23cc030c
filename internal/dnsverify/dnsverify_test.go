package dnsverify

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/dnstest"
)

const id = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"

func req(name string) Request {
	return Request{HostName: name, VerificationID: id, DefaultHostName: "myapp.localhost", ExternalIP: "127.0.0.7"}
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name    string
		records func(s *dnstest.Server)
		host    string
		want    string // record type
		wantErr string // message, exactly
	}{
		{"cname and txt", func(s *dnstest.Server) {
			s.SetCNAME("www.contoso.com", "myapp.localhost")
			s.SetTXT("asuid.www.contoso.com", id)
		}, "www.contoso.com", RecordCName, ""},
		{"txt value in lower case", func(s *dnstest.Server) {
			s.SetCNAME("www.contoso.com", "MyApp.Localhost.")
			s.SetTXT("asuid.www.contoso.com", "other", strings.ToLower(id))
		}, "WWW.Contoso.com.", RecordCName, ""},
		{"cname through a chain", func(s *dnstest.Server) {
			s.SetCNAME("www.contoso.com", "edge.contoso.net")
			s.SetCNAME("edge.contoso.net", "myapp.localhost")
			s.SetA("myapp.localhost", "127.0.0.7")
			s.SetTXT("asuid.www.contoso.com", id)
		}, "www.contoso.com", RecordCName, ""},
		{"apex with an A record", func(s *dnstest.Server) {
			s.SetA("contoso.com", "127.0.0.7")
			s.SetTXT("asuid.contoso.com", id)
		}, "contoso.com", RecordA, ""},
		{"txt only: App Service's migration case", func(s *dnstest.Server) {
			s.SetTXT("asuid.new.contoso.com", id)
		}, "new.contoso.com", RecordCName, ""},
		{"wildcard: txt at asuid.<parent>", func(s *dnstest.Server) {
			s.SetCNAME("*.contoso.com", "myapp.localhost")
			s.SetTXT("asuid.contoso.com", id)
		}, "*.contoso.com", RecordCName, ""},
		{"txt missing", func(s *dnstest.Server) {
			s.SetCNAME("www.contoso.com", "myapp.localhost")
		}, "www.contoso.com", "", "A TXT record pointing from asuid.www.contoso.com to " + id + " was not found."},
		{"wildcard txt at the wrong place", func(s *dnstest.Server) {
			s.SetCNAME("*.contoso.com", "myapp.localhost")
			s.SetTXT("asuid.*.contoso.com", id)
		}, "*.contoso.com", "", "A TXT record pointing from asuid.contoso.com to " + id + " was not found."},
		{"txt wrong value", func(s *dnstest.Server) {
			s.SetCNAME("www.contoso.com", "myapp.localhost")
			s.SetTXT("asuid.www.contoso.com", strings.Repeat("0", 64))
		}, "www.contoso.com", "", "A TXT record pointing from asuid.www.contoso.com to " + id + " was not found."},
		{"txt with the id as a prefix", func(s *dnstest.Server) {
			s.SetCNAME("www.contoso.com", "myapp.localhost")
			s.SetTXT("asuid.www.contoso.com", id+"00")
		}, "www.contoso.com", "", "A TXT record pointing from asuid.www.contoso.com to " + id + " was not found."},
		{"cname elsewhere", func(s *dnstest.Server) {
			s.SetCNAME("www.contoso.com", "myapp.azurewebsites.net")
			s.SetTXT("asuid.www.contoso.com", id)
		}, "www.contoso.com", "", "A CNAME record pointing from www.contoso.com to myapp.localhost was not found."},
		{"A record with another IP", func(s *dnstest.Server) {
			s.SetA("contoso.com", "192.0.2.1")
			s.SetTXT("asuid.contoso.com", id)
		}, "contoso.com", "", "An A record pointing from contoso.com to 127.0.0.7 was not found."},
		{"invalid name", func(s *dnstest.Server) {}, "bad_name.contoso.com", "", "The host name 'bad_name.contoso.com' is invalid: use letters, digits and hyphens (internationalized names in their xn-- form), and '*.' only as the first label."},
		{"single label", func(s *dnstest.Server) {}, "localhost", "", "The host name 'localhost' is invalid: it needs a domain, such as www.contoso.com."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := dnstest.Start(t)
			tt.records(s)
			v, err := New(Config{Resolver: s.Addr()})
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(t.Context(), req(tt.host))
			if tt.wantErr != "" {
				if slipway.ErrorCode(err) != slipway.EINVALID || slipway.ErrorMessage(err) != tt.wantErr {
					t.Fatalf("Verify: %v\nwant EINVALID %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Verify = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestResolverDown: nothing listens at the resolver's address; the error
// names the resolver and comes within the timeout.
func TestResolverDown(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close() // nothing answers there now
	v, err := New(Config{Resolver: addr, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = v.Verify(t.Context(), req("www.contoso.com"))
	if slipway.ErrorCode(err) != slipway.EUNAVAILABLE || !strings.Contains(slipway.ErrorMessage(err), "The DNS server "+addr+" did not answer the query for TXT asuid.www.contoso.com") {
		t.Fatalf("Verify: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestSilentResolver: a server that reads queries and never answers costs
// one timeout, not a hang.
func TestSilentResolver(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	v, _ := New(Config{Resolver: pc.LocalAddr().String(), Timeout: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := v.Verify(ctx, req("www.contoso.com")); slipway.ErrorCode(err) != slipway.EUNAVAILABLE {
		t.Fatalf("Verify: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// hostile is a DNS server that answers every query with what fn gives.
func hostile(t *testing.T, fn func(q dns.Question) []dns.RR) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Skipf("TCP twin port busy: %v", err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = fn(r.Question[0])
		if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
			m.Truncate(1232)
		}
		_ = w.WriteMsg(m)
	})
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: ln, Handler: h}
	done := make(chan struct{}, 2)
	go func() { _ = udp.ActivateAndServe(); done <- struct{}{} }()
	go func() { _ = tcp.ActivateAndServe(); done <- struct{}{} }()
	t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown(); <-done; <-done })
	time.Sleep(50 * time.Millisecond) // ActivateAndServe on a given listener starts at once
	return pc.LocalAddr().String()
}

// TestHostileAnswers: answers stuffed with records — thousands of TXT
// strings, records for other names, a CNAME loop — end in a bounded
// refusal, not in a hang, a huge allocation or a false success.
func TestHostileAnswers(t *testing.T) {
	t.Run("huge TXT set", func(t *testing.T) {
		addr := hostile(t, func(q dns.Question) []dns.RR {
			var out []dns.RR
			for range 150 { // ~45 KiB: truncated over UDP, whole over TCP (64 KiB is its limit)
				out = append(out, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 1}, Txt: []string{strings.Repeat("A", 255), strings.Repeat("B", 40)}})
			}
			return out
		})
		v, _ := New(Config{Resolver: addr, Timeout: 2 * time.Second})
		_, err := v.Verify(t.Context(), req("www.contoso.com"))
		if slipway.ErrorCode(err) != slipway.EINVALID || !strings.HasPrefix(slipway.ErrorMessage(err), "A TXT record pointing from") {
			t.Fatalf("Verify: %v", err)
		}
	})
	t.Run("the right TXT for another name", func(t *testing.T) {
		addr := hostile(t, func(q dns.Question) []dns.RR {
			return []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: "asuid.other.example.", Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 1}, Txt: []string{id}}}
		})
		v, _ := New(Config{Resolver: addr})
		if _, err := v.Verify(t.Context(), req("www.contoso.com")); slipway.ErrorCode(err) != slipway.EINVALID {
			t.Fatalf("Verify: %v", err)
		}
	})
	t.Run("CNAME loop", func(t *testing.T) {
		addr := hostile(t, func(q dns.Question) []dns.RR {
			if q.Qtype == dns.TypeTXT {
				return []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 1}, Txt: []string{id}}}
			}
			var out []dns.RR
			for i := range 500 {
				from, to := "a.loop.", "b.loop."
				if i%2 == 1 {
					from, to = to, from
				}
				if i == 0 {
					from = q.Name
				}
				out = append(out, &dns.CNAME{Hdr: dns.RR_Header{Name: from, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 1}, Target: to})
			}
			return out
		})
		v, _ := New(Config{Resolver: addr})
		_, err := v.Verify(t.Context(), req("www.contoso.com"))
		if slipway.ErrorCode(err) != slipway.EINVALID || !strings.HasPrefix(slipway.ErrorMessage(err), "A CNAME record pointing from") {
			t.Fatalf("Verify: %v", err)
		}
	})
}

func TestNewDefaultsToResolvConf(t *testing.T) {
	v, err := New(Config{})
	if err != nil {
		t.Skipf("no usable /etc/resolv.conf here: %v", err)
	}
	if _, _, err := net.SplitHostPort(v.Resolver()); err != nil {
		t.Errorf("Resolver() = %q", v.Resolver())
	}
	if _, err := New(Config{Resolver: "no-port"}); err == nil {
		t.Error("New accepted a resolver without a port")
	}
}
