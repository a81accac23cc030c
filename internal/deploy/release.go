package deploy

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/internal/tree"
)

// sqliteHeader starts every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// sqliteNextToCode returns the SQLite databases (relative paths) that were
// written at or after since in the app's directory or its immediate
// subdirectories — where Django's startproject puts db.sqlite3 — leaving out
// the environment. Such a database lives and dies with each instance.
func sqliteNextToCode(dir string, since time.Time) []string {
	var found []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel != "." && (rel == "antenv" || strings.Count(rel, string(filepath.Separator)) >= 1) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.ModTime().Before(since.Add(-time.Second)) {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		head := make([]byte, len(sqliteHeader))
		_, err = io.ReadFull(f, head)
		f.Close()
		if err == nil && bytes.Equal(head, sqliteHeader) {
			found = append(found, filepath.ToSlash(rel))
		}
		return nil
	})
	return found
}

// sealTree gives a release to root once its release step has run: no app
// or build user can change what every later instance starts from. Without
// root there is no other user to keep out, and nothing changes.
func sealTree(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return tree.Chown(dir, 0, 0)
}
