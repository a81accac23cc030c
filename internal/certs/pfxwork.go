package certs

import (
	"crypto/x509/pkix"
	"encoding/asn1"

	"github.com/slipway-dev/slipway"
)

// checkPFXWork bounds the work a PFX asks of its reader before any key is
// derived. Every password-based algorithm in PKCS #12 names its own
// iteration count, and go-pkcs12 honours whatever it reads, so a file of a
// few hundred bytes could otherwise ask for billions of hash rounds. The
// walk covers the MAC, each encrypted content, and each shrouded key bag in
// clear content: every derivation done before the password is known to be
// right, and those after it in the layouts OpenSSL, Windows and go-pkcs12
// write.
func checkPFXWork(data []byte) error {
	var pfx struct {
		Version  int
		AuthSafe contentInfo
		MacData  struct {
			Mac struct {
				Algorithm pkix.AlgorithmIdentifier
				Digest    []byte
			}
			MacSalt    []byte
			Iterations int `asn1:"optional,default:1"`
		} `asn1:"optional"`
	}
	malformed := slipway.Errorf(slipway.EINVALID, "The certificate file is not a valid PFX file.")
	if _, err := asn1.Unmarshal(data, &pfx); err != nil {
		return malformed
	}
	tooMuch := slipway.Errorf(slipway.EINVALID, "The PFX file asks for more than %d key-derivation iterations; export it again with default settings.", maxKDFIteration)
	if pfx.MacData.Iterations > maxKDFIteration || pfx.MacData.Iterations < 0 {
		return tooMuch
	}
	if alg := pfx.MacData.Mac.Algorithm; alg.Algorithm.Equal(oidPBMAC1) {
		if n, ok := iterationsOf(alg); !ok || n > maxKDFIteration {
			return tooMuch
		}
	}
	var authSafe []byte
	if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &authSafe); err != nil {
		return malformed
	}
	var infos []contentInfo
	if _, err := asn1.Unmarshal(authSafe, &infos); err != nil {
		return malformed
	}
	for _, ci := range infos {
		switch {
		case ci.ContentType.Equal(oidEncryptedData):
			var ed struct {
				Version int
				Info    struct {
					ContentType asn1.ObjectIdentifier
					Algorithm   pkix.AlgorithmIdentifier
				}
			}
			if _, err := asn1.Unmarshal(ci.Content.Bytes, &ed); err != nil {
				return malformed
			}
			if n, ok := iterationsOf(ed.Info.Algorithm); !ok || n > maxKDFIteration {
				return tooMuch
			}
		case ci.ContentType.Equal(oidData):
			var raw []byte
			if _, err := asn1.Unmarshal(ci.Content.Bytes, &raw); err != nil {
				return malformed
			}
			var bags []struct {
				ID    asn1.ObjectIdentifier
				Value asn1.RawValue `asn1:"tag:0,explicit"`
				Attrs asn1.RawValue `asn1:"optional"`
			}
			if _, err := asn1.Unmarshal(raw, &bags); err != nil {
				return malformed
			}
			for _, b := range bags {
				if !b.ID.Equal(oidShroudedKeyBag) {
					continue
				}
				var epki struct {
					Algorithm pkix.AlgorithmIdentifier
					Data      []byte
				}
				if _, err := asn1.Unmarshal(b.Value.Bytes, &epki); err != nil {
					return malformed
				}
				if n, ok := iterationsOf(epki.Algorithm); !ok || n > maxKDFIteration {
					return tooMuch
				}
			}
		}
	}
	return nil
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

var (
	oidData           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEncryptedData  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidShroudedKeyBag = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidPBES2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBMAC1         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
)

// iterationsOf returns the iteration count of a password-based algorithm:
// PBES2 and PBMAC1 carry PBKDF2 parameters in their first element, the
// PKCS #12 PBE algorithms a salt and a count.
func iterationsOf(alg pkix.AlgorithmIdentifier) (int, bool) {
	params := alg.Parameters.FullBytes
	if alg.Algorithm.Equal(oidPBES2) || alg.Algorithm.Equal(oidPBMAC1) {
		var outer struct {
			KDF pkix.AlgorithmIdentifier
		}
		if _, err := asn1.Unmarshal(params, &outer); err != nil {
			return 0, false
		}
		params = outer.KDF.Parameters.FullBytes
		var kdf struct {
			Salt       asn1.RawValue
			Iterations int
		}
		if _, err := asn1.Unmarshal(params, &kdf); err != nil {
			return 0, false
		}
		return kdf.Iterations, kdf.Iterations >= 0
	}
	var pbe struct {
		Salt       []byte
		Iterations int
	}
	if _, err := asn1.Unmarshal(params, &pbe); err != nil {
		return 0, false
	}
	return pbe.Iterations, pbe.Iterations >= 0
}
