package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/failpoint"
	"github.com/loteria-nacional/pipeline/logfmt"
)

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
