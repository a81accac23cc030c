package certs

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/lego"
	"github.com/go-acme/lego/v5/registration"

	"github.com/slipway-dev/slipway"
)

const (
	defaultObtainTimeout = 3 * time.Minute
	acmeRequestTimeout   = 30 * time.Second
	// maxManagedNameLen is App Service's limit for managed certificates
	// (docs/appservice.md §12, doc D-cert).
	maxManagedNameLen = 64
	maxDomains        = 100 // names in one order (Let's Encrypt's limit)
)

// Config configures an [Issuer].
type Config struct {
	// DirectoryURL is the ACME directory, e.g. Let's Encrypt's
	// https://acme-v02.api.letsencrypt.org/directory.
	DirectoryURL string
	// Email is the account's contact; empty registers without one.
	Email string
	// Roots are trusted for the ACME server's HTTPS in addition to the
	// system's (a test CA such as Pebble); nil trusts the system's only.
	Roots *x509.CertPool
	// LoadAccountKey returns the account key saved earlier (PEM), or nil and
	// no error when there is none yet; SaveAccountKey keeps a new one. The
	// integrator seals the key at rest. With both nil, each Issuer registers
	// a fresh account.
	LoadAccountKey func(ctx context.Context) ([]byte, error)
	SaveAccountKey func(ctx context.Context, keyPEM []byte) error
	// Logger receives the issuer's own records; nil discards them.
	Logger *slog.Logger
	// Timeout bounds one Obtain; zero means three minutes.
	Timeout time.Duration
	// TLSALPN also offers the TLS-ALPN-01 challenge, which the front door
	// answers through Challenges.GetCertificate. ACME servers pick it before
	// HTTP-01 when both are offered.
	TLSALPN bool
}

// Issuer obtains certificates from an ACME server, answering its challenges
// through its [Challenges]. It registers (or finds) its account on first use.
type Issuer struct {
	cfg        Config
	challenges *Challenges
	log        *slog.Logger

	mu     sync.Mutex // serialises orders and guards client
	client *lego.Client
}

// NewIssuer returns an Issuer; it does no I/O until the first Obtain.
func NewIssuer(cfg Config) (*Issuer, error) {
	if cfg.DirectoryURL == "" {
		return nil, errors.New("certs: ACME directory URL is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultObtainTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Issuer{cfg: cfg, challenges: NewChallenges(), log: log}, nil
}

// Challenges returns the challenge answers the front door must serve: its
// ServeHTTP for /.well-known/acme-challenge/ on every bound host, and its
// GetCertificate for TLS handshakes offering the acme-tls/1 protocol.
func (i *Issuer) Challenges() *Challenges { return i.challenges }

// Obtain orders a certificate for domains (the first becomes the subject)
// and returns it once the ACME server has validated every name. A failed
// validation is a *slipway.Error (EINVALID) naming the names and carrying
// the ACME server's explanation; a server that cannot be reached is
// EUNAVAILABLE.
func (i *Issuer) Obtain(ctx context.Context, domains []string) (*Cert, error) {
	names, err := checkDomains(domains)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, i.cfg.Timeout)
	defer cancel()

	i.mu.Lock()
	defer i.mu.Unlock()
	client, err := i.clientLocked(ctx)
	if err != nil {
		return nil, slipway.Errorf(slipway.EUNAVAILABLE, "The ACME server at %s cannot be used: %v", i.cfg.DirectoryURL, problemText(err))
	}
	i.log.Info("requesting certificate", "domains", names)
	res, err := client.Certificate.Obtain(ctx, certificate.ObtainRequest{
		Domains: names,
		Bundle:  true,
		KeyType: certcrypto.RSA2048,
	})
	if err != nil {
		return nil, explain(ctx, names, err)
	}
	c, err := FromPEM(res.Certificate, res.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("certs: certificate from ACME server: %w", err)
	}
	i.log.Info("certificate issued", "domains", names, "thumbprint", c.Thumbprint, "not_after", c.NotAfter)
	return c, nil
}

func checkDomains(domains []string) ([]string, error) {
	if len(domains) == 0 || len(domains) > maxDomains {
		return nil, slipway.Errorf(slipway.EINVALID, "A managed certificate needs between 1 and %d host names.", maxDomains)
	}
	names := make([]string, 0, len(domains))
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if strings.Contains(d, "*") {
			return nil, slipway.Errorf(slipway.EINVALID, "App Service Managed Certificates do not support wildcard host names (%s).", d)
		}
		if len(d) > maxManagedNameLen {
			return nil, slipway.Errorf(slipway.EINVALID, "App Service Managed Certificates support host names of at most %d characters; %s is longer.", maxManagedNameLen, d)
		}
		if !validHostName(d) {
			return nil, slipway.Errorf(slipway.EINVALID, "%q is not a valid host name.", d)
		}
		names = append(names, d)
	}
	return names, nil
}

// validHostName accepts letters, digits and hyphens in dot-separated labels
// of 1 to 63 characters, and at least two labels.
func validHostName(s string) bool {
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// explain turns lego's error into one a user can act on.
func explain(ctx context.Context, names []string, err error) error {
	var perDomain interface{ Has(string) bool }
	var pd *acme.ProblemDetails
	hasProblem := errors.As(err, &pd)
	if errors.As(err, &perDomain) && hasProblem {
		var failed []string
		for _, n := range names {
			if perDomain.Has(n) {
				failed = append(failed, n)
			}
		}
		if len(failed) == 0 {
			failed = names
		}
		return slipway.Errorf(slipway.EINVALID, "The ACME server could not validate %s: %s", strings.Join(failed, ", "), problemText(err))
	}
	if hasProblem {
		return slipway.Errorf(slipway.EINVALID, "The ACME server refused the certificate for %s: %s", strings.Join(names, ", "), problemText(err))
	}
	if ctx.Err() != nil {
		return slipway.Errorf(slipway.EUNAVAILABLE, "Issuing the certificate for %s did not finish in time: %v", strings.Join(names, ", "), err)
	}
	return slipway.Errorf(slipway.EUNAVAILABLE, "The certificate for %s could not be issued: %v", strings.Join(names, ", "), err)
}

// problemText is the ACME server's own words when err carries a problem
// document (RFC 8555 §6.7), else err's text.
func problemText(err error) string {
	var pd *acme.ProblemDetails
	if !errors.As(err, &pd) {
		return err.Error()
	}
	text := pd.Detail
	for _, sub := range pd.SubProblems {
		text += "; " + sub.Identifier.Value + ": " + sub.Detail
	}
	if text == "" {
		text = pd.Type
	}
	return text
}

// clientLocked returns the ACME client, creating it and registering the
// account on first use. i.mu must be held.
func (i *Issuer) clientLocked(ctx context.Context) (*lego.Client, error) {
	if i.client != nil {
		return i.client, nil
	}
	key, err := i.accountKey(ctx)
	if err != nil {
		return nil, err
	}
	u := &user{email: i.cfg.Email, key: key}
	lc := lego.NewConfig(u)
	lc.CADirURL = i.cfg.DirectoryURL
	lc.HTTPClient = i.httpClient()
	lc.UserAgent = "slipway"
	lc.Certificate.Timeout = i.cfg.Timeout
	client, err := lego.NewClient(lc)
	if err != nil {
		return nil, err
	}
	if err := client.Challenge.SetHTTP01Provider(i.challenges); err != nil {
		return nil, err
	}
	if i.cfg.TLSALPN {
		if err := client.Challenge.SetTLSALPN01Provider(i.challenges.tlsALPN()); err != nil {
			return nil, err
		}
	}
	// Registering with a key the server knows returns the existing account
	// (RFC 8555 §7.3.1), so this is also how a restart finds its account.
	reg, err := client.Registration.Register(ctx, registration.RegisterOptions{TermsOfServiceAgreed: true})
	if err != nil {
		return nil, fmt.Errorf("register ACME account: %w", err)
	}
	u.reg = reg
	i.log.Info("ACME account ready", "account", reg.Location)
	i.client = client
	return client, nil
}

func (i *Issuer) accountKey(ctx context.Context) (crypto.Signer, error) {
	if i.cfg.LoadAccountKey != nil {
		data, err := i.cfg.LoadAccountKey(ctx)
		if err != nil {
			return nil, fmt.Errorf("load ACME account key: %w", err)
		}
		if len(data) > 0 {
			b, _ := pem.Decode(data)
			if b == nil {
				return nil, errors.New("load ACME account key: not PEM")
			}
			return parseKey(b.Bytes)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if i.cfg.SaveAccountKey != nil {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := i.cfg.SaveAccountKey(ctx, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
			return nil, fmt.Errorf("save ACME account key: %w", err)
		}
	}
	return key, nil
}

// httpClient talks to the ACME server with bounded requests, trusting the
// system roots and cfg.Roots.
func (i *Issuer) httpClient() *http.Client {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if extra := i.cfg.Roots; extra != nil {
		// A CertPool cannot be merged into the system's, so verify by hand:
		// the standard library's own pattern for custom verification
		// (crypto/tls, Config.VerifyConnection example).
		tlsConf.InsecureSkipVerify = true
		tlsConf.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("certs: ACME server sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			opts := x509.VerifyOptions{DNSName: cs.ServerName, Intermediates: inter, Roots: extra}
			_, err := cs.PeerCertificates[0].Verify(opts)
			if err == nil {
				return nil
			}
			opts.Roots = nil // the system's
			if _, err2 := cs.PeerCertificates[0].Verify(opts); err2 == nil {
				return nil
			}
			return err
		}
	}
	return &http.Client{
		Timeout: acmeRequestTimeout,
		Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			TLSClientConfig:       tlsConf,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: acmeRequestTimeout,
			MaxIdleConnsPerHost:   2,
		},
	}
}

// user is lego's view of the ACME account.
type user struct {
	email string
	key   crypto.Signer
	reg   *acme.ExtendedAccount
}

func (u *user) GetEmail() string                       { return u.email }
func (u *user) GetRegistration() *acme.ExtendedAccount { return u.reg }
func (u *user) GetPrivateKey() crypto.Signer           { return u.key }

var _ registration.User = (*user)(nil)
