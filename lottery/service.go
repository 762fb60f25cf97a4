package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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

	// Bet slices that StoreBets is done with, for readBatches: at most
	// LOTTERY_GROUP of them, so that what is kept for reuse is bounded by
	// the settings.
	free chan []bet.Bet
}

// recovered is called once at start-up, after the state is rebuilt from the
// journal: a lottery that finds its draw already made says so.
func (l *lottery) recovered(ctx context.Context) error {
	if !l.state.drawn {
		return nil
	}
	if err := l.computeWinners(ctx); err != nil {
		return err
	}
	l.log.WithField("ganadores", l.totalWinners()).Info(logfmt.SorteoRecuperado)
	return nil
}

// Run resumes whatever the last connection left undone (answers owed, a draw
// that is due), then consumes bets and requests until ctx ends; then it stops
// consuming, finishes the deliveries that already arrived, and returns nil.
// When one consumer stops by itself (its connection is lost), or steady
// delivers (the careful session it serves is over), it stops the other
// likewise and returns broker.ErrConnectionLost or errSteady: deliveries
// that could be finished are not sent back one delivery nearer their
// queue's delivery limit. It returns any storage error at once.
func (l *lottery) Run(ctx context.Context, bets, requests consumer, steady <-chan time.Time) error {
	work := context.WithoutCancel(ctx) // in-flight work finishes after SIGTERM
	if err := l.answerPending(work); err != nil {
		return l.settled(err)
	}
	if err := l.maybeDraw(work); err != nil {
		return l.settled(err)
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
	// ended is why Run stopped taking work: nil for ctx.
	var ended error
	stopping := false
	drainCancel := context.CancelFunc(func() {})
	defer func() { drainCancel() }()
	// stopTaking cancels the consumers that still deliver and gives what
	// already arrived the drain deadline to finish.
	stopTaking := func(why error) error {
		stopping, done, steady, ended = true, nil, nil, why
		work, drainCancel = context.WithTimeout(work, l.cfg.drain)
		var errs []error
		if betsCh != nil {
			errs = append(errs, bets.Cancel())
		}
		if reqCh != nil {
			errs = append(errs, requests.Cancel())
		}
		return errors.Join(errs...)
	}
	// lose stops taking work when c, reading queue, stopped by itself.
	lose := func(queue string, c consumer) error {
		if stopping {
			return nil // its end, after a cancel
		}
		if err := stopTaking(lostConsumer(queue, c)); err != nil {
			return errors.Join(ended, err)
		}
		return nil
	}
	for betsCh != nil || reqCh != nil {
		select {
		case <-done:
			l.log.Info(logfmt.ApagadoIniciado)
			if err := stopTaking(nil); err != nil {
				return err
			}
		case in, ok := <-betsCh:
			if !ok {
				betsCh = nil
				if err := lose(broker.BetsQueueOf(l.cfg.replica), bets); err != nil {
					return err
				}
			} else if err := l.handleBets(work, l.gather(in, betsCh)); err != nil {
				return err
			}
		case d, ok := <-reqCh:
			if !ok {
				reqCh = nil
				if err := lose(broker.RequestsQueueOf(l.cfg.replica), requests); err != nil {
					return err
				}
			} else if err := l.handleRequest(work, d); err != nil {
				return err
			}
		case <-tick.C:
			l.logWaiting()
		case <-steady:
			if err := stopTaking(errSteady); err != nil {
				return errors.Join(ended, err)
			}
		}
	}
	return ended
}

// lostConsumer is the error of a consumer whose deliveries ended without a
// cancel: the channel or the connection went away, for the reason the
// broker gave, if it gave one.
func lostConsumer(queue string, c consumer) error {
	if err := c.Err(); err != nil {
		return fmt.Errorf("consume %s: %w: %w", queue, broker.ErrConnectionLost, err)
	}
	return fmt.Errorf("consume %s: %w", queue, broker.ErrConnectionLost)
}

// incoming is a delivery from the bets queue with the work done that needs
// none of the lottery's state: for a batch, its message decoded, its sender
// known and its bets read.
type incoming struct {
	d      amqp.Delivery
	batch  broker.Batch
	digest string // of the batch's body
	bets   []bet.Bet
	bad    error // the message is not one anyone can read: refused first
	rows   error // a row is wrong: refused after the state's checks
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

// read checks a delivery's headers, and for a batch decodes it, names its
// sender and reads its bets. It touches nothing of the lottery's but its
// configuration and the free bet slices.
func (l *lottery) read(d amqp.Delivery) incoming {
	in := incoming{d: d}
	if err := broker.CheckHeaders(d.Headers); err != nil {
		in.bad = rejectf(0, 0, "message %q: %v", d.MessageId, err)
		return in
	}
	if d.Type != broker.TypeBatch {
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
	in.batch, in.digest = b, digest(b.Body)
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
// A group that fails before its journal commit leaves the lottery what its
// journal says (see recover).
func (l *lottery) handleBets(ctx context.Context, group []incoming) (err error) {
	defer func() { err = l.settled(err) }()
	var received []logrus.Fields
	for _, in := range group {
		var fields logrus.Fields
		var err error
		switch {
		case in.bad != nil:
			err = in.bad
		case in.d.Type == broker.TypeBatch:
			fields, err = l.takeBatch(in)
		case in.d.Type == broker.TypeFinished:
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
	l.log.WithField("mensajes", len(group)).Debug(logfmt.Grupo)
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
		l.log.WithFields(f).Info(logfmt.ApuestaRecibida)
	}
	failpoint.Hit("lottery/committed-before-ack")
	if err := group[len(group)-1].d.Ack(true); err != nil {
		return fmt.Errorf("ack bets: %w", err)
	}
	return l.maybeDraw(ctx)
}

// settled returns err, after making the lottery what its journal says
// when err left records queued and not committed (see recover).
func (l *lottery) settled(err error) error {
	if err != nil && l.journal.uncommitted() {
		return errors.Join(err, l.recover())
	}
	return err
}

// recover makes the lottery exactly what its journal says, as a restart
// would, after a group failed before its commit: the records it queued are
// dropped, the state is rebuilt from the journal, and bets.csv is cut back
// to the committed end. Without it, a batch of the failed group would stay
// stored in memory only: acked as a duplicate when it came again, without
// its apuesta_recibida line, and the next commit would record rows that
// were never synced.
func (l *lottery) recover() error {
	errClose := errors.Join(l.store.Close(), l.journal.Close())
	st, store, jour, err := recoverState(l.cfg, l.log)
	if err != nil {
		return errors.Join(errClose, fmt.Errorf("recover after a failed group: %w", err))
	}
	l.state, l.store, l.journal = st, store, jour
	return errClose
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
	d, b := in.d, in.batch
	if !l.state.takesPart(b.Agency) {
		return nil, rejectf(0, 0, "batch %q: agency %d does not take part (agencies 1-%d)", d.MessageId, b.Agency, l.cfg.agencies)
	}
	a := l.state.agency[b.Agency]
	if a.fingerprint != "" && b.Fingerprint != a.fingerprint {
		return nil, rejectf(0, 0, "batch %q: file fingerprint %q differs from the %q this agency sent before: a different file or batch size", d.MessageId, b.Fingerprint, a.fingerprint)
	}
	if st, ok := l.state.batch(b.Agency, b.Seq); ok {
		if st.digest != "" && st.digest != in.digest {
			return nil, rejectf(0, 0, "batch %q: batch %d of agency %d was stored with other content (digest %s; this one's %s): a batch number is sent with the same rows every time", d.MessageId, b.Seq, b.Agency, st.digest, in.digest)
		}
		l.log.WithFields(logrus.Fields{"agencia": b.Agency, "lote": b.Seq, "rechazado": st.reason != ""}).Info(logfmt.LoteDuplicado)
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
	rec := record{Op: opStored, Agency: b.Agency, Seq: b.Seq, Bets: b.Bets, End: l.store.Size(), Fingerprint: b.Fingerprint, Digest: in.digest}
	l.journal.add(rec)
	l.state.apply(rec)
	return logrus.Fields{"cantidad": b.Bets, "agencia": b.Agency, "lote": b.Seq}, nil
}

// digest is a batch body's CRC-32C: enough to tell a batch sent again with
// other rows from the same batch sent again, which is all it is for (an
// agency's user can send what it likes anyway), and cheap.
func digest(body []byte) string {
	return fmt.Sprintf("%08x", crc32.Checksum(body, castagnoli))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// takeFinished records an agency's finished event; a repeat counts once.
func (l *lottery) takeFinished(d amqp.Delivery) error {
	agency, err := l.cfg.identity.sender(d)
	if err != nil {
		return rejectf(0, 0, "finished event %q: %v", d.MessageId, err)
	}
	f, err := broker.DecodeFinished(d)
	if err != nil {
		return rejectf(0, 0, "%v", err)
	}
	switch {
	case !l.state.takesPart(agency):
		return rejectf(0, 0, "finished event from agency %d, which does not take part (agencies 1-%d)", agency, l.cfg.agencies)
	case f.Agency != agency:
		return rejectf(0, 0, "finished event says agency %d; its header says %d", f.Agency, agency)
	}
	a := l.state.agency[agency]
	if a.fingerprint != "" && f.Fingerprint != a.fingerprint {
		return rejectf(0, 0, "finished event of agency %d: file fingerprint %q differs from the %q it sent before: a different file or batch size", agency, f.Fingerprint, a.fingerprint)
	}
	if a.finished {
		if a.batches != f.Batches || a.bets != f.Bets {
			return rejectf(0, 0, "finished event of agency %d announces %d batches and %d bets; it announced %d and %d before", agency, f.Batches, f.Bets, a.batches, a.bets)
		}
		l.log.WithField("agencia", agency).Info(logfmt.FinDuplicado)
		return nil
	}
	rec := record{Op: opFinished, Agency: agency, Batches: f.Batches, Bets: f.Bets, Fingerprint: f.Fingerprint}
	l.journal.add(rec)
	l.state.apply(rec)
	l.log.WithFields(logrus.Fields{"agencia": agency, "lotes": f.Batches, "apuestas": f.Bets}).Info(logfmt.AgenciaFinalizada)
	return nil
}

// maxReasonBytes bounds the reason a refusal gives, in its log line and the
// dead letter's header: it may quote what the sender wrote.
const maxReasonBytes = 1 << 10

// reject dead-letters d with the reason, logs it, and records the batch it
// names as rejected. The caller acks d after the journal commit. The dead
// letter keeps d's headers when they are within the protocol's limits; a
// copy of larger ones might not fit a frame, and is left out.
func (l *lottery) reject(ctx context.Context, d amqp.Delivery, r *rejection) error {
	reason := clip(r.reason, maxReasonBytes)
	headers := amqp.Table{}
	if broker.CheckHeaders(d.Headers) == nil {
		maps.Copy(headers, d.Headers)
	} else {
		headers[broker.HeaderDropped] = "over the limit of the lottery's protocol: left out"
	}
	headers[broker.HeaderReason] = reason
	headers[broker.HeaderRejectedBy] = "lottery"
	if l.cfg.replica != "" {
		headers[broker.HeaderReplica] = l.cfg.replica // each replica dead-letters its own copy
	}
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
	action := logfmt.MensajeRechazado
	if d.Type == broker.TypeBatch {
		action = logfmt.ApuestaRecibida
	}
	l.log.WithFields(logrus.Fields{"cantidad": r.bets, "mensaje": d.MessageId, "error": reason}).Error(action)
	if r.agency != 0 {
		rec := record{Op: opRejected, Agency: r.agency, Seq: r.seq, Bets: r.bets, Reason: reason}
		l.journal.add(rec)
		l.state.apply(rec)
	}
	return nil
}

// clip cuts s to at most n bytes, at a character's start, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// handleRequest answers a winners request at once after the draw, or
// records it durably to answer right after the draw; a request it refuses
// is dead-lettered. Either way it acks it.
func (l *lottery) handleRequest(ctx context.Context, d amqp.Delivery) (err error) {
	defer func() { err = l.settled(err) }()
	err = l.takeRequest(ctx, d)
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
	if err := broker.CheckHeaders(d.Headers); err != nil {
		return rejectf(0, 0, "winners request %q: %v", d.MessageId, err)
	}
	if d.Type != broker.TypeWinnersRequest {
		return rejectf(0, 0, "unknown message type %q on the requests queue", d.Type)
	}
	agency, err := l.cfg.identity.sender(d)
	if err != nil {
		return rejectf(0, 0, "winners request %q: %v", d.MessageId, err)
	}
	wr, err := broker.DecodeWinnersRequest(d)
	if err != nil {
		return rejectf(0, 0, "%v", err)
	}
	if wr.Agency != agency {
		return rejectf(0, 0, "winners request says agency %d; its header says %d", wr.Agency, agency)
	}
	req := record{Op: opRequest, Agency: agency, ReplyTo: broker.ReplyQueue(agency), Correlation: d.CorrelationId}
	refuse := func(reason string) error {
		l.log.WithFields(logrus.Fields{"agencia": agency, "error": reason}).Error(logfmt.ConsultaGanadores)
		return l.reply(ctx, req, broker.WinnersReply{Agency: agency, Error: reason})
	}
	switch a := l.state.agency[agency]; {
	case !l.state.takesPart(agency):
		return refuse(fmt.Sprintf("agency %d does not take part in this draw (agencies 1-%d)", agency, l.cfg.agencies))
	case a.fingerprint != "" && wr.Fingerprint != a.fingerprint:
		return refuse(fmt.Sprintf("agency %d sent file fingerprint %q before and now %q: a different file or batch size; run it again with the original ones", agency, a.fingerprint, wr.Fingerprint))
	case l.state.drawn:
		return l.answer(ctx, req)
	case slices.ContainsFunc(l.state.pending, func(p record) bool { return p.Agency == agency && p.Correlation == req.Correlation }):
		// The same request again (redelivered): it is recorded already.
	default:
		l.journal.add(req)
		l.state.apply(req)
		if err := l.journal.commit(); err != nil {
			return err
		}
	}
	l.log.WithFields(logrus.Fields{logfmt.ResultKey: logfmt.InProgress, "agencia": agency}).Info(logfmt.ConsultaEnEspera)
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
	l.log.WithFields(logrus.Fields{"agencia": req.Agency, "cant_ganadores": len(docs)}).Info(logfmt.RespuestaGanadores)
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
// announced is settled, then answers the requests that waited for it. It
// counts the batches each agency announced and no others, and says where
// what was stored differs from what was announced.
func (l *lottery) maybeDraw(ctx context.Context) error {
	if !l.state.ready() {
		return nil
	}
	if rejected := l.state.rejected(); len(rejected) > 0 {
		l.log.WithFields(logrus.Fields{"lotes": len(rejected), "detalle": fmt.Sprint(rejected)}).Error(logfmt.LotesRechazados)
	}
	for id := 1; id <= l.cfg.agencies; id++ {
		if announced, stored := l.state.agency[id].bets, l.state.storedBets(id); stored != announced {
			l.log.WithFields(logrus.Fields{"agencia": id, "anunciadas": announced, "guardadas": stored, "diferencia": stored - announced}).Error(logfmt.ApuestasAnunciadas)
		}
	}
	if _, names := l.state.unannounced(); len(names) > 0 {
		l.log.WithFields(logrus.Fields{"lotes": len(names), "detalle": clip(strings.Join(names, ","), maxReasonBytes)}).Error(logfmt.LotesNoAnunciados)
	}
	if err := l.computeWinners(ctx); err != nil {
		return err
	}
	failpoint.Hit("lottery/draw-computed")
	drawn := record{Op: opDrawn}
	l.journal.add(drawn)
	if err := l.journal.commit(); err != nil {
		return err
	}
	l.state.apply(drawn)
	l.log.WithField("ganadores", l.totalWinners()).Info(logfmt.Sorteo)
	failpoint.Hit("lottery/draw-logged")
	return l.answerPending(ctx)
}

// computeWinners reads bets.csv in one streaming pass, leaving out the rows
// of batches no finished event announced. It stops when ctx ends.
func (l *lottery) computeWinners(ctx context.Context) error {
	skip, _ := l.state.unannounced()
	winners := map[int][]string{}
	n := 0
	for b, err := range bet.LoadBetsExcept(l.cfg.betsPath(), skip) {
		if err != nil {
			return err
		}
		if n++; n%(1<<16) == 0 && ctx.Err() != nil {
			return fmt.Errorf("draw: %w", ctx.Err())
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
	unfinished, batches, bets, missing := l.state.waitingFor()
	l.log.WithFields(logrus.Fields{
		logfmt.ResultKey:         logfmt.InProgress,
		"agencias_sin_finalizar": joinInts(unfinished),
		"lotes_pendientes":       batches,
		"apuestas_pendientes":    bets,
		"lotes_faltantes":        strings.Join(missing, ","),
	}).Info(logfmt.EsperandoSorteo)
}
