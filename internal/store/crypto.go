package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/slipway-dev/slipway/internal/atomicfile"
)

// keySize is the AES-256 key length in bytes.
const keySize = 32

// loadOrCreateKey reads the master key at path, creating it (32 random
// bytes, mode 0600, written atomically) if it does not exist.
func loadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != keySize {
			return nil, fmt.Errorf("reading master key %s: it holds %d bytes, want %d (restore it from a backup; without it secrets cannot be read)", path, len(key), keySize)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading master key: %w", err)
	}
	key = make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generating master key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating key directory: %w", err)
	}
	if err := atomicfile.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("writing master key: %w", err)
	}
	return key, nil
}

// seal encrypts plaintext with AES-256-GCM under the master key and a fresh
// random nonce, binding it to aad (which names the row it belongs in, so a
// sealed value cannot be moved to another row). The result is nonce||ciphertext.
func (s *Store) seal(plaintext, aad string) ([]byte, error) {
	gcm, err := s.gcm()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize(), gcm.NonceSize()+len(plaintext)+gcm.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("generating nonce: %w", err)
	}
	return gcm.Seal(nonce, nonce, []byte(plaintext), []byte(aad)), nil
}

// open decrypts a value made by seal.
func (s *Store) open(sealed []byte, aad string) (string, error) {
	gcm, err := s.gcm()
	if err != nil {
		return "", err
	}
	if len(sealed) < gcm.NonceSize() {
		return "", fmt.Errorf("decrypting value: too short")
	}
	pt, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], []byte(aad))
	if err != nil {
		return "", fmt.Errorf("decrypting value (wrong master key?): %w", err)
	}
	return string(pt), nil
}

func (s *Store) gcm() (cipher.AEAD, error) {
	block, err := aes.NewCipher(s.key)
	if err != nil {
		return nil, fmt.Errorf("creating cipher: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating GCM: %w", err)
	}
	return gcm, nil
}

// SealBytes encrypts a secret another part keeps on disk (the platform CA's
// key) with the master key; aad names where it is kept, so that a sealed
// value moved elsewhere does not open.
func (s *Store) SealBytes(plain []byte, aad string) ([]byte, error) {
	return s.seal(string(plain), aad)
}

// OpenBytes decrypts what SealBytes sealed under the same aad.
func (s *Store) OpenBytes(sealed []byte, aad string) ([]byte, error) {
	p, err := s.open(sealed, aad)
	return []byte(p), err
}

// DerivedKey returns a 32-byte key for purpose, derived from the master key
// with HKDF-SHA256: a part that needs a lasting key of its own (the session
// cookies of App Service authentication) gets one that lives as long as the
// master key, with nothing more stored. Each purpose gets an unrelated key.
func (s *Store) DerivedKey(purpose string) ([]byte, error) {
	if purpose == "" {
		return nil, errors.New("deriving a key: a purpose is required")
	}
	return hkdf.Key(sha256.New, s.key, nil, "slipway derived key: "+purpose, keySize)
}
