package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
)

// TestAttackSQLiteWarningsFillTheLog: after the release command, which
// is the app's code, the deployment log warned once for each SQLite
// database it left next to the code: a release command writing many
// files of 16 bytes each (on the app's quota) made as many log entries of
// some 700 bytes in the platform's database (on no quota), and held all
// their names in memory. The warnings are bounded, and the log says how
// many more there were.
func TestAttackSQLiteWarningsFillTheLog(t *testing.T) {
	dir := t.TempDir()
	began := time.Now()
	const n = 3 * maxSQLiteWarnings
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("db%03d.sqlite3", i)), sqliteHeader, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	store := newRecordingStore()
	c := New(Config{Store: store, Logs: applog.NewHub(applog.Config{}), DataDir: t.TempDir()})
	d := slipway.Deployment{ID: "d0000000", Site: "app"}
	c.warnSQLiteNextToCode(t.Context(), d, dir, began)
	log := store.log(d.ID)
	if len(log) > maxSQLiteWarnings+1 {
		t.Errorf("%d databases made %d log entries; want at most %d", n, len(log), maxSQLiteWarnings+1)
	}
	if len(log) == 0 || !strings.Contains(log[len(log)-1], "more") {
		t.Errorf("the log does not say there were more: %q", log)
	}
}
