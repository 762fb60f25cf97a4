package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/failpoint"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// agent is one agency's run: what it has to send, and how far it got. It
// survives reconnections, so that a new connection resumes from the first
// batch the broker has not confirmed.
type agent struct {
	cfg         Config
	log         logrus.FieldLogger
	total       int    // bets in the file
	fingerprint string // of the file and batch size
	confirmed   int    // batches 1…confirmed are confirmed by the broker
	finished    bool   // the finished event is confirmed
	dialer      *broker.Dialer
	user        string    // of the broker connected to: the user-id of every message
	nacks       int       // sessions in a row that ended in a nack, with nothing confirmed since
	nackedAt    int       // confirmed when the last of them ended
	nackedSince time.Time // when the first of them ended
}

// The broker may refuse (nack) the same publish maxNacks times in a row, and
// for nackPatience, before the agency stops. A quorum queue nacks while it
// has no leader, for the seconds a cluster takes to elect one after losing a
// node; a refusal that lasts is an answer, and sending the same message
// again gets the same one.
const (
	maxNacks     = 3
	nackPatience = 30 * time.Second
)

// refused is nil unless err, which ended a session at now, is the broker's
// nack of the same publish, maxNacks times in a row and for nackPatience;
// then it says which and why.
func (a *agent) refused(err error, now time.Time) error {
	if !errors.Is(err, broker.ErrNacked) {
		a.nacks = 0
		return nil
	}
	if a.nacks == 0 || a.confirmed > a.nackedAt {
		a.nacks, a.nackedSince = 0, now // the first nack of this publish
	}
	a.nacks, a.nackedAt = a.nacks+1, a.confirmed
	if a.nacks < maxNacks || now.Sub(a.nackedSince) < nackPatience {
		return nil
	}
	what := fmt.Sprintf("batch %d", a.confirmed+1)
	if a.confirmed == a.batches() {
		what = "the finished event"
	}
	return fmt.Errorf("the broker refused %s %d times in a row, for %s (%w): a quorum queue refuses messages while most of its "+
		"nodes are down, and a broker takes no message over its max_message_size; this agency's largest batch is within the protocol's %d bytes, "+
		"so if every node runs, the broker's limit is lower: raise it or lower CLI_BATCH_MAXAMOUNT",
		what, a.nacks, now.Sub(a.nackedSince).Round(time.Second), err, broker.MaxMessageBytes)
}

// batches is how many batches the agency's file makes.
func (a *agent) batches() int { return (a.total + a.cfg.batchSize - 1) / a.cfg.batchSize }

// session connects and carries the run as far as it can: the batches not yet
// confirmed, the finished event, the winners. A publish left unconfirmed by a
// lost connection is published again on the next one; the lottery
// recognises a batch it already holds.
func (a *agent) session(ctx context.Context) (err error) {
	c, err := a.dialer.Dial(ctx, a.log)
	if err != nil {
		return err
	}
	conn := c.Connection
	a.user = c.User // the user RabbitMQ checks each message's user-id against
	lost := func(err error) error { return broker.MarkLost(conn, err) }
	closing := logfmt.Closer(a.log, &err, conn.IsClosed)
	defer closing("connection", conn.Close)
	topology := broker.ForAgency(a.cfg.id, a.cfg.replicas...)
	if err := topology.Apply(conn, a.cfg.topology); err != nil {
		return lost(err)
	}
	if err := topology.Await(ctx, conn, a.cfg.topology, a.log); err != nil {
		return lost(err)
	}
	pub, err := broker.NewPublisher(conn, a.cfg.window)
	if err != nil {
		return lost(err)
	}
	defer closing("publisher channel", pub.Close)

	if !a.finished {
		if err := a.send(ctx, pub); err != nil {
			return lost(err)
		}
		failpoint.Hit("agency/before-finished")
		fin := broker.Finished{Agency: a.cfg.id, Batches: a.confirmed, Bets: a.total, Fingerprint: a.fingerprint}.Publishing()
		fin.UserId = a.user
		if err := pub.PublishConfirmed(ctx, broker.BetsExchange, broker.FinishedKey, fin); err != nil {
			return lost(err)
		}
		a.finished = true
		a.log.WithFields(logrus.Fields{"lotes": a.confirmed, "apuestas": a.total}).Info(logfmt.EnvioFinalizado)
	}

	winners, err := a.askWinners(ctx, conn, pub)
	if err != nil {
		return lost(err)
	}
	a.log.WithField("cant_ganadores", len(winners)).Info(logfmt.ConsultaGanadores)
	return nil
}

// send publishes every batch after the confirmed ones and waits until all
// are confirmed, reporting progress at most once a second.
func (a *agent) send(ctx context.Context, pub *broker.Publisher) error {
	from := a.confirmed
	seq, bets := 0, 0
	last := time.Now()
	for c, err := range batches(a.cfg.dataFile, a.cfg.batchSize, a.fingerprint) {
		if err != nil {
			return err
		}
		seq++
		bets += c.bets
		if seq <= from {
			continue // confirmed on an earlier connection
		}
		msg := broker.Batch{Agency: a.cfg.id, Seq: seq, Bets: c.bets, Fingerprint: a.fingerprint, Body: c.body}.Publishing()
		msg.UserId = a.user
		err := pub.Publish(ctx, broker.BetsExchange, broker.BatchKey, msg)
		a.confirmed = from + pub.Confirmed()
		if err != nil {
			return err
		}
		failpoint.Hit("agency/published")
		if time.Since(last) >= time.Second {
			last = time.Now()
			a.log.WithFields(logrus.Fields{logfmt.ResultKey: logfmt.InProgress, "enviadas": bets, "total": a.total}).Info(logfmt.EnvioApuestas)
		}
	}
	err := pub.Flush(ctx)
	a.confirmed = from + pub.Confirmed()
	return err
}

// askWinners asks the lottery for this agency's winners and waits for them.
func (a *agent) askWinners(ctx context.Context, conn *amqp.Connection, pub *broker.Publisher) (_ []string, err error) {
	client, err := broker.NewClient(conn, pub, broker.ReplyQueue(a.cfg.id), a.log)
	if err != nil {
		return nil, err
	}
	defer logfmt.Closer(a.log, &err, conn.IsClosed)("reply consumer channel", client.Close)
	if a.cfg.winnersTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.cfg.winnersTimeout)
		defer cancel()
	}
	a.log.WithField(logfmt.ResultKey, logfmt.InProgress).Info(logfmt.EsperaGanadores)
	req := broker.WinnersRequest{Agency: a.cfg.id, Fingerprint: a.fingerprint}.Publishing()
	req.UserId = a.user
	body, err := client.Call(ctx, broker.RequestsExchange, broker.WinnersKey, req)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("ask winners: no answer within %s (CLI_WINNERS_TIMEOUT_SECONDS)", a.cfg.winnersTimeout)
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
