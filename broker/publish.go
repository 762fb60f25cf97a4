package broker

import (
	"context"
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ErrNacked means the broker refused to take responsibility for a message.
var ErrNacked = errors.New("broker: publish nacked")

// Publisher publishes on its own channel in confirm mode, keeping at most
// Window publishes unconfirmed at once. A message counts as sent only once
// the broker has confirmed it: Publish reports the first nack it sees, and
// Flush waits for every confirm.
//
// A Publisher is not safe for concurrent use.
type Publisher struct {
	ch        *amqp.Channel
	window    int
	pending   []pending // oldest first
	confirmed int
}

type pending struct {
	id string
	dc *amqp.DeferredConfirmation
}

// NewPublisher opens a confirm-mode channel on conn. window is how many
// publishes may be unconfirmed at once (at least 1).
func NewPublisher(conn *amqp.Connection, window int) (*Publisher, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open publisher channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		ch.Close()
		return nil, fmt.Errorf("enable publisher confirms: %w", err)
	}
	return &Publisher{ch: ch, window: max(window, 1)}, nil
}

// Publish sends msg persistently to exchange with routing key key, then
// waits until no more than the window of publishes is unconfirmed.
func (p *Publisher) Publish(ctx context.Context, exchange, key string, msg amqp.Publishing) error {
	msg.DeliveryMode = amqp.Persistent
	dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, msg)
	if err != nil {
		return fmt.Errorf("publish %s to %q: %w", msg.MessageId, exchange, err)
	}
	p.pending = append(p.pending, pending{msg.MessageId, dc})
	for len(p.pending) >= p.window {
		if err := p.waitOldest(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Flush waits until every publish so far is confirmed.
func (p *Publisher) Flush(ctx context.Context) error {
	for len(p.pending) > 0 {
		if err := p.waitOldest(ctx); err != nil {
			return err
		}
	}
	return nil
}

// PublishConfirmed publishes msg and waits for its confirm.
func (p *Publisher) PublishConfirmed(ctx context.Context, exchange, key string, msg amqp.Publishing) error {
	if err := p.Publish(ctx, exchange, key, msg); err != nil {
		return err
	}
	return p.Flush(ctx)
}

func (p *Publisher) waitOldest(ctx context.Context) error {
	first := p.pending[0]
	acked, err := first.dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("wait for confirm of %s: %w", first.id, err)
	}
	p.pending = p.pending[1:]
	if !acked {
		return fmt.Errorf("%w: %s", ErrNacked, first.id)
	}
	p.confirmed++
	return nil
}

// Confirmed is how many publishes the broker has confirmed, in publish
// order: the first Confirmed() publishes are safe, the rest are not yet.
func (p *Publisher) Confirmed() int { return p.confirmed }

// Close closes the publisher's channel. Unconfirmed publishes are abandoned:
// call Flush first to keep them.
func (p *Publisher) Close() error { return p.ch.Close() }
