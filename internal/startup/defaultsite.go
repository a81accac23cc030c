package startup

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

// defaultSiteApp is Slipway's default site: a WSGI module exposing `app`,
// served as application:app when nothing else is found (APPSERVICE.md §4,
// rule 5). The page is our own, in the spirit of App Service's
// "Hey, Python developers!" page.
//
//go:embed defaultsite/application.py
var defaultSiteApp []byte

// WriteDefaultSite writes the default site's application.py into dir,
// creating dir if needed. The file is written atomically (temp file, fsync,
// rename), so a running default site never sees a half-written module.
func WriteDefaultSite(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing default site: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "application.py"), defaultSiteApp, 0o644); err != nil {
		return fmt.Errorf("writing default site: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to path via a temp file in the same directory,
// fsyncs it, renames it into place and fsyncs the directory.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
