// Command agency is one lottery agency. It checks its CSV file of bets,
// publishes them to RabbitMQ in batches with publisher confirms, announces
// that it has finished, and asks the lottery for its winners over RPC.
//
// It is configured by environment; run it with -h for the settings.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/envconf"
	"github.com/loteria-nacional/pipeline/logfmt"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log, _ := logfmt.New(os.Stdout, "info")
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, log)
	switch {
	case errors.Is(err, envconf.ErrHelp):
	case err != nil && ctx.Err() != nil:
		// Stopped by SIGTERM: whatever was confirmed stays with the lottery,
		// and a restart with the same file resends the rest.
		log.WithField("motivo", "signal").Info("agencia_detenida")
	case err != nil:
		log.WithError(err).Error("agencia")
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *logrus.Logger) (err error) {
	cfg, err := loadConfig(args, getenv, stdout)
	if err != nil {
		return err
	}
	lvl, err := logrus.ParseLevel(cfg.logLevel)
	if err != nil {
		return fmt.Errorf("setting LOG_LEVEL: %w", err)
	}
	log.SetLevel(lvl)
	closing := func(name string, close func() error) {
		if cerr := close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close %s: %w", name, cerr))
			return
		}
		log.WithField("recurso", name).Debug("cierre")
	}

	total, fingerprint, err := checkFile(cfg.dataFile, cfg.id, cfg.batchSize)
	if err != nil {
		return err
	}
	log.WithFields(logrus.Fields{"archivo": cfg.dataFile, "apuestas": total}).Info("validacion_apuestas")

	conn, err := broker.Dial(ctx, cfg.broker, log)
	if err != nil {
		return err
	}
	defer closing("connection", conn.Close)
	if err := broker.ForAgencies(cfg.id).Apply(conn, cfg.topology); err != nil {
		return err
	}
	pub, err := broker.NewPublisher(conn, cfg.window)
	if err != nil {
		return err
	}
	defer closing("publisher channel", pub.Close)

	sent, err := send(ctx, cfg, pub, fingerprint, total, log)
	if err != nil {
		return err
	}
	fin := broker.Finished{Agency: cfg.id, Batches: sent, Bets: total, Fingerprint: fingerprint}.Publishing()
	fin.UserId = cfg.user
	if err := pub.PublishConfirmed(ctx, broker.BetsExchange, broker.FinishedKey, fin); err != nil {
		return err
	}
	log.WithFields(logrus.Fields{"lotes": sent, "apuestas": total}).Info("envio_finalizado")

	winners, err := askWinners(ctx, cfg, conn, pub, log)
	if err != nil {
		return err
	}
	log.WithField("cant_ganadores", len(winners)).Info("consulta_ganadores")
	return nil
}

// send publishes every batch and waits until all are confirmed. It returns
// how many batches it sent, and reports progress at most once a second.
func send(ctx context.Context, cfg config, pub *broker.Publisher, fingerprint string, total int, log logrus.FieldLogger) (int, error) {
	seq, bets := 0, 0
	last := time.Now()
	for c, err := range batches(cfg.dataFile, cfg.id, cfg.batchSize) {
		if err != nil {
			return 0, err
		}
		seq++
		msg := broker.Batch{Agency: cfg.id, Seq: seq, Bets: c.bets, Fingerprint: fingerprint, Body: c.body}.Publishing()
		msg.UserId = cfg.user
		if err := pub.Publish(ctx, broker.BetsExchange, broker.BatchKey, msg); err != nil {
			return 0, err
		}
		bets += c.bets
		if time.Since(last) >= time.Second {
			last = time.Now()
			log.WithFields(logrus.Fields{logfmt.ResultKey: logfmt.InProgress, "enviadas": bets, "total": total}).Info("envio_apuestas")
		}
	}
	if bets != total {
		return 0, fmt.Errorf("read bets: file %s changed while sending: %d bets now, %d when checked", cfg.dataFile, bets, total)
	}
	return seq, pub.Flush(ctx)
}

// askWinners asks the lottery for this agency's winners and waits for them.
func askWinners(ctx context.Context, cfg config, conn *amqp.Connection, pub *broker.Publisher, log logrus.FieldLogger) (_ []string, err error) {
	client, err := broker.NewClient(conn, pub, broker.ReplyQueue(cfg.id), log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := client.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close reply consumer: %w", cerr))
		}
	}()
	if cfg.winnersTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.winnersTimeout)
		defer cancel()
	}
	log.WithField(logfmt.ResultKey, logfmt.InProgress).Info("espera_ganadores")
	req := broker.WinnersRequest{Agency: cfg.id}.Publishing()
	req.UserId = cfg.user
	body, err := client.Call(ctx, broker.RequestsExchange, broker.WinnersKey, req)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("ask winners: no answer within %s (CLI_WINNERS_TIMEOUT_SECONDS)", cfg.winnersTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("ask winners: %w", err)
	}
	var reply broker.WinnersReply
	if err := json.Unmarshal(body, &reply); err != nil {
		return nil, fmt.Errorf("ask winners: decode reply: %w", err)
	}
	if reply.Error != "" {
		return nil, fmt.Errorf("ask winners: the lottery answered: %s", reply.Error)
	}
	return reply.Winners, nil
}
