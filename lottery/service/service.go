package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/broker"
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
	cfg     Config
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
