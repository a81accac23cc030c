package scm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/archive"
	"github.com/slipway-dev/slipway/internal/webjobs"
)

// Kudu's WebJobs API (Kudu's wiki, "WebJobs API"; docs/webjobs.md): the
// jobs found in the app's home (webjobs_files.go), their runs and logs,
// and what starts and stops them (webjobs_run.go). ARM's
// Microsoft.Web/sites/triggeredwebjobs and continuouswebjobs (package arm)
// answer from the same methods.

// JobRun is a triggered run as Kudu shows it (TriggeredJobRun).
type JobRun struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Status    string  `json:"status"`
	StartTime string  `json:"start_time"`
	EndTime   string  `json:"end_time"`
	Duration  string  `json:"duration"`
	OutputURL *string `json:"output_url"`
	ErrorURL  *string `json:"error_url"`
	URL       string  `json:"url"`
	JobName   string  `json:"job_name"`
	Trigger   string  `json:"trigger"`
}

// JobBase is what Kudu shows of every job (JobBase).
type JobBase struct {
	Name         string         `json:"name"`
	RunCommand   string         `json:"run_command"`
	URL          string         `json:"url"`
	ExtraInfoURL string         `json:"extra_info_url"`
	Type         string         `json:"type"`
	Error        *string        `json:"error"`
	UsingSDK     bool           `json:"using_sdk"`
	Settings     map[string]any `json:"settings"`
}

// TriggeredJob is a triggered job as Kudu shows it.
type TriggeredJob struct {
	LatestRun        *JobRun `json:"latest_run"`
	HistoryURL       string  `json:"history_url"`
	SchedulerLogsURL *string `json:"scheduler_logs_url"`
	JobBase
}

// ContinuousJob is a continuous job as Kudu shows it.
type ContinuousJob struct {
	Status         string `json:"status"`
	DetailedStatus string `json:"detailed_status"`
	LogURL         string `json:"log_url"`
	JobBase
}

// jobRun is a run as read from its status file.
type jobRun struct {
	ID, Job string
	runStatus
}

// kuduTime is a time as Kudu's JSON writes it; the zero time is .NET's.
func kuduTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00"
	}
	return timeText(t)
}

// kuduDuration is a duration as .NET's TimeSpan writes it
// ([d.]hh:mm:ss[.fffffff]).
func kuduDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h, m, s := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	frac := (d % time.Second) / 100
	out := fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	if days > 0 {
		out = fmt.Sprintf("%d.%s", days, out)
	}
	if frac > 0 {
		out += fmt.Sprintf(".%07d", frac)
	}
	return out
}

func jobURL(base string, k webjobs.Kind, name string) string {
	return base + "/api/" + string(k) + "webjobs/" + url.PathEscape(name)
}

// runJSON renders a run; running says whether this server runs it now
// (a run whose status says Running and is not running was cut short: a
// server stopped under it).
func runJSON(root *os.Root, base string, r jobRun, running bool) JobRun {
	status := r.Status
	if !running && (status == webjobs.StatusRunning || status == webjobs.StatusInitializing) {
		status = webjobs.StatusAborted
	}
	end := r.End
	durEnd := end
	if durEnd.IsZero() {
		durEnd = time.Now()
	}
	out := JobRun{
		ID: r.ID, Name: r.ID, Status: status, StartTime: kuduTime(r.Start), EndTime: kuduTime(end),
		Duration: kuduDuration(durEnd.Sub(r.Start)),
		URL:      jobURL(base, webjobs.Triggered, r.Job) + "/history/" + r.ID,
		JobName:  r.Job, Trigger: r.Trigger,
	}
	rel := path.Join(webjobs.DataDir(webjobs.Triggered, r.Job), r.ID, "output_log.txt")
	if _, err := root.Lstat(rel); err == nil {
		u := base + "/vfs/" + rel
		out.OutputURL = &u
	}
	return out
}

// jobBase is what Kudu shows of every job.
func jobBase(root *os.Root, base string, j webjobs.Job) JobBase {
	b := JobBase{
		Name: j.Name, RunCommand: j.RunCommand(), URL: jobURL(base, j.Kind, j.Name),
		ExtraInfoURL: base + "/azurejobs/#/jobs/" + string(j.Kind) + "/" + url.PathEscape(j.Name),
		Type:         string(j.Kind), Settings: j.Settings.Raw,
	}
	if j.Error != "" {
		e := j.Error
		b.Error = &e
	}
	if b.Settings == nil {
		b.Settings = map[string]any{}
	}
	// using_sdk: the WebJobs SDK leaves a marker.
	_, err := root.Lstat(path.Join(webjobs.DataDir(j.Kind, j.Name), "webjobssdk.marker"))
	b.UsingSDK = err == nil
	return b
}

func (h *Handler) triggeredJSON(root *os.Root, s slipway.Site, base string, j webjobs.Job) (TriggeredJob, error) {
	out := TriggeredJob{HistoryURL: jobURL(base, webjobs.Triggered, j.Name) + "/history", JobBase: jobBase(root, base, j)}
	runs, err := readRuns(root, j.Name, 1)
	if err != nil {
		return out, err
	}
	if len(runs) > 0 {
		cur, running := h.runningRun(s, j.Name)
		r := runJSON(root, base, runs[0], running && cur == runs[0].ID)
		out.LatestRun = &r
	}
	rel := path.Join(webjobs.DataDir(webjobs.Triggered, j.Name), schedulerLog)
	if _, err := root.Lstat(rel); err == nil {
		u := base + "/vfs/" + rel
		out.SchedulerLogsURL = &u
	}
	return out, nil
}

func (h *Handler) continuousJSON(root *os.Root, s slipway.Site, base string, j webjobs.Job, stopped bool) ContinuousJob {
	status, instances := h.continuousStatus(s, j)
	var detail strings.Builder
	for _, id := range instances {
		fmt.Fprintf(&detail, "%s - %s\n", shortID(id), webjobs.StatusRunning)
	}
	if len(instances) == 0 && (j.Disabled || stopped) {
		status = webjobs.StatusStopped
	}
	if detail.Len() == 0 {
		detail.WriteString(status)
	}
	return ContinuousJob{
		Status: status, DetailedStatus: strings.TrimRight(detail.String(), "\n"),
		LogURL:  base + "/vfs/" + path.Join(webjobs.DataDir(webjobs.Continuous, j.Name), continuousLog),
		JobBase: jobBase(root, base, j),
	}
}

func shortID(id string) string {
	if len(id) > 6 {
		return id[:6]
	}
	return id
}

// Log file names of the jobs' data folders (Kudu's).
const (
	schedulerLog      = "job_scheduler.log"
	continuousLog     = "job_log.txt"
	continuousPrevLog = "job_prev_log.txt"
)

// WebJobs returns the jobs of kind as Kudu shows them ([]TriggeredJob or
// []ContinuousJob), with URLs on base (the app's Kudu).
func (h *Handler) WebJobs(ctx context.Context, s slipway.Site, kind webjobs.Kind, base string) (any, error) {
	set, err := h.jobSettings(ctx, s)
	if err != nil {
		return nil, err
	}
	var out any
	err = h.inHome(ctx, s, func(root *os.Root) error {
		list, err := findJobs(root, kind)
		if err != nil {
			return err
		}
		if kind == webjobs.Continuous {
			cs := make([]ContinuousJob, 0, len(list))
			for _, j := range list {
				cs = append(cs, h.continuousJSON(root, s, base, j, set.stopped))
			}
			out = cs
			return nil
		}
		ts := make([]TriggeredJob, 0, len(list))
		for _, j := range list {
			t, err := h.triggeredJSON(root, s, base, j)
			if err != nil {
				return err
			}
			ts = append(ts, t)
		}
		out = ts
		return nil
	})
	return out, err
}

// WebJob returns one job as Kudu shows it (TriggeredJob or ContinuousJob).
func (h *Handler) WebJob(ctx context.Context, s slipway.Site, kind webjobs.Kind, name, base string) (any, error) {
	set, err := h.jobSettings(ctx, s)
	if err != nil {
		return nil, err
	}
	var out any
	err = h.inHome(ctx, s, func(root *os.Root) error {
		j, err := findJob(root, kind, name)
		if err != nil {
			return err
		}
		if kind == webjobs.Continuous {
			out = h.continuousJSON(root, s, base, j, set.stopped)
			return nil
		}
		out, err = h.triggeredJSON(root, s, base, j)
		return err
	})
	return out, err
}

// RunWebJob starts a run of a triggered job and returns its id. trigger is
// who asked ("External - " and the client's User-Agent, as Kudu records it).
func (h *Handler) RunWebJob(ctx context.Context, s slipway.Site, name, args, trigger string) (string, error) {
	set, err := h.jobSettings(ctx, s)
	if err != nil {
		return "", err
	}
	if set.stopped {
		return "", slipway.Errorf(slipway.ECONFLICT, `WebJobs are currently in "stopped" state.`)
	}
	if len(args) > maxJobArgs || strings.ContainsAny(args, "\x00\n\r") {
		return "", slipway.Errorf(slipway.EINVALID, "arguments must be one line of at most %d bytes.", maxJobArgs)
	}
	var j webjobs.Job
	if err := h.inHome(ctx, s, func(root *os.Root) error {
		var err error
		j, err = findJob(root, webjobs.Triggered, name)
		return err
	}); err != nil {
		return "", err
	}
	return h.startRun(ctx, s, j, set, trigger, args)
}

// maxJobArgs bounds a run's arguments.
const maxJobArgs = 4 << 10

// WebJobHistory returns a triggered job's runs, newest first.
func (h *Handler) WebJobHistory(ctx context.Context, s slipway.Site, name, base string) ([]JobRun, error) {
	set, err := h.jobSettings(ctx, s)
	if err != nil {
		return nil, err
	}
	var out []JobRun
	err = h.inHome(ctx, s, func(root *os.Root) error {
		j, err := findJob(root, webjobs.Triggered, name)
		if err != nil {
			return err
		}
		runs, err := readRuns(root, j.Name, set.history)
		if err != nil {
			return err
		}
		cur, running := h.runningRun(s, j.Name)
		out = make([]JobRun, 0, len(runs))
		for _, r := range runs {
			out = append(out, runJSON(root, base, r, running && cur == r.ID))
		}
		return nil
	})
	return out, err
}

// WebJobRun returns one run of a triggered job.
func (h *Handler) WebJobRun(ctx context.Context, s slipway.Site, name, id, base string) (JobRun, error) {
	runs, err := h.WebJobHistory(ctx, s, name, base)
	if err != nil {
		return JobRun{}, err
	}
	for _, r := range runs {
		if r.ID == id {
			return r, nil
		}
	}
	return JobRun{}, slipway.Errorf(slipway.ENOTFOUND, "The job '%s' has no run '%s'.", name, id)
}

// StartWebJob and StopWebJob start and stop a continuous job through its
// disable.job, as Kudu's do; the scheduler starts it in the app's
// instances (or stops it) at once.
func (h *Handler) StartWebJob(ctx context.Context, s slipway.Site, name string) error {
	return h.setJobDisabled(ctx, s, name, false)
}

func (h *Handler) StopWebJob(ctx context.Context, s slipway.Site, name string) error {
	return h.setJobDisabled(ctx, s, name, true)
}

func (h *Handler) setJobDisabled(ctx context.Context, s slipway.Site, name string, disabled bool) error {
	var j webjobs.Job
	if err := h.inHome(ctx, s, func(root *os.Root) error {
		var err error
		if j, err = findJob(root, webjobs.Continuous, name); err != nil {
			return err
		}
		return setDisabled(root, j, disabled)
	}); err != nil {
		if slipway.ErrorCode(err) == "" {
			return slipway.Errorf(slipway.ECONFLICT, "The job '%s' could not be %s: %v", name, map[bool]string{true: "stopped", false: "started"}[disabled], err)
		}
		return err
	}
	if disabled {
		h.stopContinuous(s, j)
	} else {
		h.poke()
	}
	return nil
}

// DeleteWebJob deletes a job's files and its data (runs, logs), killing
// what of it runs first and waiting (up to maxJobEndWait) for it to have
// ended, so that its last lines and status do not make its data again.
// Deleting a job that is not there succeeds, as Kudu's.
func (h *Handler) DeleteWebJob(ctx context.Context, s slipway.Site, kind webjobs.Kind, name string) error {
	if !webjobs.ValidName(name) {
		return nil
	}
	var j webjobs.Job
	err := h.inHome(ctx, s, func(root *os.Root) error {
		var err error
		j, err = findJob(root, kind, name)
		return err
	})
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	deadline := time.NewTimer(maxJobEndWait)
	defer deadline.Stop()
	for _, ended := range h.killJob(s, kind, j.Name) {
		select {
		case <-ended:
		case <-deadline.C:
			return slipway.Errorf(slipway.EUNAVAILABLE, "The job '%s' did not end within %s of being killed; try again.", j.Name, maxJobEndWait)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return h.inHome(ctx, s, func(root *os.Root) error {
		if err := root.RemoveAll(path.Join(j.Root, string(kind), j.Name)); err != nil {
			return fmt.Errorf("deleting the job's files: %w", err)
		}
		if err := root.RemoveAll(webjobs.DataDir(kind, j.Name)); err != nil {
			return fmt.Errorf("deleting the job's data: %w", err)
		}
		return nil
	})
}

// maxJobEndWait bounds how long a delete waits for the job it killed.
const maxJobEndWait = 30 * time.Second

// The Kudu routes.

func kindOf(r *http.Request) webjobs.Kind {
	if strings.Contains(r.URL.Path, "continuous") {
		return webjobs.Continuous
	}
	return webjobs.Triggered
}

func (h *Handler) listJobsRoute(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	out, err := h.WebJobs(r.Context(), s, kindOf(r), baseURL(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) listAllJobsRoute(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	var all []any
	for _, k := range []webjobs.Kind{webjobs.Triggered, webjobs.Continuous} {
		out, err := h.WebJobs(r.Context(), s, k, baseURL(r))
		if err != nil {
			return err
		}
		switch l := out.(type) {
		case []TriggeredJob:
			for _, j := range l {
				all = append(all, j)
			}
		case []ContinuousJob:
			for _, j := range l {
				all = append(all, j)
			}
		}
	}
	if all == nil {
		all = []any{}
	}
	return writeJSON(w, http.StatusOK, all)
}

func (h *Handler) getJobRoute(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	out, err := h.WebJob(r.Context(), s, kindOf(r), r.PathValue("name"), baseURL(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) runJobRoute(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	name := r.PathValue("name")
	id, err := h.RunWebJob(r.Context(), s, name, r.URL.Query().Get("arguments"), "External - "+r.UserAgent())
	if err != nil {
		return err
	}
	w.Header().Set("Location", jobURL(baseURL(r), webjobs.Triggered, name)+"/history/"+id)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (h *Handler) jobHistoryRoute(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	runs, err := h.WebJobHistory(r.Context(), s, r.PathValue("name"), baseURL(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

func (h *Handler) jobRunRoute(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	run, err := h.WebJobRun(r.Context(), s, r.PathValue("name"), r.PathValue("id"), baseURL(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, run)
}

func (h *Handler) startJobRoute(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	if err := h.StartWebJob(r.Context(), s, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) stopJobRoute(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	if err := h.StopWebJob(r.Context(), s, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteJobRoute(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	if err := h.DeleteWebJob(r.Context(), s, kindOf(r), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) jobSettingsRoute(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	var out map[string]any
	if err := h.inHome(r.Context(), s, func(root *os.Root) error {
		j, err := findJob(root, kindOf(r), r.PathValue("name"))
		out = j.Settings.Raw
		if out == nil {
			out = map[string]any{}
		}
		return err
	}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// maxJobSettingsBody bounds a settings.job sent to the API.
const maxJobSettingsBody = webjobs.MaxSettingsSize

// putJobSettingsRoute answers PUT …webjobs/{name}/settings: the body, a
// JSON object, becomes the job's settings.job.
func (h *Handler) putJobSettingsRoute(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxJobSettingsBody+1))
	if err != nil {
		return slipway.Errorf(slipway.EINVALID, "Reading the settings: %v", err)
	}
	var obj map[string]any
	if len(b) > maxJobSettingsBody || json.Unmarshal(b, &obj) != nil || obj == nil {
		return slipway.Errorf(slipway.EINVALID, "The settings must be a JSON object of at most %d KB, such as {\"schedule\": \"0 */5 * * * *\"}.", maxJobSettingsBody>>10)
	}
	if _, err := webjobs.ParseSettings(b); err != nil {
		return slipway.Errorf(slipway.EINVALID, "%v", err)
	}
	out, _ := json.Marshal(obj)
	if err := h.inHome(r.Context(), s, func(root *os.Root) error {
		j, err := findJob(root, kindOf(r), r.PathValue("name"))
		if err != nil {
			return err
		}
		return writeFileAtomic(root, path.Join(j.Dir, "settings.job"), out)
	}); err != nil {
		return err
	}
	h.poke()
	w.WriteHeader(http.StatusOK)
	return nil
}

// jobFolder is the entry of the folder dir named name without regard to
// case (name itself when it is there), "" when none is.
func jobFolder(root *os.Root, dir, name string) (string, error) {
	if _, err := root.Lstat(path.Join(dir, name)); err == nil {
		return name, nil
	}
	ents, err := readDirBounded(root, dir, maxRunDirs)
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		if strings.EqualFold(e.Name(), name) {
			return e.Name(), nil
		}
	}
	return "", nil
}

// maxJobUpload bounds a job uploaded as one file (a zip is bounded as
// /api/zip's are).
const maxJobUpload = 100 << 20

// uploadJobRoute answers PUT …webjobs/{name}: a job's files, as Kudu takes
// them — a zip (Content-Type: application/zip) of its folder, or one file
// named by Content-Disposition's filename (run.sh, run.py). The job is
// made under site/jobs, which deployments leave alone (a deployment
// replaces wwwroot, and with it App_Data/jobs), replacing a job of that
// name there; a job of the name deployed with the app in App_Data/jobs is
// not replaced (409): it is the deployment's.
func (h *Handler) uploadJobRoute(w http.ResponseWriter, r *http.Request, s slipway.Site) error {
	kind, name := kindOf(r), r.PathValue("name")
	if !webjobs.ValidName(name) {
		return slipway.Errorf(slipway.EINVALID, "%s", webjobs.NameError(name))
	}
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition"))
	file := path.Base(strings.ReplaceAll(strings.Trim(params["filename"], `"`), `\`, "/"))
	if err != nil || file == "" || file == "." || file == "/" || file == ".." {
		return slipway.Errorf(slipway.EINVALID, "Missing Content-Disposition header.")
	}
	if len(file) > 255 || strings.ContainsAny(file, "\x00") {
		return slipway.Errorf(slipway.EINVALID, "The file name '%s' is not valid.", file)
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isZip := strings.EqualFold(mt, "application/zip")
	leave, err := h.enter("zip transfers", s, maxZips)
	if err != nil {
		return err
	}
	defer leave()
	home, err := h.openHome(r.Context(), s)
	if err != nil {
		return err
	}
	defer home.Close()
	target := path.Join(webjobs.Roots[1], string(kind), name)
	var (
		staging string
		pkg     *os.File
	)
	err = home.do(func() (err error) {
		// Names are matched without regard to case, as findJob's: a
		// deployed job of the name hides the upload (refused), an
		// uploaded one is replaced, whatever the letters.
		for i, r := range webjobs.Roots {
			dir, err := jobFolder(home.root, path.Join(r, string(kind)), name)
			switch {
			case err != nil:
				return fsError("reading", shown(path.Join(r, string(kind))), err)
			case dir != "" && i == 0:
				return slipway.Errorf(slipway.ECONFLICT, "The WebJob already exists: '%s' is deployed with the app, in /home/%s/%s; change it with a deployment.", dir, r, kind)
			case dir != "":
				target = path.Join(r, string(kind), dir)
			}
		}
		staging, pkg, err = stage(home.root)
		return err
	})
	if staging != "" {
		defer home.do(func() error { return home.root.RemoveAll(staging) })
	}
	if err != nil {
		return err
	}
	defer pkg.Close()
	limit := int64(maxJobUpload)
	if isZip {
		limit = archive.DefaultMaxTotalBytes
	}
	if err := h.receive(r, r.Body, pkg, limit, "The job's upload"); err != nil {
		return err
	}
	var out any
	err = home.do(func() error {
		if isZip {
			if err := expand(r.Context(), home.root, staging, pkg, archive.Limits{Room: h.roomCheck()}); err != nil {
				return err
			}
		} else {
			if err := home.root.Mkdir(path.Join(staging, "x"), 0o755); err != nil {
				return fsError("staging the job in", shown(staging), err)
			}
			if err := home.root.Rename(path.Join(staging, "package.zip"), path.Join(staging, "x", file)); err != nil {
				return fsError("staging the job in", shown(staging), err)
			}
			home.root.Chmod(path.Join(staging, "x", file), 0o644)
		}
		if err := home.root.RemoveAll(target); err != nil {
			return fsError("replacing the job in", shown(target), err)
		}
		if err := place(home.root, path.Join(staging, "x"), target); err != nil {
			return err
		}
		j, err := findJob(home.root, kind, name)
		if slipway.ErrorCode(err) == slipway.ENOTFOUND {
			home.root.RemoveAll(target)
			return slipway.Errorf(slipway.EINVALID, "No runnable script file was found: a job needs a run.sh or run.py (or another .sh or .py file) at the top of its folder.")
		}
		if err != nil {
			return err
		}
		if kind == webjobs.Continuous {
			out = h.continuousJSON(home.root, s, baseURL(r), j, false)
			return nil
		}
		out, err = h.triggeredJSON(home.root, s, baseURL(r), j)
		return err
	})
	if err != nil {
		return err
	}
	if kind == webjobs.Continuous {
		h.stopContinuous(s, webjobs.Job{Name: name}) // its old files' processes
	}
	h.poke()
	return writeJSON(w, http.StatusOK, out)
}
