package scm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway"
	"github.com/slipway-dev/slipway/internal/webjobs"
)

// The WebJobs' files in the app's home (webjobs.go): the jobs' folders,
// their settings and disable.job, and the runs' status and logs under
// data/jobs. The home is the app's: everything is read and written through
// its os.Root as the app's own user (tenantHome.do), nothing but a regular
// file of one link is read, a log that is anything else is replaced, and
// every read is bounded.

// inHome runs fn on the site's home, as the app's user.
func (h *Handler) inHome(ctx context.Context, s slipway.Site, fn func(root *os.Root) error) error {
	t, err := h.openHome(ctx, s)
	if err != nil {
		return err
	}
	defer t.Close()
	return t.do(func() error { return fn(t.root) })
}

// readDirBounded lists at most n names of the directory rel (not a
// symlink) in root; a missing directory is an empty list.
func readDirBounded(root *os.Root, rel string, n int) ([]fs.DirEntry, error) {
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(n)
	if err == io.EOF {
		err = nil
	}
	return ents, err
}

// readSmall reads the regular file rel of at most max bytes; ok is false
// when there is none (or it is not a plain file, or larger).
func readSmall(root *os.Root, rel string, max int64) (b []byte, ok bool, err error) {
	fi, err := root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	f, why, err := openRegularFile(root, rel, fi, syscall.O_NOFOLLOW)
	if err != nil || why != "" {
		return nil, false, err
	}
	defer f.Close()
	b, err = io.ReadAll(io.LimitReader(f, max+1))
	if err != nil || int64(len(b)) > max {
		return nil, false, err
	}
	return b, true, nil
}

// findJobs lists the jobs of kind in the home, by name.
func findJobs(root *os.Root, kind webjobs.Kind) ([]webjobs.Job, error) {
	var jobs []webjobs.Job
	seen := map[string]bool{}
	for _, r := range webjobs.Roots {
		dir := path.Join(r, string(kind))
		ents, err := readDirBounded(root, dir, webjobs.MaxJobs)
		if err != nil {
			return nil, fmt.Errorf("reading /home/%s: %w", dir, err)
		}
		for _, e := range ents {
			name := e.Name()
			if !e.IsDir() || !webjobs.ValidName(name) || seen[strings.ToLower(name)] {
				continue
			}
			seen[strings.ToLower(name)] = true
			j, ok, err := readJob(root, kind, r, name)
			if err != nil {
				return nil, err
			}
			if ok {
				jobs = append(jobs, j)
			}
		}
	}
	slices.SortFunc(jobs, func(a, b webjobs.Job) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return jobs, nil
}

// findJob finds one job by name (case-insensitive, as Kudu's); ENOTFOUND
// when there is none.
func findJob(root *os.Root, kind webjobs.Kind, name string) (webjobs.Job, error) {
	if !webjobs.ValidName(name) {
		return webjobs.Job{}, noJob(kind, name)
	}
	jobs, err := findJobs(root, kind)
	if err != nil {
		return webjobs.Job{}, err
	}
	for _, j := range jobs {
		if strings.EqualFold(j.Name, name) {
			return j, nil
		}
	}
	return webjobs.Job{}, noJob(kind, name)
}

func noJob(kind webjobs.Kind, name string) error {
	return slipway.Errorf(slipway.ENOTFOUND, "No %s job found with the name '%s'", kind, name)
}

// maxScriptDepth bounds the folders readJob descends through.
const maxScriptDepth = 8

// readJob reads one job's folder: its entry point, settings.job and
// disable.job. As Kudu's, a folder holding one folder and nothing else
// (a zip of the job's folder) is the job's files. ok is false when it has
// no entry point.
func readJob(root *os.Root, kind webjobs.Kind, r, name string) (j webjobs.Job, ok bool, err error) {
	dir := path.Join(r, string(kind), name)
	j = webjobs.Job{Name: name, Kind: kind, Root: r, Settings: webjobs.Settings{StoppingWaitTime: webjobs.DefaultStoppingWait, Raw: map[string]any{}}}
	var files []string
	for depth := 0; ; depth++ {
		ents, err := readDirBounded(root, dir, webjobs.MaxJobFiles)
		if err != nil {
			return j, false, fmt.Errorf("reading /home/%s: %w", dir, err)
		}
		if len(ents) == 1 && ents[0].IsDir() && depth < maxScriptDepth {
			dir = path.Join(dir, ents[0].Name())
			continue
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				files = append(files, e.Name())
			}
		}
		break
	}
	j.Dir = dir
	if j.Script, j.Command, ok = webjobs.Script(files); !ok {
		return j, false, nil
	}
	if b, found, err := readSmall(root, path.Join(dir, "settings.job"), webjobs.MaxSettingsSize); err != nil {
		return j, false, fmt.Errorf("reading /home/%s/settings.job: %w", dir, err)
	} else if found {
		if j.Settings, err = webjobs.ParseSettings(b); err != nil {
			j.Error = err.Error()
		}
	}
	j.Disabled = slices.Contains(files, webjobs.DisableFile)
	return j, true, nil
}

// runStatus is a triggered run's status file (data/jobs/triggered/<name>/<id>/status).
type runStatus struct {
	Trigger string    `json:"Trigger,omitempty"`
	Status  string    `json:"Status"`
	Start   time.Time `json:"StartTime"`
	End     time.Time `json:"EndTime,omitzero"`
}

const maxStatusFile = 4 << 10

// readRuns returns up to n of a triggered job's runs, newest first.
func readRuns(root *os.Root, name string, n int) ([]jobRun, error) {
	dir := webjobs.DataDir(webjobs.Triggered, name)
	ids, err := runIDs(root, dir)
	if err != nil {
		return nil, fmt.Errorf("reading /home/%s: %w", dir, err)
	}
	var runs []jobRun
	for _, id := range slices.Backward(ids) {
		if len(runs) >= n {
			break
		}
		b, ok, err := readSmall(root, path.Join(dir, id, "status"), maxStatusFile)
		if err != nil {
			return nil, err
		}
		var st runStatus
		if !ok || json.Unmarshal(b, &st) != nil {
			continue
		}
		runs = append(runs, jobRun{ID: id, Job: name, runStatus: st})
	}
	return runs, nil
}

// maxRunDirs bounds the entries of a job's data folder read.
const maxRunDirs = 4096

// runIDs lists the runs' folders in a triggered job's data folder dir,
// oldest first (run ids sort as the runs started).
func runIDs(root *os.Root, dir string) ([]string, error) {
	ents, err := readDirBounded(root, dir, maxRunDirs)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && webjobs.ValidRunID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// pruneRuns removes all but a triggered job's keep newest runs.
func pruneRuns(root *os.Root, name string, keep int) error {
	dir := webjobs.DataDir(webjobs.Triggered, name)
	ids, err := runIDs(root, dir)
	if err != nil {
		return err
	}
	for len(ids) > keep {
		if err := root.RemoveAll(path.Join(dir, ids[0])); err != nil {
			return err
		}
		ids = ids[1:]
	}
	return nil
}

// writeFileAtomic replaces rel with b: a new file beside it (createTemp's,
// as the file API's), then a rename, so a reader sees the old content or
// the new one.
func writeFileAtomic(root *os.Root, rel string, b []byte) error {
	if err := root.MkdirAll(path.Dir(rel), 0o755); err != nil {
		return err
	}
	tmp, f, err := createTemp(root, rel)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, rel)
	}
	if err != nil {
		root.Remove(tmp)
	}
	return err
}

// appendLog appends b to the log rel, making it (and its folder) when
// missing. A name that is not a plain file of one link (a symlink or a
// FIFO the app put there) is removed and the log started afresh; a log
// past max (when max > 0) is renamed to rollTo (one generation kept) first.
func appendLog(root *os.Root, rel string, b []byte, max int64, rollTo string) error {
	if err := root.MkdirAll(path.Dir(rel), 0o755); err != nil {
		return err
	}
	const flags = os.O_WRONLY | os.O_APPEND | syscall.O_NOFOLLOW | syscall.O_NONBLOCK | syscall.O_NOCTTY
	if fi, err := root.Lstat(rel); err == nil {
		switch {
		case !fi.Mode().IsRegular() || !singleLink(fi):
			if err := root.RemoveAll(rel); err != nil {
				return err
			}
		case max > 0 && fi.Size()+int64(len(b)) > max:
			root.RemoveAll(rollTo)
			if err := root.Rename(rel, rollTo); err != nil {
				return err
			}
		}
	}
	f, err := root.OpenFile(rel, flags|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || !singleLink(fi) {
		return fmt.Errorf("/home/%s changed while it was being opened", rel)
	}
	_, err = f.Write(b)
	return err
}

// setDisabled adds or removes a continuous job's disable.job.
func setDisabled(root *os.Root, j webjobs.Job, disabled bool) error {
	rel := path.Join(j.Dir, webjobs.DisableFile)
	if !disabled {
		if err := root.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return writeFileAtomic(root, rel, []byte("Job stopped by the Kudu API ("+time.Now().UTC().Format(time.RFC3339)+")\n"))
}
