package applog

// Startup logs. App Service on Linux keeps the log of each container start
// apart from the running container's log, in
// LogFiles/StartupLogs/YYYY_MM_DD_<machine>_<outcome>.log, where outcome is
// "success" or "failure": what the container printed and what the platform
// said from its launch until it answered its warm-up request, exited or ran
// out of time. Kudu serves them (/api/startuplogs, scm/startuplogs.go) and
// az reads them (`az webapp log startup list|show`, `az webapp troubleshoot
// status`; docs/appservice.md §10).
//
// An Attempt collects one start's lines as they are logged (they go to the
// app's log stream and docker logs as always) and, when the start ends,
// appends them to the day's file of its outcome, followed by an outcome line
// (StartupOutcome parses it) that the summary counts. The files live in the
// app's LogFiles, which the app owns: they are written through the log's
// os.Root as the docker logs are, a StartupLogs that is not a real directory
// is left alone, and a file name that is not a plain file of one link is
// replaced, never written through.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Startup log names and bounds.
const (
	StartupDir     = "StartupLogs"
	StartupSuccess = "success" // the outcome of a start that answered its warm-up request
	StartupFailure = "failure" // one that exited, or did not answer in time

	// StartupAttemptBytes bounds one start's lines kept for its file: the
	// newest are kept (a crash's traceback is at the end).
	StartupAttemptBytes = 256 << 10
	// StartupFileBytes bounds one day's file of one machine and outcome: a
	// start that would take it past the bound starts the file afresh.
	StartupFileBytes = 1 << 20
	// StartupDirBytes bounds the StartupLogs directory: the oldest files
	// go first.
	StartupDirBytes = 8 << 20
	// StartupDays is how many days of startup logs are kept.
	StartupDays = 7
	// MaxStartupFiles bounds how many entries of StartupLogs are read.
	MaxStartupFiles = 4096

	startupSucceeded = "Startup succeeded"
	startupFailed    = "Startup failed"
)

// StartupFileRE matches a startup log's name: its date, machine and outcome.
var StartupFileRE = regexp.MustCompile(`^(\d{4}_\d{2}_\d{2})_([A-Za-z0-9][A-Za-z0-9-]{0,62})_(success|failure)\.log$`)

// StartupOutcome parses an outcome line of a startup log: when it happened
// and whether the start succeeded. ok is false for any other line.
func StartupOutcome(line string) (at time.Time, succeeded, ok bool) {
	ts, rest, found := strings.Cut(line, " ")
	if !found {
		return time.Time{}, false, false
	}
	switch {
	case strings.HasPrefix(rest, startupSucceeded):
		succeeded = true
	case strings.HasPrefix(rest, startupFailed):
	default:
		return time.Time{}, false, false
	}
	at, err := time.Parse(timestampLayout, ts)
	if err != nil {
		return time.Time{}, false, false
	}
	return at, succeeded, true
}

// Attempt is one start of one instance.
type Attempt struct {
	log     *Log
	machine string
	began   time.Time

	mu      sync.Mutex
	lines   []string // the newest lines, at most StartupAttemptBytes
	size    int
	dropped int  // lines left out at the front
	ending  bool // End was called
	ended   bool // the lines are written: later ones are not kept
}

// BeginStartup starts collecting the lines of a start of the instance that
// runs on machine (a name of letters, digits and '-', as StartupFileRE
// wants): events logged through the Attempt and lines written through its
// writers, until End.
func (l *Log) BeginStartup(machine string) *Attempt {
	return &Attempt{log: l, machine: machine, began: l.hub.cfg.Now()}
}

// Event records a platform event about the app, as Log.Event does, and
// keeps it for the start's log.
func (a *Attempt) Event(format string, args ...any) {
	a.add(a.log.line(SourcePlatform, fmt.Appendf(nil, format, args...)))
}

// Writer returns a writer whose lines go to the given source, as
// Log.Writer's do, and, until End, to the start's log too.
func (a *Attempt) Writer(source string) *LineWriter {
	return &LineWriter{log: a.log, source: source, attempt: a}
}

func (a *Attempt) add(rec string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ended {
		return
	}
	a.lines = append(a.lines, rec)
	a.size += len(rec) + 1
	n := 0
	for a.size > StartupAttemptBytes && n < len(a.lines)-1 {
		a.size -= len(a.lines[n]) + 1
		n++
	}
	if n > 0 {
		a.dropped += n
		a.lines = slices.Delete(a.lines, 0, n)
	}
}

// End ends the start: it logs the outcome line (detail says what happened,
// e.g. the error that failed the start) and appends the start's lines to
// its startup log. Later calls do nothing.
func (a *Attempt) End(succeeded bool, detail string) {
	a.mu.Lock()
	if a.ending {
		a.mu.Unlock()
		return
	}
	a.ending = true
	a.mu.Unlock()
	word, outcome := startupFailed, StartupFailure
	if succeeded {
		word, outcome = startupSucceeded, StartupSuccess
	}
	took := a.log.hub.cfg.Now().Sub(a.began).Seconds()
	line := fmt.Sprintf("%s: machine %s, after %.1fs", word, a.machine, took)
	if detail != "" {
		line += ": " + detail
	}
	a.add(a.log.line(SourcePlatform, []byte(line)))
	a.mu.Lock()
	a.ended = true
	lines, dropped := a.lines, a.dropped
	a.lines = nil
	a.mu.Unlock()

	var b strings.Builder
	if dropped > 0 {
		fmt.Fprintf(&b, "(%d earlier lines of this start were left out: a start keeps its last %d KiB)\n", dropped, StartupAttemptBytes>>10)
	}
	for _, rec := range lines {
		b.WriteString(rec)
		b.WriteByte('\n')
	}
	a.log.writeStartup(a.log.hub.cfg.Now().UTC(), a.machine, outcome, b.String())
}

// writeStartup appends text to the day's startup log of machine and
// outcome, then keeps the directory within its bounds.
func (l *Log) writeStartup(now time.Time, machine, outcome, text string) {
	name := fmt.Sprintf("%s_%s_%s.log", now.Format(fileDateLayout), machine, outcome)
	if !StartupFileRE.MatchString(name) {
		l.hub.cfg.Logger.Warn("startup log not written: machine name not usable in a file name", "site", l.site, "machine", machine)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dir == "" || l.filesClosed {
		return
	}
	if err := l.openRoot(); err != nil {
		return // warned by openRoot
	}
	dir, err := l.startupRoot()
	if err != nil {
		l.warn("startup:"+err.Error(), "startup logs not written", "site", l.site, "err", err)
		return
	}
	defer dir.Close()
	l.sweepStartup(dir, now, int64(len(text)))
	f, err := openPlain(dir, name)
	if err != nil {
		l.warn("startup:"+name, "opening a startup log", "site", l.site, "file", name, "err", err)
		return
	}
	defer f.Close()
	l.chown(f)
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 && fi.Size()+int64(len(text)) > StartupFileBytes {
		if err := f.Truncate(0); err == nil {
			text = fmt.Sprintf("(earlier starts of the day were left out: a startup log keeps at most %d KiB)\n", StartupFileBytes>>10) + text
		}
	}
	if _, err := f.WriteString(text); err != nil {
		l.warn("startup-write:"+name, "writing a startup log", "site", l.site, "file", name, "err", err)
	}
}

// startupRoot opens LogFiles/StartupLogs, making it when it is missing; a
// StartupLogs that is not a real directory (a symlink the app made) is
// refused.
func (l *Log) startupRoot() (*os.Root, error) {
	li, err := l.root.Lstat(StartupDir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := l.root.Mkdir(StartupDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if l.uid >= 0 || l.gid >= 0 {
			l.root.Lchown(StartupDir, l.uid, l.gid)
		}
		li, err = l.root.Lstat(StartupDir)
	}
	if err != nil {
		return nil, err
	}
	if !li.IsDir() {
		return nil, fmt.Errorf("LogFiles/%s is not a directory (%s)", StartupDir, li.Mode().Type())
	}
	dir, err := l.root.OpenRoot(StartupDir)
	if err != nil {
		return nil, err
	}
	if di, err := dir.Stat("."); err != nil || !os.SameFile(di, li) {
		dir.Close()
		return nil, fmt.Errorf("LogFiles/%s changed while it was being opened", StartupDir)
	}
	return dir, nil
}

// openPlain opens name in dir for appending, creating it when missing; a
// name that is not a plain file of one link is removed and made afresh.
func openPlain(dir *os.Root, name string) (*os.File, error) {
	for range 2 {
		f, err := dir.OpenFile(name, fileOpenFlags|os.O_CREATE, 0o644)
		if err == nil {
			if plainFileIn(dir, f, name) {
				return f, nil
			}
			f.Close()
		}
		if rerr := dir.Remove(name); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return nil, fmt.Errorf("replacing %s: %w", name, rerr)
		}
	}
	return nil, fmt.Errorf("%s is not a plain file", name)
}

// sweepStartup deletes startup logs older than StartupDays and then, oldest
// first, those that keep incoming more bytes from fitting in
// StartupDirBytes. Only files named as startup logs are touched.
func (l *Log) sweepStartup(dir *os.Root, now time.Time, incoming int64) {
	d, err := dir.Open(".")
	if err != nil {
		return
	}
	entries, _ := d.ReadDir(MaxStartupFiles)
	d.Close()
	type file struct {
		name, date string
		size       int64
	}
	var files []file
	var total int64
	for _, e := range entries {
		m := StartupFileRE.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, file{e.Name(), m[1], info.Size()})
		total += info.Size()
	}
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.date, b.date) })
	cutoff := now.AddDate(0, 0, -StartupDays).Format(fileDateLayout)
	for _, f := range files {
		if f.date >= cutoff && total+incoming <= StartupDirBytes {
			break
		}
		if err := dir.Remove(f.name); err == nil {
			total -= f.size
		}
	}
}

// Machine is the machine name of the instance with the given role (0, 1,
// ...): the hub's machine and the role, e.g. "slipway0-1". App Service names
// each worker; Slipway's instances of a site share one machine, so the role
// tells them apart in startup logs and in ARM's instances (machineName).
func (l *Log) Machine(role int) string {
	return fmt.Sprintf("%s-%d", l.hub.cfg.Machine, role)
}
