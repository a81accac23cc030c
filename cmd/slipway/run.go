package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/slipway-dev/slipway/internal/cli"
	"github.com/slipway-dev/slipway/internal/server"
)

// Run runs one invocation of slipway and returns its exit code. Tests call
// it in-process.
func Run(ctx context.Context, args []string, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(ctx, args, env, stdin, stdout, stderr, nil)
}

// run is Run with edit, when set, adjusting the server's configuration
// after its flags are read: tests give it what no flag can (a stand-in
// PostgreSQL backend).
func run(ctx context.Context, args []string, env []string, stdin io.Reader, stdout, stderr io.Writer, edit func(*server.Config)) int {
	if len(args) > 0 && args[0] == "server" {
		getenv := func(k string) string {
			for i := len(env) - 1; i >= 0; i-- {
				if v, ok := strings.CutPrefix(env[i], k+"="); ok {
					return v
				}
			}
			return ""
		}
		cfg, err := server.ParseFlags(args[1:], getenv, stderr)
		if errors.Is(err, flag.ErrHelp) {
			return 0 // the flags' usage is printed; asking for it is no error
		}
		if err != nil {
			fmt.Fprintf(stderr, "ERROR: %v\n", err)
			return 2
		}
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
		if edit != nil {
			edit(&cfg)
		}
		cfg.Ready = func(info server.Info) {
			fmt.Fprintf(stdout, "Slipway is running at %s (apps at http://<app>.%s:%d, blob storage at %s). Data: %s\n", info.URL, info.Domain, info.HTTPPort, info.BlobURL, cfg.DataDir)
		}
		if err := server.Run(ctx, cfg); err != nil {
			fmt.Fprintf(stderr, "ERROR: %v\n", err)
			return 1
		}
		return 0
	}
	return cli.Main(ctx, args, env, stdin, stdout, stderr)
}
