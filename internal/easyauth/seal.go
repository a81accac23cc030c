package easyauth

// Sealed values: the login state and the session cookie, encrypted and
// authenticated with AES-256-GCM under a key of the site's own
// (HKDF-SHA256 of the platform's key, with the site's name as info). The
// additional data names what the value is (state or session), the site
// (its name and its creation, AuthSettings.Instance) and the app
// registration (client id), so that a value sealed for one purpose, site
// or registration never opens as another, nor on a site made again with
// the name of a deleted one.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
)

func deriveAEAD(key []byte, site string) cipher.AEAD {
	k, err := hkdf.Key(sha256.New, key, nil, "slipway easyauth site "+site, 32)
	if err != nil {
		panic("easyauth: deriving a site key: " + err.Error()) // only for a length HKDF cannot give
	}
	block, _ := aes.NewCipher(k) // 32 bytes: never fails
	aead, _ := cipher.NewGCM(block)
	return aead
}

func additionalData(purpose string, st *site) []byte {
	return []byte(purpose + "\x00" + st.name + "\x00" + st.s.Instance + "\x00" + st.clientID)
}

// seal encrypts v's JSON for st and purpose, as URL-safe base64.
func (m *Module) seal(st *site, purpose string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	aead := m.siteAEAD(st.name)
	buf := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	rand.Read(buf) // never fails (crypto/rand)
	buf = aead.Seal(buf, buf, plain, additionalData(purpose, st))
	return base64.RawURLEncoding.EncodeToString(buf), nil
}

var errSealed = errors.New("not a value this site sealed")

// open reverses seal; any tampering, another site's value or another
// purpose's is errSealed.
func (m *Module) open(st *site, purpose, s string, v any) error {
	if len(s) > maxCookieLen {
		return errSealed
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	aead := m.siteAEAD(st.name)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return errSealed
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], additionalData(purpose, st))
	if err != nil {
		return errSealed
	}
	if json.Unmarshal(plain, v) != nil {
		return errSealed
	}
	return nil
}

func randomID() string {
	var b [18]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
