package blob

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"errors"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

// TestCopyToFile checks that the pipelined copy writes exactly the body and
// that every hasher sees every byte in order, across the sizes where the
// pipeline changes shape: empty, inside one chunk, exactly one chunk, one
// byte more, and many chunks (more than the chunks in flight), also with
// a reader that returns one byte at a time.
func TestCopyToFile(t *testing.T) {
	sizes := []int{0, 1, 1000, copyChunk - 1, copyChunk, copyChunk + 1, copyChunks*copyChunk + 12345, 3*writebackEvery + 7}
	for _, size := range sizes {
		for _, oneByte := range []bool{false, true} {
			if oneByte && size > 3*copyChunk {
				continue
			}
			data := make([]byte, size)
			rand.Read(data)
			var r io.Reader = bytes.NewReader(data)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			f, err := os.Create(filepath.Join(t.TempDir(), "out"))
			if err != nil {
				t.Fatal(err)
			}
			m, c := md5.New(), crc64.New(crc64Table)
			n, err := copyToFile(f, r, []io.Writer{m, c})
			f.Close()
			if err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			got, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			wantMD5 := md5.Sum(data)
			switch {
			case n != int64(size):
				t.Errorf("size %d (one byte %v): copied %d", size, oneByte, n)
			case !bytes.Equal(got, data):
				t.Errorf("size %d (one byte %v): file content differs", size, oneByte)
			case !bytes.Equal(m.Sum(nil), wantMD5[:]):
				t.Errorf("size %d (one byte %v): MD5 differs", size, oneByte)
			case c.Sum64() != crc64.Checksum(data, crc64Table):
				t.Errorf("size %d (one byte %v): CRC64 differs", size, oneByte)
			}
		}
	}
}

// TestCopyToFileReaderError: a body that fails part-way (a client that
// disconnects) is an error, whether it fails in the first chunk or later.
func TestCopyToFileReaderError(t *testing.T) {
	boom := errors.New("connection reset")
	for _, at := range []int{0, 100, copyChunk, 5*copyChunk + 3} {
		f, err := os.Create(filepath.Join(t.TempDir(), "out"))
		if err != nil {
			t.Fatal(err)
		}
		r := io.MultiReader(io.LimitReader(rand.Reader, int64(at)), iotest.ErrReader(boom))
		_, err = copyToFile(f, r, []io.Writer{md5.New()})
		f.Close()
		if !errors.Is(err, boom) {
			t.Errorf("failing after %d bytes: got %v, want %v", at, err, boom)
		}
	}
}
