package scm

// Startup logs (docs/appservice.md §10): KuduLite's /api/startuplogs, which
// `az webapp log startup list|show` and `az webapp troubleshoot status`
// read. The runtime writes one file per day, machine and outcome in
// LogFiles/StartupLogs (applog/startup.go); these handlers list them, send
// one, pick the latest (a failure first) and count the last 24 hours'
// starts from their outcome lines.
//
// The files are in the app's LogFiles, which the app owns: they are read
// through an os.Root on a StartupLogs that must be a real directory, only
// regular files of one link named as startup logs are read, each within a
// bound, and the summary reads at most summaryFiles of them.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/applog"
)

const (
	// startupReadBytes bounds what is read of one startup log: the
	// runtime keeps each under applog.StartupFileBytes.
	startupReadBytes = applog.StartupFileBytes + 64<<10
	// summaryFiles bounds how many startup logs a summary reads.
	summaryFiles = 64
	// summaryWindow is how far back the summary counts starts.
	summaryWindow = 24 * time.Hour
	// maxStartupReads bounds the startup log requests one app runs at
	// once (each may read up to summaryFiles files).
	maxStartupReads = 4
)

// startupLog is a startup log file found in StartupLogs.
type startupLog struct {
	name, date, machine, outcome string
	info                         fs.FileInfo
}

// startupLogJSON is one entry of GET /api/startuplogs. Names are
// PascalCase, as KuduLite's other startup log answers are.
type startupLogJSON struct {
	Filename     string `json:"Filename"`
	Date         string `json:"Date"` // YYYY-MM-DD
	Instance     string `json:"Instance"`
	Outcome      string `json:"Outcome"` // success or failure
	Size         int64  `json:"Size"`
	LastModified string `json:"LastModified"`
	Href         string `json:"Href"`
}

// openStartupDir takes one of the site's places for startup log requests
// and opens its LogFiles/StartupLogs: nil when there is none (no start has
// been logged yet). done gives the place back and closes it.
func (h *Handler) openStartupDir(s slipway.Site) (dir *os.Root, done func(), err error) {
	leave, err := h.enter("startup log requests", s, maxStartupReads)
	if err != nil {
		return nil, nil, err
	}
	if dir, err = h.startupDir(s); err != nil {
		leave()
		return nil, nil, err
	}
	return dir, func() {
		if dir != nil {
			dir.Close()
		}
		leave()
	}, nil
}

func (h *Handler) startupDir(s slipway.Site) (*os.Root, error) {
	logs, err := h.logRoot(s)
	if err != nil || logs == nil {
		return nil, err
	}
	defer logs.Close()
	dir, err := openDirIn(logs, applog.StartupDir, "LogFiles/"+applog.StartupDir, "the startup logs cannot be read")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return dir, err
}

// listStartupLogs lists the startup logs in dir, newest day first (then
// by name), keeping those of machine and outcome when given.
func listStartupLogs(dir *os.Root, machine, outcome string) ([]startupLog, error) {
	f, err := dir.OpenFile(".", os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(applog.MaxStartupFiles)
	f.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	var out []startupLog
	for _, name := range names {
		m := applog.StartupFileRE.FindStringSubmatch(name)
		if m == nil || (machine != "" && !strings.EqualFold(m[2], machine)) || (outcome != "" && m[3] != outcome) {
			continue
		}
		fi, err := dir.Lstat(name)
		if err != nil || !fi.Mode().IsRegular() || !singleLink(fi) {
			continue
		}
		out = append(out, startupLog{name: name, date: m[1], machine: m[2], outcome: m[3], info: fi})
	}
	slices.SortFunc(out, func(a, b startupLog) int {
		if c := strings.Compare(b.date, a.date); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return out, nil
}

func (l startupLog) json(r *http.Request) startupLogJSON {
	return startupLogJSON{
		Filename: l.name, Date: strings.ReplaceAll(l.date, "_", "-"), Instance: l.machine, Outcome: l.outcome,
		Size: l.info.Size(), LastModified: timeText(l.info.ModTime()),
		Href: baseURL(r) + "/api/startuplogs/" + url.PathEscape(l.name),
	}
}

// startupLogs answers GET /api/startuplogs: the list (type= success or
// failure, instance= a machine name), or with latest=true the newest day's
// log, its failure log when there is one.
func (h *Handler) startupLogs(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	q := r.URL.Query()
	outcome, machine := q.Get("type"), q.Get("instance")
	if outcome != "" && outcome != applog.StartupSuccess && outcome != applog.StartupFailure {
		return slipway.Errorf(slipway.EINVALID, "Invalid startup log type %q: use success or failure.", outcome)
	}
	dir, done, err := h.openStartupDir(s)
	if err != nil {
		return err
	}
	defer done()
	var logs []startupLog
	if dir != nil {
		if logs, err = listStartupLogs(dir, machine, outcome); err != nil {
			return err
		}
	}
	if latest, _ := strconv.ParseBool(q.Get("latest")); latest {
		if len(logs) == 0 {
			return noStartupLogs(machine)
		}
		pick := logs[0]
		for _, l := range logs {
			if l.date == pick.date && l.outcome == applog.StartupFailure {
				pick = l
				break
			}
		}
		return h.sendStartupLog(w, dir, pick)
	}
	if len(logs) == 0 && machine != "" {
		return noStartupLogs(machine)
	}
	out := make([]startupLogJSON, 0, len(logs))
	for _, l := range logs {
		out = append(out, l.json(r))
	}
	return writeJSON(w, http.StatusOK, out)
}

func noStartupLogs(machine string) error {
	if machine != "" {
		return slipway.Errorf(slipway.ENOTFOUND, "No startup logs of instance %q: list the instances with `az webapp list-instances` (machineName).", machine)
	}
	return slipway.Errorf(slipway.ENOTFOUND, "No startup logs yet: the app has not been started since startup logs were kept.")
}

// startupLogFile answers GET /api/startuplogs/{name}: one startup log, or
// the summary for the name "summary".
func (h *Handler) startupLogFile(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	name := r.PathValue("name")
	if name == "summary" {
		return h.startupSummary(w, r, s)
	}
	m := applog.StartupFileRE.FindStringSubmatch(name)
	if m == nil {
		return slipway.Errorf(slipway.EINVALID, "Invalid startup log filename %q: startup logs are named YYYY_MM_DD_<instance>_<success|failure>.log (az webapp log startup list).", name)
	}
	dir, done, err := h.openStartupDir(s)
	if err != nil {
		return err
	}
	defer done()
	if dir == nil {
		return slipway.Errorf(slipway.ENOTFOUND, "Startup log %s was not found.", name)
	}
	fi, err := dir.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return slipway.Errorf(slipway.ENOTFOUND, "Startup log %s was not found.", name)
	}
	if err != nil {
		return err
	}
	return h.sendStartupLog(w, dir, startupLog{name: name, date: m[1], machine: m[2], outcome: m[3], info: fi})
}

// sendStartupLog sends a startup log as text, with what it is in
// X-StartupLog-* headers as KuduLite sends them.
func (h *Handler) sendStartupLog(w http.ResponseWriter, dir *os.Root, l startupLog) error {
	f, why, err := openRegularFile(dir, l.name, l.info, syscall.O_NOFOLLOW)
	if err != nil {
		return err
	}
	if f == nil {
		return slipway.Errorf(slipway.ECONFLICT, "Startup log %s %s: it is not read.", l.name, why)
	}
	defer f.Close()
	size := min(l.info.Size(), startupReadBytes)
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("Content-Length", strconv.FormatInt(size, 10))
	hd.Set("X-StartupLog-Filename", l.name)
	hd.Set("X-StartupLog-Date", strings.ReplaceAll(l.date, "_", "-"))
	hd.Set("X-StartupLog-Instance", l.machine)
	hd.Set("X-StartupLog-Outcome", l.outcome)
	// The app could have written it: never let a browser run it as Kudu's.
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.WriteHeader(http.StatusOK)
	// Only the size examined; a client that takes nothing for
	// StallTimeout is gone. Past the head, an error has nowhere to go.
	sw := stallWriter{w: w, rc: http.NewResponseController(w), timeout: h.cfg.StallTimeout}
	io.Copy(sw, io.NewSectionReader(f, 0, size))
	return nil
}

// startupSummaryJSON is one instance's entry of /api/startuplogs/summary,
// in KuduLite's names (az webapp troubleshoot status reads them).
type startupSummaryJSON struct {
	InstanceID string            `json:"InstanceId"`
	Startup    startupCountsJSON `json:"Startup"`
}

type startupCountsJSON struct {
	Succeeded          int     `json:"Succeeded"`
	Failed             int     `json:"Failed"`
	MostRecentSuccess  *string `json:"MostRecentSuccess"`
	MostRecentFailure  *string `json:"MostRecentFailure"`
	SummaryFetchStatus string  `json:"SummaryFetchStatus"`
}

// startupSummary answers GET /api/startuplogs/summary[?instance=]: for
// each instance with startup logs, its starts that succeeded and failed in
// the last 24 hours and the latest of each, counted from the outcome lines
// of its newest files.
func (h *Handler) startupSummary(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	machine := r.URL.Query().Get("instance")
	dir, done, err := h.openStartupDir(s)
	if err != nil {
		return err
	}
	defer done()
	out := []startupSummaryJSON{}
	if dir == nil {
		return writeJSON(w, http.StatusOK, out)
	}
	logs, err := listStartupLogs(dir, machine, "")
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	since := now.Add(-summaryWindow)
	first := since.Format("2006_01_02")
	byMachine := map[string]*startupCountsJSON{}
	var order []string
	read := 0
	for _, l := range logs {
		if l.date < first || read >= summaryFiles {
			continue
		}
		read++
		c := byMachine[l.machine]
		if c == nil {
			c = &startupCountsJSON{SummaryFetchStatus: "Successfully read the startup logs of the last 24 hours."}
			byMachine[l.machine] = c
			order = append(order, l.machine)
		}
		if err := countStartups(dir, l, since, now, c); err != nil {
			c.SummaryFetchStatus = fmt.Sprintf("Could not read startup log %s: %v", l.name, err)
		}
	}
	slices.Sort(order)
	for _, m := range order {
		out = append(out, startupSummaryJSON{InstanceID: m, Startup: *byMachine[m]})
	}
	return writeJSON(w, http.StatusOK, out)
}

// countStartups adds the outcome lines of l dated from since to now to c.
func countStartups(dir *os.Root, l startupLog, since, now time.Time, c *startupCountsJSON) error {
	f, why, err := openRegularFile(dir, l.name, l.info, syscall.O_NOFOLLOW)
	if err != nil {
		return err
	}
	if f == nil {
		return errors.New(why)
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, startupReadBytes))
	sc.Buffer(make([]byte, 0, 64<<10), applog.MaxLineBytes+128)
	for sc.Scan() {
		at, ok, found := applog.StartupOutcome(sc.Text())
		if !found || at.Before(since) || at.After(now.Add(time.Minute)) {
			continue
		}
		latest := &c.MostRecentFailure
		if ok {
			c.Succeeded++
			latest = &c.MostRecentSuccess
		} else {
			c.Failed++
		}
		if t := timeText(at); *latest == nil || t > **latest {
			*latest = &t
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		return err
	}
	return nil
}

// noConfigChecks answers GET /api/troubleshoot/config, KuduLite's built-in
// configuration checks (az webapp troubleshoot config): Slipway does not
// run them. The 404's text is what az shows in their place, so it says
// where to look instead.
func noConfigChecks(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	return slipway.Errorf(slipway.ENOTFOUND, "Slipway does not run App Service's built-in configuration checks. For why the app does not start, see `az webapp troubleshoot status` and `az webapp log startup show`.")
}
