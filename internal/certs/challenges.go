package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/challenge/http01"
	"github.com/go-acme/lego/v5/challenge/tlsalpn01"
)

// ACMETLSProtocol is the ALPN protocol of the TLS-ALPN-01 challenge (RFC
// 8737). A front door answering it lists it in tls.Config.NextProtos and
// closes such connections after the handshake.
const ACMETLSProtocol = tlsalpn01.ACMETLS1Protocol

const maxTokenLen = 256 // RFC 8555 tokens are 43 characters; anything far longer is not one

// Challenges holds the answers to the ACME challenges under way, for the
// front door to serve. It implements lego's challenge.Provider for HTTP-01.
// Its methods are safe for concurrent use.
type Challenges struct {
	mu   sync.RWMutex
	http map[httpChallenge]string    // → key authorization
	alpn map[string]*tls.Certificate // host → TLS-ALPN-01 certificate
}

type httpChallenge struct{ host, token string }

var _ challenge.Provider = (*Challenges)(nil)

// NewChallenges returns an empty set of challenge answers.
func NewChallenges() *Challenges {
	return &Challenges{http: map[httpChallenge]string{}, alpn: map[string]*tls.Certificate{}}
}

// Present makes the HTTP-01 answer for domain and token available.
func (c *Challenges) Present(_ context.Context, domain, token, keyAuth string) error {
	if !validToken(token) {
		return errors.New("certs: ACME server sent a malformed token")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.http[httpChallenge{normalHost(domain), token}] = keyAuth
	return nil
}

// CleanUp withdraws the HTTP-01 answer.
func (c *Challenges) CleanUp(_ context.Context, domain, token, _ string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.http, httpChallenge{normalHost(domain), token})
	return nil
}

// ServeHTTP answers GET (or HEAD) /.well-known/acme-challenge/<token> with
// the key authorization when the request's Host is the name being validated
// with that token, and 404 otherwise. The response never echoes the request.
func (c *Challenges) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	token, ok := strings.CutPrefix(r.URL.Path, http01.PathPrefix)
	var keyAuth string
	if ok && validToken(token) {
		c.mu.RLock()
		keyAuth, ok = c.http[httpChallenge{normalHost(r.Host), token}]
		c.mu.RUnlock()
	} else {
		ok = false
	}
	if !ok {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, keyAuth)
}

// GetCertificate answers a TLS-ALPN-01 validation: for a handshake offering
// the acme-tls/1 protocol it returns the challenge certificate of the
// server name, or an error when there is none; for any other handshake it
// returns nil, nil so that the caller serves its usual certificate.
func (c *Challenges) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if !slices.Contains(hello.SupportedProtos, ACMETLSProtocol) {
		return nil, nil
	}
	c.mu.RLock()
	cert, ok := c.alpn[normalHost(hello.ServerName)]
	c.mu.RUnlock()
	if !ok {
		return nil, errors.New("certs: no TLS-ALPN-01 challenge for this name")
	}
	return cert, nil
}

// tlsALPN is the challenge.Provider for TLS-ALPN-01.
func (c *Challenges) tlsALPN() challenge.Provider { return alpnProvider{c} }

type alpnProvider struct{ c *Challenges }

func (p alpnProvider) Present(_ context.Context, domain, _, keyAuth string) error {
	cert, err := tlsalpn01.ChallengeCert(domain, keyAuth)
	if err != nil {
		return err
	}
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	p.c.alpn[normalHost(domain)] = cert
	return nil
}

func (p alpnProvider) CleanUp(_ context.Context, domain, _, _ string) error {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	delete(p.c.alpn, normalHost(domain))
	return nil
}

// normalHost lower-cases a host, dropping a port and a trailing dot.
func normalHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// validToken accepts base64url tokens (RFC 8555 §8.1) of bounded length.
func validToken(t string) bool {
	if len(t) == 0 || len(t) > maxTokenLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
