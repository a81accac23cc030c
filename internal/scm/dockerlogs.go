package scm

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway"
)

// currentDockerLog matches the name of a container log that has not been
// rolled: YYYY_MM_DD_<source>_docker.log, where the source is the machine
// name and the container's (<machine>_default for the app, <machine> alone
// for the platform's messages). Kudu's own pattern (KuduLite
// DiagnosticsController, docs/appservice.md §10); rolled files
// (…_docker.1.log) do not match.
var currentDockerLog = regexp.MustCompile(`^(\d{4}_\d{2}_\d{2})_(.*)_docker\.log$`)

// dockerLogWindow is how far behind the newest source a source's latest
// file may be and still be listed, as Kudu's.
const dockerLogWindow = 7 * 24 * time.Hour

// dockerLogJSON is one entry of GET /api/logs/docker, with Kudu's names.
type dockerLogJSON struct {
	MachineName string `json:"machineName"`
	LastUpdated string `json:"lastUpdated"`
	Size        int64  `json:"size"`
	Href        string `json:"href"`
	Path        string `json:"path"`
}

// dockerLog is a current log file found in LogFiles.
type dockerLog struct {
	name, source string
	info         fs.FileInfo // from Lstat: a regular file with one link
}

// currentDockerLogs lists the current container log files at the top of
// root: for each source the file of its latest day, for the sources whose
// latest day is within a week of the newest one's, in name order. Only
// regular files with a single link are listed — the app owns LogFiles, and a
// symlink or a hard link named like a log could stand for a host file.
func currentDockerLogs(root *os.Root) ([]dockerLog, error) {
	f, err := root.OpenFile(".", os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(maxDumpEntries)
	f.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	type latest struct {
		day time.Time
		log dockerLog
	}
	bySource := map[string]latest{}
	for _, name := range names {
		m := currentDockerLog.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		day, err := time.Parse("2006_01_02", m[1])
		if err != nil {
			continue
		}
		if l, ok := bySource[m[2]]; ok && !day.After(l.day) {
			continue
		}
		fi, err := root.Lstat(name)
		if err != nil || !fi.Mode().IsRegular() || !singleLink(fi) {
			continue
		}
		bySource[m[2]] = latest{day: day, log: dockerLog{name: name, source: m[2], info: fi}}
	}
	var newest time.Time
	for _, l := range bySource {
		if l.day.After(newest) {
			newest = l.day
		}
	}
	var out []dockerLog
	for _, l := range bySource {
		if !l.day.Before(newest.Add(-dockerLogWindow)) {
			out = append(out, l.log)
		}
	}
	slices.SortFunc(out, func(a, b dockerLog) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

func singleLink(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Nlink == 1
}

// dockerLogs answers GET /api/logs/docker: the app's current container log
// files, each with a link to read it through the VFS API, as Kudu lists
// them (docs/appservice.md §10; https://github.com/projectkudu/kudu/wiki/REST-API).
func (h *Handler) dockerLogs(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	root, err := h.logRoot(s)
	if err != nil {
		return err
	}
	out := []dockerLogJSON{}
	if root != nil {
		defer root.Close()
		logs, err := currentDockerLogs(root)
		if err != nil {
			return err
		}
		for _, l := range logs {
			// As the app sees it: its home is /home (docs/appservice.md §1).
			p := "/home/LogFiles/" + l.name
			out = append(out, dockerLogJSON{
				MachineName: l.source, LastUpdated: timeText(l.info.ModTime()), Size: l.info.Size(),
				Href: baseURL(r) + "/api/vfs" + (&url.URL{Path: "/LogFiles/" + l.name}).EscapedPath(), Path: p,
			})
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// dockerLogsZip answers GET /api/logs/docker/zip: the files /api/logs/docker
// lists, in a zip named as Kudu names it, each entry by its file name. It
// reads them as /api/dump does, within the same bounds.
func (h *Handler) dockerLogsZip(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	root, done, err := h.openLogDownload(s)
	if err != nil {
		return err
	}
	defer done()
	var logs []dockerLog
	if root != nil {
		if logs, err = currentDockerLogs(root); err != nil {
			return err
		}
	}
	name := "dockerlogs-" + time.Now().UTC().Format("01-02-15-04-05") + ".zip"
	h.sendZip(w, r, s, name, logDumper(""), func(d *dumper) error {
		for _, l := range logs {
			if err := r.Context().Err(); err != nil {
				return err
			}
			if err := d.file(root, l.name, l.info); err != nil {
				return err
			}
		}
		return nil
	})
	return nil
}
