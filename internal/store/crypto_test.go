package store

import (
	"bytes"
	"testing"
)

// Derived keys last as long as the master key (the same after a reopen)
// and differ by purpose.
func TestDerivedKey(t *testing.T) {
	s, dir := openTest(t)
	a, err := s.DerivedKey("easyauth")
	if err != nil || len(a) != keySize {
		t.Fatalf("DerivedKey = %x, %v", a, err)
	}
	b, _ := s.DerivedKey("other")
	if bytes.Equal(a, b) {
		t.Fatal("two purposes got the same key")
	}
	if bytes.Equal(a, s.key) {
		t.Fatal("the derived key is the master key")
	}
	s.Close()
	s2, err := Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if again, _ := s2.DerivedKey("easyauth"); !bytes.Equal(a, again) {
		t.Fatal("the key changed when the store was opened again")
	}
	if _, err := s2.DerivedKey(""); err == nil {
		t.Fatal("an empty purpose was taken")
	}
}
