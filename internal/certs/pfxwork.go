package certs

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"hash"
	"unicode/utf16"

	"github.com/slipway-dev/slipway"
)

// checkPFXWork bounds the work a PFX asks of its reader before any key is
// derived. Every password-based algorithm in PKCS #12 names its own
// iteration count, and go-pkcs12 honours whatever it reads, so a file of a
// few hundred bytes could otherwise ask for billions of hash rounds. The
// walk covers the MAC, each encrypted content, and each shrouded key bag,
// in clear content and inside encrypted content alike: the reader derives
// the key of a bag it found by decrypting right after, and the uploader
// knows the password, so a count hidden there is as much the uploader's
// to choose as one in clear. Encrypted contents are therefore decrypted
// here first (AES through PBES2, or PKCS #12's triple DES: what App
// Service and current exporters write); one encrypted otherwise (RC2) is
// refused, having no count in sight. Each count is bounded by
// maxKDFIteration and their sum by maxKDFTotal, so many bags each under
// the bound cannot add up to minutes either.
func checkPFXWork(data []byte, password string) error {
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
	work := &kdfWork{}
	if err := work.add(pfx.MacData.Iterations, true); err != nil {
		return err
	}
	if alg := pfx.MacData.Mac.Algorithm; alg.Algorithm.Equal(oidPBMAC1) {
		if err := work.add(iterationsOf(alg)); err != nil {
			return err
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
	if len(infos) > 2 {
		return malformed // the reader takes one or two contents
	}
	for _, ci := range infos {
		switch {
		case ci.ContentType.Equal(oidEncryptedData):
			var ed struct {
				Version int
				Info    struct {
					ContentType asn1.ObjectIdentifier
					Algorithm   pkix.AlgorithmIdentifier
					Content     []byte `asn1:"tag:0,optional"`
				}
			}
			if _, err := asn1.Unmarshal(ci.Content.Bytes, &ed); err != nil {
				return malformed
			}
			if err := work.add(iterationsOf(ed.Info.Algorithm)); err != nil {
				return err
			}
			raw, err := decryptContent(ed.Info.Algorithm, ed.Info.Content, password)
			if err != nil {
				return err
			}
			if err := work.addKeyBags(raw, malformed); err != nil {
				if err == malformed {
					// A content that decrypts to no bags: the password is
					// wrong (or the file damaged).
					return errWrongPassword()
				}
				return err
			}
		case ci.ContentType.Equal(oidData):
			var raw []byte
			if _, err := asn1.Unmarshal(ci.Content.Bytes, &raw); err != nil {
				return malformed
			}
			if err := work.addKeyBags(raw, malformed); err != nil {
				return err
			}
		}
	}
	return nil
}

// kdfWork sums the key-derivation iterations a PFX asks for.
type kdfWork struct{ total int }

// add counts one algorithm's iterations (ok false: it has none readable),
// refusing a count over maxKDFIteration or a sum over maxKDFTotal.
func (w *kdfWork) add(n int, ok bool) error {
	if !ok || n < 0 || n > maxKDFIteration {
		return slipway.Errorf(slipway.EINVALID, "The PFX file asks for more than %d key-derivation iterations; export it again with default settings.", maxKDFIteration)
	}
	if w.total += n; w.total > maxKDFTotal {
		return slipway.Errorf(slipway.EINVALID, "The PFX file asks for at least %d key-derivation iterations in all (its MAC, contents and key bags together); at most %d are accepted: export it again with default settings.", w.total, maxKDFTotal)
	}
	return nil
}

// addKeyBags counts the iterations of the shrouded key bags among the
// safe bags raw holds.
func (w *kdfWork) addKeyBags(raw []byte, malformed error) error {
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
		if err := w.add(iterationsOf(epki.Algorithm)); err != nil {
			return err
		}
	}
	return nil
}

func errWrongPassword() error {
	return slipway.Errorf(slipway.EINVALID, "The specified password for the certificate is incorrect.")
}

// decryptContent decrypts an encrypted content of a PFX (its iteration
// count already bounded) as go-pkcs12 does: PBES2 with PBKDF2 and AES-CBC
// over the UTF-8 password, or PKCS #12's SHA-1 and triple DES over the
// BMP password (RFC 7292 Appendix B).
func decryptContent(alg pkix.AlgorithmIdentifier, data []byte, password string) ([]byte, error) {
	var block cipher.Block
	var iv []byte
	switch {
	case alg.Algorithm.Equal(oidPBES2):
		var params struct{ KDF, Enc pkix.AlgorithmIdentifier }
		var kdf struct {
			Salt       asn1.RawValue
			Iterations int
			KeyLength  int                      `asn1:"optional"`
			PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
		}
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &params); err != nil {
			return nil, errUnreadable()
		}
		if _, err := asn1.Unmarshal(params.KDF.Parameters.FullBytes, &kdf); err != nil || !params.KDF.Algorithm.Equal(oidPBKDF2) {
			return nil, errUnreadable()
		}
		prf := map[string]func() hash.Hash{"": sha1.New, "1.2.840.113549.2.7": sha1.New, "1.2.840.113549.2.9": sha256.New, "1.2.840.113549.2.11": sha512.New}[kdf.PRF.Algorithm.String()]
		keyLen := map[string]int{"2.16.840.1.101.3.4.1.2": 16, "2.16.840.1.101.3.4.1.22": 24, "2.16.840.1.101.3.4.1.42": 32}[params.Enc.Algorithm.String()]
		if prf == nil || keyLen == 0 {
			return nil, errUnreadable()
		}
		key, err := pbkdf2.Key(prf, password, kdf.Salt.Bytes, kdf.Iterations, keyLen)
		if err != nil {
			return nil, errUnreadable()
		}
		block, _ = aes.NewCipher(key)
		iv = params.Enc.Parameters.Bytes
	case alg.Algorithm.Equal(oidPBEWithSHAAnd3DES):
		var pbe struct {
			Salt       []byte
			Iterations int
		}
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &pbe); err != nil {
			return nil, errUnreadable()
		}
		pw := bmpPassword(password)
		var err error
		if block, err = des.NewTripleDESCipher(pkcs12KDF(pw, pbe.Salt, pbe.Iterations, 1, 24)); err != nil {
			return nil, errUnreadable()
		}
		iv = pkcs12KDF(pw, pbe.Salt, pbe.Iterations, 2, 8)
	default:
		return nil, slipway.Errorf(slipway.EINVALID, "The PFX file is encrypted with an algorithm App Service does not accept (RC2?): export it again encrypted with triple DES or AES.")
	}
	n := block.BlockSize()
	if len(iv) != n || len(data) == 0 || len(data)%n != 0 {
		return nil, errUnreadable()
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, data)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > n {
		return nil, errWrongPassword()
	}
	return out[:len(out)-pad], nil
}

func errUnreadable() error {
	return slipway.Errorf(slipway.EINVALID, "The certificate file is not a valid PFX file.")
}

// bmpPassword is the password as PKCS #12's own algorithms take it:
// UTF-16 big-endian with a terminating zero.
func bmpPassword(password string) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(password)) {
		out = append(out, byte(u>>8), byte(u))
	}
	return append(out, 0, 0)
}

// pkcs12KDF is RFC 7292's key derivation (Appendix B.2) with SHA-1: size
// bytes of purpose id (1: key, 2: IV) from password and salt.
func pkcs12KDF(password, salt []byte, iterations, id, size int) []byte {
	const u, v = sha1.Size, 64
	fill := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		out := make([]byte, v*((len(b)+v-1)/v))
		for i := range out {
			out[i] = b[i%len(b)]
		}
		return out
	}
	d := bytes.Repeat([]byte{byte(id)}, v)
	in := append(fill(salt), fill(password)...)
	var out []byte
	for len(out) < size {
		h := sha1.Sum(append(append([]byte{}, d...), in...))
		for r := 1; r < iterations; r++ {
			h = sha1.Sum(h[:])
		}
		out = append(out, h[:]...)
		var b [v]byte
		for i := range b {
			b[i] = h[i%u]
		}
		for j := 0; j < len(in); j += v {
			carry := 1
			for k := v - 1; k >= 0; k-- {
				sum := int(in[j+k]) + int(b[k]) + carry
				in[j+k], carry = byte(sum), sum>>8
			}
		}
	}
	return out[:size]
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
	oidPBKDF2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}

	oidPBEWithSHAAnd3DES = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
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
