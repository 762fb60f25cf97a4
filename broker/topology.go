package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/logfmt"
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

// BetsQueueOf is the bets queue of a lottery replica, lottery.<r>.bets; of
// "", one lottery alone, lottery.bets.
func BetsQueueOf(replica string) string { return lotteryQueue(replica, "bets") }

// RequestsQueueOf is the winners requests queue of a lottery replica,
// lottery.<r>.requests; of "", one lottery alone, lottery.requests.
func RequestsQueueOf(replica string) string { return lotteryQueue(replica, "requests") }

func lotteryQueue(replica, what string) string {
	if replica == "" {
		return "lottery." + what
	}
	return "lottery." + replica + "." + what
}

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
// proves the two agree). Awaited queues are declared by others, the lottery
// replicas: a program waits until they exist before it binds them.
type Topology struct {
	Exchanges []Exchange
	Queues    []Queue
	Bindings  []Binding
	Awaited   []string
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

// replies is an agency's reply queue: a reply lives ReplyTTL, and one
// delivered DeliveryLimit times is dropped, not dead-lettered. Either way
// no agency waits for it any more: each connection of an agency asks
// again, and every lottery replica answers each request.
func replies() amqp.Table {
	return amqp.Table{
		"x-queue-type":     "quorum",
		"x-delivery-limit": int32(DeliveryLimit),
		"x-message-ttl":    int32(ReplyTTL / time.Millisecond),
	}
}

func routed() amqp.Table { return amqp.Table{"alternate-exchange": UnroutedExchange} }

// ForAgencies is the topology of one lottery with the reply queues of the
// given agencies. The lottery uses it with every agency that takes part; an
// agency with its own number only.
func ForAgencies(agencies ...int) Topology { return topology(nil, agencies) }

// ForAgency is the topology agency id applies: its own reply queue, and the
// queues of the lottery replicas, which the replicas declare and the agency
// only waits for (with none, the one lottery's, which the agency declares).
func ForAgency(id int, replicas ...string) Topology {
	t := topology(replicas, []int{id})
	if len(replicas) == 0 {
		return t
	}
	for _, r := range replicas {
		t.Awaited = append(t.Awaited, BetsQueueOf(r), RequestsQueueOf(r))
	}
	t.Queues = slices.DeleteFunc(t.Queues, func(q Queue) bool { return slices.Contains(t.Awaited, q.Name) })
	return t
}

// topology is every exchange, queue and binding for the given lottery
// replicas (none: one lottery) and agencies: each replica's bets queue gets
// every batch and finished event, and its requests queue every winners
// request.
func topology(replicas []string, agencies []int) Topology {
	t := Topology{
		Exchanges: []Exchange{
			{BetsExchange, amqp.ExchangeDirect, routed()},
			{RequestsExchange, amqp.ExchangeDirect, routed()},
			{WinnersExchange, amqp.ExchangeDirect, routed()},
			{DeadExchange, amqp.ExchangeFanout, nil},
			{UnroutedExchange, amqp.ExchangeFanout, nil},
		},
		Queues: []Queue{
			{DeadQueue, kept()},
			{UnroutedQueue, kept()},
		},
		Bindings: []Binding{
			{DeadExchange, DeadQueue, ""},
			{UnroutedExchange, UnroutedQueue, ""},
		},
	}
	lotteries := replicas
	if len(lotteries) == 0 {
		lotteries = []string{""}
	}
	for _, r := range lotteries {
		bets, requests := BetsQueueOf(r), RequestsQueueOf(r)
		t.Queues = append(t.Queues, Queue{bets, quorum()}, Queue{requests, quorum()})
		t.Bindings = append(t.Bindings,
			Binding{BetsExchange, bets, BatchKey},
			Binding{BetsExchange, bets, FinishedKey},
			Binding{RequestsExchange, requests, WinnersKey})
	}
	for _, id := range agencies {
		// No single active consumer: a quorum queue with one refuses
		// basic.get, a peek in the management UI.
		q := ReplyQueue(id)
		t.Queues = append(t.Queues, Queue{q, replies()})
		t.Bindings = append(t.Bindings, Binding{WinnersExchange, q, q})
	}
	return t
}

// ForFirst is the topology of a draw in which agencies 1…n take part, read
// by the given lottery replicas (none: one lottery).
func ForFirst(n int, replicas ...string) Topology {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i + 1
	}
	return topology(replicas, ids)
}

// Apply declares or verifies t on a channel of conn. In Verify mode a missing
// exchange or queue is an error that names it; bindings cannot be checked
// passively in AMQP 0-9-1 and are left to definitions.json. Awaited queues
// and their bindings are left to Await.
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
				"start a new draw on a new vhost (see docs/deployment.md on moving to quorum queues)", mode, q.Name, err)
		}
		if err != nil {
			return fmt.Errorf("%s queue %q: %w", mode, q.Name, err)
		}
	}
	if mode == Verify {
		return nil
	}
	return t.bind(ch, false)
}

// bind makes t's bindings: those of awaited queues, or all the others.
func (t Topology) bind(ch *amqp.Channel, awaited bool) error {
	for _, b := range t.Bindings {
		if slices.Contains(t.Awaited, b.Queue) != awaited {
			continue
		}
		if err := ch.QueueBind(b.Queue, b.Key, b.Exchange, false, nil); err != nil {
			return fmt.Errorf("bind queue %q to exchange %q with key %q: %w", b.Queue, b.Exchange, b.Key, err)
		}
	}
	return nil
}

// awaitEvery is how often Await looks for the queues it waits for, and
// awaitLogEvery how often it says so.
const (
	awaitEvery    = 250 * time.Millisecond
	awaitLogEvery = 5 * time.Second
)

// Await waits until every awaited queue exists, saying which it waits for,
// and in Declare mode then binds them, so that nothing published after it
// returns misses one: a lottery replica that starts later declares its
// queues, and a message the exchange routed before that would be lost to
// it. In Verify mode definitions.json made them and a missing one is an
// error.
func (t Topology) Await(ctx context.Context, conn *amqp.Connection, mode Mode, log logrus.FieldLogger) error {
	if len(t.Awaited) == 0 {
		return nil // one lottery: the agency declared its queues itself
	}
	var logged time.Time
	for _, q := range t.Awaited {
		for {
			err := exists(conn, q)
			var ae *amqp.Error
			if err == nil {
				break
			}
			if mode == Verify || !errors.As(err, &ae) || ae.Code != amqp.NotFound {
				return fmt.Errorf("%s queue %q: %w", mode, q, err)
			}
			if time.Since(logged) >= awaitLogEvery {
				logged = time.Now()
				log.WithFields(logrus.Fields{logfmt.ResultKey: logfmt.InProgress, "cola": q}).Info(logfmt.EsperandoLoteria)
			}
			timer := time.NewTimer(awaitEvery)
			select {
			case <-ctx.Done():
				timer.Stop()
				return ctx.Err()
			case <-timer.C:
			}
		}
	}
	if mode == Verify {
		return nil
	}
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel for topology: %w", err)
	}
	defer ch.Close()
	return t.bind(ch, true)
}

// exists declares q passively on a channel of its own: a missing queue
// closes the channel.
func exists(conn *amqp.Connection, q string) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	_, err = ch.QueueDeclarePassive(q, true, false, false, false, nil)
	return err
}
