package service

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"unicode/utf8"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/failpoint"
	"github.com/loteria-nacional/pipeline/logfmt"
)

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
