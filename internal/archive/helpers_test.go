package archive

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// zent describes one entry of a zip crafted by a test.
type zent struct {
	name string
	body string
	mode fs.FileMode // 0 means a regular 0644 file (or 0755 folder when name ends in "/")

	// raw, when set, writes the entry with CreateRaw: the compressed bytes
	// and the header fields are taken as given, so a header can lie.
	raw *rawEntry
}

type rawEntry struct {
	method           uint16
	data             []byte // already compressed
	crc              uint32
	compressedSize   uint64
	uncompressedSize uint64
}

var testTime = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// zipBytes builds a zip from entries with archive/zip.
func zipBytes(t testing.TB, entries []zent) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: testTime}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if strings.HasSuffix(e.name, "/") {
				mode = fs.ModeDir | 0o755
			}
		}
		h.SetMode(mode)
		if e.raw != nil {
			h.Method = e.raw.method
			h.CRC32 = e.raw.crc
			h.CompressedSize64 = e.raw.compressedSize
			h.UncompressedSize64 = e.raw.uncompressedSize
			w, err := zw.CreateRaw(h)
			if err != nil {
				t.Fatalf("CreateRaw(%q): %v", e.name, err)
			}
			if _, err := w.Write(e.raw.data); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if mode&fs.ModeSymlink != 0 || mode.IsDir() {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatalf("CreateHeader(%q): %v", e.name, err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeZip writes a crafted zip into its own temp folder and returns its path.
func writeZip(t testing.TB, entries []zent) string {
	t.Helper()
	return writeBytes(t, zipBytes(t, entries))
}

func writeBytes(t testing.TB, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "package.zip")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// deflate compresses b.
func deflate(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// lyingEntry is a deflated entry holding actual, whose header declares
// declared bytes (and a matching CRC for what it declares).
func lyingEntry(t testing.TB, name string, actual []byte, declared uint64) zent {
	t.Helper()
	c := deflate(t, actual)
	return zent{name: name, raw: &rawEntry{
		method:           zip.Deflate,
		data:             c,
		crc:              crc32.ChecksumIEEE(actual[:min(uint64(len(actual)), declared)]),
		compressedSize:   uint64(len(c)),
		uncompressedSize: declared,
	}}
}

// node is one item of a folder listing.
type node struct {
	Type   string // "dir", "file", "link", "other"
	Perm   fs.FileMode
	Body   string // file content (hashed when long) or link target
	Modded string // modification time for files, RFC 3339, "" when not compared
}

// listTree lists everything under dir (not dir itself), keyed by
// slash-separated relative path, without following links.
func listTree(t testing.TB, dir string, withTimes bool) map[string]node {
	t.Helper()
	out := map[string]node{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		n := node{Perm: info.Mode().Perm()}
		switch {
		case info.IsDir():
			n.Type = "dir"
		case info.Mode()&fs.ModeSymlink != 0:
			n.Type = "link"
			n.Perm = 0
			n.Body, err = os.Readlink(p)
			if err != nil {
				return err
			}
		case info.Mode().IsRegular():
			n.Type = "file"
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n.Body = string(b)
			if len(b) > 64 {
				sum := sha256.Sum256(b)
				n.Body = "sha256:" + hex.EncodeToString(sum[:])
			}
			if withTimes {
				n.Modded = info.ModTime().UTC().Format(time.RFC3339)
			}
		default:
			n.Type = "other"
		}
		out[rel] = n
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", dir, err)
	}
	return out
}

// asError returns err as *Error or fails the test.
func asError(t testing.TB, err error) *Error {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v (%T), want *archive.Error", err, err)
	}
	return ae
}

// requireCI fails when running in CI and skips locally, for tests that
// need something CI provides.
func requireCI(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
