// Command slipway is Azure App Service for Python/Django in one binary:
// `slipway server` runs the platform, every other verb is the az-shaped CLI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/slipway-dev/slipway/internal/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if len(os.Args) > 1 && os.Args[1] == "server" {
		server.TuneGC(os.Getenv) // the process's collector; tests run Run in process and keep theirs
	}
	code := Run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
