package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/internal/failpoint"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// Client makes RPC calls whose replies come back on one durable reply queue.
// Each call carries a fresh correlation id; a reply with any other id is
// stale (an answer to an earlier call) and is acked and dropped.
type Client struct {
	pub        *Publisher
	replies    *Consumer
	replyQueue string
	log        logrus.FieldLogger
}

// ErrClosed means the reply consumer stopped before the reply came.
var ErrClosed = errors.New("broker: reply consumer closed")

// NewClient consumes replyQueue and publishes calls through pub.
func NewClient(conn *amqp.Connection, pub *Publisher, replyQueue string, log logrus.FieldLogger) (*Client, error) {
	c, err := Consume(conn, replyQueue, 1)
	if err != nil {
		return nil, err
	}
	return &Client{pub: pub, replies: c, replyQueue: replyQueue, log: log}, nil
}

// Call publishes msg to exchange with routing key key, naming the reply queue
// in reply_to and a fresh uuid as correlation id, and waits for the reply
// with that id. It returns the reply's body.
func (c *Client) Call(ctx context.Context, exchange, key string, msg amqp.Publishing) ([]byte, error) {
	msg.ReplyTo = c.replyQueue
	msg.CorrelationId = uuid.NewString()
	if msg.MessageId == "" {
		msg.MessageId = msg.CorrelationId
	}
	if err := c.pub.PublishConfirmed(ctx, exchange, key, msg); err != nil {
		return nil, err
	}
	failpoint.Hit("rpc/called")
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case d, ok := <-c.replies.Deliveries():
			if !ok {
				return nil, ErrClosed
			}
			if err := d.Ack(false); err != nil {
				return nil, fmt.Errorf("ack reply: %w", err)
			}
			if d.CorrelationId == msg.CorrelationId {
				return d.Body, nil
			}
			c.log.WithField("correlation_id", d.CorrelationId).Info(logfmt.RespuestaDescartada)
		}
	}
}

// Close cancels the reply consumer and closes its channel.
func (c *Client) Close() error {
	err := c.replies.Cancel()
	for range c.replies.Deliveries() {
		// Unacked: they return to the queue as stale replies for a later call.
	}
	return errors.Join(err, c.replies.Close())
}

// ReplyMessage is an RPC reply carrying the request's correlation id. Publish
// it to WinnersExchange with the reply queue's name as routing key.
func ReplyMessage(correlationID string, body []byte) amqp.Publishing {
	return amqp.Publishing{
		ContentType:   "application/json",
		CorrelationId: correlationID,
		MessageId:     "reply." + correlationID,
		Type:          TypeWinnersReply,
		Body:          body,
	}
}
