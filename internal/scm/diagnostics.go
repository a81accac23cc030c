package scm

// Kudu's diagnostics settings, recent application logs, container CI
// hook, deployment script and SSH key, as Microsoft documents them
// (https://github.com/projectkudu/kudu/wiki/REST-API) and KuduLite answers
// them (DiagnosticsController, DockerController, DeploymentController,
// SSHKeyController).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
)

// The diagnostics settings file (KuduLite's DiagnosticsPath and
// Constants.SettingsJsonFile), in the app's home.
const (
	diagnosticsDir      = "site/diagnostics"
	diagnosticsSettings = diagnosticsDir + "/settings.json"
	maxDiagnosticsBytes = 64 << 10 // the file read and a POST's body
	maxDiagnosticsKeys  = 256
)

// diagKnown are the six settings every diagnostics settings object holds
// (KuduLite's DiagnosticsSettings), in its order, with their defaults;
// a trace level is a System.Diagnostics.TraceEventType's name.
var diagKnown = []diagSetting{
	{"AzureDriveEnabled", false, false},
	{"AzureDriveTraceLevel", "Error", true},
	{"AzureTableEnabled", false, false},
	{"AzureTableTraceLevel", "Error", true},
	{"AzureBlobEnabled", false, false},
	{"AzureBlobTraceLevel", "Error", true},
}

type diagSetting struct {
	key   string
	def   any
	level bool
}

// knownDiagSetting returns the known setting named key (case-sensitive,
// as KuduLite's dictionary is).
func knownDiagSetting(key string) (diagSetting, bool) {
	i := slices.IndexFunc(diagKnown, func(k diagSetting) bool { return k.key == key })
	if i < 0 {
		return diagSetting{}, false
	}
	return diagKnown[i], true
}

// traceEventTypes are .NET's TraceEventType values, by name.
var traceEventTypes = map[string]int{
	"Critical": 1, "Error": 2, "Warning": 4, "Information": 8, "Verbose": 16,
	"Start": 256, "Stop": 512, "Suspend": 1024, "Resume": 2048, "Transfer": 4096,
}

// diagSettings is a diagnostics settings object: the six known settings,
// then the others in the order they were first set.
type diagSettings struct {
	keys   []string
	values map[string]json.RawMessage
}

func newDiagSettings() *diagSettings {
	d := &diagSettings{values: map[string]json.RawMessage{}}
	for _, k := range diagKnown {
		b, _ := json.Marshal(k.def)
		d.set(k.key, b)
	}
	return d
}

func (d *diagSettings) set(key string, v json.RawMessage) {
	if _, ok := d.values[key]; !ok {
		d.keys = append(d.keys, key)
	}
	d.values[key] = v
}

// MarshalJSON writes the object in its order.
func (d *diagSettings) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range d.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(d.values[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// parseDiagSettings reads a settings object as KuduLite's model binding
// does: the known settings typed (a JSON boolean; a trace level's name,
// never a number), defaults for those it lacks, and any others as given.
func parseDiagSettings(b []byte) (*diagSettings, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errors.New("the settings must be a JSON object")
	}
	d := newDiagSettings()
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if len(d.keys) >= maxDiagnosticsKeys {
			return nil, fmt.Errorf("more than %d settings", maxDiagnosticsKeys)
		}
		if k, known := knownDiagSetting(key); known {
			if k.level {
				var name string
				if json.Unmarshal(v, &name) != nil {
					return nil, fmt.Errorf("%s must be a trace level's name (Critical, Error, Warning, Information, Verbose), not %s", key, v)
				}
				canon := ""
				for n := range traceEventTypes {
					if strings.EqualFold(n, strings.TrimSpace(name)) {
						canon = n
					}
				}
				if canon == "" {
					return nil, fmt.Errorf("%s must be a trace level's name (Critical, Error, Warning, Information, Verbose), not %s", key, v)
				}
				v, _ = json.Marshal(canon)
			} else {
				var on bool
				if json.Unmarshal(v, &on) != nil {
					return nil, fmt.Errorf("%s must be true or false, not %s", key, v)
				}
				v, _ = json.Marshal(on)
			}
		}
		d.set(key, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if dec.More() || dec.InputOffset() < int64(len(bytes.TrimRight(b, " \t\r\n"))) {
		return nil, errors.New("the settings must be one JSON object")
	}
	return d, nil
}

// readDiagSettings reads the app's settings file; one that is missing,
// not a regular file, too large or not a settings object reads as the
// defaults, as KuduLite resets a corrupted file.
func readDiagSettings(home *tenantHome) (*diagSettings, error) {
	var b []byte
	err := home.do(func() error {
		fi, err := home.root.Stat(diagnosticsSettings)
		if err != nil {
			return nil
		}
		f, why, err := openRegularFile(home.root, diagnosticsSettings, fi, 0)
		if err != nil || why != "" {
			return nil
		}
		defer f.Close()
		b, err = io.ReadAll(io.LimitReader(f, maxDiagnosticsBytes+1))
		if err != nil || len(b) > maxDiagnosticsBytes {
			b = nil
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if d, perr := parseDiagSettings(b); perr == nil {
		return d, nil
	}
	return newDiagSettings(), nil
}

// writeDiagSettings replaces the settings file, as the app's user,
// through a temporary file beside it and a rename.
func writeDiagSettings(home *tenantHome, d *diagSettings) error {
	b, _ := d.MarshalJSON()
	return home.do(func() error {
		if _, err := mkdirAll(home.root, diagnosticsDir); err != nil {
			return fsError("creating", shown(diagnosticsDir), err)
		}
		tmp, f, err := createTemp(home.root, diagnosticsSettings)
		if err != nil {
			return fsError("writing", shown(diagnosticsSettings), err)
		}
		_, err = f.Write(b)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = home.root.Rename(tmp, diagnosticsSettings)
		}
		if err != nil {
			home.root.Remove(tmp)
			return fsError("writing", shown(diagnosticsSettings), err)
		}
		return nil
	})
}

// withDiagSettings runs fn over the app's diagnostics settings, read from
// its home; writes take turns per site, so that two POSTs do not lose one
// another's keys.
func (h *Handler) withDiagSettings(r *http.Request, s slipway.Site, write bool, fn func(home *tenantHome, d *diagSettings) error) error {
	if write {
		unlock, err := h.lockFile(r.Context(), s, diagnosticsSettings)
		if err != nil {
			return err
		}
		defer unlock()
	}
	home, err := h.openHome(r.Context(), s)
	if err != nil {
		return err
	}
	defer home.Close()
	d, err := readDiagSettings(home)
	if err != nil {
		return err
	}
	return fn(home, d)
}

// getDiagnosticsSettings answers GET /api/diagnostics/settings: the
// settings object.
func (h *Handler) getDiagnosticsSettings(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	return h.withDiagSettings(r, s, false, func(_ *tenantHome, d *diagSettings) error {
		return writeJSON(w, http.StatusOK, d)
	})
}

// getDiagnosticsSetting answers GET /api/diagnostics/settings/{key}: its
// value as JSON (a trace level as its number, as KuduLite's answer has
// it), or 404.
func (h *Handler) getDiagnosticsSetting(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	return h.withDiagSettings(r, s, false, func(_ *tenantHome, d *diagSettings) error {
		key := r.PathValue("key")
		v, ok := d.values[key]
		if !ok {
			return slipway.Errorf(slipway.ENOTFOUND, "The setting '%s' does not exist.", key)
		}
		if k, known := knownDiagSetting(key); known && k.level {
			var name string
			json.Unmarshal(v, &name)
			v = json.RawMessage(strconv.Itoa(traceEventTypes[name]))
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, err := w.Write(v)
		return err
	})
}

// setDiagnosticsSettings answers POST /api/diagnostics/settings: each
// setting of the JSON object sent is set (204). As in KuduLite, the six
// known settings the object leaves out are set to their defaults.
func (h *Handler) setDiagnosticsSettings(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return slipway.Errorf(slipway.EINVALID, "Send the settings as a JSON object, with Content-Type: application/json.")
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxDiagnosticsBytes+1))
	if err != nil {
		return slipway.Errorf(slipway.EINVALID, "Reading the settings: %v", err)
	}
	if len(b) > maxDiagnosticsBytes {
		return slipway.Errorf(slipway.EINVALID, "The settings are larger than %d KB.", maxDiagnosticsBytes>>10)
	}
	in, err := parseDiagSettings(b)
	if err != nil {
		return slipway.Errorf(slipway.EINVALID, "The diagnostics settings are invalid: %v.", err)
	}
	return h.withDiagSettings(r, s, true, func(home *tenantHome, d *diagSettings) error {
		for _, k := range in.keys {
			d.set(k, in.values[k])
		}
		if len(d.keys) > maxDiagnosticsKeys {
			return slipway.Errorf(slipway.EINVALID, "The diagnostics settings would hold more than %d settings.", maxDiagnosticsKeys)
		}
		if err := writeDiagSettings(home, d); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// deleteDiagnosticsSetting answers DELETE /api/diagnostics/settings/{key}:
// 204, whether or not there was such a setting; the six known ones stay.
func (h *Handler) deleteDiagnosticsSetting(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	return h.withDiagSettings(r, s, true, func(home *tenantHome, d *diagSettings) error {
		key := r.PathValue("key")
		if _, known := knownDiagSetting(key); !known && d.values[key] != nil {
			delete(d.values, key)
			d.keys = slices.DeleteFunc(d.keys, func(k string) bool { return k == key })
			if err := writeDiagSettings(home, d); err != nil {
				return err
			}
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// Recent application logs (KuduLite's ApplicationLogsReader): the
// entries of the newest *-*.txt files of /home/LogFiles/Application whose
// first line is an entry, newest first.
const (
	appLogsDir       = "LogFiles/Application"
	maxRecentTop     = 1000
	maxRecentFiles   = 50
	maxRecentTail    = 1 << 20 // read from the end of each file
	recentLogsErrors = "-logging-errors.txt"
)

var appLogEntry = regexp.MustCompile(`(?i)^(\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d)\s+PID\[(\d+)\]\s(Warning|Information|Error)\s+(.*)`)

// appLogEntryJSON is KuduLite's ApplicationLogEntry.
type appLogEntryJSON struct {
	TimeStamp string `json:"timestamp"`
	Level     string `json:"level"`
	PID       int    `json:"pid"`
	Message   string `json:"message"`
	at        time.Time
}

// recentLogs answers GET /api/logs/recent?top=N (1 to 1000, 100 by
// default).
func (h *Handler) recentLogs(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	top := 100
	if v := r.URL.Query().Get("top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			n = 0
		}
		top = n
	}
	if top <= 0 || top > maxRecentTop {
		return slipway.Errorf(slipway.EINVALID, "Number of logs to return must be positive and not exceed 1000. (Parameter 'top')")
	}
	home, end, err := h.enterHome(r, s, "file transfers", maxFileTransfers)
	if err != nil {
		return err
	}
	defer end()
	var entries []appLogEntryJSON
	err = home.do(func() error {
		entries = readRecentLogs(home.root)
		return nil
	})
	if err != nil {
		return err
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].at.After(entries[j].at) })
	if len(entries) > top {
		entries = entries[:top]
	}
	if entries == nil {
		entries = []appLogEntryJSON{}
	}
	return writeJSON(w, http.StatusOK, entries)
}

// readRecentLogs reads the entries of the application log files: the
// newest maxRecentFiles, each from its last maxRecentTail bytes. Files
// that are not regular or have more than one link are skipped.
func readRecentLogs(root *os.Root) []appLogEntryJSON {
	ents, err := fs.ReadDir(root.FS(), appLogsDir)
	if err != nil {
		return nil
	}
	type file struct {
		name string
		fi   fs.FileInfo
	}
	var files []file
	for _, e := range ents {
		n := e.Name()
		if ok, _ := path.Match("*-*.txt", n); !ok || strings.HasSuffix(strings.ToLower(n), recentLogsErrors) {
			continue
		}
		fi, err := root.Lstat(appLogsDir + "/" + n)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		files = append(files, file{n, fi})
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].fi.ModTime().After(files[j].fi.ModTime()) })
	if len(files) > maxRecentFiles {
		files = files[:maxRecentFiles]
	}
	var out []appLogEntryJSON
	for _, f := range files {
		rel := appLogsDir + "/" + f.name
		fd, why, err := openRegularFile(root, rel, f.fi, 0)
		if err != nil || why != "" {
			continue
		}
		out = append(out, parseAppLog(fd, f.fi.Size())...)
		fd.Close()
	}
	return out
}

// parseAppLog reads the entries of one log file whose first line is an
// entry: lines that are not an entry's first belong to the entry above.
func parseAppLog(f *os.File, size int64) []appLogEntryJSON {
	first, err := bufio.NewReader(io.LimitReader(f, 64<<10)).ReadString('\n')
	if (err != nil && err != io.EOF) || !appLogEntry.MatchString(strings.TrimRight(first, "\r\n")) {
		return nil
	}
	start := max(0, size-maxRecentTail)
	b, err := io.ReadAll(io.NewSectionReader(f, start, size-start))
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if start > 0 {
		lines = lines[1:] // the first is cut
	}
	var out []appLogEntryJSON
	var cur *appLogEntryJSON
	for _, line := range lines {
		line = strings.TrimRight(line, "\r")
		if m := appLogEntry.FindStringSubmatch(line); m != nil {
			at, err := time.Parse("2006-01-02T15:04:05", m[1])
			if err != nil {
				continue
			}
			pid, _ := strconv.Atoi(m[2])
			out = append(out, appLogEntryJSON{TimeStamp: at.Format("2006-01-02T15:04:05+00:00"), Level: m[3], PID: pid, Message: m[4], at: at})
			cur = &out[len(out)-1]
			continue
		}
		if cur != nil {
			cur.Message += "\n" + line
		}
	}
	return out
}

// dockerHook answers POST /api/docker/hook, the container CI webhook, as
// KuduLite's DockerController: the app restarts when its setting
// DOCKER_ENABLE_CI is true (or 1), and nothing happens otherwise; 200
// either way.
func (h *Handler) dockerHook(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	settings, err := h.cfg.Store.Settings(r.Context(), s.ResourceGroup, s.Name)
	if err != nil {
		return err
	}
	if isTrue(settings["DOCKER_ENABLE_CI"]) {
		if h.cfg.Restart == nil {
			return slipway.Errorf(slipway.EUNAVAILABLE, "Restarting apps is not available on this server.")
		}
		if err := h.cfg.Restart(r.Context(), s); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// deploymentScript answers GET /api/deploymentscript as KuduLite does on
// Linux: a deployment script is cached only when Kudu generated one for a
// build it ran itself, which Oryx's builds (Python's) never are, so the
// answer is one of its two 404s.
func (h *Handler) deploymentScript(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	ds, err := h.cfg.Store.ListDeployments(r.Context(), s.Name)
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		return slipway.Errorf(slipway.ENOTFOUND, "Need to deploy website to get deployment script.")
	}
	return slipway.Errorf(slipway.ENOTFOUND, "Operation only supported if not using a custom deployment script")
}

// SSH keys (KuduLite's SSHKeyController): Kudu keeps a key pair for
// fetching a repository over SSH (an external git source). Slipway
// fetches no repository — it takes Local Git pushes over HTTPS and refuses
// external sources — so it keeps no key: GET answers that there is none
// (""), DELETE that there is none left (200), and asking for a key
// (ensurePublicKey, PUT) is refused rather than making one nothing uses.
const msgNoSSHKey = "This server keeps no SSH key: it fetches no repository over SSH (it takes Local Git pushes over HTTPS, and external git sources are refused), so a key would never be used."

func (h *Handler) getSSHKey(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	if isTrue(r.URL.Query().Get("ensurePublicKey")) {
		return slipway.Errorf(slipway.EINVALID, "%s", msgNoSSHKey)
	}
	return writeJSON(w, http.StatusOK, "")
}

func (h *Handler) putSSHKey(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	return slipway.Errorf(slipway.EINVALID, "%s The key sent was not stored.", msgNoSSHKey)
}

func (h *Handler) deleteSSHKey(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	w.WriteHeader(http.StatusOK)
	return nil
}
