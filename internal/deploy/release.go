package deploy

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

// sqliteHeader starts every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// maxSQLiteWarnings bounds the warnings warnSQLiteNextToCode logs: the
// release command is the app's code, and could leave any number of files
// that look like databases, each a log entry in the platform's database.
const maxSQLiteWarnings = 10

// warnSQLiteNextToCode warns, in d's log, of the SQLite databases the
// release command (begun at began) wrote next to the code in dir: at most
// maxSQLiteWarnings, then how many more there were.
func (c *Coordinator) warnSQLiteNextToCode(ctx context.Context, d slipway.Deployment, dir string, began time.Time) {
	dbs, more := sqliteNextToCode(dir, began, maxSQLiteWarnings)
	for _, db := range dbs {
		c.step(ctx, d, slipway.LogWarning, "The release command wrote the SQLite database %s next to the code. Every instance starts from a copy of it, and whatever the app writes there is lost at the next restart, scale-out or deployment, as on App Service, where only /home persists. Keep the database under /home instead, e.g. in settings.py: DATABASES['default']['NAME'] = os.path.join(os.environ.get('HOME', BASE_DIR), 'data', 'db.sqlite3') — or use PostgreSQL (a connection string of type PostgreSQL).", db)
	}
	if more > 0 {
		c.step(ctx, d, slipway.LogWarning, "The release command wrote %d more SQLite databases next to the code; the same holds for them.", more)
	}
}

// sqliteNextToCode returns the SQLite databases (relative paths) that were
// written at or after since in the app's directory or its immediate
// subdirectories — where Django's startproject puts db.sqlite3 — leaving out
// the environment. Such a database lives and dies with each instance.
//
// It returns at most limit of them, and how many more it found.
func sqliteNextToCode(dir string, since time.Time, limit int) (found []string, more int) {
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
			if len(found) < limit {
				found = append(found, filepath.ToSlash(rel))
			} else {
				more++
			}
		}
		return nil
	})
	return found, more
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
