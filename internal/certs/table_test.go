package certs

import (
	"crypto/tls"
	"strings"
	"sync"
	"testing"
)

func TestTableLookup(t *testing.T) {
	exact, wild, apex, deep := &tls.Certificate{}, &tls.Certificate{}, &tls.Certificate{}, &tls.Certificate{}
	tab := NewTable()
	tab.Replace(map[string]*tls.Certificate{
		"WWW.Contoso.com.":   exact,
		"*.contoso.com":      wild,
		"contoso.com":        apex,
		"*.a.fabrikam.com":   deep,
		"ignored.contoso.io": nil,
	})
	tests := []struct {
		sni  string
		want *tls.Certificate
	}{
		{"www.contoso.com", exact},
		{"WWW.CONTOSO.COM.", exact},
		{"api.contoso.com", wild},      // wildcard, one label
		{"API.Contoso.Com", wild},      // case-insensitive
		{"contoso.com", apex},          // exact beats nothing
		{"a.b.contoso.com", nil},       // wildcard covers one label only
		{"x.a.fabrikam.com", deep},     //
		{"a.fabrikam.com", nil},        // never a bare suffix
		{"fabrikam.com", nil},          //
		{"evilcontoso.com", nil},       // not a subdomain
		{".contoso.com", nil},          // empty first label
		{"*.contoso.com", nil},         // a client cannot ask for the wildcard itself
		{"", nil},                      //
		{".", nil},                     //
		{"ignored.contoso.io", nil},    // nil bindings dropped
		{"www.contoso.com\x00", nil},   // NUL
		{"www.contoso.com..", nil},     // two trailing dots
		{"wWw.cOntoso.com\u00e9", nil}, // non-ASCII
		{strings.Repeat("a", 250) + ".contoso.com", nil},
		{strings.Repeat("a.", 200) + "contoso.com", nil},
	}
	for _, tt := range tests {
		got, ok := tab.Lookup(tt.sni)
		if got != tt.want || ok != (tt.want != nil) {
			t.Errorf("Lookup(%q) = %p, %v; want %p", tt.sni, got, ok, tt.want)
		}
	}
	// GetCertificate: a miss is nil, nil so a caller can fall through.
	if c, err := tab.GetCertificate(&tls.ClientHelloInfo{ServerName: "nope.example"}); c != nil || err != nil {
		t.Errorf("GetCertificate miss = %v, %v", c, err)
	}
}

func TestTableReplaceIsAtomicAndCopies(t *testing.T) {
	one, two := &tls.Certificate{}, &tls.Certificate{}
	tab := NewTable()
	m := map[string]*tls.Certificate{"a.example.com": one}
	tab.Replace(m)
	m["a.example.com"] = two // the caller's map is not the table's
	if c, _ := tab.Lookup("a.example.com"); c != one {
		t.Fatal("Replace did not copy its argument")
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 2000; i++ {
			c, ok := tab.Lookup("a.example.com")
			if !ok || (c != one && c != two) {
				t.Errorf("torn read: %v %v", c, ok)
				return
			}
		}
		close(stop)
	}()
	for i := 0; ; i++ {
		select {
		case <-stop:
			wg.Wait()
			return
		default:
		}
		if i%2 == 0 {
			tab.Replace(map[string]*tls.Certificate{"a.example.com": two})
		} else {
			tab.Replace(map[string]*tls.Certificate{"a.example.com": one})
		}
		if i > 1_000_000 {
			t.Fatal("reader did not finish")
		}
	}
}

func TestTableLookupDoesNotAllocate(t *testing.T) {
	tab := NewTable()
	tab.Replace(map[string]*tls.Certificate{"www.contoso.com": {}, "*.contoso.com": {}})
	for _, sni := range []string{"www.contoso.com", "API.Contoso.com", "nope.example.org"} {
		if n := testing.AllocsPerRun(100, func() { tab.Lookup(sni) }); n != 0 {
			t.Errorf("Lookup(%q) allocates %v times", sni, n)
		}
	}
}

func BenchmarkTableLookup(b *testing.B) {
	tab := NewTable()
	m := map[string]*tls.Certificate{}
	for _, n := range []string{"www.contoso.com", "*.contoso.com", "shop.fabrikam.com", "*.apps.example.net"} {
		m[n] = &tls.Certificate{}
	}
	tab.Replace(m)
	for _, sni := range []string{"www.contoso.com", "api.contoso.com", "Mixed.Case.apps.example.net", "miss.example.org"} {
		b.Run(sni, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tab.Lookup(sni)
			}
		})
	}
}
