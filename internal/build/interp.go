package build

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Interpreter is one installed Python.
type Interpreter struct {
	Version string // exact, e.g. "3.12.1"
	Path    string // absolute path of the python3 executable
}

// minMinor is the oldest Python 3 minor version the builder accepts.
const minMinor = 8

var binName = regexp.MustCompile(`^python3\.\d+$`)

// FindInterpreters discovers Pythons 3.8+ under roots. A root may be a
// directory of installations (pyenv's versions/, where each <dir>/bin/python3
// is tried), a bin directory (where python3.X executables are tried), or the
// path of an executable. Each candidate is asked for its version, so broken
// ones and pre-releases are left out. The result is deduplicated (by resolved
// path, then by version: the first root wins) and sorted by version, oldest
// first. Roots that do not exist are ignored.
func FindInterpreters(ctx context.Context, roots ...string) ([]Interpreter, error) {
	var candidates []string
	for _, root := range roots {
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, fmt.Errorf("finding interpreters under %s: %w", root, err)
		}
		fi, err := os.Stat(abs)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("finding interpreters under %s: %w", root, err)
		}
		if !fi.IsDir() {
			candidates = append(candidates, abs)
			continue
		}
		entries, err := os.ReadDir(abs)
		if err != nil {
			return nil, fmt.Errorf("finding interpreters under %s: %w", root, err)
		}
		for _, e := range entries {
			switch {
			case binName.MatchString(e.Name()):
				candidates = append(candidates, filepath.Join(abs, e.Name()))
			case e.IsDir():
				p := filepath.Join(abs, e.Name(), "bin", "python3")
				if _, err := os.Stat(p); err == nil {
					candidates = append(candidates, p)
				}
			}
		}
	}

	var found []Interpreter
	seenPath := map[string]bool{}
	seenVersion := map[string]bool{}
	for _, c := range candidates {
		resolved, err := filepath.EvalSymlinks(c)
		if err != nil || seenPath[resolved] {
			continue
		}
		seenPath[resolved] = true
		v, err := probeVersion(ctx, c)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("finding interpreters: %w", ctx.Err())
			}
			continue // not a working interpreter; skip it
		}
		pv, ok := parseVersion(v)
		if !ok || len(pv) != 3 || pv[0] != 3 || pv[1] < minMinor || seenVersion[v] {
			continue
		}
		seenVersion[v] = true
		found = append(found, Interpreter{Version: v, Path: c})
	}
	sortInterpreters(found)
	return found, nil
}

// probeVersion runs the interpreter and returns its exact version, or an error
// for a pre-release or a failure.
func probeVersion(ctx context.Context, python string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := ExecRunner{}.Run(ctx, Cmd{
		Argv:   []string{python, "-I", "-c", "import sys; v=sys.version_info; print('%d.%d.%d %s' % (v[0], v[1], v[2], v[3]))"},
		Env:    []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"},
		Stdout: &out,
	})
	if err != nil {
		return "", err
	}
	version, level, _ := strings.Cut(strings.TrimSpace(out.String()), " ")
	if level != "final" {
		return "", fmt.Errorf("%s is a pre-release (%s)", python, level)
	}
	return version, nil
}

// parseVersion parses "3", "3.12" or "3.12.1" into its numeric components.
func parseVersion(s string) ([]int, bool) {
	parts := strings.Split(s, ".")
	if len(parts) == 0 || len(parts) > 3 {
		return nil, false
	}
	out := make([]int, 0, len(parts))
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return nil, false
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

func compareVersions(a, b string) int {
	pa, _ := parseVersion(a)
	pb, _ := parseVersion(b)
	return slices.Compare(pa, pb)
}

func sortInterpreters(in []Interpreter) {
	slices.SortStableFunc(in, func(a, b Interpreter) int {
		return cmp.Or(compareVersions(a.Version, b.Version), strings.Compare(a.Path, b.Path))
	})
}

// versionRequest is the Python version an app asks for and where it came from.
type versionRequest struct {
	Version string // prefix such as "3.12"; empty → newest installed
	Source  string // human description, e.g. "runtime.txt (python-3.12)"
	Setting bool   // came from the PYTHON_VERSION app setting
}

// requestedVersion applies docs/appservice.md §3 "Version resolution" with
// Slipway's order: the PYTHON_VERSION setting, then linuxFxVersion
// ("PYTHON|3.12", case-insensitive), then runtime.txt ("python-3.x[.y]"),
// then the newest installed interpreter. runtimeTxt is the content of
// runtime.txt, or "" when it does not exist.
func requestedVersion(settings map[string]string, linuxFx, runtimeTxt string) (versionRequest, error) {
	if v := strings.TrimSpace(settings["PYTHON_VERSION"]); v != "" {
		return versionRequest{Version: v, Source: "app setting PYTHON_VERSION", Setting: true}, nil
	}
	if fx := strings.TrimSpace(linuxFx); fx != "" {
		stack, v, ok := strings.Cut(fx, "|")
		if !ok || !strings.EqualFold(strings.TrimSpace(stack), "PYTHON") {
			return versionRequest{}, fmt.Errorf("linuxFxVersion %q is not a Python stack: Slipway builds Python apps only; set it to e.g. \"PYTHON|3.12\"", fx)
		}
		v = strings.TrimSpace(v)
		if v == "" {
			return versionRequest{}, fmt.Errorf("linuxFxVersion %q names no Python version; set it to e.g. \"PYTHON|3.12\"", fx)
		}
		return versionRequest{Version: v, Source: fmt.Sprintf("linuxFxVersion %s", fx)}, nil
	}
	if runtimeTxt != "" {
		line, _, _ := strings.Cut(runtimeTxt, "\n")
		line = strings.TrimSpace(line)
		// Oryx only honours runtime.txt when it names Python.
		if v, ok := strings.CutPrefix(strings.ToLower(line), "python-"); ok && v != "" {
			return versionRequest{Version: v, Source: fmt.Sprintf("runtime.txt (%s)", line)}, nil
		}
	}
	return versionRequest{Source: "default (newest installed)"}, nil
}

// selectInterpreter returns the highest installed interpreter whose version
// matches req.Version as a prefix ("3.12" → 3.12.x). The error for a missing
// version names the request and the installed versions and says what to do.
func selectInterpreter(req versionRequest, installed []Interpreter) (Interpreter, error) {
	if len(installed) == 0 {
		return Interpreter{}, errors.New("no Python interpreter is installed on this Slipway server; install Python 3.8 or newer and restart the server")
	}
	sorted := slices.Clone(installed)
	sortInterpreters(sorted)
	if req.Version == "" {
		return sorted[len(sorted)-1], nil
	}
	want, ok := parseVersion(req.Version)
	if !ok {
		return Interpreter{}, fmt.Errorf("python version %q from %s is not a version number like 3.12 or 3.12.1: %s",
			req.Version, req.Source, howToFix(req, sorted))
	}
	for i := len(sorted) - 1; i >= 0; i-- {
		have, ok := parseVersion(sorted[i].Version)
		if ok && len(have) >= len(want) && slices.Equal(have[:len(want)], want) {
			return sorted[i], nil
		}
	}
	return Interpreter{}, fmt.Errorf("Python %s (from %s) is not installed on this Slipway server; %s", req.Version, req.Source, howToFix(req, sorted))
}

func howToFix(req versionRequest, sorted []Interpreter) string {
	versions := make([]string, len(sorted))
	for i, in := range sorted {
		versions[i] = in.Version
	}
	newest, _ := parseVersion(sorted[len(sorted)-1].Version)
	example := fmt.Sprintf("%d.%d", newest[0], newest[1])
	msg := fmt.Sprintf("installed: %s. Set linuxFxVersion (az webapp config set --linux-fx-version \"PYTHON|%s\") or runtime.txt to one of them.",
		strings.Join(versions, ", "), example)
	if req.Setting {
		msg += " The app setting PYTHON_VERSION takes precedence over both: change or delete it."
	}
	return msg
}
