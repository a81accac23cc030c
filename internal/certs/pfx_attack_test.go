package certs

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

var (
	oidHMACSHA256    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidAES256CBC     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidCertBag       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidX509CertInBag = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
)

func mustDER(t *testing.T, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// explicit0 wraps DER in a [0] EXPLICIT tag.
func explicit0(der []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der}
}

// pbes2 is a PBES2 AlgorithmIdentifier: PBKDF2-HMAC-SHA256 with iter
// rounds, AES-256-CBC with iv.
func pbes2(t *testing.T, salt []byte, iter int, iv []byte) pkix.AlgorithmIdentifier {
	prf := pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}
	kdf := struct {
		Salt       []byte
		Iterations int
		Prf        pkix.AlgorithmIdentifier
	}{salt, iter, prf}
	params := struct {
		KDF, Enc pkix.AlgorithmIdentifier
	}{
		pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: mustDER(t, kdf)}},
		pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: mustDER(t, iv)}},
	}
	return pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: mustDER(t, params)}}
}

// testBag is a SafeBag (and a CertBag: the same shape).
type testBag struct {
	ID    asn1.ObjectIdentifier
	Value asn1.RawValue
}

// certBag is a bag holding an X.509 certificate.
func certBag(t *testing.T, certDER []byte) testBag {
	return testBag{oidCertBag, explicit0(mustDER(t, testBag{oidX509CertInBag, explicit0(mustDER(t, certDER))}))}
}

// garbageKeyBag is a shrouded key bag asking for iter rounds of PBKDF2 to
// decrypt a key that is not one.
func garbageKeyBag(t *testing.T, iter int) testBag {
	keyInfo := struct {
		Alg  pkix.AlgorithmIdentifier
		Data []byte
	}{pbes2(t, make([]byte, 16), iter, make([]byte, 16)), make([]byte, 48)}
	return testBag{oidShroudedKeyBag, explicit0(mustDER(t, keyInfo))}
}

// hiddenKeyBagPFX is a PFX whose one content is encrypted (PBES2, 2048
// rounds, as Modern encoders write) and holds the certificate and a
// shrouded key bag asking for keyIter rounds: a layout no exporter writes,
// and one the reader decrypts and then derives the key for, before its
// iteration count could have been seen in clear. The MAC is PBMAC1.
func hiddenKeyBagPFX(t *testing.T, certDER []byte, password string, keyIter int) []byte {
	t.Helper()
	safe := mustDER(t, []testBag{certBag(t, certDER), garbageKeyBag(t, keyIter)})
	// Encrypt the safe contents as go-pkcs12 decrypts PBES2: PBKDF2 over
	// the UTF-8 password, AES-CBC, PKCS #7 padding.
	salt, iv := []byte("0123456789abcdef"), []byte("fedcba9876543210")
	key, err := pbkdf2.Key(sha256.New, password, salt, 2048, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	pad := 16 - len(safe)%16
	plain := append(safe, make([]byte, pad)...)
	for i := len(safe); i < len(plain); i++ {
		plain[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(plain, plain)
	encData := struct {
		Version int
		Info    struct {
			ContentType asn1.ObjectIdentifier
			Algorithm   pkix.AlgorithmIdentifier
			Content     asn1.RawValue
		}
	}{}
	encData.Info.ContentType = oidData
	encData.Info.Algorithm = pbes2(t, salt, 2048, iv)
	encData.Info.Content = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: plain}
	authSafe := mustDER(t, []contentInfo{{ContentType: oidEncryptedData, Content: explicit0(mustDER(t, encData))}})

	macSalt := []byte("macsaltmacsalt16")
	macKey, err := pbkdf2.Key(sha256.New, password, macSalt, 2048, 32)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, macKey)
	m.Write(authSafe)
	kdf := struct {
		Salt       []byte
		Iterations int
		KeyLength  int
		Prf        pkix.AlgorithmIdentifier
	}{macSalt, 2048, 32, pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}}
	pbmac1 := struct{ KDF, MAC pkix.AlgorithmIdentifier }{
		pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: mustDER(t, kdf)}},
		pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue},
	}
	type macData struct {
		Mac struct {
			Algorithm pkix.AlgorithmIdentifier
			Digest    []byte
		}
		MacSalt    []byte
		Iterations int
	}
	var md macData
	md.Mac.Algorithm = pkix.AlgorithmIdentifier{Algorithm: oidPBMAC1, Parameters: asn1.RawValue{FullBytes: mustDER(t, pbmac1)}}
	md.Mac.Digest = m.Sum(nil)
	md.MacSalt, md.Iterations = macSalt, 1
	return mustDER(t, struct {
		Version  int
		AuthSafe contentInfo
		MacData  macData
	}{3, contentInfo{ContentType: oidData, Content: explicit0(mustDER(t, authSafe))}, md})
}

// TestAttackPFXKeyBagInsideEncryptedContent: the bound on key-derivation
// rounds must hold for a shrouded key bag inside an encrypted content too.
// Its count is out of sight until the content is decrypted, and the reader
// derives its key right after; the uploader knows the password, so it can
// ask for 2^31 rounds — minutes of a core per request.
func TestAttackPFXKeyBagInsideEncryptedContent(t *testing.T) {
	f := validFixture(t)
	data := hiddenKeyBagPFX(t, f.leaf.Raw, "pw", maxKDFIteration+1)
	start := time.Now()
	_, err := ParsePFX(data, "pw")
	wantInvalid(t, err, "key-derivation iterations")
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusing took %v", d)
	}
	// The same layout with a reasonable count is read as far as the key.
	_, err = ParsePFX(hiddenKeyBagPFX(t, f.leaf.Raw, "pw", 2048), "pw")
	if err == nil {
		t.Fatal("a PFX with a garbage key was accepted")
	}
}

// TestAttackPFXUninspectableContent: a content encrypted with RC2 cannot be
// looked into before the reader derives the keys of what it holds, so it
// is refused (App Service asks for triple DES; AES is accepted too).
func TestAttackPFXUninspectableContent(t *testing.T) {
	f := validFixture(t)
	data, err := pkcs12.LegacyRC2.Encode(f.key, f.leaf, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParsePFX(data, "pw")
	wantInvalid(t, err, "triple DES or AES")
}

// manyKeyBagsPFX is a PFX whose one content, in clear, holds the
// certificate and n shrouded key bags, each asking for iter rounds; it
// has no MAC.
func manyKeyBagsPFX(t *testing.T, certDER []byte, n, iter int) []byte {
	t.Helper()
	bags := []testBag{certBag(t, certDER)}
	for range n {
		bags = append(bags, garbageKeyBag(t, iter))
	}
	authSafe := mustDER(t, []contentInfo{{ContentType: oidData, Content: explicit0(mustDER(t, mustDER(t, bags)))}})
	return mustDER(t, struct {
		Version  int
		AuthSafe contentInfo
	}{3, contentInfo{ContentType: oidData, Content: explicit0(mustDER(t, authSafe))}})
}

// TestAttackPFXTotalKDFWork: the per-bag bound on key-derivation rounds
// does not bound an upload, which may ask for the most at once in its MAC,
// each content and each key bag. The sum is bounded too, and a file over
// it is refused before any key is derived.
func TestAttackPFXTotalKDFWork(t *testing.T) {
	f := validFixture(t)
	legacy, err := pkcs12.LegacyDES.WithIterations(maxKDFIteration).Encode(f.key, f.leaf, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	modern, err := pkcs12.Modern2023.WithIterations(maxKDFIteration).Encode(f.key, f.leaf, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"MAC, content and key bag each at the per-bag bound, triple DES", legacy},
		{"MAC, content and key bag each at the per-bag bound, AES", modern},
		{"many key bags each at the per-bag bound", manyKeyBagsPFX(t, f.leaf.Raw, 100, maxKDFIteration)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := ParsePFX(tc.data, "pw")
			wantInvalid(t, err, fmt.Sprintf("at most %d", maxKDFTotal))
			if d := time.Since(start); d > 200*time.Millisecond {
				t.Errorf("refusing took %v", d)
			}
		})
	}
}

// TestPFXWorkOfRealExporters: the bounds leave room for what exporters
// write — OpenSSL 3's defaults (AES, 2048 rounds each), Windows (triple
// DES, up to 10,000), and Java keytool's old defaults (up to 100,000).
func TestPFXWorkOfRealExporters(t *testing.T) {
	f := validFixture(t)
	files := map[string][]byte{}
	for _, iter := range []int{10_000, 100_000} {
		data, err := pkcs12.LegacyDES.WithIterations(iter).Encode(f.key, f.leaf, []*x509.Certificate{f.ca}, "pw")
		if err != nil {
			t.Fatal(err)
		}
		files[fmt.Sprintf("triple DES, %d rounds", iter)] = data
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		dir := t.TempDir()
		keyDER, err := x509.MarshalPKCS8PrivateKey(f.key)
		if err != nil {
			t.Fatal(err)
		}
		pemFile := filepath.Join(dir, "in.pem")
		in := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
			pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.leaf.Raw})...)
		if err := os.WriteFile(pemFile, in, 0o600); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out.pfx")
		if msg, err := exec.Command("openssl", "pkcs12", "-export", "-in", pemFile, "-out", out, "-passout", "pass:pw").CombinedOutput(); err != nil {
			t.Fatalf("openssl pkcs12 -export: %v\n%s", err, msg)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		files["openssl pkcs12 -export"] = data
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			if _, err := ParsePFX(data, "pw"); err != nil {
				t.Errorf("ParsePFX: %v", err)
			}
		})
	}
}
