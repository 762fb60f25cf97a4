// Command agency is one lottery agency. It checks its CSV file of bets,
// publishes them to RabbitMQ in batches with publisher confirms, announces
// that it has finished, and asks the lottery for its winners over RPC.
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
	"time"

	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/broker"
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

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *logrus.Logger) error {
	cfg, err := loadConfig(args, getenv, stdout)
	if err != nil {
		return err
	}
	if err := logfmt.SetLevel(log, cfg.logLevel); err != nil {
		return err
	}
	broker.LogCertificate(cfg.broker, time.Now(), log)
	total, fingerprint, err := checkFile(ctx, cfg.dataFile, cfg.id, cfg.batchSize)
	if err != nil {
		return err
	}
	log.WithFields(logrus.Fields{"archivo": cfg.dataFile, "apuestas": total}).Info(logfmt.ValidacionApuestas)

	a := &agent{cfg: cfg, log: log, total: total, fingerprint: fingerprint, dialer: broker.NewDialer(cfg.broker)}
	var backoff broker.Backoff
	for {
		start := time.Now()
		err := a.session(ctx)
		switch {
		case err == nil, ctx.Err() != nil:
			return err
		case errors.Is(err, broker.ErrConnectionLost):
			if err := a.refused(err, time.Now()); err != nil {
				return err
			}
			log.WithFields(logrus.Fields{logfmt.ResultKey: logfmt.InProgress, "error": err}).Info(logfmt.Reconexion)
			if _, err := backoff.Wait(ctx, time.Since(start)); err != nil {
				return err
			}
		default:
			return err
		}
	}
}
