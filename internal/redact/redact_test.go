package redact

import (
	"bytes"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	var s Set
	s.Add("hunter2-password", "", "ab", "line-one-secret\nline-two-secret", "hunter2")
	tests := []struct{ in, want string }{
		{"password=hunter2-password;", "password=***;"},
		{"just hunter2 here", "just *** here"},
		{"ab stays: too short to mask", "ab stays: too short to mask"},
		{"first line-one-secret then line-two-secret", "first *** then ***"},
		{"nothing secret", "nothing secret"},
	}
	for _, tc := range tests {
		if got := s.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := string(s.Bytes([]byte(tc.in))); got != tc.want {
			t.Errorf("Bytes(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var nilSet *Set
	if nilSet.String("x") != "x" || nilSet.Len() != 0 {
		t.Errorf("a nil Set should mask nothing")
	}
}

func TestSetIsBounded(t *testing.T) {
	var s Set
	for i := range MaxValues + 10 {
		s.Add(strings.Repeat("v", 4) + string(rune('a'+i%26)) + strings.Repeat("x", i))
	}
	if s.Len() != MaxValues {
		t.Errorf("Len = %d, want %d", s.Len(), MaxValues)
	}
	s.Add(strings.Repeat("z", MaxValueBytes+100))
	if s.Longest() > MaxValueBytes {
		t.Errorf("a value longer than %d bytes is held whole", MaxValueBytes)
	}
}

// A value split across writes, or sitting in a line far longer than the
// writer holds, is still masked.
func TestWriterSplitWrites(t *testing.T) {
	var s Set
	secret := "s3cr3t-value-0123456789"
	s.Add(secret)
	var out bytes.Buffer
	w := NewWriter(&s, &out)
	text := "env: DB_PASSWORD=" + secret + "\nagain " + secret + " and tail " + secret
	for i := 0; i < len(text); i += 5 {
		w.Write([]byte(text[i:min(i+5, len(text))]))
	}
	if strings.Contains(out.String(), secret) {
		t.Fatalf("secret leaked before Close: %q", out.String())
	}
	w.Close()
	if strings.Contains(out.String(), "s3cr3t") || strings.Count(out.String(), Mask) != 3 {
		t.Errorf("output %q, want the value masked three times", out.String())
	}

	out.Reset()
	w = NewWriter(&s, &out)
	long := strings.Repeat("x", flushAt-3) + secret + strings.Repeat("y", 100)
	for i := 0; i < len(long); i += 7 { // the flush falls inside the value
		w.Write([]byte(long[i:min(i+7, len(long))]))
	}
	w.Close()
	if strings.Contains(out.String(), "s3cr3t") || !strings.Contains(out.String(), Mask) {
		t.Errorf("a value across the forced flush leaked")
	}
	if out.Len() != len(long)-len(secret)+len(Mask) {
		t.Errorf("output has %d bytes, want %d", out.Len(), len(long)-len(secret)+len(Mask))
	}

	// One write whose forced cut falls inside a whole value.
	out.Reset()
	w = NewWriter(&s, &out)
	w.Write([]byte(strings.Repeat("x", flushAt) + secret + "0123456789"))
	if strings.Contains(out.String(), "s3cr3t") {
		t.Errorf("the forced cut leaked a value's beginning")
	}
}
