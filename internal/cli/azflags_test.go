package cli

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// azExtensions are the flags Slipway accepts that az does not have for the
// same command, each with why. Key: "<command path> <flag>", or
// "* <flag>" for a global flag.
var azExtensions = map[string]string{
	"* --server": "Slipway's own: where the Slipway server is (az talks to Azure).",
	"* --data":   "Slipway's own: the data folder holding server.json.",
	"webapp connection create storage-blob --container": "Service Connector does not create containers; " +
		"Slipway's connection creates the container the app keeps its files in.",
	"webapp connection create storage-blob --public-access": "The public access of the container it creates (see --container).",
	"webapp log config --quota-mb": "The portal's Quota setting for file-system logs (httpLogs.fileSystem.retentionInMb), " +
		"which az does not expose.",
	"webapp log config --retention-days": "The portal's Retention Period for file-system logs " +
		"(httpLogs.fileSystem.retentionInDays), which az does not expose.",
}

// azMissingCommands are the commands Slipway has that az does not, each
// with why. None so far.
// insightsExtension is why az lacks the app-insights commands: they are
// its application-insights extension's, which az installs from the
// internet on first use; Slipway's follow that extension's flags
// (learn.microsoft.com/cli/azure/monitor/app-insights).
const insightsExtension = "az's application-insights extension, installed from the internet on first use"

var azMissingCommands = map[string]string{
	"ca show":                                       "Slipway's own platform CA: Azure's endpoints use public CAs",
	"ca export":                                     "Slipway's own platform CA: Azure's endpoints use public CAs",
	"ca install":                                    "Slipway's own platform CA: Azure's endpoints use public CAs",
	"monitor app-insights component create":         insightsExtension,
	"monitor app-insights component show":           insightsExtension,
	"monitor app-insights component delete":         insightsExtension,
	"monitor app-insights component connect-webapp": insightsExtension,
	"monitor app-insights events show":              insightsExtension,
	"webapp scale": "issue 12 asks for it by this name (older az had it); the az in .ci sets an app's instance count " +
		"with `webapp config set --number-of-workers`, which Slipway has too",
}

// TestFlagsMatchAz compares every command's flags with the parameters the
// real az CLI (the azure-cli in .ci/azcli, installed by `scripts/setup
// --tests`) accepts for the same command, so a deploy script written for az
// either runs unchanged or fails naming the flag Slipway lacks: each az
// option must be a Slipway flag of that command (any spelling) or be
// declared Unsupported. Slipway flags az does not have are allowed only when
// azExtensions lists them.
func TestFlagsMatchAz(t *testing.T) {
	root := filepath.Join("..", "..")
	python := filepath.Join(root, ".ci", "azcli", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("azure-cli venv missing (run scripts/setup --tests): %v", err)
		}
		t.Skipf("azure-cli venv missing (run scripts/setup --tests): %v", err)
	}
	cmds := commands()
	paths := make([]string, len(cmds))
	for i, c := range cmds {
		paths[i] = c.path
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), python, append([]string{filepath.Join(root, "tests", "az_params.py")}, paths...)...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tests/az_params.py: %v\n%s", err, stderr.String())
	}
	var az map[string][]string // a command az lacks maps to null: nil
	if err := json.Unmarshal(out, &az); err != nil {
		t.Fatalf("tests/az_params.py printed %q: %v", out, err)
	}

	var extensions []string
	for _, c := range cmds {
		azOpts, ok := az[c.path]
		if !ok {
			t.Errorf("tests/az_params.py did not answer for %q", c.path)
			continue
		}
		if azOpts == nil {
			if _, ok := azMissingCommands[c.path]; !ok {
				t.Errorf("az has no command %q: rename it as az names it, or list it in azMissingCommands with a reason", c.path)
			}
			continue
		}
		ours := map[string]flagDef{}
		for _, d := range append(slices.Clone(c.flags), c.globals()...) {
			for _, n := range d.Names {
				if _, ok := ours[n]; !ok { // the command's own definition wins, as in parseFlags
					ours[n] = d
				}
			}
		}
		for _, o := range azOpts {
			if _, ok := ours[o]; !ok {
				t.Errorf("%s: az option %s is neither a Slipway flag nor declared Unsupported", c.path, o)
			}
		}
		for _, n := range slices.Sorted(maps.Keys(ours)) {
			d := ours[n]
			if slices.Contains(azOpts, n) {
				continue
			}
			switch {
			case d.Unsupported != "":
				t.Errorf("%s: %s is declared Unsupported but az does not have it", c.path, n)
			case azExtensions[c.path+" "+n] != "":
				extensions = append(extensions, c.path+" "+n)
			case azExtensions["* "+n] != "" && slices.ContainsFunc(globalFlags, func(g flagDef) bool { return slices.Contains(g.Names, n) }):
				extensions = append(extensions, "* "+n)
			default:
				t.Errorf("%s: Slipway flag %s is not an az option of the command: remove it, or list it in azExtensions with a reason", c.path, n)
			}
		}
	}
	for k := range azExtensions {
		if !slices.Contains(extensions, k) {
			t.Errorf("azExtensions lists %q, which is no longer a Slipway-only flag", k)
		}
	}
	slices.Sort(extensions)
	extensions = slices.Compact(extensions)
	t.Logf("Slipway flags az does not have (azExtensions):\n    %s", strings.Join(extensions, "\n    "))
}
