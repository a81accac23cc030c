package pgflex

// The proxy's own sign-in to a cluster, as a Microsoft Entra principal's
// role whose password only the proxy knows: the client side of
// PostgreSQL's authentication exchange, SCRAM-SHA-256 (RFC 5802, RFC
// 7677) as the cluster's pg_hba asks, and reading a client's password
// message. The SCRAM arithmetic is github.com/xdg-go/scram's (the MongoDB
// Go driver's), not ours.

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xdg-go/scram"
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
	var conv *scram.ClientConversation
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
			// The user name is left empty: PostgreSQL takes it from the
			// startup message.
			client, err := scram.SHA256.NewClient("", password, "")
			if err != nil {
				return err
			}
			conv = client.NewConversation()
			firstMsg, err := conv.Step("")
			if err != nil {
				return err
			}
			first := []byte(firstMsg)
			b := append([]byte("SCRAM-SHA-256\x00"), 0, 0, 0, 0)
			binary.BigEndian.PutUint32(b[len(b)-4:], uint32(len(first)))
			if _, err := rw.Write(message('p', append(b, first...))); err != nil {
				return err
			}
		case 11: // SASL continue
			if conv == nil {
				return errors.New("SASL continue before SASL")
			}
			// The salt's iterations are the cluster's to choose, and a
			// tenant's administrator can set a role's verifier: bound
			// the work before the library does it.
			if !iterationsWithin(string(body[4:]), maxSCRAMIterations) {
				return errors.New("the cluster's SCRAM exchange asks for too many iterations")
			}
			final, err := conv.Step(string(body[4:]))
			if err != nil {
				return fmt.Errorf("the cluster's SCRAM exchange: %w", err)
			}
			if _, err := rw.Write(message('p', []byte(final))); err != nil {
				return err
			}
		case 12: // SASL final
			if conv == nil {
				return errors.New("SASL final before SASL")
			}
			if _, err := conv.Step(string(body[4:])); err != nil || !conv.Valid() {
				return errors.New("the cluster's SCRAM signature does not verify")
			}
		default:
			return fmt.Errorf("the cluster asks for authentication %d, not SCRAM", code)
		}
	}
	return errors.New("signing in took too many steps")
}

// iterationsWithin reports whether a SCRAM server-first-message names an
// iteration count of at most max.
func iterationsWithin(serverFirst string, max int) bool {
	for _, f := range strings.Split(serverFirst, ",") {
		if v, ok := strings.CutPrefix(f, "i="); ok {
			n, err := strconv.Atoi(v)
			return err == nil && n >= 1 && n <= max
		}
	}
	return false
}

// scramIterations is the work of the verifiers the proxy sets:
// PostgreSQL's default (scram_iterations).
const scramIterations = 4096

// scramVerifier is a password as PostgreSQL stores it,
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, for ALTER
// ROLE ... PASSWORD: the statement then carries no password, which the
// administrator (a member of pg_read_all_stats) could otherwise read in
// pg_stat_activity, and from which no client's proof can be made.
func scramVerifier(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	client, err := scram.SHA256.NewClient("", password, "")
	if err != nil {
		return "", err
	}
	creds, err := client.GetStoredCredentialsWithError(scram.KeyFactors{Salt: string(salt), Iters: scramIterations})
	if err != nil {
		return "", err
	}
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", scramIterations, b64(salt), b64(creds.StoredKey), b64(creds.ServerKey)), nil
}
