package identity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" // #nosec G505 -- x5t is defined as a SHA-1 thumbprint (RFC 7517 §4.8); not used for security
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/slipway-dev/slipway/internal/store"
)

// signingKey is a loaded signing key.
type signingKey struct {
	kid     string // = x5t: base64url SHA-1 thumbprint of cert
	private *rsa.PrivateKey
	cert    []byte // DER
	created time.Time
	retired time.Time // zero for the current key
}

// keyring is an immutable snapshot of the keys; Rotate swaps in a new one.
type keyring struct {
	current *signingKey
	keys    []*signingKey // current first, then newest first
	byKID   map[string]*signingKey
}

// keyBits is the RSA modulus size of signing keys, Azure AD's.
const keyBits = 2048

// rotationTimeout bounds one rotation (key generation and two writes).
const rotationTimeout = 30 * time.Second

// newSigningKey generates an RSA-2048 key and a self-signed certificate over
// it; the kid is the certificate's base64url SHA-1 thumbprint, as in Azure
// AD's JWKS, where kid and x5t are equal and x5c carries the certificate.
func newSigningKey(now time.Time) (store.SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generating signing key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generating certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Slipway token signing"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("creating signing certificate: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("encoding signing key: %w", err)
	}
	return store.SigningKey{KID: thumbprint(cert), PrivateKey: der, Certificate: cert, Created: now.UTC()}, nil
}

// thumbprint is x5t: base64url (no padding) of the certificate's SHA-1.
func thumbprint(certDER []byte) string {
	sum := sha1.Sum(certDER) // #nosec G401 -- see import
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// load reads the keys from the store into a new keyring, leaving out keys
// retired so long ago that no token they signed can still be valid.
func (s *Service) load(ctx context.Context) error {
	recs, err := s.cfg.Store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	cutoff := s.retiredCutoff()
	ring := &keyring{byKID: map[string]*signingKey{}}
	for _, r := range recs {
		if !r.Retired.IsZero() && r.Retired.Before(cutoff) {
			continue
		}
		k, err := x509.ParsePKCS8PrivateKey(r.PrivateKey)
		if err != nil {
			return fmt.Errorf("parsing signing key %s: %w", r.KID, err)
		}
		priv, ok := k.(*rsa.PrivateKey)
		if !ok {
			return fmt.Errorf("signing key %s is not an RSA key", r.KID)
		}
		sk := &signingKey{kid: r.KID, private: priv, cert: r.Certificate, created: r.Created, retired: r.Retired}
		if sk.retired.IsZero() && ring.current == nil {
			ring.current = sk
		}
		ring.keys = append(ring.keys, sk)
		ring.byKID[sk.kid] = sk
	}
	s.ring.Store(ring)
	return nil
}

// retiredCutoff is the retirement time before which a key can have signed
// no token that is still valid.
func (s *Service) retiredCutoff() time.Time {
	return s.cfg.Now().Add(-s.cfg.MaxTokenLifetime - s.cfg.Leeway)
}

// Rotate makes a new current signing key. The previous keys stay published
// and keep verifying until every token they signed has expired
// (MaxTokenLifetime after they stopped signing); older ones are deleted.
func (s *Service) Rotate(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, rotationTimeout)
	defer cancel()
	k, err := newSigningKey(s.cfg.Now())
	if err != nil {
		return err
	}
	if err := s.cfg.Store.AddSigningKey(ctx, k); err != nil {
		return err
	}
	if _, err := s.cfg.Store.DeleteSigningKeysRetiredBefore(ctx, s.retiredCutoff()); err != nil {
		return err
	}
	if err := s.load(ctx); err != nil {
		return err
	}
	s.cfg.Logger.Info("rotated token signing key", "kid", k.KID)
	return nil
}

// RunRotation rotates the signing key whenever the current one is older than
// every (at least an hour), checking once per every/24 (at least a minute),
// until ctx ends; it returns ctx's error. A failed rotation is logged and
// retried at the next check; the current key keeps signing meanwhile.
func (s *Service) RunRotation(ctx context.Context, every time.Duration) error {
	if every < time.Hour {
		return errors.New("identity: rotation period must be at least an hour")
	}
	check := max(every/24, time.Minute)
	t := time.NewTicker(check)
	defer t.Stop()
	for {
		if cur := s.ring.Load().current; cur == nil || s.cfg.Now().Sub(cur.created) >= every {
			if err := s.Rotate(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Error("rotating token signing key", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// jwk is one key of a JSON Web Key Set, in Azure AD's shape.
type jwk struct {
	Kty string   `json:"kty"`
	Use string   `json:"use"`
	Kid string   `json:"kid"`
	X5t string   `json:"x5t"`
	N   string   `json:"n"`
	E   string   `json:"e"`
	X5c []string `json:"x5c"`
}

// jwks returns the published keys: the current one and the retired ones
// that may still have valid tokens.
func (s *Service) jwks() map[string][]jwk {
	ring := s.ring.Load()
	cutoff := s.retiredCutoff()
	keys := []jwk{}
	for _, k := range ring.keys {
		if !k.retired.IsZero() && k.retired.Before(cutoff) {
			continue
		}
		pub := k.private.PublicKey
		keys = append(keys, jwk{
			Kty: "RSA", Use: "sig", Kid: k.kid, X5t: k.kid,
			N:   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
			X5c: []string{base64.StdEncoding.EncodeToString(k.cert)},
		})
	}
	return map[string][]jwk{"keys": keys}
}
