// Package webjobs holds the rules of App Service's WebJobs that need no
// file, process or network: which folders are jobs, which file a job runs
// and with what, what its settings.job says, when a schedule is next due,
// and the line format of a job's log. Kudu (package scm) finds the jobs in
// an app's home, runs them inside its instances and serves them.
//
// WebJobs are background jobs deployed with an app (Microsoft's "How WebJobs
// run in Azure App Service", learn.microsoft.com/azure/app-service/webjobs-execution,
// and Kudu's wiki, "WebJobs"): a folder per job under
// site/wwwroot/App_Data/jobs/triggered or …/continuous (or site/jobs/…, kept
// across deployments), holding a run.* entry point and an optional
// settings.job. A triggered job runs when asked or on its settings.job
// schedule (NCRONTAB, six fields with seconds); a continuous one runs all
// the time, restarted when it ends.
package webjobs

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Kind is a job's type, as Kudu names it in URLs and JSON.
type Kind string

const (
	Triggered  Kind = "triggered"
	Continuous Kind = "continuous"
)

// Roots are the folders of the app's home jobs are found in, in the order
// they are looked in: the deployed app's App_Data/jobs, then site/jobs,
// which App Service reads too (Kudu's wiki: for apps whose wwwroot is read
// only) and which Slipway's uploads use, since a deployment replaces
// wwwroot. A job found in the first hides one of its name in the second.
var Roots = []string{"site/wwwroot/App_Data/jobs", "site/jobs"}

// DataDir is where a job's runs and logs are kept in the app's home
// (Kudu's data/jobs/<type>/<name>).
func DataDir(k Kind, name string) string { return path.Join("data/jobs", string(k), name) }

// Bounds of what is read of a job.
const (
	MaxJobs         = 256      // jobs of one kind read from one root
	MaxJobFiles     = 1024     // entries of a job's folder looked at
	MaxSettingsSize = 64 << 10 // a settings.job
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// ValidName reports whether name can name a job: letters, digits, '-' and
// '_' (Microsoft's rule for WebJob names), starting with a letter or a
// digit, at most 64 characters — so that it is safe in a path and a URL.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// NameError is the message for a name that cannot be a job's.
func NameError(name string) string {
	return fmt.Sprintf("'%s' is not a valid WebJob name: use letters, digits, '-' and '_', starting with a letter or a digit, at most 64 characters.", name)
}

// Interpreters maps the script types a Linux Python app's jobs may have to
// the command that runs them: Bash for .sh and the app's own Python (its
// virtual environment is first on the instance's PATH) for .py. The order
// is the order a job's entry point is looked for in.
var Interpreters = []struct{ Ext, Command string }{
	{".sh", "bash"},
	{".py", "python"},
}

// Script chooses a job's entry point among the file names at the top of its
// folder: run.sh, then run.py, then the first .sh or .py file by name (the
// order Kudu's script hosts are asked in). ok is false when none will do.
func Script(files []string) (name, command string, ok bool) {
	sorted := slices.Clone(files)
	slices.Sort(sorted)
	for _, in := range Interpreters {
		if slices.Contains(sorted, "run"+in.Ext) {
			return "run" + in.Ext, in.Command, true
		}
	}
	for _, in := range Interpreters {
		for _, f := range sorted {
			if strings.HasSuffix(strings.ToLower(f), in.Ext) && len(f) > len(in.Ext) {
				return f, in.Command, true
			}
		}
	}
	return "", "", false
}

// Settings is a job's settings.job. Raw keeps every member, as Kudu gives
// them back ("settings").
type Settings struct {
	Schedule         string
	IsSingleton      bool
	StoppingWaitTime time.Duration
	IsInPlace        bool
	Raw              map[string]any
}

// DefaultStoppingWait is how long a stopping continuous job is given after
// its shutdown file appears before it is killed (Kudu's default, 5 s).
const DefaultStoppingWait = 5 * time.Second

// MaxStoppingWait bounds stopping_wait_time.
const MaxStoppingWait = 10 * time.Minute

// ParseSettings reads a settings.job. An empty file is no settings. As
// Kudu's, a member of the wrong type keeps its default; the error then
// says which (the settings are still usable).
func ParseSettings(b []byte) (Settings, error) {
	s := Settings{StoppingWaitTime: DefaultStoppingWait, Raw: map[string]any{}}
	if len(strings.TrimSpace(string(b))) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, &s.Raw); err != nil {
		s.Raw = map[string]any{}
		return s, fmt.Errorf("settings.job is not a JSON object (%v): its settings are ignored", err)
	}
	var problems []string
	for k, v := range s.Raw {
		switch strings.ToLower(k) {
		case "schedule":
			str, ok := v.(string)
			if !ok {
				problems = append(problems, `schedule must be a string such as "0 */5 * * * *"`)
				continue
			}
			if _, err := ParseSchedule(str); err != nil {
				problems = append(problems, err.Error())
				continue
			}
			s.Schedule = strings.TrimSpace(str)
		case "is_singleton":
			if b, ok := v.(bool); ok {
				s.IsSingleton = b
			} else {
				problems = append(problems, "is_singleton must be true or false")
			}
		case "is_in_place":
			if b, ok := v.(bool); ok {
				s.IsInPlace = b
			} else {
				problems = append(problems, "is_in_place must be true or false")
			}
		case "stopping_wait_time":
			if n, ok := v.(float64); ok && n >= 0 && n == float64(int64(n)) {
				s.StoppingWaitTime = min(time.Duration(n)*time.Second, MaxStoppingWait)
			} else {
				problems = append(problems, "stopping_wait_time must be a whole number of seconds")
			}
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return s, fmt.Errorf("settings.job: %s", strings.Join(problems, "; "))
	}
	return s, nil
}

// scheduleParser reads NCRONTAB expressions as Azure's WebJobs and Functions
// take them: six fields, seconds first (or a descriptor such as @daily).
var scheduleParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule is a parsed schedule.
type Schedule interface {
	// Next is the first time after t the schedule is due.
	Next(t time.Time) time.Time
}

// ParseSchedule parses an NCRONTAB expression ("{second} {minute} {hour}
// {day} {month} {day-of-week}").
func ParseSchedule(expr string) (Schedule, error) {
	if strings.Count(strings.TrimSpace(expr), " ") == 4 && !strings.HasPrefix(expr, "@") {
		return nil, fmt.Errorf("the schedule %q has five fields; WebJobs schedules have six, seconds first (e.g. \"0 %s\")", expr, expr)
	}
	sch, err := scheduleParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("the schedule %q is not a CRON expression of six fields, seconds first (e.g. \"0 */5 * * * *\"): %v", expr, err)
	}
	return sch, nil
}

// Job is a job as found in the app's home.
type Job struct {
	Name string
	Kind Kind
	// Root is the folder of Roots it was found in; Dir its folder,
	// relative to the home.
	Root, Dir string
	// Script is its entry point's file name ("" when it has none) and
	// Command what runs it.
	Script, Command string
	Settings        Settings
	// Error says what is wrong with its settings.job (the job runs
	// with the defaults of what is wrong). A folder without an entry
	// point is no job (Kudu lists none).
	Error string
	// Disabled: a continuous job stopped by its disable.job file.
	Disabled bool
}

// RunCommand is the job's run_command as Kudu shows it: its entry point.
func (j Job) RunCommand() string { return j.Script }

// DisableFile is the file whose presence in a continuous job's folder
// stops it (Kudu's disable.job).
const DisableFile = "disable.job"

// Status values of a triggered run (Kudu's JobStatus) and a continuous job
// (Kudu's ContinuousJobStatus).
const (
	StatusInitializing   = "Initializing"
	StatusRunning        = "Running"
	StatusSuccess        = "Success"
	StatusFailed         = "Failed"
	StatusAborted        = "Aborted"
	StatusStopped        = "Stopped"
	StatusPendingRestart = "PendingRestart"
)

// RunID is the id of a triggered run started at t: its UTC time to the
// ten-thousandth of a second, 18 digits (Kudu's yyyyMMddHHmmssffff), so
// that ids sort as the runs started.
func RunID(t time.Time) string {
	t = t.UTC()
	return t.Format("20060102150405") + fmt.Sprintf("%04d", t.Nanosecond()/100000)
}

// ValidRunID reports whether id can be a run's id.
func ValidRunID(id string) bool {
	if len(id) != 18 {
		return false
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Log levels of a job's lines.
const (
	LevelOut     = "INFO"     // the job's standard output
	LevelErr     = "ERR "     // its standard error
	LevelSys     = "SYS INFO" // the platform
	LevelSysErr  = "SYS ERR "
	LevelSysWarn = "SYS WARN"
)

// LogLine formats one line of a job's log as Kudu writes it:
// "[MM/DD/YYYY HH:MM:SS > abcdef: LEVEL] text", in UTC, where abcdef is the
// first six characters of the instance's id.
func LogLine(t time.Time, instance, level, text string) string {
	short := instance
	if len(short) > 6 {
		short = short[:6]
	}
	return fmt.Sprintf("[%s > %s: %s] %s\n", t.UTC().Format("01/02/2006 15:04:05"), short, level, text)
}

// ScriptHost is the name Kudu's log gives the host of a command.
func ScriptHost(command string) string {
	switch command {
	case "bash":
		return "BashScriptHost"
	case "python":
		return "PythonScriptHost"
	}
	return command
}
