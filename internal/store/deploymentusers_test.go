package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
)

// TestSiteSCMType: scmType is stored per site, "None" unless set, and
// only the values Slipway serves are accepted.
func TestSiteSCMType(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	site := seed(t, s)
	if site.Config.SCMType != "" {
		t.Fatalf("new site's scmType = %q, want \"\" (None)", site.Config.SCMType)
	}
	site.Config.SCMType = slipway.SCMLocalGit
	if _, _, err := s.PutSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	got, err := s.Site(ctx, "rg", "app")
	if err != nil || got.Config.SCMType != slipway.SCMLocalGit {
		t.Fatalf("after PutSite: %q, %v", got.Config.SCMType, err)
	}
	var stored string
	if err := s.read.QueryRowContext(ctx, `SELECT scm_type FROM sites WHERE name = 'app'`).Scan(&stored); err != nil || stored != "LocalGit" {
		t.Fatalf("stored scm_type = %q, %v", stored, err)
	}
	site.Config.SCMType = ""
	if _, _, err := s.PutSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	if err := s.read.QueryRowContext(ctx, `SELECT scm_type FROM sites WHERE name = 'app'`).Scan(&stored); err != nil || stored != "None" {
		t.Fatalf("stored scm_type = %q, %v; want Azure's None", stored, err)
	}
	site.Config.SCMType = "GitHub"
	_, _, err = s.PutSite(ctx, site)
	wantCode(t, err, slipway.EINVALID)
}

func TestPublishingUsers(t *testing.T) {
	s, dir := openTest(t)
	ctx := t.Context()
	alice, err := s.CreatePrincipal(ctx, Principal{Kind: ServicePrincipal, DisplayName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := s.CreatePrincipal(ctx, Principal{Kind: ServicePrincipal, DisplayName: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	const pw = "Deploy-Pa55word"

	if name, err := s.PublishingUser(ctx, alice.ObjectID); err != nil || name != "" {
		t.Fatalf("before set: %q, %v", name, err)
	}
	if err := s.SetPublishingUser(ctx, strings.ToUpper(alice.ObjectID), "alice-deploy", pw); err != nil {
		t.Fatalf("SetPublishingUser: %v", err)
	}
	if name, err := s.PublishingUser(ctx, alice.ObjectID); err != nil || name != "alice-deploy" {
		t.Fatalf("after set: %q, %v", name, err)
	}
	// Check: the name in any casing, the exact password.
	if oid, err := s.CheckPublishingUser(ctx, "Alice-Deploy", pw); err != nil || oid != alice.ObjectID {
		t.Fatalf("CheckPublishingUser = %q, %v", oid, err)
	}
	for _, c := range [][2]string{{"alice-deploy", "deploy-pa55word"}, {"alice-deploy", ""}, {"nobody", pw}, {"$app", pw}} {
		_, err := s.CheckPublishingUser(ctx, c[0], c[1])
		wantCode(t, err, slipway.EUNAUTHORIZED)
	}

	// Another principal's name: 409, in any casing; its own again: fine
	// (a new password replaces the old one).
	err = s.SetPublishingUser(ctx, bob.ObjectID, "ALICE-deploy", "0ther-pass")
	wantCode(t, err, slipway.ECONFLICT)
	if _, err := s.CheckPublishingUser(ctx, "alice-deploy", "0ther-pass"); err == nil {
		t.Fatal("bob's attempt changed alice's password")
	}
	if err := s.SetPublishingUser(ctx, alice.ObjectID, "alice-deploy", "New-pass-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckPublishingUser(ctx, "alice-deploy", pw); err == nil {
		t.Fatal("the old password still works")
	}
	// A principal that does not exist gets none.
	err = s.SetPublishingUser(ctx, "99999999-0000-4000-8000-000000000000", "ghost", pw)
	wantCode(t, err, slipway.ENOTFOUND)

	// Azure's rules, refused with messages that never repeat the password.
	for _, c := range []struct{ name, pw string }{
		{"me@example.com", pw}, {"$app", pw}, {`app\me`, pw}, {"a:b", pw}, {"", pw}, {strings.Repeat("x", 65), pw},
		{"carol", "short1!"}, {"carol", "onlyletters"}, {"carol", "1234567890"}, {"carol", "pass\nword1"},
	} {
		err := s.SetPublishingUser(ctx, bob.ObjectID, c.name, c.pw)
		wantCode(t, err, slipway.EINVALID)
		if c.pw != "" && strings.Contains(err.Error(), c.pw) {
			t.Errorf("the error repeats the password: %v", err)
		}
	}

	// The password is nowhere in the database, and the hash is not a bare
	// digest of it.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"slipway.db", "slipway.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if bytes.Contains(b, []byte("New-pass-2")) {
			t.Errorf("%s holds the password", name)
		}
	}
	db, err := sql.Open("sqlite", "file:"+dir+"/slipway.db?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var salt, hash []byte
	if err := db.QueryRow(`SELECT salt, hash FROM publishing_users WHERE user_name = 'alice-deploy'`).Scan(&salt, &hash); err != nil {
		t.Fatal(err)
	}
	if len(salt) != 16 || len(hash) != 32 {
		t.Errorf("salt %d bytes, hash %d bytes", len(salt), len(hash))
	}
}

// Deleting a principal frees its deployment user name.
func TestPublishingUserGoesWithItsPrincipal(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	p, err := s.CreatePrincipal(ctx, Principal{Kind: ServicePrincipal, DisplayName: "temp"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPublishingUser(ctx, p.ObjectID, "temp-user", "Temp-pass-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePrincipal(ctx, p.ObjectID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckPublishingUser(ctx, "temp-user", "Temp-pass-1"); err == nil {
		t.Fatal("a deleted principal's deployment user still authenticates")
	}
	q, _ := s.CreatePrincipal(ctx, Principal{Kind: ServicePrincipal, DisplayName: "next"})
	if err := s.SetPublishingUser(ctx, q.ObjectID, "temp-user", "Temp-pass-2"); err != nil {
		t.Fatalf("the name was not freed: %v", err)
	}
}

// TestPublishingUserChecksBounded: a password that checked out is not
// hashed slowly again (until a new password is set); wrong ones always
// are; slow checks beyond the slots wait, then are refused as unavailable;
// the memory of good checks stays bounded.
func TestPublishingUserChecksBounded(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	alice, err := s.CreatePrincipal(ctx, Principal{Kind: ServicePrincipal, DisplayName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	const pw = "Deploy-Pa55word"
	if err := s.SetPublishingUser(ctx, alice.ObjectID, "alice-deploy", pw); err != nil {
		t.Fatal(err)
	}
	check := func(name, pw string) (slow int64, err error) {
		before := s.pw.slow.Load()
		_, err = s.CheckPublishingUser(ctx, name, pw)
		return s.pw.slow.Load() - before, err
	}
	if n, err := check("alice-deploy", pw); err != nil || n != 1 {
		t.Fatalf("first check: %d slow, %v", n, err)
	}
	if n, err := check("ALICE-deploy", pw); err != nil || n != 0 {
		t.Fatalf("second check: %d slow, %v; want none", n, err)
	}
	for range 3 {
		if n, err := check("alice-deploy", "wrong-Pa55word"); slipway.ErrorCode(err) != slipway.EUNAUTHORIZED || n != 1 {
			t.Fatalf("wrong password: %d slow, %v", n, err)
		}
	}
	// The same password set again (a new salt): checked slowly again.
	if err := s.SetPublishingUser(ctx, alice.ObjectID, "alice-deploy", pw); err != nil {
		t.Fatal(err)
	}
	if n, err := check("alice-deploy", pw); err != nil || n != 1 {
		t.Fatalf("after a new set: %d slow, %v", n, err)
	}
	// And a changed one is never taken from memory.
	if err := s.SetPublishingUser(ctx, alice.ObjectID, "alice-deploy", "New-pass-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := check("alice-deploy", pw); slipway.ErrorCode(err) != slipway.EUNAUTHORIZED {
		t.Fatalf("old password after a change: %v", err)
	}

	// Every slot busy: a check waits, then is refused; a cancelled one
	// returns at once.
	for range cap(s.pw.slots) {
		s.pw.slots <- struct{}{}
	}
	start := time.Now()
	if _, err := check("alice-deploy", "New-pass-2"); slipway.ErrorCode(err) != slipway.EUNAVAILABLE {
		t.Fatalf("all slots busy: %v, want unavailable", err)
	} else if d := time.Since(start); d < passwordCheckWait {
		t.Fatalf("refused after %v, before waiting %v", d, passwordCheckWait)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.CheckPublishingUser(cctx, "alice-deploy", "New-pass-2"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while waiting: %v", err)
	}
	for range cap(s.pw.slots) {
		<-s.pw.slots
	}
	if n, err := check("alice-deploy", "New-pass-2"); err != nil || n != 1 {
		t.Fatalf("slots free again: %d slow, %v", n, err)
	}

	// The memory stays bounded.
	now := time.Now()
	for i := range verifiedMax + 10 {
		s.pw.remember(fmt.Sprint(i), now.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(s.pw.verified); n > verifiedMax || n < verifiedMax/4 {
		t.Fatalf("%d remembered after %d, want at most %d", n, verifiedMax+10, verifiedMax)
	}
	if !s.pw.remembered(fmt.Sprint(verifiedMax+9), now) {
		t.Fatal("the newest was dropped")
	}
}
