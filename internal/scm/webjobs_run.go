package scm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/webjobs"
)

// Running WebJobs. A job runs inside one of the app's running instances,
// as an `az webapp exec` command does (Shells, with ConsoleIO.Inside): the
// app's user, files, environment, network and limits, its Python first on
// PATH; a continuous job in each instance (one only when is_singleton), a
// triggered run in one. Nothing of a job runs as the server or outside the
// app's sandbox: the job's copy of its folder and the shutdown file are
// made by a shell inside it (jobPreamble).
//
// The scheduler (RunWebJobs) looks at every app's jobs each interval: it
// starts the continuous jobs an instance lacks and the triggered runs whose
// schedule is due. A continuous job that ends is started again after
// WEBJOBS_RESTART_TIME (60 s); one stopped (its disable.job, or the app
// setting WEBJOBS_STOPPED=1) is told through its shutdown file, given its
// stopping_wait_time, then killed. A job ends with its instance (a restart,
// a deployment, a scale-in) and starts again in the new ones.

// Defaults and bounds of runs.
const (
	defaultRestartTime = 60 * time.Second
	defaultHistorySize = 50
	// defaultIdleTimeout is how long a triggered run may go with neither
	// output nor CPU time before it is aborted (Kudu's WEBJOBS_IDLE_TIMEOUT
	// default, two minutes).
	defaultIdleTimeout = 2 * time.Minute
	maxHistorySize     = 1000
	// maxRunTime bounds a triggered run (as `az webapp exec --mode
	// execute` is bounded).
	maxRunTime = 24 * time.Hour
	// maxRunOutput bounds a triggered run's output_log.txt; maxJobLog a
	// continuous job's job_log.txt before it is rolled over.
	maxRunOutput = 10 << 20
	maxJobLog    = 1 << 20
	// logFlush bounds how long a job's line waits for its file;
	// maxLogPending how much may wait.
	logFlush      = time.Second
	maxLogPending = 1 << 20
	// maxRunsAtOnce bounds the triggered runs and continuous jobs one app
	// has running.
	maxRunsAtOnce = 32
)

// jobPreamble runs as `sh -c jobPreamble webjob DIR SCRIPT COMMAND INPLACE
// ARGS...` inside the instance: it copies the job's folder to a folder of
// its own under /tmp/jobs (unless the job runs in place), runs the script
// there with standard input closed, and touches WEBJOBS_SHUTDOWN_FILE when
// its own standard input ends — which is how the platform asks a job to
// stop (then, after the job's stopping_wait_time, kills it). The watcher
// is one shell (a builtin loop), killed when the job ends, so that
// nothing of the run outlives it; it reads the platform's pipe as fd 3
// (a background list's standard input is /dev/null), the job gets none.
const jobPreamble = `set -u
src=$1; script=$2; cmd=$3; inplace=$4; shift 4
work=$src
if [ "$inplace" != 1 ]; then
  mkdir -p "/tmp/jobs/$WEBJOBS_TYPE/$WEBJOBS_NAME" && work=$(mktemp -d "/tmp/jobs/$WEBJOBS_TYPE/$WEBJOBS_NAME/XXXXXXXX") && cp -R -P "$src/." "$work/" || { echo "copying the job's files from $src failed" >&2; exit 126; }
fi
cd "$work" || exit 126
export WEBJOBS_PATH="$work"
mkdir -p "/tmp/JobsShutdown/$WEBJOBS_TYPE/$WEBJOBS_NAME" || exit 126
export WEBJOBS_SHUTDOWN_FILE="/tmp/JobsShutdown/$WEBJOBS_TYPE/$WEBJOBS_NAME/$$"
rm -f "$WEBJOBS_SHUTDOWN_FILE"
command -v -- "$cmd" >/dev/null 2>&1 || { echo "$cmd: command not found (it runs $script)" >&2; exit 127; }
exec 3<&0 </dev/null
"$cmd" "$script" "$@" 3<&- &
child=$!
{ while read -r _ <&3; do :; done; date -u +%Y-%m-%dT%H:%M:%SZ > "$WEBJOBS_SHUTDOWN_FILE"; } >/dev/null 2>&1 &
watcher=$!
exec 3<&-
wait "$child"; status=$?
kill "$watcher" 2>/dev/null
[ "$work" = "$src" ] || rm -rf "$work"
exit $status`

// jobs is the state of the WebJobs running on this server.
type jobs struct {
	mu   sync.Mutex
	runs map[string]*jobProc  // triggered runs, by site and job
	cont map[string]*jobProc  // continuous jobs, by site, job and instance
	next map[string]time.Time // schedules: when a job is next due, by site and job
	expr map[string]string    // the schedule next was computed for
	poke chan struct{}        // a look now, please
	// closed: the scheduler has stopped every job (the server shuts
	// down); nothing starts after, which nothing would stop or wait for.
	closed bool
	wg     sync.WaitGroup
}

// jobProc is a job running.
type jobProc struct {
	id       string // the run's id (triggered runs)
	instance string
	stop     func(wait time.Duration) // ask it to stop, then kill it after wait
	wait     time.Duration            // its stopping_wait_time
	pending  bool                     // continuous: ended, waiting to start again
	ended    chan struct{}            // closed once it has ended and its log and status are written
}

func jobKey(parts ...string) string { return strings.ToLower(strings.Join(parts, "\x00")) }

func (h *Handler) jobState() *jobs {
	h.jobsOnce.Do(func() {
		h.jobs = &jobs{runs: map[string]*jobProc{}, cont: map[string]*jobProc{}, next: map[string]time.Time{}, expr: map[string]string{}, poke: make(chan struct{}, 1)}
	})
	return h.jobs
}

// count is how many runs and continuous jobs site has.
func (js *jobs) count(site string) int {
	n := 0
	prefix := strings.ToLower(site) + "\x00"
	for k := range js.runs {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	for k := range js.cont {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// jobSettings are the app settings that govern its jobs.
type jobSettings struct {
	stopped, noSchedule bool
	restart             time.Duration
	history             int
	idle                time.Duration // a triggered run's idle timeout
}

func (h *Handler) jobSettings(ctx context.Context, s slipway.Site) (jobSettings, error) {
	set, err := h.cfg.Store.Settings(ctx, s.ResourceGroup, s.Name)
	if err != nil {
		return jobSettings{}, err
	}
	js := jobSettings{restart: defaultRestartTime, history: defaultHistorySize, idle: defaultIdleTimeout}
	if v, err := strconv.Atoi(set["WEBJOBS_IDLE_TIMEOUT"]); err == nil && v > 0 {
		js.idle = min(time.Duration(v)*time.Second, maxRunTime)
	}
	js.stopped = truthy(set["WEBJOBS_STOPPED"])
	js.noSchedule = truthy(set["WEBJOBS_DISABLE_SCHEDULE"])
	if v, err := strconv.Atoi(set["WEBJOBS_RESTART_TIME"]); err == nil && v >= 0 {
		js.restart = min(time.Duration(v)*time.Second, time.Hour)
	}
	if v, err := strconv.Atoi(set["WEBJOBS_HISTORY_SIZE"]); err == nil && v > 0 {
		js.history = min(v, maxHistorySize)
	}
	return js, nil
}

func truthy(v string) bool { return v == "1" || strings.EqualFold(v, "true") }

// jobEnv is what a job finds in its environment besides the app's (Kudu's
// WEBJOBS_* variables; WEBJOBS_PATH and WEBJOBS_SHUTDOWN_FILE are set by
// jobPreamble).
func jobEnv(j webjobs.Job, runID, args string) []string {
	env := []string{
		"WEBJOBS_NAME=" + j.Name,
		"WEBJOBS_TYPE=" + string(j.Kind),
		"WEBJOBS_ROOT_PATH=" + path.Join(appHome, j.Dir),
		"WEBJOBS_DATA_PATH=" + path.Join(appHome, webjobs.DataDir(j.Kind, j.Name)),
		"WEBJOBS_COMMAND_ARGUMENTS=" + args,
	}
	if runID != "" {
		env = append(env, "WEBJOBS_RUN_ID="+runID)
	}
	return env
}

// jobArgv is the command that runs j inside an instance.
func jobArgv(j webjobs.Job, args string) []string {
	inPlace := "0"
	if j.Settings.IsInPlace {
		inPlace = "1"
	}
	argv := []string{"/bin/sh", "-c", jobPreamble, "webjob", path.Join(appHome, j.Dir), j.Script, j.Command, inPlace}
	return append(argv, webjobs.SplitArguments(args)...)
}

// startRun starts a run of the triggered job j and returns its id. A job
// runs once at a time: a second run is refused with 409, as Kudu's is.
func (h *Handler) startRun(ctx context.Context, s slipway.Site, j webjobs.Job, set jobSettings, trigger, args string) (string, error) {
	if h.cfg.Shells == nil || h.cfg.Instances == nil {
		return "", slipway.Errorf(slipway.EUNAVAILABLE, "WebJobs cannot run on this server: it has no sandbox to run them in.")
	}
	if !s.Enabled {
		return "", slipway.Errorf(slipway.ECONFLICT, "The app '%s' is stopped; start it (az webapp start) to run its WebJobs.", s.Name)
	}
	instances := h.cfg.Instances(s.Name)
	if len(instances) == 0 {
		return "", slipway.Errorf(slipway.ECONFLICT, "The app '%s' has no running instance to run the job '%s' in: WebJobs run inside the app's instances. Start the app, or deploy a version that starts, and try again.", s.Name, j.Name)
	}
	js := h.jobState()
	key := jobKey(s.Name, j.Name)
	js.mu.Lock()
	if js.closed {
		js.mu.Unlock()
		return "", slipway.Errorf(slipway.EUNAVAILABLE, "WebJobs cannot run now: the server is shutting down.")
	}
	if _, busy := js.runs[key]; busy {
		js.mu.Unlock()
		return "", slipway.Errorf(slipway.ECONFLICT, "Cannot start a new run since job is already running.")
	}
	if js.count(s.Name) >= maxRunsAtOnce {
		js.mu.Unlock()
		return "", slipway.Errorf(slipway.EUNAVAILABLE, "'%s' already has %d WebJobs running, the most one app may have.", s.Name, maxRunsAtOnce)
	}
	now := time.Now()
	id := webjobs.RunID(now)
	stdin, err := newStopPipe()
	if err != nil {
		js.mu.Unlock()
		return "", err
	}
	runCtx, cancel := context.WithTimeout(context.Background(), maxRunTime)
	p := &jobProc{id: id, instance: instances[0].ID, stop: stopper(stdin, cancel), ended: make(chan struct{})}
	js.runs[key] = p
	js.mu.Unlock()

	dir := path.Join(webjobs.DataDir(webjobs.Triggered, j.Name), id)
	st := runStatus{Status: webjobs.StatusRunning, Start: now.UTC(), Trigger: trigger}
	// As Kudu's, the history is pruned as a run starts, to the newest
	// WEBJOBS_HISTORY_SIZE runs with this one.
	err = h.inHome(ctx, s, func(root *os.Root) error {
		if err := pruneRuns(root, j.Name, set.history-1); err != nil {
			return err
		}
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		return writeFileAtomic(root, path.Join(dir, "status"), b)
	})
	if err != nil {
		js.mu.Lock()
		delete(js.runs, key)
		js.mu.Unlock()
		cancel()
		stdin.release()
		close(p.ended)
		return "", fmt.Errorf("recording the run of %s: %w", j.Name, err)
	}
	out := h.newJobLog(s, path.Join(dir, "output_log.txt"), p.instance, maxRunOutput, "")
	out.event("Status changed to Initializing")
	out.event(fmt.Sprintf("Run script '%s' with script host - '%s'", j.Script, webjobs.ScriptHost(j.Command)))
	out.event("Status changed to Running")
	js.wg.Add(1)
	go func() {
		defer js.wg.Done()
		defer close(p.ended)
		defer cancel()
		// As Kudu's, a run with neither output nor CPU time for
		// WEBJOBS_IDLE_TIMEOUT is aborted (IdleManager).
		var idled atomic.Int64 // the seconds it was idle for, once aborted
		watchCtx, stopWatch := context.WithCancel(context.Background())
		go h.watchIdle(watchCtx, s, id, out, set.idle, func(quiet time.Duration) {
			idled.Store(max(int64(quiet.Seconds()), 1))
			cancel()
		})
		err := h.cfg.Shells.Shell(runCtx, s, jobArgv(j, args), "/home", deploy.ConsoleIO{
			Stdin: stdin.r, Stdout: out.writer(webjobs.LevelOut), Stderr: out.writer(webjobs.LevelErr),
			Env: jobEnv(j, id, args), Inside: true, Instance: p.instance, NoFallback: true,
		})
		stopWatch()
		stdin.release()
		st.Status, st.End = webjobs.StatusSuccess, time.Now().UTC()
		switch {
		case idled.Load() > 0:
			st.Status = webjobs.StatusFailed
			out.eventErr(idleMessage(j, args, idled.Load()))
			out.event("Status changed to Failed")
		case runCtx.Err() != nil:
			st.Status = webjobs.StatusAborted
			out.event("Status changed to Aborted")
		case err != nil:
			st.Status = webjobs.StatusFailed
			out.event("Status changed to Failed")
			out.eventErr(fmt.Sprintf("Job failed due to exit code %s", exitCode(err)))
		default:
			out.event("Status changed to Success")
		}
		out.close()
		bg, done := context.WithTimeout(context.Background(), 30*time.Second)
		defer done()
		if werr := h.writeRunStatus(bg, s, dir, st); werr != nil {
			h.cfg.Logger.Warn("recording the end of a WebJob run", "site", s.Name, "job", j.Name, "run", id, "err", werr)
		}
		js.mu.Lock()
		if js.runs[key] == p {
			delete(js.runs, key)
		}
		js.mu.Unlock()
	}()
	return id, nil
}

// exitCode is the exit status an error of Shell carries, or its message.
func exitCode(err error) string {
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return strconv.Itoa(ec.ExitCode())
	}
	return "unknown (" + slipway.ErrorMessage(err) + ")"
}

func (h *Handler) writeRunStatus(ctx context.Context, s slipway.Site, dir string, st runStatus) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return h.inHome(ctx, s, func(root *os.Root) error { return writeFileAtomic(root, path.Join(dir, "status"), b) })
}

// stopPipe is a job's standard input: closing its write end asks the job
// to stop (jobPreamble touches the shutdown file). It is an OS pipe, whose
// read end the job's process gets as it is: a reader of the server's would
// hold exec.Cmd.Wait until it ended.
type stopPipe struct {
	r, w *os.File
	once sync.Once
}

func newStopPipe() (*stopPipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("making a job's input: %w", err)
	}
	return &stopPipe{r: r, w: w}, nil
}

// Close asks the job to stop.
func (p *stopPipe) Close() error {
	p.once.Do(func() { p.w.Close() })
	return nil
}

// release closes both ends, once the job has ended.
func (p *stopPipe) release() {
	p.Close()
	p.r.Close()
}

// stopper asks a job to stop through its standard input, then kills it
// once wait has passed. It arms one kill: asked again (the scheduler asks
// a job it no longer wants at each look, and the API's pokes make looks),
// it only brings the kill forward when the new wait ends sooner.
func stopper(stdin *stopPipe, kill context.CancelFunc) func(time.Duration) {
	var (
		mu    sync.Mutex
		timer *time.Timer
		at    time.Time
	)
	return func(wait time.Duration) {
		stdin.Close()
		mu.Lock()
		defer mu.Unlock()
		due := time.Now().Add(wait)
		if timer != nil && !due.Before(at) {
			return
		}
		if timer != nil {
			timer.Stop()
		}
		timer, at = time.AfterFunc(wait, kill), due
	}
}

// jobLog is a job's log file in the home: lines formatted as Kudu's,
// written at most logFlush after they arrive, bounded.
type jobLog struct {
	h        *Handler
	site     slipway.Site
	rel      string
	instance string
	max      int64
	rollTo   string // past max, the file is renamed to this (continuous); "": the rest is dropped (triggered)

	flushing sync.Mutex
	mu       sync.Mutex
	buf      bytes.Buffer
	written  int64
	full     bool
	dropped  int
	timer    *time.Timer
	partial  map[string]*bytes.Buffer
	// output is when the job last wrote (Unix nanoseconds), for its idle
	// timeout (webjobs_idle.go).
	output atomic.Int64
}

// lastOutput is when the job last wrote, or the log's creation.
func (l *jobLog) lastOutput() time.Time { return time.Unix(0, l.output.Load()) }

func (h *Handler) newJobLog(s slipway.Site, rel, instance string, max int64, rollTo string) *jobLog {
	l := &jobLog{h: h, site: s, rel: rel, instance: instance, max: max, rollTo: rollTo, partial: map[string]*bytes.Buffer{}}
	l.output.Store(time.Now().UnixNano())
	return l
}

func (l *jobLog) event(text string)    { l.line(webjobs.LevelSys, text) }
func (l *jobLog) eventErr(text string) { l.line(webjobs.LevelSysErr, text) }

func (l *jobLog) line(level, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked(webjobs.LogLine(time.Now(), l.instance, level, text))
}

func (l *jobLog) addLocked(s string) {
	switch {
	case l.full:
		return
	case l.rollTo == "" && l.written+int64(l.buf.Len()+len(s)) > l.max:
		l.buf.WriteString(webjobs.LogLine(time.Now(), l.instance, webjobs.LevelSysWarn, fmt.Sprintf("The run's output is longer than %d MB: the rest is not kept.", l.max>>20)))
		l.full = true
	case l.buf.Len()+len(s) > maxLogPending:
		// Faster than its file takes it: the line is dropped, and
		// counted for a warning.
		l.dropped++
	default:
		l.buf.WriteString(s)
	}
	if l.timer == nil {
		l.timer = time.AfterFunc(logFlush, l.flush)
	}
}

// writer is one stream of the job's output, at level (INFO or ERR).
func (l *jobLog) writer(level string) io.Writer { return jobStream{l, level} }

type jobStream struct {
	l     *jobLog
	level string
}

// maxLogLine bounds a line kept whole; a longer one is cut.
const maxLogLine = 16 << 10

func (s jobStream) Write(p []byte) (int, error) {
	l := s.l
	l.output.Store(time.Now().UnixNano())
	l.mu.Lock()
	defer l.mu.Unlock()
	part := l.partial[s.level]
	if part == nil {
		part = &bytes.Buffer{}
		l.partial[s.level] = part
	}
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			part.Write(rest[:min(len(rest), maxLogLine-part.Len())])
			break
		}
		part.Write(rest[:min(i, max(0, maxLogLine-part.Len()))])
		l.addLocked(webjobs.LogLine(time.Now(), l.instance, s.level, strings.TrimRight(part.String(), "\r")))
		part.Reset()
		rest = rest[i+1:]
	}
	return len(p), nil
}

// flush writes what has arrived.
func (l *jobLog) flush() {
	l.flushing.Lock() // one write at a time, in order
	defer l.flushing.Unlock()
	l.mu.Lock()
	if l.dropped > 0 {
		l.buf.WriteString(webjobs.LogLine(time.Now(), l.instance, webjobs.LevelSysWarn, fmt.Sprintf("%d lines of output were dropped: the job wrote faster than its log is written.", l.dropped)))
		l.dropped = 0
	}
	b := bytes.Clone(l.buf.Bytes())
	l.buf.Reset()
	l.timer = nil
	l.written += int64(len(b))
	l.mu.Unlock()
	if len(b) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var max int64
	var rollTo string
	if l.rollTo != "" {
		max, rollTo = l.max, path.Join(path.Dir(l.rel), l.rollTo)
	}
	if err := l.h.inHome(ctx, l.site, func(root *os.Root) error { return appendLog(root, l.rel, b, max, rollTo) }); err != nil {
		l.h.cfg.Logger.Warn("writing a WebJob's log", "site", l.site.Name, "log", l.rel, "err", err)
	}
}

// close writes the rest, a last partial line included.
func (l *jobLog) close() {
	l.mu.Lock()
	for level, part := range l.partial {
		if part.Len() > 0 {
			l.addLocked(webjobs.LogLine(time.Now(), l.instance, level, part.String()))
			part.Reset()
		}
	}
	if l.timer != nil {
		l.timer.Stop()
	}
	l.mu.Unlock()
	l.flush()
}

// RunWebJobs starts the continuous jobs and the scheduled runs of every
// app, looking every interval (and when the API changes a job: at once,
// or a second after the last look), until ctx ends; then it stops every
// job and waits for them.
func (h *Handler) RunWebJobs(ctx context.Context, interval time.Duration) {
	if h.cfg.Shells == nil || h.cfg.Instances == nil || h.cfg.Sites == nil || interval <= 0 {
		return
	}
	js := h.jobState()
	t := time.NewTicker(interval)
	defer t.Stop()
	gap := min(interval, minPokeGap)
	for {
		last := time.Now()
		h.superviseJobs(ctx)
		select {
		case <-ctx.Done():
			js.mu.Lock()
			js.closed = true
			for _, p := range js.runs {
				p.stop(0)
			}
			for _, p := range js.cont {
				p.stop(0)
			}
			js.mu.Unlock()
			js.wg.Wait()
			return
		case <-t.C:
		case <-js.poke:
			// At once, but not sooner than gap after the last look.
			wait := time.NewTimer(time.Until(last.Add(gap)))
			select {
			case <-wait.C:
			case <-ctx.Done():
				wait.Stop()
			}
		}
	}
}

// minPokeGap is the least time between two looks at every app's jobs
// that the API's pokes make: an app's owner can poke as fast as the API
// answers, and each look reads every app's jobs.
const minPokeGap = time.Second

// poke has the scheduler look at the jobs now.
func (h *Handler) poke() {
	select {
	case h.jobState().poke <- struct{}{}:
	default:
	}
}

// superviseJobs is one look at every app's jobs.
func (h *Handler) superviseJobs(ctx context.Context) {
	sites, err := h.cfg.Sites(ctx)
	if err != nil {
		h.cfg.Logger.Error("listing apps for their WebJobs", "err", err)
		return
	}
	live := map[string]bool{}
	unread := map[string]bool{} // sites whose schedules were not looked at
	for _, s := range sites {
		if ctx.Err() != nil {
			return
		}
		keys, read := h.superviseSite(ctx, s)
		for _, k := range keys {
			live[k] = true
		}
		if !read {
			unread[strings.ToLower(s.Name)] = true
		}
	}
	// Continuous jobs no longer wanted (stopped, deleted, their app
	// stopped or gone, their instance ended) are stopped.
	js := h.jobState()
	js.mu.Lock()
	defer js.mu.Unlock()
	for k, p := range js.cont {
		if !live[k] {
			p.stop(p.wait)
		}
	}
	// The schedules of jobs that are gone (deleted, renamed, their
	// schedule removed, their app gone) are forgotten: an app may make
	// names without end. Those of an app whose jobs were not read this
	// time (no instance running meanwhile) are kept.
	for k := range js.next {
		site, _, _ := strings.Cut(k, "\x00")
		if !live[k] && !unread[site] {
			delete(js.next, k)
			delete(js.expr, k)
		}
	}
}

// superviseSite starts what one app lacks and returns the keys of the
// continuous jobs it wants and of the schedules it has; read is false
// when it runs but its jobs were not looked at (no instance running, its
// home unreadable).
func (h *Handler) superviseSite(ctx context.Context, s slipway.Site) (keys []string, read bool) {
	if !s.Enabled {
		return nil, true
	}
	instances := h.cfg.Instances(s.Name)
	if len(instances) == 0 {
		return nil, false
	}
	var cont, trig []webjobs.Job
	err := h.inHome(ctx, s, func(root *os.Root) error {
		var err error
		if cont, err = findJobs(root, webjobs.Continuous); err != nil {
			return err
		}
		trig, err = findJobs(root, webjobs.Triggered)
		return err
	})
	if err != nil {
		h.cfg.Logger.Warn("reading an app's WebJobs", "site", s.Name, "err", err)
		return nil, false
	}
	if len(cont) == 0 && len(trig) == 0 {
		return nil, true
	}
	set, err := h.jobSettings(ctx, s)
	if err != nil {
		return nil, false
	}
	if set.stopped {
		return nil, true
	}
	var want []string
	for _, j := range cont {
		if j.Disabled {
			continue
		}
		in := instances
		if j.Settings.IsSingleton {
			in = instances[:1]
		}
		for _, inst := range in {
			// Keyed by the instance's process too: a restart under the
			// same id (a deployment, a crash) ended the job with the old
			// process, and it starts at once in the new one.
			key := jobKey(s.Name, j.Name, inst.ID+"#"+strconv.FormatUint(inst.Incarnation, 10))
			want = append(want, key)
			h.ensureContinuous(s, j, inst.ID, key, set)
		}
	}
	if !set.noSchedule {
		want = append(want, h.runDue(ctx, s, trig, set, instances[0].ID)...)
	}
	return want, true
}

// runDue starts the triggered jobs whose schedule is due. A schedule seen
// for the first time (a new job, a changed schedule, a server start) is
// due from then on: runs missed while it was not known are not made up for.
// It returns the keys of the schedules it looked at; instance names the
// instance its scheduler log lines speak for.
func (h *Handler) runDue(ctx context.Context, s slipway.Site, trig []webjobs.Job, set jobSettings, instance string) (keys []string) {
	js := h.jobState()
	now := time.Now()
	for _, j := range trig {
		if j.Settings.Schedule == "" {
			continue
		}
		sch, err := webjobs.ParseSchedule(j.Settings.Schedule)
		if err != nil {
			continue
		}
		key := jobKey(s.Name, j.Name)
		keys = append(keys, key)
		js.mu.Lock()
		next, known := js.next[key]
		fresh := !known || js.expr[key] != j.Settings.Schedule
		if fresh {
			next = sch.Next(now)
			js.next[key], js.expr[key] = next, j.Settings.Schedule
		}
		due := !now.Before(next)
		if due {
			js.next[key] = sch.Next(now)
		}
		upcoming := js.next[key]
		js.mu.Unlock()
		slog := h.newJobLog(s, path.Join(webjobs.DataDir(webjobs.Triggered, j.Name), schedulerLog), instance, maxJobLog, "job_scheduler_prev.log")
		if fresh {
			slog.event(fmt.Sprintf("Scheduling WebJob with %s next schedule expected in %s", j.Settings.Schedule, kuduDuration(upcoming.Sub(now))))
		}
		if due {
			if _, err := h.startRun(ctx, s, j, set, "Schedule - "+j.Settings.Schedule, ""); err != nil {
				slog.line(webjobs.LevelSysWarn, "The scheduled run was not started: "+slipway.ErrorMessage(err))
			} else {
				slog.event("WebJob invoked")
			}
			slog.event(fmt.Sprintf("Next schedule expected in %s", kuduDuration(upcoming.Sub(now))))
		}
		slog.close()
	}
	return keys
}

// ensureContinuous starts j in the instance id unless it runs there or
// waits to start again.
func (h *Handler) ensureContinuous(s slipway.Site, j webjobs.Job, id, key string, set jobSettings) {
	js := h.jobState()
	js.mu.Lock()
	defer js.mu.Unlock()
	if _, ok := js.cont[key]; ok || js.closed || js.count(s.Name) >= maxRunsAtOnce {
		return
	}
	stdin, err := newStopPipe()
	if err != nil {
		h.cfg.Logger.Warn("starting a continuous WebJob", "site", s.Name, "job", j.Name, "err", err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &jobProc{instance: id, wait: j.Settings.StoppingWaitTime, stop: stopper(stdin, cancel), ended: make(chan struct{})}
	js.cont[key] = p
	log := h.newJobLog(s, path.Join(webjobs.DataDir(webjobs.Continuous, j.Name), continuousLog), id, maxJobLog, continuousPrevLog)
	js.wg.Add(1)
	go func() {
		defer js.wg.Done()
		defer close(p.ended)
		defer cancel()
		log.event("Status changed to Starting")
		if j.Settings.IsSingleton {
			log.event("WebJob singleton setting is True")
		}
		log.event(fmt.Sprintf("Run script '%s' with script host - '%s'", j.Script, webjobs.ScriptHost(j.Command)))
		log.event("Status changed to Running")
		began := time.Now()
		err := h.cfg.Shells.Shell(ctx, s, jobArgv(j, ""), "/home", deploy.ConsoleIO{
			Stdin: stdin.r, Stdout: log.writer(webjobs.LevelOut), Stderr: log.writer(webjobs.LevelErr),
			Env: jobEnv(j, "", ""), Inside: true, Instance: id, NoFallback: true,
		})
		stdin.release()
		// As Kudu's, a job that ran for two minutes or more starts
		// again at once; one that ended sooner after WEBJOBS_RESTART_TIME.
		wait := set.restart
		if time.Since(began) >= 2*time.Minute {
			wait = 0
		}
		stopped := ctx.Err() != nil
		switch {
		case stopped:
			log.event("Status changed to Stopped")
		case err != nil:
			log.eventErr(fmt.Sprintf("Job failed due to exit code %s", exitCode(err)))
		default:
			log.event("Status changed to Success")
		}
		if !stopped {
			log.event(fmt.Sprintf("Process went down, waiting for %d seconds", int(wait/time.Second)))
			log.event("Status changed to PendingRestart")
		}
		log.close()
		if !stopped {
			// It stays in the table while it waits, so that it is not
			// started again before then.
			js.mu.Lock()
			p.pending = true
			js.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		js.mu.Lock()
		if js.cont[key] == p {
			delete(js.cont, key)
		}
		js.mu.Unlock()
		if !stopped {
			h.poke()
		}
	}()
}

// continuousStatus is a continuous job's status on this server: Running
// when it runs in an instance, PendingRestart while it waits to start
// again, else Stopped.
func (h *Handler) continuousStatus(s slipway.Site, j webjobs.Job) (status string, instances []string) {
	js := h.jobState()
	js.mu.Lock()
	defer js.mu.Unlock()
	pending := false
	prefix := jobKey(s.Name, j.Name) + "\x00"
	for k, p := range js.cont {
		if strings.HasPrefix(k, prefix) {
			if p.pending {
				pending = true
			} else {
				instances = append(instances, p.instance)
			}
		}
	}
	slices.Sort(instances)
	switch {
	case len(instances) > 0:
		return webjobs.StatusRunning, instances
	case pending:
		return webjobs.StatusPendingRestart, nil
	}
	return webjobs.StatusStopped, nil
}

// stopContinuous stops j's processes, each given its stopping_wait_time.
func (h *Handler) stopContinuous(s slipway.Site, j webjobs.Job) {
	js := h.jobState()
	js.mu.Lock()
	defer js.mu.Unlock()
	prefix := jobKey(s.Name, j.Name) + "\x00"
	for k, p := range js.cont {
		if strings.HasPrefix(k, prefix) {
			p.stop(p.wait)
		}
	}
}

// killJob kills what of a job runs (its run under way, or its processes
// in every instance) at once — the job is deleted — and returns what
// closes once each has ended and written its last lines.
func (h *Handler) killJob(s slipway.Site, kind webjobs.Kind, name string) []chan struct{} {
	js := h.jobState()
	js.mu.Lock()
	defer js.mu.Unlock()
	var ended []chan struct{}
	if kind == webjobs.Triggered {
		if p, ok := js.runs[jobKey(s.Name, name)]; ok {
			p.stop(0)
			ended = append(ended, p.ended)
		}
		return ended
	}
	prefix := jobKey(s.Name, name) + "\x00"
	for k, p := range js.cont {
		if strings.HasPrefix(k, prefix) {
			p.stop(0)
			ended = append(ended, p.ended)
		}
	}
	return ended
}

// runningRun is the id of a triggered job's run under way, if one is.
func (h *Handler) runningRun(s slipway.Site, name string) (string, bool) {
	js := h.jobState()
	js.mu.Lock()
	defer js.mu.Unlock()
	p, ok := js.runs[jobKey(s.Name, name)]
	if !ok {
		return "", false
	}
	return p.id, true
}
