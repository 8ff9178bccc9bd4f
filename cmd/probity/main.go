// Command probity is Probity's single binary: the server, the demo, and the
// operator's and auditor's tools. See "probity help".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/probity-dev/probity/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
