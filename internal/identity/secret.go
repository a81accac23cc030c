package identity

import (
	"crypto/rand"
	"fmt"
)

// Alphabets of Azure AD client secrets: three characters, a digit, "Q~",
// then 34 characters — the shape Microsoft Graph's addPassword generates
// and secret scanners look for, so a leaked Slipway secret is caught by
// the same tools.
const (
	secretHeadAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_~."
	secretTailAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_~.-"
	secretDigits       = "0123456789"
)

// NewClientSecret returns a new client secret of 40 characters in Azure AD's
// shape (abcNQ~ + 34): about 225 bits from crypto/rand.
func NewClientSecret() (string, error) {
	out := make([]byte, 0, 40)
	var err error
	for range 3 {
		if out, err = appendRandom(out, secretHeadAlphabet); err != nil {
			return "", err
		}
	}
	if out, err = appendRandom(out, secretDigits); err != nil {
		return "", err
	}
	out = append(out, 'Q', '~')
	for range 34 {
		if out, err = appendRandom(out, secretTailAlphabet); err != nil {
			return "", err
		}
	}
	return string(out), nil
}

// appendRandom appends one character of alphabet chosen uniformly (bytes
// at or above the largest multiple of len(alphabet) are redrawn; at most
// 64 draws, each failing with probability below one half).
func appendRandom(dst []byte, alphabet string) ([]byte, error) {
	limit := 256 - 256%len(alphabet)
	var b [1]byte
	for range 64 {
		if _, err := rand.Read(b[:]); err != nil {
			return dst, fmt.Errorf("generating client secret: %w", err)
		}
		if int(b[0]) < limit {
			return append(dst, alphabet[int(b[0])%len(alphabet)]), nil
		}
	}
	return dst, fmt.Errorf("generating client secret: random source is biased")
}
