package archive

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestAttackRoomAsked: what a package expands to lands on the caller's
// disk. Limits.Room is asked for the whole archive before anything is
// written and for each file before it is; its refusal ends the
// extraction, wrapped, and leaves nothing behind.
func TestAttackRoomAsked(t *testing.T) {
	short := errors.New("short")
	zipPath := writeBytes(t, zipBytes(t, []zent{{name: "a.txt", body: "aaaa"}, {name: "d/", body: ""}, {name: "d/b.txt", body: "bbbbbb"}}))
	for _, tc := range []struct {
		name    string
		refuseN int // the call that is refused
		want    []int64
	}{
		{"the whole", 1, []int64{10}},
		{"a file", 3, []int64{10, 4, 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "out")
			var asked []int64
			lim := Limits{Room: func(n int64) error {
				asked = append(asked, n)
				if len(asked) == tc.refuseN {
					return short
				}
				return nil
			}}
			_, err := Extract(t.Context(), zipPath, dest, lim)
			if !errors.Is(err, short) {
				t.Fatalf("err = %v; want the refusal", err)
			}
			if len(asked) != len(tc.want) || asked[0] != tc.want[0] || asked[len(asked)-1] != tc.want[len(tc.want)-1] {
				t.Errorf("asked %v, want %v", asked, tc.want)
			}
			if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the extraction folder is left: %v", err)
			}
		})
	}
}
