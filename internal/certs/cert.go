// Package certs owns the certificates that secure apps' custom domains, as
// App Service keeps them: certificates uploaded as password-protected PFX
// files, App Service managed certificates (here issued through ACME and
// renewed before they expire), and the SNI table the front door consults on
// every TLS handshake to pick the certificate bound to the name a client asked
// for.
//
// The package stores nothing itself. [Cert.PEM] and [FromPEM] turn a
// certificate into PEM and back so that the store can keep it (the key sealed
// at rest); [Issuer] asks an ACME server for certificates and answers its
// HTTP-01 (and, when enabled, TLS-ALPN-01) challenges through [Challenges];
// [Renewer] renews the managed certificates that are due, through a small
// interface the store implements, and keeps the previous certificate serving
// when a renewal fails.
//
// App Service's rules are those of
// https://learn.microsoft.com/azure/app-service/configure-ssl-certificate
// ("Private certificate requirements"): a PFX with its private key, a key of
// at least 2048 bits, and, to secure a custom domain, the server
// authentication extended key usage. Slipway accepts PFX files encrypted with
// AES as well as with triple DES, since current OpenSSL writes AES by default.
package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/slipway-dev/slipway"
)

// Limits on what an upload may hold. A real PFX with a full chain is a few
// kilobytes; the bounds keep a hostile one from costing memory or time.
const (
	MaxPFXSize      = 256 << 10 // bytes of PFX accepted
	maxChainLength  = 10        // certificates in one PFX or PEM chain
	maxPEMSize      = 256 << 10 // bytes of PEM accepted by FromPEM
	minRSABits      = 2048
	maxKDFIteration = 2_000_000 // PBKDF iterations in a PFX (OpenSSL writes 2048, Windows 2000)
	// maxKDFTotal bounds the iterations of one PFX summed over its MAC,
	// its encrypted contents and its key bags, each of which may ask for
	// up to maxKDFIteration: one count may reach that, the rest add up to
	// a million. Exporters write three counts: OpenSSL 3 3 × 2048,
	// Windows 2000 to 10,000 each, Java's keytool at most 50,000 + 50,000
	// + 100,000 (before JDK 12; 10,000 each since).
	maxKDFTotal = 3_000_000
)

// Cert is a certificate with its private key, ready to serve and to be
// described as App Service describes Microsoft.Web/certificates.
type Cert struct {
	// TLS is what a tls.Config serves: the leaf, then the chain, and the key.
	TLS tls.Certificate
	// Leaf is TLS.Certificate[0], parsed.
	Leaf *x509.Certificate
	// Thumbprint is Azure's: the SHA-1 of the leaf's DER in upper-case hex.
	Thumbprint string
	// SubjectName and Issuer are the common names of the leaf's subject and
	// issuer (their full distinguished names when there is no common name),
	// as the certificate resource shows them.
	SubjectName string
	Issuer      string
	// HostNames are the leaf's DNS names, or its common name when it has none.
	HostNames []string
	NotBefore time.Time
	NotAfter  time.Time
}

// Thumbprint returns Azure's thumbprint of a DER certificate: the SHA-1
// digest in upper-case hexadecimal, as openssl x509 -fingerprint -sha1
// prints it without the colons.
func Thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// ParsePFX decodes an uploaded PFX (PKCS #12) file and checks it against App
// Service's requirements for private certificates. Errors a user can act on
// are *slipway.Error with code EINVALID. A server decodes uploads through
// one [PFXDecoder], which bounds how many are decoded at once.
func ParsePFX(data []byte, password string) (*Cert, error) {
	return parsePFX(data, password, time.Now())
}

func parsePFX(data []byte, password string, now time.Time) (*Cert, error) {
	if len(data) == 0 {
		return nil, slipway.Errorf(slipway.EINVALID, "The certificate file is empty: upload a password-protected PFX file.")
	}
	if len(data) > MaxPFXSize {
		return nil, slipway.Errorf(slipway.EINVALID, "The certificate file is larger than %d KB; a PFX with its chain is a few KB.", MaxPFXSize>>10)
	}
	if password == "" {
		return nil, slipway.Errorf(slipway.EINVALID, "The certificate must be exported as a password-protected PFX file: give its password.")
	}
	if err := checkPFXWork(data, password); err != nil {
		return nil, err
	}
	key, first, rest, err := pkcs12.DecodeChain(data, password)
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return nil, slipway.Errorf(slipway.EINVALID, "The specified password for the certificate is incorrect.")
	case err != nil && strings.Contains(err.Error(), "private key missing"):
		return nil, slipway.Errorf(slipway.EINVALID, "The certificate does not contain a private key: export it with its private key as a password-protected PFX file.")
	case err != nil:
		return nil, slipway.Errorf(slipway.EINVALID, "The certificate file is not a PFX file this platform can read (%v).", err)
	}
	if len(rest)+1 > maxChainLength {
		return nil, slipway.Errorf(slipway.EINVALID, "The PFX holds %d certificates; at most %d are accepted.", len(rest)+1, maxChainLength)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, slipway.Errorf(slipway.EINVALID, "The certificate's private key is of a type that cannot sign.")
	}
	// A PFX names no leaf: the leaf is the certificate whose public key is
	// the private key's, wherever the exporter put it.
	all := append([]*x509.Certificate{first}, rest...)
	leafAt := -1
	for i, c := range all {
		if publicKeysEqual(c.PublicKey, signer.Public()) {
			leafAt = i
			break
		}
	}
	if leafAt < 0 {
		return nil, slipway.Errorf(slipway.EINVALID, "The private key in the PFX does not match any certificate in it.")
	}
	chain := [][]byte{all[leafAt].Raw}
	for i, c := range all {
		if i != leafAt {
			chain = append(chain, c.Raw)
		}
	}
	c, err := newCert(chain, signer)
	if err != nil {
		return nil, err
	}
	if now.After(c.NotAfter) {
		return nil, slipway.Errorf(slipway.EINVALID, "The certificate has expired (it was valid until %s).", c.NotAfter.UTC().Format(time.RFC3339))
	}
	return c, nil
}

// newCert builds a Cert from a DER chain (leaf first) and its key, checking
// the key's strength and that it belongs to the leaf.
func newCert(chain [][]byte, key crypto.Signer) (*Cert, error) {
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, slipway.Errorf(slipway.EINVALID, "The certificate cannot be parsed: %v.", err)
	}
	if !publicKeysEqual(leaf.PublicKey, key.Public()) {
		return nil, slipway.Errorf(slipway.EINVALID, "The private key does not match the certificate.")
	}
	if err := checkKeyStrength(key.Public()); err != nil {
		return nil, err
	}
	c := &Cert{
		TLS:         tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf},
		Leaf:        leaf,
		Thumbprint:  Thumbprint(leaf.Raw),
		SubjectName: nameOf(leaf.Subject.CommonName, leaf.Subject.String()),
		Issuer:      nameOf(leaf.Issuer.CommonName, leaf.Issuer.String()),
		NotBefore:   leaf.NotBefore,
		NotAfter:    leaf.NotAfter,
	}
	c.HostNames = append([]string(nil), leaf.DNSNames...)
	if len(c.HostNames) == 0 && leaf.Subject.CommonName != "" {
		c.HostNames = []string{leaf.Subject.CommonName}
	}
	return c, nil
}

func nameOf(cn, dn string) string {
	if cn != "" {
		return cn
	}
	return dn
}

func checkKeyStrength(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return slipway.Errorf(slipway.EINVALID, "The certificate's private key is %d bits long; App Service requires a private key at least %d bits long.", k.N.BitLen(), minRSABits)
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return slipway.Errorf(slipway.EINVALID, "The certificate's elliptic curve key is not on P-256, P-384 or P-521.")
		}
	default:
		return slipway.Errorf(slipway.EINVALID, "The certificate's key is of type %T; App Service accepts RSA (at least %d bits) and ECDSA keys.", pub, minRSABits)
	}
	return nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// CanBind reports why the certificate cannot secure host in a TLS binding at
// now, or nil: it must cover the name, carry the server authentication
// extended key usage (or none, which permits any use), and be within its
// validity period.
func (c *Cert) CanBind(host string, now time.Time) error {
	host = strings.TrimSuffix(host, ".")
	if err := c.Leaf.VerifyHostname(host); err != nil {
		return slipway.Errorf(slipway.EINVALID, "The certificate with thumbprint %s does not match the host name %s (it is for %s).", c.Thumbprint, host, strings.Join(c.HostNames, ", "))
	}
	if len(c.Leaf.ExtKeyUsage) > 0 || len(c.Leaf.UnknownExtKeyUsage) > 0 {
		ok := false
		for _, u := range c.Leaf.ExtKeyUsage {
			ok = ok || u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny
		}
		if !ok {
			return slipway.Errorf(slipway.EINVALID, "The certificate with thumbprint %s lacks the Extended Key Usage for server authentication (OID 1.3.6.1.5.5.7.3.1).", c.Thumbprint)
		}
	}
	if now.After(c.NotAfter) || now.Before(c.NotBefore) {
		return slipway.Errorf(slipway.EINVALID, "The certificate with thumbprint %s is not valid now (valid %s to %s).", c.Thumbprint, c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// PEM returns the chain (leaf first) and the PKCS #8 private key in PEM, the
// form the store keeps; the caller seals keyPEM at rest.
func (c *Cert) PEM() (certChainPEM, keyPEM []byte) {
	var chain bytes.Buffer
	for _, der := range c.TLS.Certificate {
		_ = pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.TLS.PrivateKey)
	if err != nil {
		// Every key a Cert can hold (RSA, ECDSA) marshals; reaching here is a bug.
		panic(fmt.Sprintf("certs: marshal private key: %v", err))
	}
	return chain.Bytes(), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// FromPEM rebuilds a Cert from the output of [Cert.PEM] (or any PEM chain,
// leaf first, and a PKCS #8, PKCS #1 or SEC 1 key), checking that the key
// belongs to the leaf. It does not reject an expired certificate: a stored
// one is still listed, and its expiry shown.
func FromPEM(certPEM, keyPEM []byte) (*Cert, error) {
	if len(certPEM) > maxPEMSize || len(keyPEM) > maxPEMSize {
		return nil, errors.New("certs: PEM too large")
	}
	var chain [][]byte
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if len(chain) == maxChainLength {
			return nil, fmt.Errorf("certs: more than %d certificates in the chain", maxChainLength)
		}
		chain = append(chain, b.Bytes)
	}
	if len(chain) == 0 {
		return nil, errors.New("certs: no certificate in PEM")
	}
	for _, der := range chain[1:] {
		if _, err := x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("certs: parse chain certificate: %w", err)
		}
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("certs: no private key in PEM")
	}
	key, err := parseKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	return newCert(chain, key)
}

func parseKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, fmt.Errorf("certs: private key of type %T cannot sign", k)
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("certs: unrecognised private key encoding")
}
