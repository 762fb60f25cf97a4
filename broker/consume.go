package broker

import (
	"fmt"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Consumer receives a queue's messages on its own channel with manual acks
// and a per-consumer prefetch.
//
// To stop: call Cancel, keep reading Deliveries (finishing and acking what
// arrived) until it is closed, then Close. Deliveries left unacked return to
// the queue when the channel closes.
type Consumer struct {
	ch         *amqp.Channel
	tag        string
	deliveries <-chan amqp.Delivery
	closed     chan *amqp.Error
}

// Consume starts consuming queue with at most prefetch (at least 1)
// unacked deliveries.
func Consume(conn *amqp.Connection, queue string, prefetch int) (*Consumer, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open consumer channel for %q: %w", queue, err)
	}
	// global=false: the limit is per consumer (quorum queues have no other).
	prefetch = max(prefetch, 1) // 0 would mean no limit, and an unbounded buffer
	if err := ch.Qos(prefetch, 0, false); err != nil {
		ch.Close()
		return nil, fmt.Errorf("set prefetch on %q: %w", queue, err)
	}
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	tag := queue + "." + uuid.NewString()
	d, err := ch.Consume(queue, tag, false, false, false, false, nil)
	if err != nil {
		ch.Close()
		return nil, fmt.Errorf("consume %q: %w", queue, err)
	}
	// amqp091 hands deliveries over an unbuffered channel, so a reader that
	// takes "whatever has already arrived" without blocking finds nothing
	// until the library's goroutine comes round again: group commits would
	// shrink to one message. A buffer as deep as the prefetch fixes that, and
	// the copy never blocks: the broker sends at most prefetch unacked
	// deliveries, so the buffer can always take the next one. The goroutine
	// ends when amqp091 closes d (cancel, channel or connection close).
	buffered := make(chan amqp.Delivery, prefetch)
	go func() {
		defer close(buffered)
		for x := range d {
			buffered <- x
		}
	}()
	return &Consumer{ch: ch, tag: tag, deliveries: buffered, closed: closed}, nil
}

// Err says why the channel closed, once Deliveries is closed: the broker's
// reason, or nil for a clean close.
func (c *Consumer) Err() error {
	select {
	case err, ok := <-c.closed:
		if ok && err != nil {
			return err
		}
	default:
	}
	return nil
}

// Deliveries is closed after Cancel once the last delivery has been read, or
// when the channel or connection closes.
func (c *Consumer) Deliveries() <-chan amqp.Delivery { return c.deliveries }

// Cancel asks the broker to stop deliveries and waits for its answer, so that
// no delivery in flight is dropped in the client.
func (c *Consumer) Cancel() error {
	if err := c.ch.Cancel(c.tag, false); err != nil {
		return fmt.Errorf("cancel consumer %s: %w", c.tag, err)
	}
	return nil
}

// Close closes the consumer's channel; unacked deliveries return to the queue.
func (c *Consumer) Close() error { return c.ch.Close() }
