package cli

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// flagKind says how many values a flag takes.
type flagKind int

const (
	kindString flagKind = iota // exactly one value: --name x, --name=x
	kindBool                   // a switch, optionally followed by true/false: --is-linux, --async true
	kindList                   // one or more values up to the next flag: --settings A=1 B=2
)

// flagDef describes one flag of a command. Names are spelled as the user
// types them; the first is the long form and the key values are stored under.
type flagDef struct {
	Names    []string // e.g. {"--name", "-n"}
	Kind     flagKind
	Required bool
	Help     string
	// Unsupported, when set, marks a flag az has and Slipway does not
	// implement, and says why. Giving it is a usage error that names the
	// flag, rather than "unrecognized arguments" or, worse, a flag silently
	// ignored.
	Unsupported string
	// Default names the az configured default (`az configure --defaults
	// KEY=VALUE`, or the [defaults] `webapp up` writes to .azure/config)
	// that a missing required flag takes, as az's configured_default:
	// "group" for resource groups, "web" for web apps.
	Default string
	// MayBeEmpty lets a list flag stand without values, as az's nargs='*'
	// (webapp cors remove --allowed-origins: all of them).
	MayBeEmpty bool
}

// unsupported declares az flags Slipway refuses by name, all for one
// reason. Each spec is one flag's spellings separated by spaces, the long
// form first: unsupported("custom containers are out of scope",
// "--deployment-container-image-name -i", "--container-image-name -c").
func unsupported(reason string, specs ...string) []flagDef {
	defs := make([]flagDef, len(specs))
	for i, s := range specs {
		defs[i] = flagDef{Names: strings.Fields(s), Unsupported: reason}
	}
	return defs
}

// withUnsupported joins a command's flag definitions: its own, then groups of
// unsupported ones.
func withUnsupported(defs []flagDef, more ...[]flagDef) []flagDef {
	out := append([]flagDef{}, defs...)
	for _, m := range more {
		out = append(out, m...)
	}
	return out
}

// key is the name values are stored under: the long form without dashes.
func (f flagDef) key() string { return strings.TrimLeft(f.Names[0], "-") }

// globalFlags are accepted by every command (az's global arguments plus the
// two that say where the server is).
var globalFlags = []flagDef{
	{Names: []string{"--output", "-o"}, Help: "Output format: json (default), jsonc, yaml, yamlc, table, tsv or none."},
	{Names: []string{"--query"}, Help: "JMESPath query string. See http://jmespath.org/ for more information and examples."},
	{Names: []string{"--subscription"}, Help: "Name or ID of subscription (Slipway serves one)."},
	{Names: []string{"--server"}, Help: "URL of the Slipway server (else SLIPWAY_URL, else <data>/server.json)."},
	{Names: []string{"--data"}, Help: "Slipway data folder holding server.json (else SLIPWAY_DATA, else $HOME/.slipway)."},
	{Names: []string{"--debug"}, Kind: kindBool, Help: "Print every HTTP request and its status to stderr."},
	{Names: []string{"--only-show-errors"}, Kind: kindBool, Help: "Only show errors, suppressing warnings."},
	{Names: []string{"--verbose"}, Kind: kindBool, Help: "Increase logging verbosity."},
	{Names: []string{"--help", "-h"}, Kind: kindBool, Help: "Show this help."},
}

// versionFlag is accepted only with no command (`slipway --version`).
var versionFlag = flagDef{Names: []string{"--version"}, Kind: kindBool, Help: "Show the version."}

// parsedFlags holds the values given on the command line, by flag key.
type parsedFlags struct {
	values map[string][]string
}

// str returns the last value of a string flag, or "".
func (p parsedFlags) str(key string) string {
	v := p.values[key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// has reports whether the flag was given.
func (p parsedFlags) has(key string) bool {
	_, ok := p.values[key]
	return ok
}

// list returns all values of a list flag (repeated flags accumulate).
func (p parsedFlags) list(key string) []string { return p.values[key] }

// boolean returns a switch's value; false when absent.
func (p parsedFlags) boolean(key string) bool {
	b, _ := strconv.ParseBool(p.str(key))
	return b
}

// parseBoolWord accepts the spellings az accepts for booleans.
func parseBoolWord(s string) (value bool, ok bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0":
		return false, true
	}
	return false, false
}

// parseFlags parses args (everything after the command words) against defs.
// cmdPath names the command in error messages. A required flag not given
// takes its configured default when it has one (configured(def.Default) not
// ""); configured may be nil.
func parseFlags(cmdPath string, defs []flagDef, args []string, configured func(key string) string) (parsedFlags, error) {
	// The first definition of a name wins: a command's own flag over a
	// global one (storage blob upload's --data over Slipway's data folder).
	byName := map[string]*flagDef{}
	for i := range defs {
		for _, n := range defs[i].Names {
			if _, ok := byName[n]; !ok {
				byName[n] = &defs[i]
			}
		}
	}
	isFlag := func(s string) bool {
		if strings.HasPrefix(s, "--") {
			return true
		}
		_, ok := byName[s]
		return ok
	}
	p := parsedFlags{values: map[string][]string{}}
	var unknown []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			unknown = append(unknown, a)
			continue
		}
		name, val, hasVal := a, "", false
		if strings.HasPrefix(a, "--") {
			name, val, hasVal = strings.Cut(a, "=")
		}
		def, ok := byName[name]
		if !ok {
			unknown = append(unknown, a)
			continue
		}
		if def.Unsupported != "" {
			return p, usageErrorf(cmdPath, "argument %s: not supported by Slipway yet (%s)", def.Names[0], def.Unsupported)
		}
		k := def.key()
		display := strings.Join(def.Names, "/")
		switch def.Kind {
		case kindString:
			if !hasVal {
				if i+1 >= len(args) || isFlag(args[i+1]) {
					return p, usageErrorf(cmdPath, "argument %s: expected one argument", display)
				}
				i++
				val = args[i]
			}
			p.values[k] = append(p.values[k], val)
		case kindBool:
			if hasVal {
				b, ok := parseBoolWord(val)
				if !ok {
					return p, usageErrorf(cmdPath, "argument %s: invalid boolean value: %q (use true or false)", display, val)
				}
				p.values[k] = []string{strconv.FormatBool(b)}
				continue
			}
			if i+1 < len(args) {
				if b, ok := parseBoolWord(args[i+1]); ok {
					i++
					p.values[k] = []string{strconv.FormatBool(b)}
					continue
				}
			}
			p.values[k] = []string{"true"}
		case kindList:
			n := 0
			if hasVal {
				p.values[k] = append(p.values[k], val)
				n++
			}
			for i+1 < len(args) && !isFlag(args[i+1]) {
				i++
				p.values[k] = append(p.values[k], args[i])
				n++
			}
			if n == 0 && def.MayBeEmpty {
				if p.values[k] == nil {
					p.values[k] = []string{} // present, with no values
				}
			} else if n == 0 {
				return p, usageErrorf(cmdPath, "argument %s: expected at least one argument", display)
			}
		}
	}
	if len(unknown) > 0 {
		msg := "unrecognized arguments: " + strings.Join(unknown, " ")
		if s := suggestFlag(defs, unknown); s != "" {
			msg += fmt.Sprintf("\n\nDid you mean '%s'?", s)
		}
		return p, usageErrorf(cmdPath, "%s", msg)
	}
	if p.boolean("help") {
		return p, nil
	}
	var missing []string
	for _, d := range defs {
		if !d.Required || p.has(d.key()) {
			continue
		}
		if d.Default != "" && configured != nil {
			if v := configured(d.Default); v != "" {
				p.values[d.key()] = []string{v}
				continue
			}
		}
		missing = append(missing, strings.Join(d.Names, "/"))
	}
	if len(missing) > 0 {
		return p, usageErrorf(cmdPath, "the following arguments are required: %s", strings.Join(missing, ", "))
	}
	return p, nil
}

// parseKeyValues splits "K=V" items (as az's --settings does: at the first
// '='). Items without '=' are a usage error.
func parseKeyValues(cmdPath, flag string, items []string) ([][2]string, error) {
	out := make([][2]string, 0, len(items))
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok || k == "" {
			return nil, usageErrorf(cmdPath, "usage error: %s %q is not in the form KEY=VALUE", flag, it)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// writeFlagHelp prints one line per flag, leaving out unsupported ones.
func writeFlagHelp(b *strings.Builder, defs []flagDef) {
	defs = slices.DeleteFunc(slices.Clone(defs), func(d flagDef) bool { return d.Unsupported != "" })
	width := 0
	names := make([]string, len(defs))
	for i, d := range defs {
		names[i] = strings.Join(d.Names, " ")
		if d.Required {
			names[i] += " [Required]"
		}
		width = max(width, len(names[i]))
	}
	order := make([]int, len(defs))
	for i := range order {
		order[i] = i
	}
	// Required flags first, then the rest, each in declaration order (az sorts like this).
	sort.SliceStable(order, func(a, b int) bool { return defs[order[a]].Required && !defs[order[b]].Required })
	for _, i := range order {
		fmt.Fprintf(b, "    %-*s : %s\n", width, names[i], defs[i].Help)
	}
}

// writeUnsupportedHelp lists the flags az has that Slipway refuses, each
// flag's spellings and why, grouped by reason. It writes nothing when there
// are none.
func writeUnsupportedHelp(b *strings.Builder, defs []flagDef) {
	var reasons []string
	byReason := map[string][]string{}
	for _, d := range defs {
		if d.Unsupported == "" {
			continue
		}
		if _, ok := byReason[d.Unsupported]; !ok {
			reasons = append(reasons, d.Unsupported)
		}
		byReason[d.Unsupported] = append(byReason[d.Unsupported], strings.Join(d.Names, " "))
	}
	if len(reasons) == 0 {
		return
	}
	b.WriteString("\nNot supported yet\n")
	for _, r := range reasons {
		fmt.Fprintf(b, "    %s\n        (%s)\n", strings.Join(byReason[r], ", "), r)
	}
}
