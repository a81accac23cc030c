package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	legolog "github.com/go-acme/lego/v5/log"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/certs"
	"github.com/slipway-dev/slipway/internal/store"
)

// certManager serves custom domains' certificates: the SNI table the TLS
// listeners consult before the platform CA, managed certificates obtained
// and renewed through ACME (when --acme-directory is set), and the HTTP-01
// answers the front door routes to. It implements arm.Certificates and
// certs.ManagedStore.
type certManager struct {
	st      *store.Store
	table   *certs.Table
	issuer  *certs.Issuer // nil without --acme-directory
	log     *slog.Logger
	changed chan struct{} // a renewal stored a certificate (tests wait on logs, not this)
}

// newCertManager opens the ACME issuer when a directory is configured.
func newCertManager(ctx context.Context, cfg Config, st *store.Store, dataDir string, log *slog.Logger) (*certManager, error) {
	m := &certManager{st: st, table: certs.NewTable(), log: log}
	if cfg.ACMEDirectory != "" {
		var roots *x509.CertPool
		if cfg.ACMERoots != "" {
			pem, err := os.ReadFile(cfg.ACMERoots)
			if err != nil {
				return nil, fmt.Errorf("reading --acme-ca-roots: %w", err)
			}
			if roots, err = x509.SystemCertPool(); err != nil {
				roots = x509.NewCertPool()
			}
			if !roots.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--acme-ca-roots %s holds no PEM certificate", cfg.ACMERoots)
			}
		}
		keyPath := filepath.Join(dataDir, "pki", "acme-account.key")
		iss, err := certs.NewIssuer(certs.Config{
			DirectoryURL: cfg.ACMEDirectory, Email: cfg.ACMEEmail, Roots: roots, Logger: log, Timeout: 2 * time.Minute,
			LoadAccountKey: func(context.Context) ([]byte, error) { return readSealed(st, keyPath, "pki/acme-account.key") },
			SaveAccountKey: func(_ context.Context, key []byte) error {
				return writeSealed(st, keyPath, "pki/acme-account.key", key)
			},
		})
		if err != nil {
			return nil, fmt.Errorf("opening the ACME issuer: %w", err)
		}
		m.issuer = iss
		// lego logs through a process-wide logger of its own (stdout by
		// default); send it to the server's log.
		legolog.SetDefault(log.With("component", "acme"))
	}
	if err := m.Changed(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// GetCertificate serves the certificate bound to a custom name, then the
// platform CA's leaves for the platform's names.
func (m *certManager) GetCertificate(next func(*tls.ClientHelloInfo) (*tls.Certificate, error)) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if c, ok := m.table.Lookup(hello.ServerName); ok {
			return c, nil
		}
		return next(hello)
	}
}

// Obtain implements arm.Certificates.
func (m *certManager) Obtain(ctx context.Context, host string) (*certs.Cert, error) {
	if m.issuer == nil {
		return nil, errors.New("this server has no ACME certificate authority: start it with --acme-directory <URL>")
	}
	return m.issuer.Obtain(ctx, []string{host})
}

// Changed rebuilds the SNI table from the store's bindings.
func (m *certManager) Changed(ctx context.Context) error {
	bindings, err := m.st.SNIBindings(ctx)
	if err != nil {
		return err
	}
	all, err := m.st.Certificates(ctx, "")
	if err != nil {
		return err
	}
	// A binding serves its own group's certificate: another group may
	// hold a copy of the same thumbprint (with a chain of its choosing).
	byThumb := map[string]store.Certificate{}
	for _, c := range all {
		byThumb[groupThumbprint(c.ResourceGroup, c.Thumbprint)] = c
	}
	table := map[string]*tls.Certificate{}
	for _, b := range bindings {
		c, ok := byThumb[groupThumbprint(b.ResourceGroup, b.Thumbprint)]
		if !ok {
			m.log.Warn("a host name is bound to a certificate that no longer exists", "host", b.HostName, "thumbprint", b.Thumbprint)
			continue
		}
		parsed, err := certs.FromPEM(c.CertPEM, c.KeyPEM)
		if err != nil {
			m.log.Error("a bound certificate cannot be loaded", "host", b.HostName, "certificate", c.Name, "err", err)
			continue
		}
		t := parsed.TLS
		table[b.HostName] = &t
	}
	m.table.Replace(table)
	return nil
}

// groupThumbprint keys a certificate by its resource group and thumbprint.
func groupThumbprint(rg, thumbprint string) string {
	return strings.ToLower(rg) + "/" + strings.ToUpper(thumbprint)
}

// Challenges is the HTTP-01 handler for the front door (nil without ACME).
func (m *certManager) Challenges() *certs.Challenges {
	if m.issuer == nil {
		return nil
	}
	return m.issuer.Challenges()
}

// ManagedCertificates implements certs.ManagedStore.
func (m *certManager) ManagedCertificates(ctx context.Context) ([]certs.Managed, error) {
	all, err := m.st.Certificates(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []certs.Managed
	for _, c := range all {
		if !c.Managed() {
			continue
		}
		parsed, err := certs.FromPEM(c.CertPEM, c.KeyPEM)
		if err != nil {
			return nil, fmt.Errorf("loading managed certificate %s: %w", c.Name, err)
		}
		out = append(out, certs.Managed{ID: c.ResourceGroup + "/" + c.Name, Domains: []string{c.CanonicalName}, Cert: parsed})
	}
	return out, nil
}

// SaveRenewed stores a renewed managed certificate and moves the
// bindings of the old one to it, as App Service renews managed
// certificates in place.
func (m *certManager) SaveRenewed(ctx context.Context, id string, c *certs.Cert) error {
	rg, name, _ := strings.Cut(id, "/")
	old, err := m.st.Certificate(ctx, rg, name)
	if err != nil {
		return err
	}
	chain, key := c.PEM()
	updated := old
	updated.Thumbprint, updated.Subject, updated.Issuer, updated.HostNames = c.Thumbprint, c.SubjectName, c.Issuer, c.HostNames
	updated.NotBefore, updated.NotAfter, updated.CertPEM, updated.KeyPEM, updated.LastError = c.NotBefore, c.NotAfter, chain, key, ""
	if _, err := m.st.PutCertificate(ctx, updated); err != nil {
		return err
	}
	bindings, err := m.st.SNIBindings(ctx)
	if err != nil {
		return err
	}
	for _, b := range bindings {
		if !strings.EqualFold(b.Thumbprint, old.Thumbprint) || !strings.EqualFold(b.ResourceGroup, rg) {
			continue
		}
		site, err := m.st.FindSite(ctx, b.Site)
		if err != nil {
			return err
		}
		if _, err := m.st.SetHostNameSSL(ctx, site.ResourceGroup, site.Name, b.HostName, slipway.SSLSniEnabled, c.Thumbprint); err != nil {
			return err
		}
	}
	m.log.Info("renewed a managed certificate", "certificate", name, "thumbprint", c.Thumbprint, "not_after", c.NotAfter)
	return m.Changed(ctx)
}

// RecordRenewalFailure keeps the certificate and records why.
func (m *certManager) RecordRenewalFailure(ctx context.Context, id string, reason error) error {
	rg, name, _ := strings.Cut(id, "/")
	m.log.Warn("renewing a managed certificate failed; the current one keeps serving", "certificate", name, "err", reason)
	return m.st.SetCertificateError(ctx, rg, name, reason.Error())
}
