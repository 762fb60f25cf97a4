package broker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// TestEveryReplicaGetsEveryMessage: with replicas, each one's queues get a
// copy of every batch, finished event and winners request, and the one
// lottery's queues are not made.
func TestEveryReplicaGetsEveryMessage(t *testing.T) {
	url := brokertest.Vhost(t)
	conn := brokertest.Dial(t, url)
	if err := broker.ForFirst(2, "a", "b").Apply(conn, broker.Declare); err != nil {
		t.Fatal(err)
	}
	pub := publisher(t, conn, 1)
	for _, m := range []struct{ exchange, key string }{
		{broker.BetsExchange, broker.BatchKey},
		{broker.BetsExchange, broker.FinishedKey},
		{broker.RequestsExchange, broker.WinnersKey},
	} {
		if err := pub.PublishConfirmed(ctx(t), m.exchange, m.key, amqp.Publishing{Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []string{"a", "b"} {
		if n := brokertest.WaitCount(t, conn, broker.BetsQueueOf(r), 2); n != 2 {
			t.Errorf("%s holds %d messages; want the batch and the finished event", broker.BetsQueueOf(r), n)
		}
		if n := brokertest.WaitCount(t, conn, broker.RequestsQueueOf(r), 1); n != 1 {
			t.Errorf("%s holds %d messages; want the request", broker.RequestsQueueOf(r), n)
		}
	}
	if n := brokertest.Count(t, conn, broker.UnroutedQueue); n != 0 {
		t.Errorf("unrouted holds %d messages; want none", n)
	}
	for _, q := range []string{broker.BetsQueue, broker.RequestsQueue} {
		if _, err := brokertest.Channel(t, conn).QueueDeclarePassive(q, true, false, false, false, nil); err == nil {
			t.Errorf("queue %s exists; with replicas nobody reads it", q)
		}
	}
}

// TestAgencyAwaitsTheReplicas: an agency declares no lottery queue; it
// waits, saying so, until every replica's queues exist, and then binds
// them, so that a replica that made its queues but died before binding them
// still gets every batch.
func TestAgencyAwaitsTheReplicas(t *testing.T) {
	url := brokertest.Vhost(t)
	conn := brokertest.Dial(t, url)
	topo := broker.ForAgency(1, "a", "b")
	if err := topo.Apply(conn, broker.Declare); err != nil {
		t.Fatal(err)
	}
	for _, q := range topo.Queues {
		if strings.HasPrefix(q.Name, "lottery.") {
			t.Errorf("the agency declares %s", q.Name)
		}
	}
	log, hook := test.NewNullLogger()
	done := make(chan error, 1)
	go func() { done <- topo.Await(ctx(t), conn, broker.Declare, log) }()

	ch := brokertest.Channel(t, conn)
	lottery := broker.ForFirst(1, "a", "b")
	for _, q := range lottery.Queues {
		if !strings.HasPrefix(q.Name, "lottery.") {
			continue
		}
		select {
		case err := <-done:
			t.Fatalf("Await returned %v before %s existed", err, q.Name)
		case <-time.After(300 * time.Millisecond):
		}
		if _, err := ch.QueueDeclare(q.Name, true, false, false, false, q.Args); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Await = %v", err)
	}
	if e := hook.LastEntry(); e == nil || e.Message != logfmt.EsperandoLoteria || e.Data[logfmt.ResultKey] != logfmt.InProgress {
		t.Errorf("Await logged %v; want esperando_loteria in progress", hook.AllEntries())
	}
	pub := publisher(t, conn, 1)
	if err := pub.PublishConfirmed(ctx(t), broker.BetsExchange, broker.BatchKey, amqp.Publishing{Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"a", "b"} {
		if n := brokertest.WaitCount(t, conn, broker.BetsQueueOf(r), 1); n != 1 {
			t.Errorf("%s holds %d messages; want the batch", broker.BetsQueueOf(r), n)
		}
	}
}

// TestAwaitStopsWithContext: an agency stopped while it waits for the
// lottery stops at once.
func TestAwaitStopsWithContext(t *testing.T) {
	conn := brokertest.Dial(t, brokertest.Vhost(t))
	topo := broker.ForAgency(1, "a")
	if err := topo.Apply(conn, broker.Declare); err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithTimeout(ctx(t), 500*time.Millisecond)
	defer cancel()
	if err := topo.Await(c, conn, broker.Declare, logfmt.Discard()); err != context.DeadlineExceeded {
		t.Errorf("Await = %v; want %v", err, context.DeadlineExceeded)
	}
	if err := topo.Await(ctx(t), conn, broker.Verify, logfmt.Discard()); err == nil || !strings.Contains(err.Error(), `"lottery.a.bets"`) {
		t.Errorf("Await in verify mode = %v; want an error naming lottery.a.bets", err)
	}
}

// TestStaleRepliesExpire: a reply nobody takes (the second answer of two
// replicas) leaves the reply queue once its time is up, and is dropped,
// not dead-lettered. The reply queue's own arguments, with a shorter time.
func TestStaleRepliesExpire(t *testing.T) {
	conn := brokertest.Dial(t, brokertest.Vhost(t))
	if err := broker.ForAgencies(1).Apply(conn, broker.Declare); err != nil {
		t.Fatal(err)
	}
	var args amqp.Table
	for _, q := range broker.ForAgencies(1).Queues {
		if q.Name == broker.ReplyQueue(1) {
			args = q.Args
		}
	}
	if args["x-message-ttl"] != int32(broker.ReplyTTL/time.Millisecond) {
		t.Fatalf("%s has x-message-ttl %v; want ReplyTTL", broker.ReplyQueue(1), args["x-message-ttl"])
	}
	probe := amqp.Table{}
	for k, v := range args {
		probe[k] = v
	}
	probe["x-message-ttl"] = int32(200)
	ch := brokertest.Channel(t, conn)
	if _, err := ch.QueueDeclare("replies-probe", true, false, false, false, probe); err != nil {
		t.Fatal(err)
	}
	pub := publisher(t, conn, 1)
	if err := pub.PublishConfirmed(ctx(t), "", "replies-probe", broker.ReplyMessage("id", []byte("{}"))); err != nil {
		t.Fatal(err)
	}
	if n := brokertest.WaitCount(t, conn, "replies-probe", 0); n != 0 {
		t.Errorf("the expired reply is still queued (%d messages)", n)
	}
	if n := brokertest.Count(t, conn, broker.DeadQueue); n != 0 {
		t.Errorf("dead-letter holds %d messages; an expired reply is dropped", n)
	}
}
