// Package pki owns Slipway's own certificate authority: a root created at
// first start and kept in a directory (the certificate in clear, the key
// sealed at rest), and the short-lived leaf certificates it issues on demand
// for the platform's names, so that every endpoint can serve TLS that clients
// verify with only the platform root added to their trust store. As on App
// Service (*.azurewebsites.net, *.scm.azurewebsites.net), a leaf is a
// wildcard per zone wherever clients accept one, so the names clients make
// up cannot make it generate a key per handshake.
//
// The root carries critical name constraints: it may vouch only for the
// platform's base domain and its subdomains, the Azure names apps reach from
// inside their sandboxes, and loopback and link-local addresses. A client
// that trusts the root therefore trusts nothing else because of it, and
// [CA.Permits] applies the same rule before anything is signed.
//
// The root is never replaced silently: a key that cannot be read or opened
// is an error, because a new root would break every client that trusts the
// old one.
package pki

import (
	"bytes"
	"container/list"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/internal/atomicfile"
)

// File names inside Config.Dir.
const (
	certFile        = "ca.pem"     // the root certificate, public
	sealedKeyFile   = "ca.key.enc" // the root key, sealed with Config.Seal
	unsealedKeyFile = "ca.key"     // the root key in clear (only when Config.Seal is nil: tests)
)

const (
	rootLifetime        = 10 * 365 * 24 * time.Hour
	defaultLeafLifetime = 7 * 24 * time.Hour
	// backdate absorbs clock skew between the platform and its clients.
	backdate = 5 * time.Minute
	// maxCachedLeaves bounds the leaf cache: SNI names come from clients, so
	// a flood of made-up subdomains must not grow memory without bound.
	maxCachedLeaves = 10000
	// maxDepth is how many labels below its zone (the domain, or one of the
	// Azure names the root may vouch for) a name may lie. The platform's
	// deepest names are two below: <app>.scm.<domain>,
	// <account>.blob.<domain>, <account>.web.<domain>, <vault>.vault.<domain>, and
	// <app>.scm.azurewebsites.net, <account>.blob.core.windows.net.
	maxDepth = 2
	// issueBurst and issuePerSecond bound how fast new leaves (each with a
	// fresh key) are issued: names that share no wildcard come from
	// clients too, and a flood of them must neither burn the CPU nor churn
	// the cache. The platform itself needs a handful per zone and app.
	issueBurst     = 50
	issuePerSecond = 5
)

// azureNames are the Azure service domains apps reach from inside their
// sandboxes; the platform may later answer for them.
var azureNames = []string{
	"core.windows.net",
	"azurewebsites.net",
	"management.azure.com",
	"login.microsoftonline.com",
	"vault.azure.net",
	"postgres.database.azure.com",
	"redis.cache.windows.net",
}

// permittedCIDRs are the addresses the root may vouch for: loopback and the
// link-local range of the instances' gateway.
var permittedCIDRs = []string{"127.0.0.0/8", "::1/128", "169.254.0.0/16"}

// Config configures a CA.
type Config struct {
	// Dir holds ca.pem (the root certificate, public) and ca.key.enc (the
	// root key, sealed). It is created with mode 0700 if missing.
	Dir string
	// Domain is the platform's base domain, e.g. "localhost".
	Domain string
	// Seal and Open encrypt and decrypt the root key at rest; the server
	// passes the store's master-key AES-GCM. Both nil means the key is
	// stored unencrypted as ca.key with mode 0600 — for tests only.
	Seal func(plain []byte) ([]byte, error)
	Open func(sealed []byte) ([]byte, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives lifecycle records; nil discards them.
	Logger *slog.Logger
	// LeafLifetime is how long issued leaves are valid; 0 means 7 days.
	// Cached leaves are renewed when less than a third of it is left.
	LeafLifetime time.Duration
}

// CA is the platform's certificate authority. It is safe for concurrent use.
type CA struct {
	root     *x509.Certificate
	rootDER  []byte
	rootPEM  []byte
	key      *ecdsa.PrivateKey
	domain   string
	dnsNames []string     // the root's PermittedDNSDomains
	ipNets   []*net.IPNet // the root's PermittedIPRanges
	now      func() time.Time
	logger   *slog.Logger
	lifetime time.Duration

	mu        sync.Mutex
	maxLeaves int
	leaves    map[string]*list.Element // cache key → element holding *cachedLeaf
	order     *list.List               // least recently served first
	issuance  bucket                   // new leaves
}

// errTooManyLeaves is cached's refusal when the issuance bucket is empty.
var errTooManyLeaves = errors.New("too many new certificates were asked for in a short time; try again in a few seconds")

// bucket is a token bucket on the CA's clock. The CA's lock guards it.
type bucket struct {
	tokens, burst, perSecond float64
	last                     time.Time
}

// take reports whether a token was left at now, and takes it.
func (b *bucket) take(now time.Time) bool {
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.perSecond)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

type cachedLeaf struct {
	name   string
	cert   *tls.Certificate
	renew  time.Time // when less than a third of the lifetime is left
	expiry time.Time
}

// Open loads the CA from cfg.Dir, or creates it there at first start: an
// ECDSA P-256 root valid for ten years with critical name constraints. Both
// files are written atomically, the key before the certificate.
func Open(cfg Config) (*CA, error) {
	if cfg.Dir == "" {
		return nil, errors.New("opening CA: no directory")
	}
	domain, ok := normalizeName(cfg.Domain)
	if !ok {
		return nil, fmt.Errorf("opening CA: %q is not a valid domain name", cfg.Domain)
	}
	if (cfg.Seal == nil) != (cfg.Open == nil) {
		return nil, errors.New("opening CA: Seal and Open must be set together")
	}
	c := &CA{
		domain:    domain,
		now:       cfg.Now,
		logger:    cfg.Logger,
		lifetime:  cfg.LeafLifetime,
		maxLeaves: maxCachedLeaves,
		leaves:    make(map[string]*list.Element),
		order:     list.New(),
		issuance:  bucket{tokens: issueBurst, burst: issueBurst, perSecond: issuePerSecond},
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.lifetime == 0 {
		c.lifetime = defaultLeafLifetime
	}
	if c.lifetime < 0 {
		return nil, fmt.Errorf("opening CA: negative leaf lifetime %v", c.lifetime)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("opening CA: creating directory: %w", err)
	}

	keyName, otherKeyName := sealedKeyFile, unsealedKeyFile
	if cfg.Seal == nil {
		keyName, otherKeyName = unsealedKeyFile, sealedKeyFile
	}
	certPath := filepath.Join(cfg.Dir, certFile)
	keyPath := filepath.Join(cfg.Dir, keyName)
	certExists, err := exists(certPath)
	if err != nil {
		return nil, fmt.Errorf("opening CA: %w", err)
	}
	keyExists, err := exists(keyPath)
	if err != nil {
		return nil, fmt.Errorf("opening CA: %w", err)
	}
	if other, err := exists(filepath.Join(cfg.Dir, otherKeyName)); err != nil {
		return nil, fmt.Errorf("opening CA: %w", err)
	} else if other && !keyExists {
		if cfg.Seal == nil {
			return nil, fmt.Errorf("opening CA: the root key in %s is sealed but no Open function was given", cfg.Dir)
		}
		return nil, fmt.Errorf("opening CA: the root key in %s is stored in clear (%s), but sealing is configured; refusing to replace or migrate it", cfg.Dir, otherKeyName)
	}

	switch {
	case certExists && keyExists:
		err = c.load(certPath, keyPath, cfg.Open)
	case !certExists && !keyExists:
		err = c.create(domain, certPath, keyPath, cfg.Seal)
	case certExists:
		err = fmt.Errorf("the root certificate %s exists but its key %s is missing; restore the key from a backup (a new root would break every client that trusts the old one)", certPath, keyPath)
	default:
		err = fmt.Errorf("the root key %s exists but its certificate %s is missing; restore the certificate from a backup, or remove the key to create a new root", keyPath, certPath)
	}
	if err != nil {
		return nil, fmt.Errorf("opening CA: %w", err)
	}
	c.rootPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.rootDER})
	c.dnsNames = c.root.PermittedDNSDomains
	c.ipNets = c.root.PermittedIPRanges
	if !c.Permits(domain) {
		return nil, fmt.Errorf("opening CA: the root in %s may not vouch for the domain %q (its names are %s); the domain changed since the root was created", cfg.Dir, domain, strings.Join(c.dnsNames, ", "))
	}
	return c, nil
}

// create makes a new root key and certificate and writes them.
func (c *CA) create(domain, certPath, keyPath string, seal func([]byte) ([]byte, error)) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generating root key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return err
	}
	var ipNets []*net.IPNet
	for _, s := range permittedCIDRs {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return fmt.Errorf("parsing %s: %w", s, err)
		}
		ipNets = append(ipNets, n)
	}
	now := c.now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   "Slipway Platform Root CA " + domain,
			Organization: []string{"Slipway"},
		},
		NotBefore:                   now.Add(-backdate),
		NotAfter:                    now.Add(rootLifetime),
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLen:                  0,
		MaxPathLenZero:              true,
		PermittedDNSDomainsCritical: true,
		// Go's rule: a constraint without a leading dot matches the name
		// itself and every subdomain, which is what the platform needs.
		PermittedDNSDomains: append([]string{domain}, azureNames...),
		PermittedIPRanges:   ipNets,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return fmt.Errorf("creating root certificate: %w", err)
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("parsing root certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encoding root key: %w", err)
	}
	var keyData []byte
	if seal != nil {
		if keyData, err = seal(keyDER); err != nil {
			return fmt.Errorf("sealing root key: %w", err)
		}
	} else {
		keyData = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	}
	// The key goes first: a certificate on disk always has its key.
	if err := atomicfile.WriteFile(keyPath, keyData, 0o600); err != nil {
		return fmt.Errorf("writing root key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := atomicfile.WriteFile(certPath, certPEM, 0o644); err != nil {
		return fmt.Errorf("writing root certificate: %w", err)
	}
	c.root, c.rootDER, c.key = root, der, key
	c.logger.Info("created platform root CA", "dir", filepath.Dir(certPath), "subject", root.Subject.CommonName, "not_after", root.NotAfter)
	return nil
}

// load reads an existing root and checks that its key belongs to it.
func (c *CA) load(certPath, keyPath string, open func([]byte) ([]byte, error)) error {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return fmt.Errorf("reading root certificate: %w", err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return fmt.Errorf("reading root certificate %s: no PEM certificate in it", certPath)
	}
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("reading root certificate %s: %w", certPath, err)
	}
	if !root.IsCA || !root.BasicConstraintsValid {
		return fmt.Errorf("reading root certificate %s: it is not a CA certificate", certPath)
	}
	keyData, err := os.ReadFile(keyPath)
	if err != nil {
		return fmt.Errorf("reading root key: %w", err)
	}
	var keyDER []byte
	if open != nil {
		if keyDER, err = open(keyData); err != nil {
			return fmt.Errorf("opening sealed root key %s (wrong master key?): %w", keyPath, err)
		}
	} else {
		kb, _ := pem.Decode(keyData)
		if kb == nil || kb.Type != "PRIVATE KEY" {
			return fmt.Errorf("reading root key %s: no PEM private key in it", keyPath)
		}
		keyDER = kb.Bytes
	}
	parsed, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return fmt.Errorf("reading root key %s: %w", keyPath, err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return fmt.Errorf("reading root key %s: it is a %T, want an ECDSA key", keyPath, parsed)
	}
	if !key.PublicKey.Equal(root.PublicKey) {
		return fmt.Errorf("reading root key %s: it does not belong to the certificate %s", keyPath, certPath)
	}
	now := c.now()
	if now.After(root.NotAfter) {
		return fmt.Errorf("the root certificate %s expired on %s; clients will reject every leaf it signs", certPath, root.NotAfter.Format(time.RFC3339))
	}
	if root.NotAfter.Sub(now) < 365*24*time.Hour {
		c.logger.Warn("platform root CA expires soon", "not_after", root.NotAfter)
	}
	c.root, c.rootDER, c.key = root, block.Bytes, key
	return nil
}

// RootPEM returns the root certificate in PEM form, for clients to trust.
func (c *CA) RootPEM() []byte { return bytes.Clone(c.rootPEM) }

// Root returns the root certificate. Callers must not modify it.
func (c *CA) Root() *x509.Certificate { return c.root }

// Permits reports whether the root may vouch for name: a DNS name equal to
// one of the root's permitted domains or a subdomain of it, or an IP address
// inside its permitted ranges — the rule of its name constraints. Names are
// compared case-insensitively, a trailing dot ignored; wildcards and
// malformed names are never permitted.
func (c *CA) Permits(name string) bool {
	if ip := net.ParseIP(name); ip != nil {
		return c.permitsIP(ip)
	}
	n, ok := normalizeName(name)
	if !ok {
		return false
	}
	for _, d := range c.dnsNames {
		if strings.HasPrefix(d, ".") { // subdomains only
			if strings.HasSuffix(n, d) {
				return true
			}
			continue
		}
		if n == d || strings.HasSuffix(n, "."+d) {
			return true
		}
	}
	return false
}

func (c *CA) permitsIP(ip net.IP) bool {
	for _, n := range c.ipNets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// GetCertificate is for tls.Config.GetCertificate. As App Service serves
// *.azurewebsites.net and *.scm.azurewebsites.net, it serves one wildcard
// leaf per zone: *.scm.localhost for app.scm.localhost and every other
// name in that zone, issued on first use and cached. A name that is itself
// one of the root's domains (the bare domain, management.azure.com) gets a
// leaf for exactly that name, and so does a name right below a domain of
// one label (app.localhost): OpenSSL, and with it Python and curl, refuse
// a wildcard with fewer than two labels after it. For an empty or IP
// ServerName it serves a leaf for the bare domain with the IP SANs
// 127.0.0.1 and ::1.
//
// It returns an error naming the name, and the handshake fails, for a
// name the root does not permit, for one more than two labels below its
// zone, and while new leaves are being asked for faster than the CA
// issues them (50 at once, then 5 a second); a cached leaf due for renewal
// is then served until it expires.
func (c *CA) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	sni := hello.ServerName
	if sni == "" || net.ParseIP(sni) != nil {
		return c.cached("", []string{c.domain}, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback})
	}
	name, ok := normalizeName(sni)
	if !ok || !c.Permits(name) {
		return nil, fmt.Errorf("serving TLS for %q: the platform root does not cover this name", sni)
	}
	leafName, err := c.leafName(name)
	if err != nil {
		return nil, fmt.Errorf("serving TLS for %q: %w", sni, err)
	}
	cert, err := c.cached(leafName, []string{leafName}, nil)
	if err != nil {
		return nil, fmt.Errorf("serving TLS for %q: %w", sni, err)
	}
	return cert, nil
}

// leafName returns the DNS name of the leaf that serves name, a name the
// root permits: name itself when it is one of the root's domains or lies
// right below a domain of one label, else the wildcard of its parent. It
// refuses a name more than maxDepth labels below the root's domain it
// lies under.
func (c *CA) leafName(name string) (string, error) {
	zone := ""
	for _, d := range c.dnsNames {
		d = strings.TrimPrefix(d, ".")
		if (name == d || strings.HasSuffix(name, "."+d)) && len(d) > len(zone) {
			zone = d
		}
	}
	if depth := strings.Count(name, ".") - strings.Count(zone, "."); name != zone && depth > maxDepth {
		return "", fmt.Errorf("it lies %d labels below %s; the platform's names lie at most %d below it (<app>.scm.%s)", depth, zone, maxDepth, zone)
	}
	_, parent, _ := strings.Cut(name, ".")
	if name == zone || !strings.Contains(parent, ".") {
		return name, nil
	}
	return "*." + parent, nil
}

// cached returns the cached leaf for the names, issuing a new one when
// there is none or less than a third of its lifetime is left, if the
// issuance bucket allows. Issuing holds the lock: it takes well under a
// millisecond, the bucket bounds how often, and it keeps one leaf per
// name. The cache evicts the leaf served least recently.
func (c *CA) cached(key string, names []string, ips []net.IP) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	e, found := c.leaves[key]
	var old *cachedLeaf
	if found {
		c.order.MoveToBack(e)
		if old = e.Value.(*cachedLeaf); now.Before(old.renew) {
			return old.cert, nil
		}
	}
	if !c.issuance.take(now) {
		if old != nil && now.Before(old.expiry) {
			return old.cert, nil // renewed when the bucket refills
		}
		return nil, errTooManyLeaves
	}
	cert, err := c.issue(names, ips)
	if err != nil {
		return nil, err
	}
	if found {
		c.order.Remove(e)
	}
	issued := now
	expiry := cert.Leaf.NotAfter
	l := &cachedLeaf{name: key, cert: cert, expiry: expiry, renew: expiry.Add(-expiry.Sub(issued) / 3)}
	c.leaves[key] = c.order.PushBack(l)
	for c.order.Len() > c.maxLeaves {
		oldest := c.order.Front()
		c.order.Remove(oldest)
		delete(c.leaves, oldest.Value.(*cachedLeaf).name)
	}
	c.logger.Debug("issued leaf certificate", "names", names, "not_after", expiry)
	return cert, nil
}

// Issue signs a new leaf for exactly the given DNS names and IP addresses,
// without caching. It refuses any name or address the root does not permit,
// wildcards among them (GetCertificate makes its own).
// The result holds the chain (leaf, root), the leaf's key, and Leaf.
func (c *CA) Issue(names []string, ips []net.IP) (*tls.Certificate, error) {
	if len(names) == 0 && len(ips) == 0 {
		return nil, errors.New("issuing certificate: no names or addresses")
	}
	dns := make([]string, 0, len(names))
	for _, name := range names {
		n, ok := normalizeName(name)
		if !ok || !c.Permits(n) {
			return nil, fmt.Errorf("issuing certificate: the platform root may not vouch for %q", name)
		}
		dns = append(dns, n)
	}
	for _, ip := range ips {
		if !c.permitsIP(ip) {
			return nil, fmt.Errorf("issuing certificate: the platform root may not vouch for %s", ip)
		}
	}
	return c.issue(dns, ips)
}

// issue signs a new leaf for dns and ips, which the caller has checked:
// normalized names the root permits, or wildcards of them.
func (c *CA) issue(dns []string, ips []net.IP) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("issuing certificate: generating key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("issuing certificate: %w", err)
	}
	now := c.now()
	notAfter := now.Add(c.lifetime)
	if notAfter.After(c.root.NotAfter) {
		notAfter = c.root.NotAfter
	}
	var cn string
	if len(dns) > 0 {
		cn = dns[0]
	} else {
		cn = ips[0].String()
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dns,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.root, key.Public(), c.key)
	if err != nil {
		return nil, fmt.Errorf("issuing certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issuing certificate: parsing it: %w", err)
	}
	return &tls.Certificate{
		Certificate: [][]byte{der, c.rootDER},
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}

// normalizeName lowercases name, drops one trailing dot, and reports whether
// the result is a well-formed DNS name (no wildcards).
func normalizeName(name string) (string, bool) {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	if n == "" || len(n) > 253 {
		return "", false
	}
	for label := range strings.SplitSeq(n, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", false
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				return "", false
			}
		}
	}
	return n, true
}

func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generating serial number: %w", err)
	}
	return serial, nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, err
}
