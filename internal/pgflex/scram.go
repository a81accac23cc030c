package pgflex

// The proxy's own sign-in to a cluster, as a Microsoft Entra principal's
// role whose password only the proxy knows: the client side of
// PostgreSQL's authentication exchange, SCRAM-SHA-256 (RFC 5802, RFC
// 7677) as the cluster's pg_hba asks, and reading a client's password
// message.

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxPasswordMessage bounds a client's password message: a token is a few
// kilobytes (identity.MaxTokenBytes is 8 KiB).
const maxPasswordMessage = 16 << 10

// maxSCRAMIterations bounds the work the cluster's SCRAM salt may ask.
const maxSCRAMIterations = 1 << 20

// readPassword reads a client's PasswordMessage and returns its text.
func readPassword(r io.Reader) (string, error) {
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return "", fmt.Errorf("reading the password message: %w", err)
	}
	if head[0] != 'p' {
		return "", fmt.Errorf("expected a password message, got message type %q", head[0])
	}
	n := binary.BigEndian.Uint32(head[1:])
	if n < 5 || n-4 > maxPasswordMessage {
		return "", fmt.Errorf("the password message is %d bytes; at most %d are taken (an access token is a few kilobytes)", n, maxPasswordMessage)
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(r, body); err != nil {
		return "", fmt.Errorf("reading the password message: %w", err)
	}
	if body[len(body)-1] != 0 || bytes.IndexByte(body[:len(body)-1], 0) >= 0 {
		return "", errors.New("invalid password message")
	}
	return string(body[:len(body)-1]), nil
}

// clusterError is an ErrorResponse of the cluster, as it sent it.
type clusterError struct {
	raw  []byte // the whole message
	code string // SQLSTATE
}

func (e *clusterError) Error() string { return "the cluster refused: " + e.code }

// readMessage reads one backend message, bounded by maxAuthMessage.
func readMessage(r io.Reader) (byte, []byte, error) {
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(head[1:])
	if n < 4 || n > maxAuthMessage {
		return 0, nil, fmt.Errorf("a message of %d bytes", n)
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, err
	}
	if head[0] == 'E' {
		return 'E', body, &clusterError{raw: append(head[:], body...), code: errorField(body, 'C')}
	}
	return head[0], body, nil
}

// errorField is a field of an ErrorResponse's body.
func errorField(body []byte, t byte) string {
	for len(body) > 1 {
		typ := body[0]
		end := bytes.IndexByte(body[1:], 0)
		if end < 0 {
			return ""
		}
		if typ == t {
			return string(body[1 : 1+end])
		}
		body = body[2+end:]
	}
	return ""
}

// message frames a frontend message.
func message(t byte, body []byte) []byte {
	out := make([]byte, 5, 5+len(body))
	out[0] = t
	binary.BigEndian.PutUint32(out[1:], uint32(4+len(body)))
	return append(out, body...)
}

// signInAs answers the cluster's authentication requests with password
// until it says AuthenticationOk (nil). A refusal of the cluster is a
// *clusterError.
func signInAs(rw io.ReadWriter, password string) error {
	var s *scram
	for range 5 {
		t, body, err := readMessage(rw)
		if err != nil {
			return err
		}
		if t != 'R' || len(body) < 4 {
			return fmt.Errorf("unexpected message %q while signing in", t)
		}
		switch code := binary.BigEndian.Uint32(body); code {
		case 0:
			return nil
		case 3: // cleartext
			if _, err := rw.Write(message('p', append([]byte(password), 0))); err != nil {
				return err
			}
		case 10: // SASL: the mechanisms
			if !bytes.Contains(body[4:], []byte("SCRAM-SHA-256\x00")) {
				return errors.New("the cluster offers no SCRAM-SHA-256")
			}
			s, err = newSCRAM(password)
			if err != nil {
				return err
			}
			first := []byte(s.clientFirst())
			b := append([]byte("SCRAM-SHA-256\x00"), 0, 0, 0, 0)
			binary.BigEndian.PutUint32(b[len(b)-4:], uint32(len(first)))
			if _, err := rw.Write(message('p', append(b, first...))); err != nil {
				return err
			}
		case 11: // SASL continue
			if s == nil {
				return errors.New("SASL continue before SASL")
			}
			final, err := s.clientFinal(string(body[4:]))
			if err != nil {
				return err
			}
			if _, err := rw.Write(message('p', []byte(final))); err != nil {
				return err
			}
		case 12: // SASL final
			if s == nil || !s.verifyServer(string(body[4:])) {
				return errors.New("the cluster's SCRAM signature does not verify")
			}
		default:
			return fmt.Errorf("the cluster asks for authentication %d, not SCRAM", code)
		}
	}
	return errors.New("signing in took too many steps")
}

// scram is the client's state of one SCRAM-SHA-256 exchange.
type scram struct {
	password    string
	nonce       string
	authMessage string
	salted      []byte
}

func newSCRAM(password string) (*scram, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return &scram{password: password, nonce: base64.StdEncoding.EncodeToString(b)}, nil
}

// clientFirst is the client-first-message: no channel binding, the user
// name empty (PostgreSQL takes it from the startup message).
func (s *scram) clientFirst() string { return "n,,n=,r=" + s.nonce }

// clientFinal answers the server-first-message.
func (s *scram) clientFinal(serverFirst string) (string, error) {
	var nonce, salt string
	iter := 0
	for _, f := range strings.Split(serverFirst, ",") {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "r":
			nonce = v
		case "s":
			salt = v
		case "i":
			iter, _ = strconv.Atoi(v)
		}
	}
	if !strings.HasPrefix(nonce, s.nonce) || len(nonce) == len(s.nonce) || iter < 1 || iter > maxSCRAMIterations {
		return "", errors.New("invalid SCRAM server-first-message")
	}
	saltB, err := base64.StdEncoding.DecodeString(salt)
	if err != nil || len(saltB) == 0 {
		return "", errors.New("invalid SCRAM salt")
	}
	s.salted, err = pbkdf2.Key(sha256.New, s.password, saltB, iter, sha256.Size)
	if err != nil {
		return "", err
	}
	withoutProof := "c=biws,r=" + nonce
	s.authMessage = "n=,r=" + s.nonce + "," + serverFirst + "," + withoutProof
	clientKey := mac(s.salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	sig := mac(stored[:], s.authMessage)
	proof := make([]byte, len(clientKey))
	for i := range clientKey {
		proof[i] = clientKey[i] ^ sig[i]
	}
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
}

// verifyServer checks the server-final-message's signature.
func (s *scram) verifyServer(serverFinal string) bool {
	v, ok := strings.CutPrefix(serverFinal, "v=")
	if !ok || s.salted == nil {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(v)
	return err == nil && hmac.Equal(got, mac(mac(s.salted, "Server Key"), s.authMessage))
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
