package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/slipway-dev/slipway/internal/atomicfile"
)

// iniFile is an INI file as Python's configparser reads and writes it:
// sections in order, keys in order within each. It is what az keeps local
// defaults in (.azure/config, docs/appservice.md §13).
type iniFile struct {
	sections []iniSection
}

type iniSection struct {
	name string
	keys []string
	vals map[string]string
}

// parseINI reads configparser syntax: [section], "key = value" or
// "key: value", comments starting with '#' or ';'. Keys are lower-cased as
// configparser does.
func parseINI(data []byte) (*iniFile, error) {
	f := &iniFile{}
	var cur *iniSection
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' && line[len(line)-1] == ']' {
			cur = f.section(strings.TrimSpace(line[1:len(line)-1]), true)
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i <= 0 || cur == nil {
			return nil, fmt.Errorf("line %d: %q is not a [section] or a key = value line", n, line)
		}
		cur.set(strings.ToLower(strings.TrimSpace(line[:i])), strings.TrimSpace(line[i+1:]))
	}
	return f, sc.Err()
}

// section returns the named section, creating it when create is set.
func (f *iniFile) section(name string, create bool) *iniSection {
	for i := range f.sections {
		if f.sections[i].name == name {
			return &f.sections[i]
		}
	}
	if !create {
		return nil
	}
	f.sections = append(f.sections, iniSection{name: name, vals: map[string]string{}})
	return &f.sections[len(f.sections)-1]
}

func (s *iniSection) set(k, v string) {
	if _, ok := s.vals[k]; !ok {
		s.keys = append(s.keys, k)
	}
	s.vals[k] = v
}

// get returns a key of a section, "" when absent.
func (f *iniFile) get(section, key string) string {
	if s := f.section(section, false); s != nil {
		return s.vals[key]
	}
	return ""
}

// bytes renders the file as configparser writes it: "key = value", a blank
// line after each section.
func (f *iniFile) bytes() []byte {
	var b bytes.Buffer
	for _, s := range f.sections {
		fmt.Fprintf(&b, "[%s]\n", s.name)
		for _, k := range s.keys {
			fmt.Fprintf(&b, "%s = %s\n", k, s.vals[k])
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// upDefaults are the values `webapp up` remembers in [defaults].
type upDefaults struct {
	Group, SKU, Plan, Location, Web string
}

// azConfigPath is where az keeps a folder's local defaults.
func azConfigPath(dir string) string { return filepath.Join(dir, ".azure", "config") }

// readUpDefaults reads [defaults] from dir/.azure/config; a missing file
// means no defaults.
func readUpDefaults(dir string) (upDefaults, error) {
	data, err := os.ReadFile(azConfigPath(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return upDefaults{}, nil
	} else if err != nil {
		return upDefaults{}, fmt.Errorf("reading %s: %w", azConfigPath(dir), err)
	}
	f, err := parseINI(data)
	if err != nil {
		return upDefaults{}, &ExitError{Code: ExitFailure, Message: fmt.Sprintf("%s is not a valid config file: %v", azConfigPath(dir), err), Hint: "Fix or delete it; `webapp up` writes it again."}
	}
	return upDefaults{
		Group: f.get("defaults", "group"), SKU: f.get("defaults", "sku"), Plan: f.get("defaults", "appserviceplan"),
		Location: f.get("defaults", "location"), Web: f.get("defaults", "web"),
	}, nil
}

// writeUpDefaults stores d in [defaults] of dir/.azure/config, keeping any
// other sections and keys, and writes the file atomically.
func writeUpDefaults(dir string, d upDefaults) error {
	p := azConfigPath(dir)
	f := &iniFile{}
	if data, err := os.ReadFile(p); err == nil {
		if parsed, err := parseINI(data); err == nil {
			f = parsed
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	s := f.section("defaults", true)
	s.set("group", d.Group)
	s.set("sku", d.SKU)
	s.set("appserviceplan", d.Plan)
	s.set("location", d.Location)
	s.set("web", d.Web)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(p), err)
	}
	return atomicfile.WriteFile(p, f.bytes(), 0o644)
}

// configuredDefault returns az's configured default named key ("group",
// "web"), looked up where az's config (knack's CLIConfig.get) looks: the
// environment variable AZURE_DEFAULTS_<KEY>, then [defaults] in the
// .azure/config of the current folder or the nearest folder above it that
// has one (what `webapp up` and `az configure --scope local` write), then
// in the global config ($AZURE_CONFIG_DIR/config, else ~/.azure/config).
// So, as with az, `webapp log tail` in the folder `webapp up` deployed
// from needs no -g or -n (docs/appservice.md §13;
// https://learn.microsoft.com/cli/azure/azure-cli-configuration). It returns "" when no default is set; a file that
// cannot be read or parsed sets none.
func (r *runner) configuredDefault(key string) string {
	if v := r.getenv("AZURE_DEFAULTS_" + strings.ToUpper(key)); v != "" {
		return v
	}
	var files []string
	dir := r.getenv("PWD")
	if dir == "" {
		dir, _ = r.getwd()
	}
	for dir != "" {
		files = append(files, azConfigPath(dir))
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if d := r.getenv("AZURE_CONFIG_DIR"); d != "" {
		files = append(files, filepath.Join(d, "config"))
	} else if h := r.getenv("HOME"); h != "" {
		files = append(files, azConfigPath(h))
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if f, err := parseINI(data); err == nil {
			if v := f.get("defaults", key); v != "" {
				return v
			}
		}
	}
	return ""
}
