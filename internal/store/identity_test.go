package store

import (
	"bytes"
	"database/sql"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
)

const testSecret = "abc8Q~0123456789abcdefghijklmnopqrstuvwx"

func TestPrincipals(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	sp, err := s.CreatePrincipal(ctx, Principal{Kind: ServicePrincipal, DisplayName: "deployer"})
	if err != nil {
		t.Fatalf("CreatePrincipal: %v", err)
	}
	if len(sp.ObjectID) != 36 || len(sp.AppID) != 36 || sp.ObjectID == sp.AppID {
		t.Fatalf("ids = %q, %q; want two distinct GUIDs", sp.ObjectID, sp.AppID)
	}
	got, err := s.PrincipalByAppID(ctx, toUpper(sp.AppID))
	if err != nil || got.ObjectID != sp.ObjectID {
		t.Fatalf("PrincipalByAppID (upper case) = %+v, %v", got, err)
	}
	site := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app"
	mi, err := s.CreatePrincipal(ctx, Principal{Kind: SystemAssignedIdentity, DisplayName: "app", ResourceID: site})
	if err != nil {
		t.Fatalf("CreatePrincipal(system-assigned): %v", err)
	}
	_, err = s.CreatePrincipal(ctx, Principal{Kind: SystemAssignedIdentity, DisplayName: "app", ResourceID: toUpper(site)})
	wantCode(t, err, slipway.ECONFLICT)
	_, err = s.CreatePrincipal(ctx, Principal{Kind: UserAssignedIdentity, DisplayName: "x"})
	wantCode(t, err, slipway.EINVALID)
	list, err := s.PrincipalsByResource(ctx, toUpper(site))
	if err != nil || len(list) != 1 || list[0].ObjectID != mi.ObjectID {
		t.Fatalf("PrincipalsByResource = %+v, %v", list, err)
	}
	_, err = s.AddPrincipalSecret(ctx, mi.ObjectID, testSecret, "", time.Now(), time.Now().Add(time.Hour), false)
	wantCode(t, err, slipway.EINVALID)
	if err := s.DeletePrincipal(ctx, mi.ObjectID); err != nil {
		t.Fatalf("DeletePrincipal: %v", err)
	}
	_, err = s.PrincipalByObjectID(ctx, mi.ObjectID)
	wantCode(t, err, slipway.ENOTFOUND)
}

func TestPrincipalSecrets(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	sp, err := s.CreatePrincipal(ctx, Principal{Kind: ServicePrincipal, DisplayName: "deployer"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ps, err := s.AddPrincipalSecret(ctx, sp.ObjectID, testSecret, "rbac", now.Add(-time.Minute), now.Add(time.Hour), false)
	if err != nil {
		t.Fatalf("AddPrincipalSecret: %v", err)
	}
	if ps.Hint != "abc" {
		t.Errorf("hint = %q, want abc", ps.Hint)
	}
	// The secret is nowhere in the database, in clear.
	var hash []byte
	if err := s.read.QueryRowContext(ctx, `SELECT hash FROM principal_secrets`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(hash, []byte(testSecret)) || len(hash) != 32 {
		t.Errorf("stored hash %x", hash)
	}

	for _, tc := range []struct {
		name, app, secret string
		at                time.Time
		code              string
	}{
		{"right", sp.AppID, testSecret, now, ""},
		{"wrong", sp.AppID, testSecret[:39] + "y", now, slipway.EUNAUTHORIZED},
		{"empty", sp.AppID, "", now, slipway.EUNAUTHORIZED},
		{"expired", sp.AppID, testSecret, now.Add(2 * time.Hour), slipway.EUNAUTHORIZED},
		{"not yet valid", sp.AppID, testSecret, now.Add(-time.Hour), slipway.EUNAUTHORIZED},
		{"unknown app", "00000000-0000-0000-0000-000000000000", testSecret, now, slipway.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CheckPrincipalSecret(ctx, tc.app, tc.secret, tc.at)
			wantCode(t, err, tc.code)
		})
	}

	// Append a second secret: both work; reset: only the new one does.
	second := "xyz1Q~0123456789abcdefghijklmnopqrstuvwx"
	if _, err := s.AddPrincipalSecret(ctx, sp.ObjectID, second, "", now.Add(-time.Minute), now.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	for _, sec := range []string{testSecret, second} {
		if _, err := s.CheckPrincipalSecret(ctx, sp.AppID, sec, now); err != nil {
			t.Errorf("secret %s… after append: %v", sec[:3], err)
		}
	}
	third := "pqr2Q~0123456789abcdefghijklmnopqrstuvwx"
	if _, err := s.AddPrincipalSecret(ctx, sp.ObjectID, third, "", now.Add(-time.Minute), now.Add(time.Hour), true); err != nil {
		t.Fatal(err)
	}
	_, err = s.CheckPrincipalSecret(ctx, sp.AppID, testSecret, now)
	wantCode(t, err, slipway.EUNAUTHORIZED)
	if _, err := s.CheckPrincipalSecret(ctx, sp.AppID, third, now); err != nil {
		t.Errorf("new secret after reset: %v", err)
	}
	list, err := s.PrincipalSecrets(ctx, sp.ObjectID)
	if err != nil || len(list) != 1 || list[0].Hint != "pqr" {
		t.Fatalf("PrincipalSecrets = %+v, %v", list, err)
	}
	if err := s.DeletePrincipalSecret(ctx, sp.ObjectID, list[0].KeyID); err != nil {
		t.Fatal(err)
	}
	_, err = s.CheckPrincipalSecret(ctx, sp.AppID, third, now)
	wantCode(t, err, slipway.EUNAUTHORIZED)
}

// A hash made under one master key does not verify under another: the
// database alone is not enough to check a guess.
func TestPrincipalSecretHashIsKeyed(t *testing.T) {
	a, _ := openTest(t)
	b, _ := openTest(t)
	salt := []byte("0123456789abcdef")
	if bytes.Equal(a.secretHash(salt, testSecret), b.secretHash(salt, testSecret)) {
		t.Fatal("two stores with different master keys hash alike")
	}
}

func TestSigningKeys(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k1 := SigningKey{KID: "k1", PrivateKey: []byte("private one"), Certificate: []byte("cert1"), Created: t0}
	k2 := SigningKey{KID: "k2", PrivateKey: []byte("private two"), Certificate: []byte("cert2"), Created: t0.Add(time.Hour)}
	for _, k := range []SigningKey{k1, k2} {
		if err := s.AddSigningKey(ctx, k); err != nil {
			t.Fatalf("AddSigningKey: %v", err)
		}
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("SigningKeys = %v, %v", keys, err)
	}
	if keys[0].KID != "k2" || !keys[0].Retired.IsZero() || string(keys[0].PrivateKey) != "private two" {
		t.Errorf("current key = %+v", keys[0])
	}
	if keys[1].KID != "k1" || !keys[1].Retired.Equal(k2.Created) {
		t.Errorf("retired key = %+v", keys[1])
	}
	// At rest the private key is sealed.
	var sealed []byte
	if err := s.read.QueryRowContext(ctx, `SELECT private_key FROM signing_keys WHERE kid = 'k1'`).Scan(&sealed); err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("private one")) {
		t.Error("private key stored in clear")
	}
	n, err := s.DeleteSigningKeysRetiredBefore(ctx, k2.Created.Add(time.Second))
	if err != nil || n != 1 {
		t.Fatalf("DeleteSigningKeysRetiredBefore = %d, %v", n, err)
	}
	keys, _ = s.SigningKeys(ctx)
	if len(keys) != 1 || keys[0].KID != "k2" {
		t.Errorf("after delete: %+v", keys)
	}
}

func toUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}
