package cli

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// Words for generated app names, `<adjective>-<noun>-<hex>` as az webapp up
// makes them (docs/appservice.md §13).
var (
	adjectives = []string{"agreeable", "brave", "calm", "clever", "delightful", "eager", "fancy", "gentle", "happy",
		"jolly", "kind", "lively", "mellow", "nice", "polite", "proud", "quiet", "rapid", "shiny", "silly",
		"sunny", "swift", "thankful", "tidy", "victorious", "witty", "wonderful", "zealous"}
	nouns = []string{"acorn", "bay", "beach", "bird", "brook", "canyon", "cliff", "cloud", "dune", "field",
		"forest", "glacier", "grass", "hill", "island", "lake", "meadow", "moss", "mountain", "ocean",
		"pebble", "pond", "river", "rock", "sea", "sky", "stone", "tree", "water", "wave"}
)

// randUint reads a random number in [0, n) from rnd.
func randUint(rnd io.Reader, n int) (int, error) {
	var b [8]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return 0, fmt.Errorf("reading random bytes: %w", err)
	}
	return int(binary.BigEndian.Uint64(b[:]) % uint64(n)), nil
}

// randomAppName returns "<adjective>-<noun>-<32 hex>", az's default app name
// (a uuid4 hex, docs/arm.md §1.14).
func randomAppName(rnd io.Reader) (string, error) {
	a, err := randUint(rnd, len(adjectives))
	if err != nil {
		return "", err
	}
	n, err := randUint(rnd, len(nouns))
	if err != nil {
		return "", err
	}
	var id [16]byte
	if _, err := io.ReadFull(rnd, id[:]); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	id[6] = id[6]&0x0f | 0x40 // a version-4 UUID, as Python's uuid4().hex
	id[8] = id[8]&0x3f | 0x80
	return adjectives[a] + "-" + nouns[n] + "-" + hex.EncodeToString(id[:]), nil
}

// defaultUser is the <user> in default group and plan names: $USER up to
// any '@', kept to characters group and plan names allow, else "slipway".
func defaultUser(getenv func(string) string) string {
	u, _, _ := strings.Cut(getenv("USER"), "@")
	var b strings.Builder
	for _, r := range u {
		if r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "slipway"
	}
	return b.String()
}

// defaultGroupName returns "<user>_rg_<4 digits>".
func defaultGroupName(user string, rnd io.Reader) (string, error) {
	n, err := randUint(rnd, 10000)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s_rg_%04d", user, n), nil
}

// defaultPlanName returns "<user>_asp_<4 digits>".
func defaultPlanName(user string, rnd io.Reader) (string, error) {
	n, err := randUint(rnd, 10000)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s_asp_%04d", user, n), nil
}
