// Command lottery is the national lottery's central service. It consumes
// every agency's bet batches from RabbitMQ and stores them with the course's
// StoreBets, makes the draw once every agency has finished and all their
// bets are settled, and answers each agency's winners request over RPC.
// What it does is package service; this is its settings, signals and exit.
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

	"github.com/loteria-nacional/pipeline/envconf"
	"github.com/loteria-nacional/pipeline/logfmt"
	"github.com/loteria-nacional/pipeline/lottery/service"
)

func main() {
	// The handler stays installed until the process exits: a SIGTERM that
	// arrives while it is already exiting must not kill it with status 143.
	ctx, _ := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	log, _ := logfmt.New(os.Stdout, "info")
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, log)
	switch {
	case errors.Is(err, envconf.ErrHelp):
		return
	case errors.Is(err, errWaited):
		os.Exit(1)
	case err != nil:
		log.WithError(err).Error(logfmt.Lottery)
		os.Exit(1)
	}
	log.Info(logfmt.LotteryFinalizado)
}

// run reads the settings and runs the service until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *logrus.Logger) (err error) {
	cfg, err := service.Load(args, getenv, stdout)
	if err != nil {
		return err
	}
	if err := logfmt.SetLevel(log, cfg.LogLevel()); err != nil {
		return err
	}
	if cfg.WaitOnError() {
		defer func() { err = waitForPerson(ctx, log, err) }()
	}
	return service.Run(ctx, cfg, log)
}

// errWaited is the error of a lottery that logged its error and waited
// for a person (LOTTERY_ON_ERROR=wait) until SIGTERM.
var errWaited = errors.New("lottery: stopped while waiting for a person after an error")

// waitForPerson is run's way out with LOTTERY_ON_ERROR=wait: an error that
// a restart cannot mend (a setting, a refused login, a data directory of
// another draw) is logged, then the lottery waits until ctx ends instead of
// exiting, so that a restart policy meant for crashes and reboots does not
// start it into the same error for ever. A crash still ends the process.
func waitForPerson(ctx context.Context, log logrus.FieldLogger, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	log.WithError(err).Error(logfmt.Lottery)
	log.WithFields(logrus.Fields{
		logfmt.ResultKey: logfmt.InProgress,
		"detalle":        "fix what the line above says, then start the lottery again (docker compose restart or up); it waits until stopped",
	}).Info(logfmt.EsperandoIntervencion)
	<-ctx.Done()
	return errWaited
}
