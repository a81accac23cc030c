package deploy

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
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
// or build user can change what every later instance starts from. The app
// then reads its release as any other user does, so each entry is also
// made readable by all, and folders and the owner's executables usable:
// a file the package gave no access for others (`az webapp up` zips its
// own config file, mode 0600, with the project) would otherwise fail the
// publish step, which copies the release as the app, and be unreadable to
// the app — on App Service the app runs as root and reads all it deployed.
// The tree is walked through os.Root, so a link leads nowhere outside it.
// Without root there is no other user to keep out, and nothing changes.
func sealTree(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := root.Lchown(p, 0, 0); err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil // a link's own mode means nothing
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		perm := info.Mode().Perm()
		want := perm | 0o444
		if d.IsDir() || perm&0o100 != 0 {
			want |= 0o111
		}
		if want == perm {
			return nil
		}
		return root.Chmod(p, want)
	})
}
