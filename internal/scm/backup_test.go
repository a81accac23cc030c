package scm

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/archive"
	"github.com/slipway-dev/slipway/internal/deploy"
)

// memBlobs stands in for the blob service (Packages and BackupBlobs) in
// these tests, by the blob's path; the real blob service is under the
// real az in cmd/slipway's realaz_backup_test.go.
type memBlobs struct {
	mu    sync.Mutex
	blobs map[string][]byte
}

func (m *memBlobs) Open(ctx context.Context, u *url.URL) (io.ReadCloser, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[u.Path]
	if !ok {
		return nil, 0, slipway.Errorf(slipway.ENOTFOUND, "the blob service answered 404 BlobNotFound")
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

func (m *memBlobs) Put(ctx context.Context, u *url.URL, body io.Reader, size int64) error {
	b, err := io.ReadAll(body)
	if err != nil || int64(len(b)) != size {
		return slipway.Errorf(slipway.EINVALID, "short body: %v", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[u.Path] = b
	return nil
}

func (m *memBlobs) Delete(ctx context.Context, u *url.URL) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blobs, u.Path)
	return nil
}

// recordingDeployer keeps the packages submitted to it.
type recordingDeployer struct {
	fakeDeployer
	got []byte
}

func (d *recordingDeployer) Submit(_ context.Context, _ slipway.Site, pkg io.Reader, o deploy.Options) (slipway.Deployment, error) {
	d.got, _ = io.ReadAll(pkg)
	return slipway.Deployment{ID: "d1", Status: slipway.DeploySuccess, Message: o.Message}, nil
}

func newBackupEnv(t *testing.T) (*vfsEnv, *memBlobs, *recordingDeployer) {
	t.Helper()
	blobs := &memBlobs{blobs: map[string][]byte{}}
	dep := &recordingDeployer{}
	e := newVFS(t, func(c *Config) {
		c.Packages, c.BackupBlobs, c.Deployer = blobs, blobs, dep
		c.Store = &deploymentsStore{vfsStore: &vfsStore{}}
		c.PackageAddresses = BlobAddresses{PathHosts: []string{"127.0.0.1"}, BlobPort: 10000}
	})
	return e, blobs, dep
}

// deploymentsStore answers GetDeployment for the recording deployer's
// one deployment.
type deploymentsStore struct{ *vfsStore }

func (deploymentsStore) GetDeployment(_ context.Context, _, id string) (slipway.Deployment, error) {
	return slipway.Deployment{ID: id, Status: slipway.DeploySuccess}, nil
}

const backupContainer = "http://127.0.0.1:10000/acct/backups?sv=2024-01-01&sr=c&sp=rwdl&sig=secret"

// TestBackupRoundTrip: a backup holds the app's home — its deployed files
// apart, without the build's environment and the logs — and a restore
// puts the home's files back over what is there (what the backup lacks
// stays), and deploys the deployed files as a package.
func TestBackupRoundTrip(t *testing.T) {
	e, blobs, dep := newBackupEnv(t)
	ctx := t.Context()
	site := slipway.Site{ResourceGroup: "rg", Name: "app"}
	e.write("data/db.sqlite3", "rows v1")
	e.write("site/wwwroot/app.py", "print('app')")
	e.write("LogFiles/app.log", "log lines")
	if err := os.Symlink("/somewhere/venv", filepath.Join(e.homes["app"], "site/wwwroot/antenv")); err != nil {
		t.Fatal(err)
	}
	u, err := e.h.BackupBlobURL(backupContainer, "bk1")
	if err != nil {
		t.Fatal(err)
	}
	w, err := e.h.WriteBackup(ctx, site, u, []byte(`{"meta":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Left) != 0 || w.Size == 0 || w.SiteSize != int64(len("rows v1")+len("print('app')")) {
		t.Fatalf("written = %+v; want nothing left out, the two files' bytes", w)
	}
	if _, ok := blobs.blobs["/acct/backups/bk1.zip"]; !ok {
		t.Fatalf("no blob at bk1.zip: %v", blobs.blobs)
	}

	e.write("data/db.sqlite3", "rows v2")
	e.write("data/new.txt", "made later")
	e.write("data/db.sqlite3-wal", "a log newer than the backup's database")
	e.write("data/new.txt-journal", "beside a file the backup lacks")
	b, err := e.h.OpenBackup(ctx, site, u)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if string(b.Meta()) != `{"meta":1}` {
		t.Errorf("meta = %q", b.Meta())
	}
	if got := e.read("data/db.sqlite3"); got != "rows v2" {
		t.Fatalf("opening the backup changed the home: db = %q", got)
	}
	if err := b.RestoreHome(); err != nil {
		t.Fatal(err)
	}
	if got := e.read("data/db.sqlite3"); got != "rows v1" {
		t.Errorf("after the restore, db = %q, want rows v1", got)
	}
	if got := e.read("data/new.txt"); got != "made later" {
		t.Errorf("after the restore, new.txt = %q, want it kept", got)
	}
	if _, err := os.Lstat(e.path("data/db.sqlite3-wal")); !os.IsNotExist(err) {
		t.Errorf("the database's newer write-ahead log stayed beside the restored database: %v", err)
	}
	if got := e.read("data/new.txt-journal"); got != "beside a file the backup lacks" {
		t.Errorf("new.txt-journal = %q, want it kept", got)
	}
	d, deployed, err := b.DeployFiles(ctx, "restored")
	if err != nil || !deployed || d.Status != slipway.DeploySuccess {
		t.Fatalf("DeployFiles = %+v, %v, %v", d, deployed, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(dep.got), int64(len(dep.got)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "app.py" {
		t.Errorf("the deployed package holds %v, want app.py only (no antenv, no logs)", names)
	}
	b.Close()
	if entries, _ := os.ReadDir(e.homes["app"]); len(entries) != 3 {
		t.Errorf("the home after the restore holds %v: staging left behind?", entries)
	}
}

// TestBackupOfSparseDataRestores: a backup the app's files make (a 2 MB
// file of zeros — a preallocated database, a file an end user uploaded)
// must open again, and its deployed files must pass a deployment's limits:
// deflated, such a file expands past archive's zip-bomb ratio, which
// refused the home part at the restore, and would refuse the deployment
// of wwwroot after the home and configuration had been restored.
func TestBackupOfSparseDataRestores(t *testing.T) {
	e, _, dep := newBackupEnv(t)
	ctx := t.Context()
	site := slipway.Site{ResourceGroup: "rg", Name: "app"}
	zeros := strings.Repeat("\x00", 2<<20)
	e.write("data/prealloc.db", zeros)
	e.write("site/wwwroot/static/blank.bin", zeros)
	u, err := e.h.BackupBlobURL(backupContainer, "bk1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.WriteBackup(ctx, site, u, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	b, err := e.h.OpenBackup(ctx, site, u)
	if err != nil {
		t.Fatalf("OpenBackup of the app's own backup: %v", err)
	}
	defer b.Close()
	if _, _, err := b.DeployFiles(ctx, "restored"); err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(t.TempDir(), "site.zip")
	if err := os.WriteFile(pkg, dep.got, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := archive.Extract(ctx, pkg, filepath.Join(t.TempDir(), "x"), archive.DefaultLimits()); err != nil {
		t.Errorf("the deployment would refuse the backup's wwwroot: %v", err)
	}
}

// TestBackupNotesAreBounded: what a backup leaves out is named, but the
// app decides how much that is — a link costs it one inode, and a path
// may be 4 KB long — and the names are held in the server's memory, then
// kept in the backup's record in the server's database and shown in
// every list of its backups. Past a bound they are counted, not named.
func TestBackupNotesAreBounded(t *testing.T) {
	e, _, _ := newBackupEnv(t)
	site := slipway.Site{ResourceGroup: "rg", Name: "app"}
	dir := filepath.Join(e.homes["app"], "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const links = 2000
	for i := range links {
		name := fmt.Sprintf("%04d-%s", i, strings.Repeat("l", 200))
		if err := os.Symlink("/etc/passwd", filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	u, err := e.h.BackupBlobURL(backupContainer, "bk1")
	if err != nil {
		t.Fatal(err)
	}
	w, err := e.h.WriteBackup(t.Context(), site, u, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range w.Left {
		n += len(l)
	}
	if n > maxNoteBytes+1024 || len(w.Left) == 0 || !strings.Contains(w.Left[len(w.Left)-1], "more") {
		t.Fatalf("%d notes of %d bytes in all, the last %q; want at most %d bytes, counting the rest", len(w.Left), n, w.Left[len(w.Left)-1], maxNoteBytes)
	}
}

// manyEntries is a zip of n empty entries: a small file whose central
// directory archive/zip would hold in memory whole, 46 bytes of it a
// File of a few hundred.
func manyEntries(t *testing.T, n int, first ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range first {
		if _, err := zw.Create(name); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		if _, err := zw.CreateRaw(&zip.FileHeader{Name: "x", Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRestoreOfManyEntriesIsRefusedCheaply: the blob a restore reads is
// anyone's (a tenant restores into its own app a blob it crafted), and
// archive/zip keeps every central directory header it finds in memory
// before anything can be refused: the backup itself, or its wwwroot.zip
// (which only a deployment's archive.Extract counted first), of a few
// hundred thousand empty entries would take hundreds of MB of the
// server's memory per restore (a 4 GB blob: tens of GB). Both are refused
// before they are parsed.
func TestRestoreOfManyEntriesIsRefusedCheaply(t *testing.T) {
	e, blobs, _ := newBackupEnv(t)
	site := slipway.Site{ResourceGroup: "rg", Name: "app"}
	const n = 300_000
	stored := func(zw *zip.Writer, name string, b []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err == nil {
			_, err = w.Write(b)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	empty := manyEntries(t, 0)
	var crafted bytes.Buffer
	zw := zip.NewWriter(&crafted)
	stored(zw, "slipway-backup.json", []byte(`{}`))
	stored(zw, "home.zip", empty)
	stored(zw, "wwwroot.zip", manyEntries(t, n, "app.py"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		blob []byte
	}{
		{"the backup's own directory", manyEntries(t, n, "slipway-backup.json", "home.zip", "wwwroot.zip")},
		{"wwwroot.zip's directory", crafted.Bytes()},
	} {
		t.Run(c.name, func(t *testing.T) {
			blobs.blobs["/acct/backups/crafted.zip"] = c.blob
			u, err := e.h.BackupBlobURL(backupContainer, "crafted")
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b, err := e.h.OpenBackup(t.Context(), site, u)
			runtime.ReadMemStats(&after)
			if err == nil {
				b.Close()
				t.Fatal("OpenBackup took it")
			}
			if got := (after.TotalAlloc - before.TotalAlloc) >> 20; got > 16 {
				t.Errorf("refusing it (%v) allocated %d MB", err, got)
			}
		})
	}
}
