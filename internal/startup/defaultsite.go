package startup

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"

	"github.com/slipway-dev/slipway/internal/atomicfile"
)

// defaultSiteApp is Slipway's default site: a WSGI module exposing `app`,
// served as application:app when nothing else is found (docs/appservice.md §4,
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
	if err := atomicfile.WriteFile(filepath.Join(dir, "application.py"), defaultSiteApp, 0o644); err != nil {
		return fmt.Errorf("writing default site: %w", err)
	}
	return nil
}
