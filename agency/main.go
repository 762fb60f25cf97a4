// Command agency is one lottery agency. It checks its CSV file of bets,
// publishes them to RabbitMQ in batches with publisher confirms, announces
// that it has finished, and asks the lottery for its winners over RPC.
//
// What it does is package agent; this is its settings, signals and exit.
//
// It is configured by environment; run it with -h for the settings.
package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/agency/agent"
	"github.com/loteria-nacional/pipeline/envconf"
	"github.com/loteria-nacional/pipeline/logfmt"
)

func main() {
	// The handler stays installed until the process exits: a SIGTERM that
	// arrives while it is already exiting must not kill it with status 143.
	ctx, _ := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	log, _ := logfmt.New(os.Stdout, "info")
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, log)
	switch {
	case errors.Is(err, envconf.ErrHelp):
	case err != nil && ctx.Err() != nil:
		// Stopped by SIGTERM: whatever was confirmed stays with the lottery,
		// and a restart with the same file resends the rest.
		log.WithField("motivo", "signal").Info(logfmt.AgenciaDetenida)
	case err != nil:
		log.WithError(err).Error(logfmt.Agencia)
		os.Exit(1)
	}
}

// run reads the settings and runs the agency until it has its winners or
// ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *logrus.Logger) error {
	cfg, err := agent.Load(args, getenv, stdout)
	if err != nil {
		return err
	}
	if err := logfmt.SetLevel(log, cfg.LogLevel()); err != nil {
		return err
	}
	return agent.Run(ctx, cfg, log)
}
