package main

import (
	"context"
	"fmt"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/await"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// undecodableResult is what one message amqp091-go cannot decode costs the
// lottery: how long until the broker sets it aside, and how long an honest
// batch published right behind it waits, next to one with nothing ahead.
type undecodableResult struct {
	setAside      float64 // seconds from the message's confirm to its dead letter
	behind, alone float64 // seconds from a batch's confirm to its apuesta_recibida
	closes        int     // connections closed on the message, as the lottery counted them
}

// runUndecodable starts a lottery for one agency and publishes, in turn: a
// batch alone; a message whose headers nest 40 levels deep (over
// amqp091-go's 32), then a batch right behind it; and waits until the
// broker dead-letters the message at the queue's delivery limit, after
// that many closed connections.
func runUndecodable(o options, v *vhosts) (*undecodableResult, error) {
	res := &undecodableResult{}
	err := v.alone(o, "bench-undecodable", func(ctx context.Context, conn *amqp.Connection, amqpURL, dataDir string) error {
		return res.measure(ctx, o, conn, amqpURL, dataDir)
	})
	return res, err
}

func (res *undecodableResult) measure(ctx context.Context, o options, conn *amqp.Connection, amqpURL, dataDir string) error {
	stored := make(chan time.Time, 2)
	started := make(chan struct{})
	l := &launcher{bin: o.bin, amqpURL: amqpURL}
	lot, err := l.start("lottery", "lottery", func(e logfmt.Event, at time.Time) error {
		switch {
		case e.Action == logfmt.LotteryIniciado:
			select {
			case <-started:
			default:
				close(started)
			}
		case e.Is(logfmt.ApuestaRecibida, logfmt.Success):
			stored <- at
		case e.Action == logfmt.MensajeIndescifrable:
			n, err := e.Int("cierres")
			if err != nil {
				return err
			}
			res.closes += n
		}
		return nil
	}, "LOTTERY_AGENCIES=1", "LOTTERY_DATA_DIR="+dataDir)
	if err != nil {
		return err
	}
	defer func() { lot.Cmd.Process.Kill(); <-lot.Done }()
	select {
	case <-started:
	case <-time.After(time.Minute):
		return fmt.Errorf("the lottery did not start within a minute")
	}
	pub, err := broker.NewPublisher(conn, 1)
	if err != nil {
		return err
	}
	defer pub.Close()
	deep := amqp.Table{}
	for range 40 {
		deep = amqp.Table{"d": deep}
	}
	// wait publishes the batch seq behind the messages before it and
	// returns how long it took to be stored.
	wait := func(seq int, before ...amqp.Publishing) (float64, error) {
		for _, m := range before {
			if err := pub.PublishConfirmed(ctx, broker.BetsExchange, broker.BatchKey, m); err != nil {
				return 0, err
			}
		}
		b := broker.Batch{Agency: 1, Seq: seq, Bets: 1, Fingerprint: "undecodable", Body: []byte("A,B,1,2000-01-01,1\r\n")}
		if err := pub.PublishConfirmed(ctx, broker.BetsExchange, broker.BatchKey, b.Publishing()); err != nil {
			return 0, err
		}
		sent := time.Now()
		select {
		case at := <-stored:
			return at.Sub(sent).Seconds(), nil
		case <-time.After(5 * time.Minute):
			return 0, fmt.Errorf("batch %d not stored within 5 minutes", seq)
		}
	}
	if res.alone, err = wait(1); err != nil {
		return err
	}
	poison := broker.Batch{Agency: 1, Seq: 99, Bets: 1, Fingerprint: "undecodable", Body: []byte("A,B,1,2000-01-01,1\r\n")}.Publishing()
	poison.Headers["deep"] = deep
	sent := time.Now()
	if res.behind, err = wait(2, poison); err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	err = await.Every(ctx, 5*time.Minute, 10*time.Millisecond, func() error {
		q, err := ch.QueueDeclarePassive(broker.DeadQueue, true, false, false, false, nil)
		if err != nil {
			return await.Stop(err) // the channel's own error is not waited out
		}
		if q.Messages == 0 {
			return fmt.Errorf("the undecodable message is not dead-lettered")
		}
		res.setAside = time.Since(sent).Seconds()
		return nil
	})
	if err != nil {
		return err
	}
	lot.Cmd.Process.Signal(syscall.SIGTERM) // the lottery logs the closes it has not yet counted
	<-lot.Done
	return l.failed()
}
