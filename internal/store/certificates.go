package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

// Certificate is an App Service certificate (Microsoft.Web/certificates):
// an uploaded PFX's chain and key, or a managed certificate Slipway
// obtained through ACME for CanonicalName. KeyPEM is sealed at rest and
// open here; it never leaves the server.
type Certificate struct {
	ResourceGroup string
	Name          string
	Location      string
	ServerFarm    string // serverFarmId as given
	Thumbprint    string // upper-case hex SHA-1 of the leaf, as Azure's
	Subject       string
	Issuer        string
	HostNames     []string
	NotBefore     time.Time
	NotAfter      time.Time
	CanonicalName string // managed certificates: the host name issued for
	CertPEM       []byte // the chain, leaf first
	KeyPEM        []byte
	LastError     string // why the last renewal failed; "" after a success
	Tags          map[string]string
	Created       time.Time
}

// Managed reports whether Slipway obtains and renews the certificate.
func (c Certificate) Managed() bool { return c.CanonicalName != "" }

func errCertificateNotFound(rg, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "The Resource 'Microsoft.Web/certificates/%s' under resource group '%s' was not found.", name, rg)
}

// aadCertKey binds a sealed private key to its certificate.
func aadCertKey(rg, name string) string {
	return "cert-key\x00" + strings.ToLower(rg) + "\x00" + strings.ToLower(name)
}

// PutCertificate creates or replaces a certificate in an existing resource
// group, sealing its key. It returns the stored certificate.
func (s *Store) PutCertificate(ctx context.Context, c Certificate) (Certificate, error) {
	if strings.TrimSpace(c.Name) == "" || len(c.Name) > 260 || strings.ContainsAny(c.Name, "/\\?#%") {
		return Certificate{}, slipway.Errorf(slipway.EINVALID, "The certificate name '%s' is not valid.", c.Name)
	}
	names, err := json.Marshal(c.HostNames)
	if err != nil {
		return Certificate{}, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := groupInTx(ctx, tx, c.ResourceGroup)
		if err != nil {
			return err
		}
		c.ResourceGroup = g.Name
		if c.Location == "" {
			c.Location = g.Location
		}
		var created int64
		switch err := tx.QueryRowContext(ctx, `SELECT created FROM certificates WHERE resource_group = ? AND name = ?`, c.ResourceGroup, c.Name).Scan(&created); {
		case errors.Is(err, sql.ErrNoRows):
			if c.Created.IsZero() {
				c.Created = s.now().UTC()
			}
		case err != nil:
			return err
		default:
			c.Created = fromUnix(created)
		}
		sealed, err := s.seal(string(c.KeyPEM), aadCertKey(c.ResourceGroup, c.Name))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO certificates (resource_group, name, location, server_farm, thumbprint, subject, issuer,
			host_names, not_before, not_after, canonical_name, cert_pem, key_pem, last_error, tags, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (resource_group, name) DO UPDATE SET location = excluded.location, server_farm = excluded.server_farm,
			thumbprint = excluded.thumbprint, subject = excluded.subject, issuer = excluded.issuer, host_names = excluded.host_names,
			not_before = excluded.not_before, not_after = excluded.not_after, canonical_name = excluded.canonical_name,
			cert_pem = excluded.cert_pem, key_pem = excluded.key_pem, last_error = excluded.last_error, tags = excluded.tags`,
			c.ResourceGroup, c.Name, c.Location, c.ServerFarm, strings.ToUpper(c.Thumbprint), c.Subject, c.Issuer,
			string(names), toUnix(c.NotBefore), toUnix(c.NotAfter), strings.ToLower(c.CanonicalName), c.CertPEM, sealed,
			c.LastError, encodeTags(c.Tags), toUnix(c.Created))
		if err != nil {
			return fmt.Errorf("storing certificate: %w", err)
		}
		return nil
	})
	if err != nil {
		return Certificate{}, err
	}
	return s.Certificate(ctx, c.ResourceGroup, c.Name)
}

const certSelect = `SELECT resource_group, name, location, server_farm, thumbprint, subject, issuer, host_names,
	not_before, not_after, canonical_name, cert_pem, key_pem, last_error, tags, created FROM certificates`

func (s *Store) scanCertificate(r rowScanner) (Certificate, error) {
	var c Certificate
	var names, tags string
	var nb, na, created int64
	var sealed []byte
	if err := r.Scan(&c.ResourceGroup, &c.Name, &c.Location, &c.ServerFarm, &c.Thumbprint, &c.Subject, &c.Issuer, &names,
		&nb, &na, &c.CanonicalName, &c.CertPEM, &sealed, &c.LastError, &tags, &created); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(names), &c.HostNames); err != nil {
		return c, fmt.Errorf("reading certificate %s: %w", c.Name, err)
	}
	var err error
	if c.Tags, err = decodeTags(tags); err != nil {
		return c, err
	}
	key, err := s.open(sealed, aadCertKey(c.ResourceGroup, c.Name))
	if err != nil {
		return c, fmt.Errorf("opening the key of certificate %s: %w", c.Name, err)
	}
	c.KeyPEM = []byte(key)
	c.NotBefore, c.NotAfter, c.Created = fromUnix(nb), fromUnix(na), fromUnix(created)
	return c, nil
}

// Certificate returns one certificate.
func (s *Store) Certificate(ctx context.Context, rg, name string) (Certificate, error) {
	c, err := s.scanCertificate(s.read.QueryRowContext(ctx, certSelect+` WHERE resource_group = ? AND name = ?`, rg, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Certificate{}, errCertificateNotFound(rg, name)
	}
	return c, err
}

// Certificates lists the certificates of a resource group, or of every
// group when rg is "", by name.
func (s *Store) Certificates(ctx context.Context, rg string) ([]Certificate, error) {
	q, args := certSelect+` ORDER BY resource_group, name`, []any{}
	if rg != "" {
		q, args = certSelect+` WHERE resource_group = ? ORDER BY name`, []any{rg}
	}
	return listRows(ctx, s.read, "listing certificates", s.scanCertificate, q, args...)
}

// DeleteCertificate removes a certificate.
func (s *Store) DeleteCertificate(ctx context.Context, rg, name string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM certificates WHERE resource_group = ? AND name = ?`, rg, name)
	if err != nil {
		return fmt.Errorf("deleting certificate: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errCertificateNotFound(rg, name)
	}
	return nil
}

// SetCertificateError records why a managed certificate's renewal failed
// ("" clears it); the certificate itself is unchanged.
func (s *Store) SetCertificateError(ctx context.Context, rg, name, msg string) error {
	res, err := s.write.ExecContext(ctx, `UPDATE certificates SET last_error = ? WHERE resource_group = ? AND name = ?`, msg, rg, name)
	if err != nil {
		return fmt.Errorf("recording a certificate's renewal failure: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errCertificateNotFound(rg, name)
	}
	return nil
}

// SNIBinding is a bound host name that serves a certificate.
type SNIBinding struct {
	HostName string
	Site     string
	// ResourceGroup is the site's: its certificate is the one of that
	// thumbprint in this group (another group may hold a copy).
	ResourceGroup string
	Thumbprint    string
}

// SNIBindings lists every host name bound with a certificate (ssl_state
// SniEnabled), for the TLS listeners' table.
func (s *Store) SNIBindings(ctx context.Context) ([]SNIBinding, error) {
	return listRows(ctx, s.read, "listing certificate bindings", func(r rowScanner) (SNIBinding, error) {
		var b SNIBinding
		err := r.Scan(&b.HostName, &b.Site, &b.ResourceGroup, &b.Thumbprint)
		return b, err
	}, `SELECT b.host_name, b.site, s.resource_group, b.thumbprint FROM host_name_bindings b JOIN sites s ON s.name = b.site
		WHERE b.ssl_state <> 'Disabled' AND b.thumbprint <> '' ORDER BY b.host_name`)
}

// HostNamesUsingCertificate lists the host names of the group's sites
// bound with the certificate of that thumbprint. Another group's copy of
// the certificate is its own: its bindings are not listed.
func (s *Store) HostNamesUsingCertificate(ctx context.Context, rg, thumbprint string) ([]string, error) {
	return listRows(ctx, s.read, "finding a certificate's bindings", func(r rowScanner) (string, error) {
		var h string
		err := r.Scan(&h)
		return h, err
	}, `SELECT b.host_name FROM host_name_bindings b JOIN sites s ON s.name = b.site
		WHERE b.thumbprint = ? COLLATE NOCASE AND b.ssl_state <> 'Disabled' AND s.resource_group = ? COLLATE NOCASE
		ORDER BY b.host_name`, thumbprint, rg)
}
