package deploy

// A package's .deployment file: Kudu's per-deployment settings. Its
// [config] section gives settings for the deployment — most often
// SCM_DO_BUILD_DURING_DEPLOYMENT=true, so that a zip deployment is built
// without the app setting, and the build's own variables (PRE_BUILD_COMMAND,
// POST_BUILD_COMMAND, DISABLE_COLLECTSTATIC, ...). App settings win over it;
// it wins over the deployment's default (docs/appservice.md §5;
// https://github.com/projectkudu/kudu/wiki/Customizing-deployments). Kudu
// reads it from the root of what is deployed, hands its values to the build
// as environment variables, and leaves it (with .deploy.sh) out of
// wwwroot.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// deploymentFileName is the file Kudu reads; deploymentScriptName the
// custom deployment script it names by convention. Neither is deployed.
const (
	deploymentFileName   = ".deployment"
	deploymentScriptName = ".deploy.sh"
)

// maxDeploymentFile bounds the file read: a settings file, not data.
const maxDeploymentFile = 64 << 10

// deploymentFile is the [config] section of a package's .deployment file.
type deploymentFile map[string]string

// readDeploymentFile reads the .deployment file at the root of the
// extracted package src, and removes it and .deploy.sh from the package, as
// Kudu keeps both out of wwwroot. No file is an empty section. The package
// is the app's: the file is opened through an os.Root (no path out of src,
// by a symlink or otherwise) and must be a regular file of at most 64 KiB.
func readDeploymentFile(src string) (deploymentFile, error) {
	root, err := os.OpenRoot(src)
	if err != nil {
		return nil, fmt.Errorf("opening the package: %w", err)
	}
	defer root.Close()
	data, err := readRegular(root, deploymentFileName)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{deploymentFileName, deploymentScriptName} {
		if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("leaving %s out of the app's files: %w", name, err)
		}
	}
	if data == nil {
		return deploymentFile{}, nil
	}
	return parseDeploymentFile(string(data)), nil
}

// readRegular reads name in root if it is a regular file (nil when it does
// not exist), refusing anything else and anything over maxDeploymentFile.
func readRegular(root *os.Root, name string) ([]byte, error) {
	fi, err := root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("the package's %s is not a regular file (it is a %s); make it one, or leave it out", name, fileKind(fi.Mode()))
	}
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDeploymentFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > maxDeploymentFile {
		return nil, fmt.Errorf("the package's %s is larger than %d KiB; it holds settings only", name, maxDeploymentFile>>10)
	}
	return data, nil
}

// fileKind names a file mode's type for an error.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m.IsDir():
		return "directory"
	}
	return "special file"
}

// parseDeploymentFile reads an INI text as Kudu's IniFile does: sections
// in brackets and key=value lines, both names case-insensitive, values and
// keys trimmed, the last of a key winning; lines before any section, lines
// without '=' and empty keys are ignored (there is no comment syntax: a
// line "# a=b" sets the key "# a").
func parseDeploymentFile(text string) deploymentFile {
	out := deploymentFile{}
	names := map[string]string{} // lower-cased → the spelling kept
	in := false                  // inside [config]
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if len(line) > 2 && line[0] == '[' && line[len(line)-1] == ']' {
			if name := strings.TrimSpace(line[1 : len(line)-1]); name != "" {
				in = strings.EqualFold(name, "config")
			}
			continue
		}
		if !in {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			continue
		}
		// The last of a key wins, under its last spelling; one lookup, so
		// that a file of many lines is read in linear time.
		if old, ok := names[strings.ToLower(k)]; ok {
			delete(out, old)
		}
		names[strings.ToLower(k)] = k
		out[k] = strings.TrimSpace(v)
	}
	return out
}

// get returns the value of key (case-insensitive, as Kudu reads it).
func (f deploymentFile) get(key string) (string, bool) {
	for k, v := range f {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

// under returns the settings the deployment runs with: the app's settings,
// and the file's where the app sets no value of that name (names compared
// without case, as Kudu compares them).
func (f deploymentFile) under(settings map[string]string) map[string]string {
	if len(f) == 0 {
		return settings
	}
	set := make(map[string]bool, len(settings))
	out := make(map[string]string, len(settings)+len(f))
	for k, v := range settings {
		set[strings.ToLower(k)] = true
		out[k] = v
	}
	for k, v := range f {
		if !set[strings.ToLower(k)] {
			out[k] = v
		}
	}
	return out
}

// build decides whether the deployment builds: a caller's explicit choice,
// else the app setting SCM_DO_BUILD_DURING_DEPLOYMENT, else the file's,
// else def (the deployer's default). Names are compared without case, as
// Kudu compares them and as under does: an app setting of either case
// wins over the file.
func (f deploymentFile) build(o Options, settings map[string]string) bool {
	const key = "SCM_DO_BUILD_DURING_DEPLOYMENT"
	if o.Build != nil {
		return *o.Build
	}
	v, ok := deploymentFile(settings).get(key)
	if !ok {
		v, ok = f.get(key)
	}
	if !ok {
		return o.BuildByDefault
	}
	return boolValue(v, o.BuildByDefault)
}

// unsupported says why a deployment the file describes cannot be done: a
// custom deployment script (command) or script generator arguments, which
// Kudu runs instead of its build. "" when it can.
func (f deploymentFile) unsupported() string {
	if v, ok := f.get("command"); ok && v != "" {
		return fmt.Sprintf("The package's .deployment file names a custom deployment script (command = %s), which Slipway does not run: it builds every app as App Service's Oryx build does. Remove the command line, and set PRE_BUILD_COMMAND or POST_BUILD_COMMAND (app settings, or lines of the file's [config] section) for steps of your own.", v)
	}
	if v, ok := f.get("SCM_SCRIPT_GENERATOR_ARGS"); ok && v != "" {
		return "The package's .deployment file sets SCM_SCRIPT_GENERATOR_ARGS (a generated deployment script), which Slipway does not run: it builds every app as App Service's Oryx build does. Remove it."
	}
	return ""
}
