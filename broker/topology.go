package broker

import (
	"errors"
	"fmt"
	"strconv"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Exchange, queue and routing-key names. broker/doc.go explains each.
const (
	BetsExchange     = "bets"
	RequestsExchange = "requests"
	WinnersExchange  = "winners"
	DeadExchange     = "dead-letter"
	UnroutedExchange = "unrouted"

	BetsQueue     = "lottery.bets"
	RequestsQueue = "lottery.requests"
	DeadQueue     = "dead-letter"
	UnroutedQueue = "unrouted"

	BatchKey    = "batch"
	FinishedKey = "finished"
	WinnersKey  = "winners"
)

// ReplyQueue is the durable queue where agency id receives its winners; it
// is also the routing key that binds it to the winners exchange.
func ReplyQueue(agency int) string { return "agency." + strconv.Itoa(agency) + ".winners" }

// Exchange is an exchange the programs use. All are durable.
type Exchange struct {
	Name string
	Kind string
	Args amqp.Table
}

// Queue is a queue the programs use. All are durable.
type Queue struct {
	Name string
	Args amqp.Table
}

// Binding routes messages from an exchange to a queue.
type Binding struct {
	Exchange string
	Queue    string
	Key      string
}

// Topology is every exchange, queue and binding of a deployment: the one
// place in code that defines them (definitions.json is the other, and a test
// proves the two agree).
type Topology struct {
	Exchanges []Exchange
	Queues    []Queue
	Bindings  []Binding
}

// Mode says whether programs declare the topology or only verify it.
type Mode string

const (
	// Declare creates whatever is missing, idempotently: for a bare broker,
	// the demo and the tests.
	Declare Mode = "declare"
	// Verify only checks, passively, that exchanges and queues exist: for a
	// deployment whose definitions.json owns the topology and whose users may
	// not declare.
	Verify Mode = "verify"
)

// ParseMode parses a topology mode setting.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Declare, Verify:
		return m, nil
	}
	return "", fmt.Errorf("topology mode %q: want %q or %q", s, Declare, Verify)
}

// quorum is a queue the programs read: after DeliveryLimit deliveries the
// broker dead-letters a message to the dead-letter exchange, at least once
// (which needs reject-publish overflow; with no length limit set it never
// applies). The limit is explicit: RabbitMQ 4.x would put 20, and 3.10
// drops a message at its first return under a limit of -1.
func quorum() amqp.Table {
	return amqp.Table{
		"x-queue-type":           "quorum",
		"x-delivery-limit":       int32(DeliveryLimit),
		"x-dead-letter-exchange": DeadExchange,
		"x-dead-letter-strategy": "at-least-once",
		"x-overflow":             "reject-publish",
	}
}

// kept is a queue people read in the management UI (dead-letter,
// unrouted): a peek counts as a delivery, so its limit is one no person
// reaches, and a message is never dropped for being looked at.
func kept() amqp.Table {
	return amqp.Table{"x-queue-type": "quorum", "x-delivery-limit": int32(KeptDeliveryLimit)}
}

func routed() amqp.Table { return amqp.Table{"alternate-exchange": UnroutedExchange} }

// ForAgencies is the topology with the reply queues of the given agencies.
// The lottery uses it with every agency that takes part; an agency with its
// own number only.
func ForAgencies(agencies ...int) Topology {
	t := Topology{
		Exchanges: []Exchange{
			{BetsExchange, amqp.ExchangeDirect, routed()},
			{RequestsExchange, amqp.ExchangeDirect, routed()},
			{WinnersExchange, amqp.ExchangeDirect, routed()},
			{DeadExchange, amqp.ExchangeFanout, nil},
			{UnroutedExchange, amqp.ExchangeFanout, nil},
		},
		Queues: []Queue{
			{BetsQueue, quorum()},
			{RequestsQueue, quorum()},
			{DeadQueue, kept()},
			{UnroutedQueue, kept()},
		},
		Bindings: []Binding{
			{BetsExchange, BetsQueue, BatchKey},
			{BetsExchange, BetsQueue, FinishedKey},
			{RequestsExchange, RequestsQueue, WinnersKey},
			{DeadExchange, DeadQueue, ""},
			{UnroutedExchange, UnroutedQueue, ""},
		},
	}
	for _, id := range agencies {
		// No single active consumer: a quorum queue with one refuses
		// basic.get, a peek in the management UI.
		q := ReplyQueue(id)
		t.Queues = append(t.Queues, Queue{q, quorum()})
		t.Bindings = append(t.Bindings, Binding{WinnersExchange, q, q})
	}
	return t
}

// ForFirst is the topology of a draw in which agencies 1…n take part.
func ForFirst(n int) Topology {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i + 1
	}
	return ForAgencies(ids...)
}

// Apply declares or verifies t on a channel of conn. In Verify mode a missing
// exchange or queue is an error that names it; bindings cannot be checked
// passively in AMQP 0-9-1 and are left to definitions.json.
func (t Topology) Apply(conn *amqp.Connection, mode Mode) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel for topology: %w", err)
	}
	defer ch.Close()
	for _, e := range t.Exchanges {
		if mode == Verify {
			err = ch.ExchangeDeclarePassive(e.Name, e.Kind, true, false, false, false, nil)
		} else {
			err = ch.ExchangeDeclare(e.Name, e.Kind, true, false, false, false, e.Args)
		}
		if err != nil {
			return fmt.Errorf("%s exchange %q: %w", mode, e.Name, err)
		}
	}
	for _, q := range t.Queues {
		if mode == Verify {
			_, err = ch.QueueDeclarePassive(q.Name, true, false, false, false, nil)
		} else {
			_, err = ch.QueueDeclare(q.Name, true, false, false, false, q.Args)
		}
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed {
			return fmt.Errorf("%s queue %q: %w: it exists with other arguments, made by an earlier version: "+
				"start a new draw on a new vhost (see the README on moving to quorum queues)", mode, q.Name, err)
		}
		if err != nil {
			return fmt.Errorf("%s queue %q: %w", mode, q.Name, err)
		}
	}
	if mode == Verify {
		return nil
	}
	for _, b := range t.Bindings {
		if err := ch.QueueBind(b.Queue, b.Key, b.Exchange, false, nil); err != nil {
			return fmt.Errorf("bind queue %q to exchange %q with key %q: %w", b.Queue, b.Exchange, b.Key, err)
		}
	}
	return nil
}
