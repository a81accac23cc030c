package blob

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"

	"github.com/slipway-dev/slipway/internal/atomicfile"
	"github.com/slipway-dev/slipway/internal/diskreserve"
)

// Account is a storage account as the blob service needs it: its name, its
// decoded access keys (key1 and key2), and the SKU and kind that Get
// Account Information reports ("" for Standard_LRS and StorageV2).
type Account struct {
	Name string
	Keys [][]byte
	SKU  string
	Kind string
	// ResourceID is the account's ARM id,
	// /subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<name>:
	// the root of the scopes Entra ID requests are authorized over
	// (oauth.go). Empty (the development account) refuses them.
	ResourceID string
}

// ErrAccountNotFound is returned by Accounts.Account when no account has the
// requested name.
var ErrAccountNotFound = errors.New("storage account not found")

// Accounts is how the service learns which accounts exist and their keys.
type Accounts interface {
	// Account returns the named account, or an error wrapping
	// ErrAccountNotFound.
	Account(ctx context.Context, name string) (Account, error)
}

// Config configures a Service.
type Config struct {
	// Dir is the root of this service's data: its SQLite database and the
	// content and staged-block files.
	Dir string
	// Accounts resolves account names to keys.
	Accounts Accounts
	// Logger receives internal errors; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// BaseDomain enables host-style addressing: a request whose Host is
	// <account>.blob.<BaseDomain>[:port] addresses /<container>/<blob> of
	// that account. Empty disables it.
	BaseDomain string
	// Bearer, when set, accepts Microsoft Entra ID (OAuth) access tokens
	// and user delegation SAS (oauth.go, delegation.go). Nil refuses both.
	Bearer BearerAuth
	// DelegationSecret is the root of user delegation keys (delegation.go):
	// at least 32 random bytes, kept across restarts, so that keys and the
	// SAS they signed stay valid. Empty derives them from the account's
	// key1 instead, so regenerating key1 also revokes them.
	DelegationSecret []byte
	// BodyIdleTimeout is how long a request body may send nothing before
	// the request ends with 500 OperationTimedOut and its connection is
	// closed (bodyidle.go); zero means DefaultBodyIdleTimeout. It takes
	// the place of an http.Server's ReadTimeout for request bodies.
	BodyIdleTimeout time.Duration
	// DiskReserve is the free space that uploads must leave on the file
	// system of Dir, which also holds the platform's own data; zero → the
	// default of diskreserve.Amount.
	DiskReserve diskreserve.Amount
	// FreeSpace reads that file system's free space; nil → statfs.
	FreeSpace diskreserve.FreeSpace
	// Reserve, when set, is the Guard uploads ask instead of one of their
	// own from DiskReserve and FreeSpace: the server's, shared with the
	// other writers on the same file system (diskreserve.Disks).
	Reserve *diskreserve.Guard
}

// DefaultBodyIdleTimeout is Config.BodyIdleTimeout's default.
const DefaultBodyIdleTimeout = 60 * time.Second

// Well-known development storage account (as Azurite and the Azure storage
// emulator): tools configured with UseDevelopmentStorage=true use it.
const (
	DevelopmentAccountName = "devstoreaccount1"
	DevelopmentAccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// DevelopmentAccount returns the well-known development account.
func DevelopmentAccount() Account {
	k, err := base64.StdEncoding.DecodeString(DevelopmentAccountKey)
	if err != nil {
		panic(err) // constant
	}
	// Azurite reports its development account as read-access
	// geo-redundant (it serves a secondary endpoint).
	return Account{Name: DevelopmentAccountName, Keys: [][]byte{k}, SKU: "Standard_RAGRS", Kind: "StorageV2"}
}

// Service is the blob service. It is an http.Handler.
var _ http.Handler = (*Service)(nil)

// Service is the blob service.
type Service struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	writer *sql.DB // exactly one connection: all writes serialise here
	reader *sql.DB // pool for reads

	bodyIdle time.Duration // Config.BodyIdleTimeout or its default
	reserve  *diskreserve.Guard

	contentDir string
	blocksDir  string

	appendMu sync.Mutex // serialises Append Block (content is extended in place)

	// Group commit (see groupTx): requests hand their transaction body to
	// the committer goroutine, which Open starts and Close stops.
	commits       chan *commitReq
	quit          chan struct{}
	committerDone chan struct{}
	sweeperDone   chan struct{} // closed when expirySweeper returns (softdelete.go)
	stopOnce      sync.Once

	// Statements prepared once in Open for the hot paths (see stmtCache).
	wstmts *stmtCache // on writer
	rstmts *stmtCache // on reader

	clockMu  sync.Mutex
	lastTick time.Time // for strictly increasing ETags and snapshot times
}

//go:embed migrations/*.sql
var migrations embed.FS

// Open opens (creating if needed) the service's data in cfg.Dir, applies
// migrations and removes files left unreferenced by a crash.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Dir == "" {
		return nil, errors.New("opening blob service: Config.Dir is empty")
	}
	if cfg.Accounts == nil {
		return nil, errors.New("opening blob service: Config.Accounts is nil")
	}
	s := &Service{
		cfg:        cfg,
		log:        cfg.Logger,
		now:        cfg.Now,
		contentDir: filepath.Join(cfg.Dir, "content"),
		blocksDir:  filepath.Join(cfg.Dir, "blocks"),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.bodyIdle = cfg.BodyIdleTimeout; s.bodyIdle <= 0 {
		s.bodyIdle = DefaultBodyIdleTimeout
	}
	s.reserve = cfg.Reserve
	if s.reserve == nil {
		s.reserve = diskreserve.New(diskreserve.Config{Path: cfg.Dir, What: "blob uploads", Reserve: cfg.DiskReserve,
			FreeSpace: cfg.FreeSpace, Logger: s.log, Now: s.now})
	}
	for _, d := range []string{cfg.Dir, s.contentDir, s.blocksDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("opening blob service: creating %s: %w", d, err)
		}
	}
	dbPath := filepath.Join(cfg.Dir, "blob.db")
	dsn := "file:" + (&url.URL{Path: dbPath}).EscapedPath() +
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("opening blob database: %w", err)
	}
	w.SetMaxOpenConns(1)
	s.writer = w
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening blob database readers: %w", err)
	}
	// Keep every reader connection open: database/sql keeps only two idle
	// by default, and a reopened connection loses its page cache and its
	// prepared statements.
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s.reader = r
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.purgeDeleting(ctx, ""); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.sweep(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.sweepExpired(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if s.wstmts, err = newStmtCache(ctx, s.writer, sqlGetContainer, sqlGetBlobHead, sqlPutBlob, sqlStagedFiles, sqlDeleteStaged,
		sqlSavepoint, sqlRelease, sqlRollbackTo); err != nil {
		s.Close()
		return nil, fmt.Errorf("opening blob service: %w", err)
	}
	if s.rstmts, err = newStmtCache(ctx, s.reader, sqlGetContainer, sqlGetBlob, sqlGetBlobHead); err != nil {
		s.Close()
		return nil, fmt.Errorf("opening blob service: %w", err)
	}
	s.commits = make(chan *commitReq)
	s.quit = make(chan struct{})
	s.committerDone = make(chan struct{})
	s.sweeperDone = make(chan struct{})
	go s.committer(context.WithoutCancel(ctx))
	go s.expirySweeper(context.WithoutCancel(ctx))
	return s, nil
}

// Close closes the database. In-flight requests must have finished.
func (s *Service) Close() error {
	if s.quit != nil {
		s.stopOnce.Do(func() {
			close(s.quit)
			<-s.committerDone
			<-s.sweeperDone
		})
	}
	errs := []error{s.wstmts.close(), s.rstmts.close()}
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	if s.writer != nil {
		errs = append(errs, s.writer.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing blob service: %w", err)
	}
	return nil
}

func (s *Service) migrate(ctx context.Context) error {
	if _, err := s.writer.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY)`); err != nil {
		return fmt.Errorf("creating migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("listing migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		var n int
		if err := s.writer.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
			return fmt.Errorf("checking migration %s: %w", version, err)
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("reading migration %s: %w", version, err)
		}
		tx, err := s.writer.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("applying migration %s: %w", version, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("applying migration %s: %w", version, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, version); err != nil {
			tx.Rollback()
			return fmt.Errorf("recording migration %s: %w", version, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("committing migration %s: %w", version, err)
		}
	}
	return nil
}

// stagedBlockLifetime is how long uncommitted blocks are kept, as Azure
// discards uncommitted blocks after a week.
const stagedBlockLifetime = 7 * 24 * time.Hour

// sweep discards staged blocks older than stagedBlockLifetime, then removes
// content and block files that no committed row references: temp files of
// torn uploads and files whose row was deleted just before a crash.
func (s *Service) sweep(ctx context.Context) error {
	cutoff := s.now().Add(-stagedBlockLifetime).UnixNano()
	if _, err := s.writer.ExecContext(ctx, `DELETE FROM blocks WHERE created < ?`, cutoff); err != nil {
		return fmt.Errorf("discarding stale staged blocks: %w", err)
	}
	for _, spec := range []struct{ dir, query string }{
		{s.contentDir, `SELECT (SELECT count(*) FROM blobs WHERE file = ?1) + (SELECT count(*) FROM extents WHERE file = ?1)`},
		{s.blocksDir, `SELECT count(*) FROM blocks WHERE file = ?`},
	} {
		entries, err := os.ReadDir(spec.dir)
		if err != nil {
			return fmt.Errorf("sweeping %s: %w", spec.dir, err)
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasPrefix(name, ".tmp-") {
				var n int
				if err := s.reader.QueryRowContext(ctx, spec.query, name).Scan(&n); err != nil {
					return fmt.Errorf("sweeping %s: %w", name, err)
				}
				if n > 0 {
					continue
				}
			}
			if err := os.Remove(filepath.Join(spec.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("sweeping %s: %w", name, err)
			}
		}
	}
	return nil
}

// DeleteAccountData removes every container, blob, staged block and the
// service properties of the account. Containers are purged in bounded
// batches; if the process dies midway, Open finishes the purge.
func (s *Service) DeleteAccountData(ctx context.Context, account string) error {
	account = strings.ToLower(account) // as requests name it (address)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE containers SET deleting = 1 WHERE account = ?`, account); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM service_properties WHERE account = ?`, account); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("deleting data of account %s: %w", account, err)
	}
	if err := s.purgeDeleting(ctx, account); err != nil {
		return fmt.Errorf("deleting data of account %s: %w", account, err)
	}
	return nil
}

// rdb is the reader pool with its prepared statements.
func (s *Service) rdb() cachedDB { return cachedDB{s.rstmts} }

// tx runs fn in a write transaction.
func (s *Service) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

func (s *Service) removeFiles(paths []string) error {
	var errs []error
	for _, p := range paths {
		if d := filepath.Clean(p); d == filepath.Clean(s.contentDir) || d == filepath.Clean(s.blocksDir) {
			continue // an inline blob has no file; never remove the directory
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing unreferenced files: %w", err)
	}
	return nil
}

// tick returns the current time, strictly after any previous tick, so that
// ETags and snapshot timestamps never repeat.
func (s *Service) tick() time.Time {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	t := s.now().UTC().Truncate(100 * time.Nanosecond)
	if !t.After(s.lastTick) {
		t = s.lastTick.Add(100 * time.Nanosecond)
	}
	s.lastTick = t
	return t
}

func newETag(t time.Time) string {
	return fmt.Sprintf("\"0x%X\"", t.UnixNano()/100+0x8D000000000000)
}

func randomName() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

// writeFile streams r into a new file in dir (temp name, fsync, rename,
// directory fsync) and returns its final name and size. If hashers are
// given, they see every byte.
func writeFile(dir string, r io.Reader, hashers ...io.Writer) (name string, size int64, err error) {
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", 0, fmt.Errorf("creating temp file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	size, err = copyToFile(tmp, r, hashers)
	if err != nil {
		return "", 0, err
	}
	if err = tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("syncing content: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("closing content: %w", err)
	}
	name = randomName()
	if err = os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return "", 0, fmt.Errorf("renaming content: %w", err)
	}
	if err = atomicfile.SyncDir(dir); err != nil {
		os.Remove(filepath.Join(dir, name))
		return "", 0, err
	}
	return name, size, nil
}

// linkFile gives the content file src (in the content dir) a second name,
// for snapshots and copies of immutable content.
func (s *Service) linkFile(src string) (string, error) {
	name, err := s.linkContent(filepath.Join(s.contentDir, src))
	if err != nil {
		return "", err
	}
	return name, s.syncContentDir()
}

// copyFile copies the first size bytes of content file src into a new file.
func (s *Service) copyFile(src string, size int64) (string, error) {
	f, err := os.Open(filepath.Join(s.contentDir, src))
	if err != nil {
		return "", fmt.Errorf("opening content: %w", err)
	}
	defer f.Close()
	name, _, err := writeFile(s.contentDir, io.LimitReader(f, size))
	return name, err
}
