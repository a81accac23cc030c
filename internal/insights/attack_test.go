package insights

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// allocated is how many bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestSplitEnvelopesMemory: anyone may send a body (ingestion takes no
// credentials), so a body of the largest size made of the smallest items
// must be refused for its count without the server first holding every
// item apart: 16 MB of "0," is 8 million items, hundreds of MB as slices.
func TestSplitEnvelopesMemory(t *testing.T) {
	for name, body := range map[string][]byte{
		"array": append(append([]byte("["), bytes.Repeat([]byte("0,"), maxBody/2-1)...), '0', ']'),
		"lines": bytes.Repeat([]byte("0\n"), maxBody/2),
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			n := allocated(func() { _, err = splitEnvelopes(body) })
			if err == nil || !strings.Contains(err.Error(), "at most") {
				t.Errorf("%d small items: %v, want refused for their count", len(body)/2, err)
			}
			if n > 4*maxBody {
				t.Errorf("refusing a %d MB body took %d MB", len(body)>>20, n>>20)
			}
		})
	}
}

// TestSplitEnvelopesShapes: an array is read whole, and nothing after it.
func TestSplitEnvelopesShapes(t *testing.T) {
	for body, want := range map[string]int{`[{"a":1}, {"b":2}]`: 2, "{\"a\":1}\n\n{\"b\":2}\n": 2, `[{"a":1}`: -1, `[{"a":1}] [1]`: -1,
		`[{"a":1},]`: -1, `[]`: -1, `[{"a":1}]x`: -1} {
		raws, err := splitEnvelopes([]byte(body))
		if want < 0 && err == nil || want >= 0 && (err != nil || len(raws) != want) {
			t.Errorf("%s: %d items, %v; want %d", body, len(raws), err, want)
		}
	}
}
