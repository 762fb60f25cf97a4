package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/failpoint"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// publisher is what the lottery needs to send replies and dead letters.
type publisher interface {
	PublishConfirmed(ctx context.Context, exchange, key string, msg amqp.Publishing) error
}

// consumer is a queue the lottery reads.
type consumer interface {
	Deliveries() <-chan amqp.Delivery
	Cancel() error
	Err() error
}

// lottery is the service: it stores bets, makes the draw and answers winners
// requests. Its state, its files and its acks belong to one goroutine (Run),
// so they need no locks; readBatches reads batches ahead on another, which
// touches only the configuration and the free bet slices.
type lottery struct {
	cfg     config
	log     logrus.FieldLogger
	store   *bet.Store
	journal *journal
	state   *state
	pub     publisher
	winners map[int][]string // after the draw: each agency's winning documents

	free chan []bet.Bet // bet slices that StoreBets is done with, for readBatches
}

// recovered is called once at start-up, after the state is rebuilt from the
// journal: a lottery that finds its draw already made says so.
func (l *lottery) recovered() error {
	if !l.state.drawn {
		return nil
	}
	if err := l.computeWinners(); err != nil {
		return err
	}
	l.log.WithField("ganadores", l.totalWinners()).Info("sorteo_recuperado")
	return nil
}

// Run resumes whatever the last connection left undone (answers owed, a draw
// that is due), then consumes bets and requests until ctx ends; then it stops
// consuming, finishes the deliveries that already arrived, and returns nil.
// It returns broker.ErrConnectionLost when a consumer stops by itself, and any
// storage error.
func (l *lottery) Run(ctx context.Context, bets, requests consumer) error {
	work := context.WithoutCancel(ctx) // in-flight work finishes after SIGTERM
	if err := l.answerPending(work); err != nil {
		return err
	}
	if err := l.maybeDraw(work); err != nil {
		return err
	}

	// Batches are decoded and their bets read on a goroutine of their own,
	// ahead of this one, which alone owns the state, the files and the acks.
	stop, read := make(chan struct{}), make(chan struct{})
	betsCh := l.readBatches(stop, read, bets.Deliveries())
	defer func() { close(stop); <-read }()
	reqCh := requests.Deliveries()
	done := ctx.Done()
	tick := time.NewTicker(l.cfg.statusEvery)
	defer tick.Stop()
	for betsCh != nil || reqCh != nil {
		select {
		case <-done:
			done = nil
			l.log.Info("apagado_iniciado")
			var drainCancel context.CancelFunc
			work, drainCancel = context.WithTimeout(work, l.cfg.drain)
			defer drainCancel()
			if err := errors.Join(bets.Cancel(), requests.Cancel()); err != nil {
				return err
			}
		case in, ok := <-betsCh:
			if !ok {
				betsCh = nil
				if done != nil {
					return fmt.Errorf("consume %s: %w: %v", broker.BetsQueue, broker.ErrConnectionLost, bets.Err())
				}
			} else if err := l.handleBets(work, l.gather(in, betsCh)); err != nil {
				return err
			}
		case d, ok := <-reqCh:
			if !ok {
				reqCh = nil
				if done != nil {
					return fmt.Errorf("consume %s: %w: %v", broker.RequestsQueue, broker.ErrConnectionLost, requests.Err())
				}
			} else if err := l.handleRequest(work, d); err != nil {
				return err
			}
		case <-tick.C:
			l.logWaiting()
		}
	}
	return nil
}

// incoming is a delivery from the bets queue with the work done that needs
// none of the lottery's state: for a batch, its message decoded, its sender
// known and its bets read.
type incoming struct {
	d     amqp.Delivery
	batch broker.Batch
	bets  []bet.Bet
	bad   error // the message is not a batch anyone can read: refused first
	rows  error // a row is wrong: refused after the state's checks
}

// readBatches reads the deliveries of in on a goroutine of its own and
// hands them on, in order, as incoming, on the channel it returns, which it
// closes when in is closed or stop is. It closes done when it has ended.
func (l *lottery) readBatches(stop, done chan struct{}, in <-chan amqp.Delivery) <-chan incoming {
	out := make(chan incoming, l.cfg.group)
	go func() {
		defer close(done)
		defer close(out)
		for {
			select {
			case d, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- l.read(d):
				case <-stop:
					return
				}
			case <-stop:
				return
			}
		}
	}()
	return out
}

// read decodes a batch, names its sender and reads its bets. It touches
// nothing of the lottery's but its configuration and the free bet slices.
func (l *lottery) read(d amqp.Delivery) incoming {
	in := incoming{d: d}
	if d.Type != broker.TypeBatch {
		return in
	}
	if len(d.Body) > broker.MaxMessageBytes {
		in.bad = rejectf(0, 0, "batch of %d bytes: over the %d-byte limit", len(d.Body), broker.MaxMessageBytes)
		return in
	}
	b, err := broker.DecodeBatch(d)
	if err == nil {
		b.Agency, err = l.cfg.identity.sender(d)
	}
	if err != nil {
		in.bad = rejectf(0, 0, "batch %q: %v", d.MessageId, err)
		return in
	}
	in.batch = b
	select {
	case in.bets = <-l.free:
		in.bets = in.bets[:0]
	default:
		// A row takes more than 16 bytes: the header's count, which the
		// sender wrote, cannot make this allocation bigger than the body.
		in.bets = make([]bet.Bet, 0, min(b.Bets, len(b.Body)/16+1))
	}
	in.bets, err = bet.NewBytesReader(b.Body, b.Agency).ReadAll(in.bets)
	if err != nil {
		in.rows = &rejection{b.Agency, b.Seq, b.Bets, fmt.Sprintf("batch %q: %v", d.MessageId, err)}
		return in
	}
	if len(in.bets) != b.Bets {
		in.rows = &rejection{b.Agency, b.Seq, b.Bets, fmt.Sprintf("batch %q holds %d bets; its header says %d", d.MessageId, len(in.bets), b.Bets)}
	}
	return in
}

// gather takes first and whatever else has already arrived, up to the group
// size, so that one fsync commits several batches.
func (l *lottery) gather(first incoming, ch <-chan incoming) []incoming {
	group := []incoming{first}
	for len(group) < l.cfg.group {
		select {
		case in, ok := <-ch:
			if !ok {
				return group
			}
			group = append(group, in)
		default:
			return group
		}
	}
	return group
}

// handleBets stores, records and acks a group of deliveries from the bets
// queue: bets.csv is appended and synced, then the journal, then the acks.
func (l *lottery) handleBets(ctx context.Context, group []incoming) error {
	var received []logrus.Fields
	for _, in := range group {
		var fields logrus.Fields
		var err error
		switch in.d.Type {
		case broker.TypeBatch:
			fields, err = l.takeBatch(in)
		case broker.TypeFinished:
			err = l.takeFinished(in.d)
		default:
			err = rejectf(0, 0, "unknown message type %q", in.d.Type)
		}
		var rej *rejection
		if errors.As(err, &rej) {
			err = l.reject(ctx, in.d, rej)
		}
		if err != nil {
			return err
		}
		if fields != nil {
			received = append(received, fields)
		}
	}
	l.log.WithField("mensajes", len(group)).Debug("grupo")
	failpoint.Hit("lottery/stored-before-sync")
	if err := l.store.Sync(); err != nil {
		return err
	}
	failpoint.Hit("lottery/synced-before-journal")
	if err := l.journal.commit(); err != nil {
		return err
	}
	// Stored and recorded: the batches count as received even if the ack
	// below is lost with the connection (they come again as duplicates).
	for _, f := range received {
		l.log.WithFields(f).Info("apuesta_recibida")
	}
	failpoint.Hit("lottery/committed-before-ack")
	if err := group[len(group)-1].d.Ack(true); err != nil {
		return fmt.Errorf("ack bets: %w", err)
	}
	return l.maybeDraw(ctx)
}

// rejection is a message the lottery refuses: it is dead-lettered with the
// reason and, when it names a batch of an agency that takes part, settles
// that batch as rejected.
type rejection struct {
	agency, seq, bets int
	reason            string
}

func (r *rejection) Error() string { return r.reason }

func rejectf(agency, seq int, format string, args ...any) error {
	return &rejection{agency: agency, seq: seq, reason: fmt.Sprintf(format, args...)}
}

// takeBatch checks one batch read by read against the state, stores its
// bets and queues its journal record.
func (l *lottery) takeBatch(in incoming) (logrus.Fields, error) {
	if in.bad != nil {
		return nil, in.bad
	}
	d, b := in.d, in.batch
	if !l.state.takesPart(b.Agency) {
		return nil, rejectf(0, 0, "batch %q: agency %d does not take part (agencies 1-%d)", d.MessageId, b.Agency, l.cfg.agencies)
	}
	a := l.state.agency[b.Agency]
	if a.fingerprint != "" && b.Fingerprint != a.fingerprint {
		return nil, rejectf(0, 0, "batch %q: file fingerprint %q differs from the %q this agency sent before: a different file or batch size", d.MessageId, b.Fingerprint, a.fingerprint)
	}
	key := batchKey{b.Agency, b.Seq}
	if st, ok := l.state.batches[key]; ok {
		l.log.WithFields(logrus.Fields{"agencia": b.Agency, "lote": b.Seq, "rechazado": st.reason != ""}).Info("lote_duplicado")
		return nil, nil
	}
	if l.state.drawn {
		return nil, rejectf(b.Agency, b.Seq, "batch %q: the draw is already made", d.MessageId)
	}
	if a.finished && b.Seq > a.batches {
		return nil, rejectf(b.Agency, b.Seq, "batch %q: agency %d announced only %d batches", d.MessageId, b.Agency, a.batches)
	}
	if in.rows != nil {
		return nil, in.rows
	}
	if err := l.store.StoreBets(in.bets); err != nil {
		return nil, err
	}
	// Cleared, a slice in the pool points into no message body: it keeps
	// none alive, and the garbage collector, which scans the pool on every
	// cycle, has nothing to follow in it.
	clear(in.bets)
	select {
	case l.free <- in.bets:
	default:
	}
	rec := record{Op: opStored, Agency: b.Agency, Seq: b.Seq, Bets: b.Bets, End: l.store.Size(), Fingerprint: b.Fingerprint}
	l.journal.add(rec)
	l.state.apply(rec)
	return logrus.Fields{"cantidad": b.Bets, "agencia": b.Agency, "lote": b.Seq}, nil
}

// takeFinished records an agency's finished event; a repeat counts once.
func (l *lottery) takeFinished(d amqp.Delivery) error {
	agency, err := l.cfg.identity.sender(d)
	if err != nil {
		return rejectf(0, 0, "finished event %q: %v", d.MessageId, err)
	}
	var f broker.Finished
	if err := broker.DecodeJSON(d, &f); err != nil {
		return rejectf(0, 0, "%v", err)
	}
	switch {
	case !l.state.takesPart(agency):
		return rejectf(0, 0, "finished event from agency %d, which does not take part (agencies 1-%d)", agency, l.cfg.agencies)
	case f.Agency != agency:
		return rejectf(0, 0, "finished event says agency %d; its header says %d", f.Agency, agency)
	case f.Batches < 0 || f.Bets < f.Batches:
		return rejectf(0, 0, "finished event of agency %d announces %d batches and %d bets", agency, f.Batches, f.Bets)
	}
	a := l.state.agency[agency]
	if a.fingerprint != "" && f.Fingerprint != a.fingerprint {
		return rejectf(0, 0, "finished event of agency %d: file fingerprint %q differs from the %q it sent before: a different file or batch size", agency, f.Fingerprint, a.fingerprint)
	}
	if a.finished {
		if a.batches != f.Batches || a.bets != f.Bets {
			return rejectf(0, 0, "finished event of agency %d announces %d batches and %d bets; it announced %d and %d before", agency, f.Batches, f.Bets, a.batches, a.bets)
		}
		l.log.WithField("agencia", agency).Info("fin_duplicado")
		return nil
	}
	rec := record{Op: opFinished, Agency: agency, Batches: f.Batches, Bets: f.Bets, Fingerprint: f.Fingerprint}
	l.journal.add(rec)
	l.state.apply(rec)
	l.log.WithFields(logrus.Fields{"agencia": agency, "lotes": f.Batches, "apuestas": f.Bets}).Info("agencia_finalizada")
	return nil
}

// reject dead-letters d with the reason, logs it, and records the batch it
// names as rejected. The caller acks d after the journal commit.
func (l *lottery) reject(ctx context.Context, d amqp.Delivery, r *rejection) error {
	headers := amqp.Table{}
	for k, v := range d.Headers {
		headers[k] = v
	}
	headers[broker.HeaderReason] = r.reason
	headers[broker.HeaderRejectedBy] = "lottery"
	headers["x-original-exchange"] = d.Exchange
	headers["x-original-routing-key"] = d.RoutingKey
	// No UserId: the copy is the lottery's, and RabbitMQ checks it against
	// the lottery's own user; the sender's stays in the original.
	err := l.pub.PublishConfirmed(ctx, broker.DeadExchange, "", amqp.Publishing{
		Headers: headers, ContentType: d.ContentType, Type: d.Type, MessageId: d.MessageId,
		CorrelationId: d.CorrelationId, ReplyTo: d.ReplyTo, Body: d.Body,
	})
	if err != nil {
		return fmt.Errorf("dead-letter %q: %w", d.MessageId, err)
	}
	action := "mensaje_rechazado"
	if d.Type == broker.TypeBatch {
		action = "apuesta_recibida"
	}
	l.log.WithFields(logrus.Fields{"cantidad": r.bets, "mensaje": d.MessageId, "error": r.reason}).Error(action)
	if r.agency != 0 {
		rec := record{Op: opRejected, Agency: r.agency, Seq: r.seq, Bets: r.bets, Reason: r.reason}
		l.journal.add(rec)
		l.state.apply(rec)
	}
	return nil
}

// handleRequest answers a winners request at once after the draw, or
// records it durably to answer right after the draw; a request it refuses
// is dead-lettered. Either way it acks it.
func (l *lottery) handleRequest(ctx context.Context, d amqp.Delivery) error {
	err := l.takeRequest(ctx, d)
	var rej *rejection
	if errors.As(err, &rej) {
		err = l.reject(ctx, d, rej)
	}
	if err != nil {
		return err
	}
	return ack(d)
}

func (l *lottery) takeRequest(ctx context.Context, d amqp.Delivery) error {
	if d.Type != broker.TypeWinnersRequest {
		return rejectf(0, 0, "unknown message type %q on the requests queue", d.Type)
	}
	agency, err := l.cfg.identity.sender(d)
	if err != nil {
		return rejectf(0, 0, "winners request %q: %v", d.MessageId, err)
	}
	var wr broker.WinnersRequest
	if err := broker.DecodeJSON(d, &wr); err != nil {
		return rejectf(0, 0, "%v", err)
	}
	req := record{Op: opRequest, Agency: agency, ReplyTo: broker.ReplyQueue(agency), Correlation: d.CorrelationId}
	refuse := func(reason string) error {
		l.log.WithFields(logrus.Fields{"agencia": agency, "error": reason}).Error("consulta_ganadores")
		return l.reply(ctx, req, broker.WinnersReply{Agency: agency, Error: reason})
	}
	switch a := l.state.agency[agency]; {
	case !l.state.takesPart(agency):
		return refuse(fmt.Sprintf("agency %d does not take part in this draw (agencies 1-%d)", agency, l.cfg.agencies))
	case a.fingerprint != "" && wr.Fingerprint != "" && wr.Fingerprint != a.fingerprint:
		return refuse(fmt.Sprintf("agency %d sent file fingerprint %q before and now %q: a different file or batch size; run it again with the original ones", agency, a.fingerprint, wr.Fingerprint))
	case l.state.drawn:
		return l.answer(ctx, req)
	}
	l.journal.add(req)
	l.state.apply(req)
	if err := l.journal.commit(); err != nil {
		return err
	}
	l.log.WithFields(logrus.Fields{logfmt.ResultKey: logfmt.InProgress, "agencia": agency}).Info("consulta_en_espera")
	return nil
}

func ack(d amqp.Delivery) error {
	if err := d.Ack(false); err != nil {
		return fmt.Errorf("ack %q: %w", d.MessageId, err)
	}
	return nil
}

// answer sends an agency its winners.
func (l *lottery) answer(ctx context.Context, req record) error {
	docs := l.winners[req.Agency]
	if docs == nil {
		docs = []string{}
	}
	if err := l.reply(ctx, req, broker.WinnersReply{Agency: req.Agency, Winners: docs}); err != nil {
		return err
	}
	l.log.WithFields(logrus.Fields{"agencia": req.Agency, "cant_ganadores": len(docs)}).Info("respuesta_ganadores")
	return nil
}

func (l *lottery) reply(ctx context.Context, req record, r broker.WinnersReply) error {
	body, _ := json.Marshal(r) // cannot fail: plain fields
	if err := l.pub.PublishConfirmed(ctx, broker.WinnersExchange, req.ReplyTo, broker.ReplyMessage(req.Correlation, body)); err != nil {
		return fmt.Errorf("reply to agency %d: %w", req.Agency, err)
	}
	return nil
}

// answerPending answers every request recorded before the draw.
func (l *lottery) answerPending(ctx context.Context) error {
	if !l.state.drawn {
		return nil
	}
	for len(l.state.pending) > 0 {
		req := l.state.pending[0]
		if err := l.answer(ctx, req); err != nil {
			return err
		}
		failpoint.Hit("lottery/answered-before-record")
		done := record{Op: opAnswered, Agency: req.Agency, Correlation: req.Correlation}
		l.journal.add(done)
		l.state.apply(done)
		if err := l.journal.commit(); err != nil {
			return err
		}
	}
	return nil
}

// maybeDraw makes the draw once every agency has finished and every batch it
// announced is settled, then answers the requests that waited for it.
func (l *lottery) maybeDraw(ctx context.Context) error {
	if !l.state.ready() {
		return nil
	}
	if rejected := l.state.rejected(); len(rejected) > 0 {
		l.log.WithFields(logrus.Fields{"lotes": len(rejected), "detalle": fmt.Sprint(rejected)}).Error("lotes_rechazados")
	}
	if err := l.computeWinners(); err != nil {
		return err
	}
	failpoint.Hit("lottery/draw-computed")
	drawn := record{Op: opDrawn}
	l.journal.add(drawn)
	if err := l.journal.commit(); err != nil {
		return err
	}
	l.state.apply(drawn)
	l.log.WithField("ganadores", l.totalWinners()).Info("sorteo")
	failpoint.Hit("lottery/draw-logged")
	return l.answerPending(ctx)
}

// computeWinners reads bets.csv in one streaming pass.
func (l *lottery) computeWinners() error {
	winners := map[int][]string{}
	for b, err := range bet.LoadBets(l.cfg.betsPath()) {
		if err != nil {
			return err
		}
		if bet.HasWon(b) {
			winners[b.Agency] = append(winners[b.Agency], strings.Clone(b.Document))
		}
	}
	l.winners = winners
	return nil
}

func (l *lottery) totalWinners() int {
	n := 0
	for _, w := range l.winners {
		n += len(w)
	}
	return n
}

// logWaiting says what the draw still waits for.
func (l *lottery) logWaiting() {
	if l.state.drawn {
		return
	}
	unfinished, batches, bets := l.state.waitingFor()
	l.log.WithFields(logrus.Fields{
		logfmt.ResultKey:         logfmt.InProgress,
		"agencias_sin_finalizar": joinInts(unfinished),
		"lotes_pendientes":       batches,
		"apuestas_pendientes":    bets,
	}).Info("esperando_sorteo")
}
