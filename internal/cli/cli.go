package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/internal/archive"
)

// Run runs one CLI invocation. args are the arguments after the program name
// (os.Args[1:]); env is the environment in os.Environ form ("KEY=value", a
// later entry wins). It reads stdin only to confirm deletions, writes results
// to stdout and progress and warnings to stderr, and returns an *ExitError
// for failures the user can act on. Run handles everything except
// `slipway server`, which cmd/slipway dispatches elsewhere.
func Run(ctx context.Context, args []string, env []string, stdin io.Reader, stdout, stderr io.Writer) error {
	r := defaultRunner(env, stdin, stdout, stderr)
	return r.run(ctx, args)
}

// Main runs the CLI like Run and renders an error as az does
// ("ERROR: <message>" and "HINT: <hint>" on stderr). It returns the process
// exit code: 0 on success, 2 for usage errors, 3 when a resource was not
// found, 1 otherwise.
func Main(ctx context.Context, args []string, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return render(stderr, Run(ctx, args, env, stdin, stdout, stderr))
}

// runner holds everything one invocation depends on, so tests can replace
// the clock-driven parts (poll intervals, timeouts, randomness).
type runner struct {
	env            []string
	stdin          io.Reader
	stdout, stderr io.Writer
	rand           io.Reader
	// pollInterval is the delay between polls of /api/deployments/latest.
	pollInterval time.Duration
	// deployTimeout bounds waiting for a deployment to finish.
	deployTimeout time.Duration
	// appTimeout bounds waiting for the app's URL to answer after `webapp up`.
	appTimeout time.Duration
	// zip writes a zip of a project folder (archive.Zip).
	zip func(ctx context.Context, dir string, w io.Writer) error
	// getwd is the fallback when PWD is not set.
	getwd func() (string, error)
	// version is slipway's own version, for --version.
	version string
}

func defaultRunner(env []string, stdin io.Reader, stdout, stderr io.Writer) *runner {
	return &runner{
		env: env, stdin: stdin, stdout: stdout, stderr: stderr,
		rand:          rand.Reader,
		pollInterval:  time.Second,
		deployTimeout: 15 * time.Minute, // az: 450 polls of 2 s (docs/appservice.md §5)
		appTimeout:    3 * time.Minute,
		zip: func(ctx context.Context, dir string, w io.Writer) error {
			_, err := archive.Zip(ctx, dir, w)
			return err
		},
		getwd:   os.Getwd,
		version: buildVersion(),
	}
}

// azCLIVersion is the az CLI release whose commands and output shapes
// slipway follows: the one TestFlagsMatchAz and TestRealAz run against.
const azCLIVersion = "2.91.0"

// buildVersion is the main module's version as the Go toolchain stamped it.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// getenv looks key up in env; the last entry wins, as in os/exec.
func (r *runner) getenv(key string) string {
	for i := len(r.env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(r.env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// command is one leaf command such as "webapp config appsettings set".
type command struct {
	path  string
	short string
	flags []flagDef
	run   func(ctx context.Context, inv *invocation) error
	// tenant marks a directory command (ad ...): az takes no --subscription
	// there, the directory being the tenant's.
	tenant bool
}

// globals are the global flags the command accepts.
func (c *command) globals() []flagDef {
	if !c.tenant {
		return globalFlags
	}
	return slices.DeleteFunc(slices.Clone(globalFlags), func(d flagDef) bool { return d.Names[0] == "--subscription" })
}

// invocation is one parsed command line being run.
type invocation struct {
	r      *runner
	cmd    *command
	flags  parsedFlags
	stdout io.Writer
	stderr io.Writer
	conn   *conn
	query  *query // the compiled --query, once printResult or run compiled it
}

// cmdPath names the command for usage errors ("" when there is none).
func (inv *invocation) cmdPath() string {
	if inv.cmd == nil {
		return ""
	}
	return inv.cmd.path
}

func (inv *invocation) getenv(k string) string { return inv.r.getenv(k) }

// warnf prints a warning to stderr unless --only-show-errors was given.
// progressf prints a progress line (az logs these as warnings, without a
// prefix on webapp up's steps) unless --only-show-errors was given.
func (inv *invocation) progressf(format string, args ...any) {
	if inv.flags.boolean("only-show-errors") {
		return
	}
	fmt.Fprintf(inv.stderr, format+"\n", args...)
}

func (inv *invocation) warnf(format string, args ...any) {
	if inv.flags.boolean("only-show-errors") {
		return
	}
	fmt.Fprintf(inv.stderr, "WARNING: "+format+"\n", args...)
}

// groupHelp gives the one-line description of each command group.
var groupHelp = map[string]string{
	"":                                "Slipway: Azure App Service for Python/Django on your own machine.",
	"group":                           "Manage resource groups.",
	"appservice":                      "Manage App Service plans.",
	"appservice plan":                 "Manage App Service plans.",
	"webapp":                          "Manage web apps.",
	"webapp config":                   "Configure a web app.",
	"webapp config appsettings":       "Configure web app settings. Updating or removing settings restarts the app.",
	"webapp config connection-string": "Manage a web app's connection strings.",
	"webapp deployment":               "Manage web app deployments.",
	"webapp deployment source":        "Manage web app deployment via source control or zip.",
	"webapp deployment slot":          "Manage web app deployment slots.",
	"webapp traffic-routing":          "Manage traffic routing among web app slots.",
	"webapp webjob":                   "Manage a web app's WebJobs (background jobs deployed with it).",
	"webapp webjob triggered":         "Manage triggered WebJobs: run on demand or on a schedule.",
	"webapp webjob continuous":        "Manage continuous WebJobs: kept running.",
	"webapp log":                      "Manage web app logs.",
	"ca":                              "The platform's certificate authority: its root, for clients to trust (Slipway's own).",
	"webapp log deployment":           "Manage web app deployment logs.",
	"webapp log startup":              "View web app container startup logs.",
	"webapp connection":               "Connect a web app to a storage account.",
	"webapp connection create":        "Create a connection between a web app and a target resource.",
	"storage":                         "Manage storage accounts, containers and blobs.",
	"storage account":                 "Manage storage accounts.",
	"storage account keys":            "Manage storage account keys.",
	"storage container":               "Manage blob containers.",
	"storage blob":                    "Manage blobs.",
	"role":                            "Manage Azure role-based access control (RBAC).",
	"role assignment":                 "Manage role assignments.",
	"role definition":                 "Manage role definitions.",
	"identity":                        "Manage user-assigned managed identities.",
	"webapp identity":                 "Manage a web app's managed identities.",
	"ad":                              "Manage the directory's applications and service principals (Microsoft Graph).",
	"ad sp":                           "Manage service principals.",
	"ad sp credential":                "Manage a service principal's passwords.",
	"ad app":                          "Manage applications.",
	"webapp cors":                     "Manage Cross-Origin Resource Sharing (CORS), answered by the front door.",
	"webapp config hostname":          "Configure custom domains for a web app.",
	"webapp config ssl":               "Configure TLS certificates for a web app's custom domains.",
	"keyvault":                        "Manage key vaults and their secrets.",
	"keyvault secret":                 "Manage secrets.",
	"monitor":                         "Manage autoscale settings (Azure Monitor).",
	"monitor autoscale":               "Manage autoscale settings.",
	"monitor app-insights":            "Application Insights: components and their telemetry.",
	"monitor app-insights component":  "Manage Application Insights components.",
	"monitor app-insights events":     "Read the telemetry apps sent.",
	"monitor autoscale rule":          "Manage autoscale scaling rules.",
}

func (r *runner) run(ctx context.Context, args []string) error {
	cmds := commands()
	byPath := map[string]*command{}
	for i := range cmds {
		byPath[cmds[i].path] = &cmds[i]
	}
	// The command is the longest run of leading words that names a command
	// or a group.
	var words []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		cand := strings.Join(append(words, a), " ")
		if _, ok := byPath[cand]; ok || isGroup(cmds, cand) {
			words = append(words, a)
			continue
		}
		if _, ok := byPath[strings.Join(words, " ")]; ok {
			break // a leaf command; the rest are its (bad) arguments
		}
		prefix := strings.Join(words, " ")
		msg := fmt.Sprintf("'%s' is misspelled or not recognized by the system.", strings.TrimSpace(prefix+" "+a))
		if s := closest(a, childWords(cmds, prefix)); s != "" {
			msg += fmt.Sprintf("\n\nDid you mean '%s' ?", s)
		}
		return &ExitError{Code: ExitUsage, Message: msg, Hint: usageErrorf(prefix, "").Hint}
	}
	path := strings.Join(words, " ")
	rest := args[len(words):]
	cmd, ok := byPath[path]
	if !ok {
		// A group (or nothing): print its help. Flags other than --help
		// (and, with no command at all, --version) are an error.
		defs := globalFlags
		if path == "" {
			defs = append(append([]flagDef{}, globalFlags...), versionFlag)
		}
		flags, err := parseFlags(path, defs, rest, nil)
		if err != nil {
			return err
		}
		if flags.boolean("version") && !flags.boolean("help") {
			fmt.Fprintf(r.stdout, "%-33s %s\n%-33s %s\n", "slipway", r.version, "azure-cli (followed)", azCLIVersion)
			return nil
		}
		fmt.Fprint(r.stdout, groupUsage(cmds, path))
		return nil
	}
	defs := append(append([]flagDef{}, cmd.flags...), cmd.globals()...)
	flags, err := parseFlags(path, defs, rest, r.configuredDefault)
	if err != nil {
		return err
	}
	if flags.boolean("help") {
		fmt.Fprint(r.stdout, commandUsage(cmd))
		return nil
	}
	switch o := flags.str("output"); o {
	case "", "json", "jsonc", "table", "tsv", "yaml", "yamlc", "none":
	default:
		return usageErrorf(path, "argument --output/-o: invalid choice: '%s' (choose from 'json', 'jsonc', 'yaml', 'yamlc', 'table', 'tsv', 'none')", o)
	}
	inv := &invocation{r: r, cmd: cmd, flags: flags, stdout: r.stdout, stderr: r.stderr}
	// az checks --query when it parses the command line, before the
	// command changes anything.
	if _, err := inv.compiledQuery(); err != nil {
		return err
	}
	start := time.Now()
	err = cmd.run(ctx, inv)
	if flags.boolean("verbose") {
		fmt.Fprintf(r.stderr, "INFO: Command ran in %.3f seconds\n", time.Since(start).Seconds())
	}
	if inv.conn != nil {
		// Run may be called many times in one process (tests, cmd/slipway):
		// leave no idle connections (and their goroutines) behind.
		inv.conn.client.CloseIdleConnections()
	}
	if err != nil && errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return &ExitError{Code: ExitFailure, Message: "Interrupted.",
			Hint: "Work the server had already started (a deployment, for example) goes on; check it with `slipway webapp log deployment show`."}
	}
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			return ee
		}
		return toExitError(err)
	}
	return nil
}

// childWords lists the command and group words directly under path.
func childWords(cmds []command, path string) []string {
	prefix := path + " "
	if path == "" {
		prefix = ""
	}
	seen := map[string]bool{}
	var out []string
	for _, c := range cmds {
		rest, ok := strings.CutPrefix(c.path, prefix)
		if !ok {
			continue
		}
		w, _, _ := strings.Cut(rest, " ")
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}

// isGroup reports whether path is a proper prefix of some command.
func isGroup(cmds []command, path string) bool {
	for _, c := range cmds {
		if strings.HasPrefix(c.path, path+" ") {
			return true
		}
	}
	return false
}

// groupUsage lists the subgroups and commands directly under path.
func groupUsage(cmds []command, path string) string {
	var b strings.Builder
	title := "slipway"
	if path != "" {
		title += " " + path
	}
	fmt.Fprintf(&b, "\nGroup\n    %s : %s\n", title, groupHelp[path])
	subgroups := map[string]bool{}
	var leaves []*command
	prefix := path + " "
	if path == "" {
		prefix = ""
	}
	for i := range cmds {
		c := &cmds[i]
		if !strings.HasPrefix(c.path, prefix) {
			continue
		}
		rest := strings.TrimPrefix(c.path, prefix)
		if first, _, more := strings.Cut(rest, " "); more {
			subgroups[first] = true
		} else {
			leaves = append(leaves, c)
		}
	}
	if len(subgroups) > 0 {
		b.WriteString("\nSubgroups:\n")
		names := make([]string, 0, len(subgroups))
		for n := range subgroups {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "    %-22s : %s\n", n, groupHelp[strings.TrimSpace(prefix+n)])
		}
	}
	if len(leaves) > 0 {
		b.WriteString("\nCommands:\n")
		sort.Slice(leaves, func(i, j int) bool { return leaves[i].path < leaves[j].path })
		for _, c := range leaves {
			fmt.Fprintf(&b, "    %-22s : %s\n", strings.TrimPrefix(c.path, prefix), c.short)
		}
	}
	if path == "" {
		b.WriteString("\nThe server is found through --server/SLIPWAY_URL (with SLIPWAY_TOKEN), else <data>/server.json\n(data = --data, SLIPWAY_DATA or $HOME/.slipway). Start one with `slipway server`.\n")
	}
	fmt.Fprintf(&b, "\nFor more specific examples, use: slipway %s--help\n", prefix)
	return b.String()
}

// commandUsage is a command's --help text.
func commandUsage(c *command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nCommand\n    slipway %s : %s\n", c.path, c.short)
	if slices.ContainsFunc(c.flags, func(d flagDef) bool { return d.Unsupported == "" }) {
		b.WriteString("\nArguments\n")
		writeFlagHelp(&b, c.flags)
	}
	b.WriteString("\nGlobal Arguments\n")
	writeFlagHelp(&b, c.globals())
	writeUnsupportedHelp(&b, c.flags)
	return b.String()
}
