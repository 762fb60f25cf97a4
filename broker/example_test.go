package broker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// Agency 1 publishes its first batch of bets and waits for the broker to
// confirm it: once PublishConfirmed returns nil, the batch is in a durable
// queue and survives a broker restart. An agency publishes many batches with
// Publish, up to the publisher's window unconfirmed, and calls Flush at the
// end; PublishConfirmed is the one-message case. (It needs a broker at
// AMQP_URL to run, so it has no Output.)
func ExamplePublisher_PublishConfirmed() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logger, _ := logfmt.New(os.Stdout, "info")
	conn, err := broker.Dial(ctx, broker.Config{URL: os.Getenv("AMQP_URL"), Name: "agency-1"}, logger)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if err := broker.ForAgency(1).Apply(conn.Connection, broker.Declare); err != nil {
		log.Fatal(err)
	}
	pub, err := broker.NewPublisher(conn.Connection, 8)
	if err != nil {
		log.Fatal(err)
	}
	defer pub.Close()

	rows := "Santiago Lionel,Lorca,30904465,1999-03-17,7574\r\n"
	batch := broker.Batch{Agency: 1, Seq: 1, Bets: 1, Fingerprint: "file-fingerprint", Body: []byte(rows)}
	if err := pub.PublishConfirmed(ctx, broker.BetsExchange, broker.BatchKey, batch.Publishing()); err != nil {
		log.Fatal(err)
	}
	fmt.Println("batch 1 confirmed")
}

// Agency 1 asks the lottery for its winners and waits for the answer: the
// request carries a correlation id and names the agency's own reply queue;
// the lottery answers there, after the draw, with the same correlation id.
// (It needs a broker at AMQP_URL and a lottery to run, so it has no Output.)
func ExampleClient_Call() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logger, _ := logfmt.New(os.Stdout, "info")
	conn, err := broker.Dial(ctx, broker.Config{URL: os.Getenv("AMQP_URL"), Name: "agency-1"}, logger)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	pub, err := broker.NewPublisher(conn.Connection, 1)
	if err != nil {
		log.Fatal(err)
	}
	defer pub.Close()
	client, err := broker.NewClient(conn.Connection, pub, broker.ReplyQueue(1), logger)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	req := broker.WinnersRequest{Agency: 1, Fingerprint: "file-fingerprint"}
	body, err := client.Call(ctx, broker.RequestsExchange, broker.WinnersKey, req.Publishing())
	if err != nil {
		log.Fatal(err)
	}
	var reply broker.WinnersReply
	if err := json.Unmarshal(body, &reply); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("agency %d: %d winners\n", reply.Agency, len(reply.Winners))
}

// TestExamplesRun runs both examples against a fresh vhost, with a stand-in
// lottery that answers the winners request as the lottery does: the batch
// is in the lottery's queue, and the answer reaches the example.
func TestExamplesRun(t *testing.T) {
	url := brokertest.Vhost(t)
	t.Setenv("AMQP_URL", url)
	ExamplePublisher_PublishConfirmed()
	conn := brokertest.Dial(t, url)
	if n := brokertest.WaitCount(t, conn, broker.BetsQueue, 1); n != 1 {
		t.Fatalf("%s holds %d messages after the example; want its batch", broker.BetsQueue, n)
	}

	ch := brokertest.Channel(t, conn)
	requests, err := ch.Consume(broker.RequestsQueue, "stand-in-lottery", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() { // ends with its one answer, or when the test's channel closes
		d, ok := <-requests
		if !ok {
			answered <- fmt.Errorf("the requests consumer closed")
			return
		}
		body, _ := json.Marshal(broker.WinnersReply{Agency: 1, Winners: []string{"30904465"}})
		answered <- ch.PublishWithContext(context.Background(), broker.WinnersExchange, d.ReplyTo, false, false, broker.ReplyMessage(d.CorrelationId, body))
	}()
	ExampleClient_Call()
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
}
