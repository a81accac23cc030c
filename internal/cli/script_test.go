package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestScripts runs testdata/script/*.txtar: the CLI's help, usage errors and
// the errors it gives before any server is involved. The "slipway" command
// runs Main in process; it appends "[exit N]" to stderr so scripts can check
// az's exit codes (2 usage, 3 not found, 1 otherwise).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"slipway": func(ts *testscript.TestScript, neg bool, args []string) {
				var env []string
				for _, k := range []string{"HOME", "USER", "SLIPWAY_URL", "SLIPWAY_TOKEN", "SLIPWAY_DATA", "SLIPWAY_SUBSCRIPTION", "SLIPWAY_DOMAIN"} {
					if v := ts.Getenv(k); v != "" {
						env = append(env, k+"="+v)
					}
				}
				env = append(env, "PWD="+ts.MkAbs("."))
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				code := Main(ctx, args, env, strings.NewReader(""), ts.Stdout(), ts.Stderr())
				if code != 0 {
					fmt.Fprintf(ts.Stderr(), "[exit %d]\n", code)
				}
				if (code != 0) != neg {
					ts.Fatalf("slipway %s: exit code %d", strings.Join(args, " "), code)
				}
			},
		},
	})
}
