package agent

import (
	"context"
	"errors"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// Run is one agency's run, until it has its winners or ctx ends: it checks
// its file, then carries a session (connection, topology, batches, finished
// event, winners request) that is opened again, from the first batch the
// broker has not confirmed, whenever the connection is lost.
func Run(ctx context.Context, cfg Config, log logrus.FieldLogger) error {
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
