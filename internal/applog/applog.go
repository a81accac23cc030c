// Package applog keeps each app's log stream: the app's own stdout/stderr and
// the platform's events about it (build, release, start, crash, restart).
//
// Lines are timestamped and appended to files under the app's persistent
// home, named as App Service names them (docs/appservice.md §10):
// LogFiles/YYYY_MM_DD_<machine>_default_docker.log for app output and
// LogFiles/YYYY_MM_DD_<machine>_docker.log for platform events. Live
// subscribers (the Kudu log stream, `webapp log tail`) get every new line and
// the most recent ones on connect.
//
// The home belongs to the app's user and the server runs as root, so the
// files are opened only through an os.Root on the home's LogFiles directory,
// and anything there that is not a plain file of our own (a symlink, a FIFO,
// a hard link to another file) is removed inside that directory rather than
// written through. When LogFiles itself is not a real directory, lines are
// kept in memory only. Writes are buffered (flushed within FlushDelay or at
// FlushBytes) and the files are capped in total size and, optionally, in age,
// as App Service's file-system logging is
// (https://learn.microsoft.com/azure/app-service/troubleshoot-diagnostic-logs#enable-application-logging-linuxcontainer).
package applog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway/internal/redact"
)

// Sources of log lines; each has its own file.
const (
	SourceApp      = "default_docker" // the app's stdout and stderr
	SourcePlatform = "docker"         // platform events about the app
)

const recentLines = 200

// Defaults for Config.
const (
	// DefaultMaxBytes is App Service's default quota for file-system logs
	// (35 MB), the total of an app's log files before the oldest go.
	DefaultMaxBytes    = 35 << 20
	DefaultFlushDelay  = 200 * time.Millisecond
	DefaultFlushBytes  = 64 << 10
	reopenBackoff      = 5 * time.Second
	timestampLayout    = "2006-01-02T15:04:05.000000000Z"
	fileDateLayout     = "2006_01_02"
	fileOpenFlags      = os.O_WRONLY | os.O_APPEND | syscall.O_NOFOLLOW | syscall.O_NONBLOCK
	minPerFileMaxBytes = 1 << 10
	// MaxLineBytes is the longest line kept: longer ones arrive in pieces,
	// as Docker's log driver splits them on App Service. An app's lines are
	// held in memory (the recent ring, subscribers' queues).
	MaxLineBytes = 16 << 10
)

// Config configures a Hub.
type Config struct {
	Machine    string           // machine name used in file names, e.g. "slipway0"
	Now        func() time.Time // nil → time.Now
	Logger     *slog.Logger     // the platform's own log (refused files, I/O errors); nil → discard
	FlushDelay time.Duration    // longest a line waits in memory before it is written; 0 → DefaultFlushDelay
	FlushBytes int              // buffered bytes that force a write; 0 → DefaultFlushBytes
	MaxBytes   int64            // default total size of an app's log files; 0 → DefaultMaxBytes
	Days       int              // default retention in days; 0 → keep until MaxBytes
}

// Hub owns the logs of every app.
type Hub struct {
	cfg    Config
	mu     sync.Mutex
	apps   map[string]*Log // by lower-cased site name
	closed bool
	timers sync.WaitGroup // armed flush timers

	reopenBackoff time.Duration // how long a LogFiles that failed to open is left alone
}

// NewHub returns a Hub. Close it to write out buffered lines.
func NewHub(cfg Config) *Hub {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Machine == "" {
		cfg.Machine = "slipway0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.FlushDelay <= 0 {
		cfg.FlushDelay = DefaultFlushDelay
	}
	if cfg.FlushBytes <= 0 {
		cfg.FlushBytes = DefaultFlushBytes
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	return &Hub{cfg: cfg, apps: make(map[string]*Log), reopenBackoff: reopenBackoff}
}

// App returns the log of a site whose LogFiles directory is dir (empty: keep
// lines in memory only), creating it on first use. Later calls return the
// same Log whatever dir they pass.
func (h *Hub) App(site, dir string) *Log {
	h.mu.Lock()
	defer h.mu.Unlock()
	key := strings.ToLower(site)
	if l, ok := h.apps[key]; ok {
		return l
	}
	l := &Log{
		hub: h, site: site, dir: dir, uid: -1, gid: -1,
		maxBytes: h.cfg.MaxBytes, days: h.cfg.Days, sweepDue: true,
		filesClosed: h.closed,
		subs:        make(map[chan string]struct{}),
	}
	h.apps[key] = l
	return l
}

// Forget drops a site's log (after the site is deleted): buffered lines are
// written, its files closed, and open subscriptions end.
func (h *Hub) Forget(site string) {
	h.mu.Lock()
	l := h.apps[strings.ToLower(site)]
	delete(h.apps, strings.ToLower(site))
	h.mu.Unlock()
	if l != nil {
		l.closeFiles()
		l.closeSubs()
	}
}

// Close writes out every app's buffered lines and closes its files. Lines
// logged afterwards are kept in memory only.
func (h *Hub) Close() error {
	h.mu.Lock()
	h.closed = true
	logs := make([]*Log, 0, len(h.apps))
	for _, l := range h.apps {
		logs = append(logs, l)
	}
	h.mu.Unlock()
	var errs []error
	for _, l := range logs {
		errs = append(errs, l.closeFiles())
	}
	h.timers.Wait()
	return errors.Join(errs...)
}

// Log is one app's log.
type Log struct {
	hub     *Hub
	site    string
	dir     string
	secrets redact.Set // values masked in every line

	mu          sync.Mutex
	recent      [recentLines]string // ring buffer
	head, count int                 // index of the oldest line; lines held
	subs        map[chan string]struct{}
	closed      bool // subscriptions ended

	uid, gid    int // owner of created files; -1 = leave as created
	maxBytes    int64
	days        int
	sinks       []*sink // one per source
	root        *os.Root
	rootInfo    fs.FileInfo
	buffered    int // bytes buffered over all sinks
	timer       *time.Timer
	armed       bool
	sweepDue    bool      // run retention and the cap before the next write
	retryAt     time.Time // after a failure to open LogFiles, when to try again
	missing     bool      // LogFiles (or the home) did not exist at the last try
	warned      string    // the last problem logged, so it is logged once
	filesClosed bool
	others      int64 // bytes in the hub's files other than the open ones, as of the last sweep
}

// sink is the open file of one source.
type sink struct {
	source string
	name   string // current file name in LogFiles
	day    string
	f      *os.File
	info   fs.FileInfo // of f, to see whether the name still leads to it
	size   int64
	buf    []byte
}

// SetOwner makes files the log creates from now on owned by uid:gid (the
// app's user), so the app can read its own logs. Files already open are
// handed over too.
func (l *Log) SetOwner(uid, gid int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.uid, l.gid = uid, gid
	for _, s := range l.sinks {
		if s.f != nil {
			l.chown(s.f)
		}
	}
}

// SetRetention sets the total size of the app's log files (maxBytes, 0 →
// the hub's default) and how many days of them to keep (0 → keep until the
// size is reached), as `az webapp log config --docker-container-logging
// filesystem --retention-days N` does. It applies from the next write.
func (l *Log) SetRetention(maxBytes int64, days int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if maxBytes <= 0 {
		maxBytes = l.hub.cfg.MaxBytes
	}
	l.maxBytes, l.days, l.sweepDue = maxBytes, max(days, 0), true
}

// Flush writes buffered lines to the files now.
func (l *Log) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushLocked()
}

// Secrets is the set of secret values (the app's resolved Key Vault
// references) masked in every line of the log, from the app and from the
// platform, before it is kept, written or sent to subscribers.
func (l *Log) Secrets() *redact.Set { return &l.secrets }

// Event records a platform event about the app.
func (l *Log) Event(format string, args ...any) {
	l.line(SourcePlatform, fmt.Appendf(nil, format, args...))
}

// Writer returns a writer whose lines go to the given source. Partial lines
// are held until their newline arrives (or Close flushes them). Each Writer
// is for one producer; it is not safe for concurrent use.
func (l *Log) Writer(source string) *LineWriter {
	return &LineWriter{log: l, source: source}
}

func (l *Log) line(source string, text []byte) string {
	now := l.hub.cfg.Now().UTC()
	text = l.secrets.Bytes(bytes.TrimRight(text, "\r\n"))
	var ts [len(timestampLayout) + 8]byte
	var b strings.Builder
	b.Grow(len(timestampLayout) + 1 + len(text))
	b.Write(now.AppendFormat(ts[:0], timestampLayout))
	b.WriteByte(' ')
	b.Write(text)
	rec := b.String()

	l.mu.Lock()
	defer l.mu.Unlock()
	l.toFile(now, source, rec)
	if l.count < recentLines {
		l.recent[(l.head+l.count)%recentLines] = rec
		l.count++
	} else {
		l.recent[l.head] = rec
		l.head = (l.head + 1) % recentLines
	}
	for ch := range l.subs {
		select {
		case ch <- rec:
		default: // a slow reader loses lines rather than stalling the app
		}
	}
	return rec
}

// recentLocked returns up to n of the most recent lines, oldest first.
func (l *Log) recentLocked(n int) []string {
	n = max(min(n, l.count), 0)
	out := make([]string, n)
	for i := range n {
		out[i] = l.recent[(l.head+l.count-n+i)%recentLines]
	}
	return out
}

// Recent returns up to n of the most recent lines, oldest first.
func (l *Log) Recent(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.recentLocked(n)
}

// Subscribe returns the last n lines and a channel of new lines. The channel
// is closed when ctx ends or the log is forgotten.
func (l *Log) Subscribe(ctx context.Context, n int) ([]string, <-chan string) {
	ch := make(chan string, 1024)
	l.mu.Lock()
	recent := l.recentLocked(n)
	if l.closed {
		close(ch)
		l.mu.Unlock()
		return recent, ch
	}
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	context.AfterFunc(ctx, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, ok := l.subs[ch]; ok {
			delete(l.subs, ch)
			close(ch)
		}
	})
	return recent, ch
}

func (l *Log) closeSubs() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for ch := range l.subs {
		delete(l.subs, ch)
		close(ch)
	}
}

// closeFiles writes out what is buffered and closes the files; later lines
// stay in memory.
func (l *Log) closeFiles() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.flushLocked()
	l.filesClosed = true
	l.closeAllLocked()
	l.disarm()
	return err
}

// toFile buffers a line for its source's file.
func (l *Log) toFile(now time.Time, source, rec string) {
	if l.dir == "" || l.filesClosed {
		return
	}
	s := l.sink(source)
	var dbuf [len(fileDateLayout)]byte
	if day := now.AppendFormat(dbuf[:0], fileDateLayout); s.day != string(day) { // no allocation for the same day
		l.flushSink(s)
		l.closeSink(s)
		s.day = string(day)
		s.name = fmt.Sprintf("%s_%s_%s.log", s.day, l.hub.cfg.Machine, source)
		l.sweepDue = true
	}
	if !l.armed {
		l.arm()
	}
	s.buf = append(s.buf, rec...)
	s.buf = append(s.buf, '\n')
	l.buffered += len(rec) + 1
	if len(s.buf) >= min(l.hub.cfg.FlushBytes, int(l.perFileMax())) {
		l.flushSink(s)
	}
}

func (l *Log) sink(source string) *sink {
	for _, s := range l.sinks {
		if s.source == source {
			return s
		}
	}
	s := &sink{source: source}
	l.sinks = append(l.sinks, s)
	return s
}

// perFileMax is the size at which a file is rolled over: a quarter of the
// total, so the cap is kept by deleting whole older files.
func (l *Log) perFileMax() int64 {
	return max(l.maxBytes/4, minPerFileMaxBytes)
}

// arm starts the timer that writes out buffered lines.
func (l *Log) arm() { l.armAfter(l.hub.cfg.FlushDelay) }

func (l *Log) armAfter(d time.Duration) {
	l.armed = true
	l.hub.timers.Add(1)
	if l.timer == nil {
		l.timer = time.AfterFunc(d, l.onTimer)
	} else {
		l.timer.Reset(d)
	}
}

func (l *Log) onTimer() {
	defer l.hub.timers.Done()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed = false
	l.flushLocked()
	// Lines still buffered wait for a LogFiles not made yet (flushSink):
	// try again when it may be opened again, not only when another line
	// comes — an app that logs only as it starts would otherwise never
	// have its file.
	if l.buffered > 0 && !l.filesClosed && !l.armed {
		l.armAfter(max(l.hub.cfg.FlushDelay, l.retryAt.Sub(l.hub.cfg.Now())))
	}
}

func (l *Log) disarm() {
	if l.armed && l.timer.Stop() {
		l.armed = false
		l.hub.timers.Done()
	}
}

// flushLocked writes every source's buffered lines.
func (l *Log) flushLocked() error {
	var errs []error
	for _, s := range l.sinks {
		errs = append(errs, l.flushSink(s))
	}
	if l.buffered == 0 {
		l.disarm()
	}
	return errors.Join(errs...)
}

// flushSink writes a source's buffered lines to its file, opening, rolling
// and sweeping as needed. Lines that cannot be written are dropped from the
// file (they stay in memory for Recent and subscribers) — but for those
// that wait, up to maxWaiting bytes, for a LogFiles not made yet: they are
// written with the first flush after it exists.
func (l *Log) flushSink(s *sink) (err error) {
	if len(s.buf) == 0 {
		return nil
	}
	keep := false
	defer func() {
		if keep {
			return
		}
		l.buffered -= len(s.buf)
		s.buf = s.buf[:0]
		if cap(s.buf) > 4*l.hub.cfg.FlushBytes {
			s.buf = nil
		}
	}()
	if s.f != nil && !l.stillOurs(s) {
		l.closeSink(s)
	}
	if s.f == nil {
		if err := l.openSink(s); err != nil {
			keep = l.root == nil && errors.Is(err, fs.ErrNotExist) && len(s.buf) <= l.maxWaiting()
			return err
		}
	}
	if s.size > 0 && s.size+int64(len(s.buf)) > l.perFileMax() {
		if err := l.roll(s); err != nil {
			return err
		}
	}
	if l.sweepDue || l.total()+int64(len(s.buf)) > l.maxBytes {
		l.sweep(int64(len(s.buf)))
	}
	n, err := s.f.Write(s.buf)
	s.size += int64(n)
	if err != nil {
		l.warn("write", "writing an app log file", "site", l.site, "file", s.name, "err", err)
		l.closeSink(s)
		return fmt.Errorf("writing %s: %w", s.name, err)
	}
	return nil
}

// maxWaiting is how much of a source's lines wait in memory for a LogFiles
// not made yet.
func (l *Log) maxWaiting() int { return 4 * l.hub.cfg.FlushBytes }

// stillOurs reports whether LogFiles and the sink's file name still lead to
// the directory and file the log has open (the app may have moved, deleted
// or replaced either).
func (l *Log) stillOurs(s *sink) bool {
	di, err := os.Lstat(l.dir)
	if err != nil || !os.SameFile(di, l.rootInfo) {
		return false
	}
	fi, err := l.root.Lstat(s.name)
	return err == nil && os.SameFile(fi, s.info)
}

// openRoot opens the app's LogFiles directory as an os.Root, through an
// os.Root on its parent (the app's home), refusing a LogFiles that is a
// symlink or not a directory.
func (l *Log) openRoot() error {
	if l.root != nil {
		di, err := os.Lstat(l.dir)
		if err == nil && os.SameFile(di, l.rootInfo) {
			return nil
		}
		l.closeAllLocked()
	}
	now := l.hub.cfg.Now()
	if now.Before(l.retryAt) {
		if l.missing {
			return fmt.Errorf("app log directory not made yet: %w", fs.ErrNotExist)
		}
		return errors.New("app log directory unavailable")
	}
	err := func() error {
		home, err := os.OpenRoot(filepath.Dir(l.dir))
		if err != nil {
			return err
		}
		defer home.Close()
		base := filepath.Base(l.dir)
		li, err := home.Lstat(base)
		if err != nil {
			return err
		}
		if !li.IsDir() {
			return fmt.Errorf("%s is not a directory (%s)", l.dir, li.Mode().Type())
		}
		root, err := home.OpenRoot(base)
		if err != nil {
			return err
		}
		ri, err := root.Stat(".")
		if err != nil || !os.SameFile(ri, li) { // swapped between the Lstat and the open
			root.Close()
			return fmt.Errorf("%s changed while it was being opened", l.dir)
		}
		l.root, l.rootInfo = root, ri
		return nil
	}()
	l.missing = errors.Is(err, fs.ErrNotExist)
	if err != nil {
		l.retryAt = now.Add(l.hub.reopenBackoff)
		if !l.missing {
			// Not yet made is no fault (the home is prepared when the app
			// first starts, and mounted at each server start): flushSink
			// keeps the lines for it.
			l.warn("dir:"+err.Error(), "app log directory refused; keeping lines in memory", "site", l.site, "dir", l.dir, "err", err)
		}
		return fmt.Errorf("opening app log directory: %w", err)
	}
	return nil
}

// openSink opens the source's current file inside LogFiles. A name that
// is not a plain file with one link (a symlink, a FIFO, a hard link the
// app made to some other file) is removed and a fresh file created.
func (l *Log) openSink(s *sink) error {
	if err := l.openRoot(); err != nil {
		return err
	}
	f, err := l.root.OpenFile(s.name, fileOpenFlags, 0)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = l.create(s.name)
	} else if err == nil && !l.plainFile(f, s.name) {
		f.Close()
		err = errors.New("not a plain file")
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// Whatever is there (symlink, FIFO, socket, hard link, directory) is
		// not the log's: remove it inside LogFiles and start afresh.
		l.warn("file:"+s.name, "app log file refused; replacing it", "site", l.site, "file", s.name, "err", err)
		if rerr := l.root.Remove(s.name); rerr == nil || errors.Is(rerr, fs.ErrNotExist) {
			f, err = l.create(s.name)
		}
	}
	if err != nil {
		l.warn("open:"+s.name, "opening app log file", "site", l.site, "file", s.name, "err", err)
		return fmt.Errorf("opening %s: %w", s.name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening %s: %w", s.name, err)
	}
	s.f, s.info, s.size = f, fi, fi.Size()
	l.warned = ""
	return nil
}

// create makes a new file in LogFiles; it fails if any entry (even a
// dangling symlink) has the name.
func (l *Log) create(name string) (*os.File, error) {
	f, err := l.root.OpenFile(name, fileOpenFlags|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	if !l.plainFile(f, name) {
		f.Close()
		return nil, errors.New("created file is not a plain file")
	}
	l.chown(f)
	return f, nil
}

// plainFile reports whether f is a regular file with a single link that
// name (in LogFiles) still leads to.
func (l *Log) plainFile(f *os.File, name string) bool { return plainFileIn(l.root, f, name) }

// plainFileIn reports whether f is a regular file with a single link that
// name in dir still leads to.
func plainFileIn(dir *os.Root, f *os.File, name string) bool {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Nlink != 1 {
		return false
	}
	li, err := dir.Lstat(name)
	return err == nil && os.SameFile(fi, li)
}

func (l *Log) chown(f *os.File) {
	if l.uid < 0 && l.gid < 0 {
		return
	}
	if err := f.Chown(l.uid, l.gid); err != nil {
		l.warn("chown", "handing an app log file to the app's user", "site", l.site, "file", f.Name(), "err", err)
	}
}

// roll renames the source's full file to the next free
// <date>_<machine>_<source>.<n>.log and starts a fresh one.
func (l *Log) roll(s *sink) error {
	base := strings.TrimSuffix(s.name, ".log")
	next := 1
	for _, e := range l.listFiles() {
		if rest, ok := strings.CutPrefix(e.name, base+"."); ok {
			if n, err := strconv.Atoi(strings.TrimSuffix(rest, ".log")); err == nil && n >= next {
				next = n + 1
			}
		}
	}
	l.others += s.size
	l.closeSink(s)
	if err := l.root.Rename(s.name, fmt.Sprintf("%s.%d.log", base, next)); err != nil {
		l.warn("roll:"+s.name, "rolling an app log file", "site", l.site, "file", s.name, "err", err)
		return fmt.Errorf("rolling %s: %w", s.name, err)
	}
	return l.openSink(s)
}

// logFile is a file of the hub's in LogFiles.
type logFile struct {
	name string
	date string // YYYY_MM_DD from the name
	size int64
	mod  time.Time
}

// listFiles lists the regular files in LogFiles that the hub writes:
// YYYY_MM_DD_<machine>_<source>[.<n>].log.
func (l *Log) listFiles() []logFile {
	d, err := l.root.Open(".")
	if err != nil {
		return nil
	}
	defer d.Close()
	entries, _ := d.ReadDir(-1)
	var files []logFile
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, ".log") || len(name) < len(fileDateLayout)+1 {
			continue
		}
		date := name[:len(fileDateLayout)]
		if _, err := time.Parse(fileDateLayout, date); err != nil || !strings.HasPrefix(name[len(date):], "_"+l.hub.cfg.Machine+"_") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, logFile{name: name, date: date, size: info.Size(), mod: info.ModTime()})
	}
	return files
}

// total returns the size of the hub's files in LogFiles, as far as the log
// knows without reading the directory: it is exact after a sweep.
func (l *Log) total() int64 {
	var t int64
	for _, s := range l.sinks {
		if s.f != nil {
			t += s.size
		}
	}
	return t + l.others
}

// sweep deletes the hub's files older than the retention and then, oldest
// first, files other than the ones being written until incoming more bytes
// fit under the cap.
func (l *Log) sweep(incoming int64) {
	l.sweepDue = false
	files := l.listFiles()
	current := map[string]bool{}
	for _, s := range l.sinks {
		if s.f != nil {
			current[s.name] = true
		}
	}
	var cutoff string
	if l.days > 0 {
		cutoff = l.hub.cfg.Now().UTC().AddDate(0, 0, -l.days).Format(fileDateLayout)
	}
	slices.SortFunc(files, func(a, b logFile) int {
		if c := strings.Compare(a.date, b.date); c != 0 {
			return c
		}
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	var total int64
	for _, f := range files {
		total += f.size
	}
	var kept []logFile
	for _, f := range files {
		if !current[f.name] && ((cutoff != "" && f.date < cutoff) || total+incoming > l.maxBytes) {
			if err := l.root.Remove(f.name); err == nil || errors.Is(err, fs.ErrNotExist) {
				total -= f.size
				continue
			}
		}
		kept = append(kept, f)
	}
	l.others = 0
	for _, f := range kept {
		if !current[f.name] {
			l.others += f.size
		}
	}
}

func (l *Log) closeSink(s *sink) {
	if s.f != nil {
		s.f.Close()
		s.f, s.info, s.size = nil, nil, 0
	}
}

func (l *Log) closeAllLocked() {
	for _, s := range l.sinks {
		l.closeSink(s)
	}
	if l.root != nil {
		l.root.Close()
		l.root, l.rootInfo = nil, nil
	}
}

// warn logs a problem with the app's log files once until it changes.
func (l *Log) warn(key, msg string, args ...any) {
	if l.warned == key {
		return
	}
	l.warned = key
	l.hub.cfg.Logger.Warn(msg, args...)
}

// LineWriter splits what it is given into lines for a Log.
type LineWriter struct {
	log     *Log
	source  string
	buf     bytes.Buffer
	attempt *Attempt // also gets the lines, until it ends (startup.go)
}

func (w *LineWriter) line(text []byte) {
	rec := w.log.line(w.source, text)
	if w.attempt != nil {
		w.attempt.add(rec)
	}
}

// Write implements io.Writer.
func (w *LineWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for {
		switch i := bytes.IndexByte(w.buf.Bytes(), '\n'); {
		case i >= 0 && i <= MaxLineBytes:
			w.line(w.buf.Next(i + 1))
		case w.buf.Len() >= MaxLineBytes: // a very long line: in pieces
			// Cut where no secret value is split (each piece is masked
			// on its own), once every byte of a value crossing the cut
			// is here.
			b := w.buf.Bytes()
			if i < 0 && len(b) < MaxLineBytes+w.log.secrets.Longest()-1 {
				return len(p), nil
			}
			if i >= 0 {
				b = b[:i]
			}
			w.line(w.buf.Next(w.log.secrets.Cut(b, MaxLineBytes)))
		default:
			return len(p), nil
		}
	}
}

// Close flushes a trailing partial line.
func (w *LineWriter) Close() error {
	if w.buf.Len() > 0 {
		w.line(w.buf.Bytes())
		w.buf.Reset()
	}
	return nil
}
