package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestServerHelp checks that `slipway server --help` prints the flags and
// succeeds, as every other command's --help does: asking for help is not an
// error.
func TestServerHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		t.Run(arg, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), []string{"server", arg}, nil, strings.NewReader(""), &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != 0 || !strings.Contains(out, "-http-port") || strings.Contains(out, "ERROR") {
				t.Fatalf("slipway server %s: exit %d, output:\n%s", arg, code, out)
			}
		})
	}
}
