package broker_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// TestDialWaitsOutAnOutage: a broker that fails a thousand times and then
// answers is waited out, with no bound on the attempts, and the wait is
// logged once, not a thousand times.
func TestDialWaitsOutAnOutage(t *testing.T) {
	const failures = 1000
	d := broker.NewDialer(broker.Config{URL: brokertest.Vhost(t), MaxBackoff: time.Millisecond})
	calls := 0
	broker.SetDial(d, func(url string, cfg amqp.Config) (*amqp.Connection, error) {
		if calls++; calls <= failures {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
		}
		return amqp.DialConfig(url, cfg)
	})
	log, hook := test.NewNullLogger()
	began := time.Now()
	c, err := d.Dial(ctx(t), log)
	if err != nil {
		t.Fatalf("Dial after %d failures = %v; want a connection", failures, err)
	}
	c.Close()
	if calls != failures+1 {
		t.Errorf("Dial made %d attempts; want %d", calls, failures+1)
	}
	var waits int
	for _, e := range hook.AllEntries() {
		if e.Data[logfmt.ResultKey] == logfmt.InProgress {
			waits++
			if e.Data["sin_broker"] == nil || e.Data["intentos"] == nil {
				t.Errorf("a wait is logged with %v; want sin_broker and intentos", e.Data)
			}
		}
	}
	// One line when the outage begins, then one every ten seconds at most.
	if max := 1 + int(time.Since(began)/(10*time.Second)); waits < 1 || waits > max {
		t.Errorf("Dial logged %d waits in %s; want 1 to %d", waits, time.Since(began).Round(time.Millisecond), max)
	}
	last := hook.LastEntry()
	if last.Message != logfmt.ConexionBroker || last.Data["sin_broker"] == nil {
		t.Errorf("the connection is logged as %q %v; want conexion_broker saying for how long no broker answered", last.Message, last.Data)
	}
}

// TestDialStopsAtOnceMidHandshake: a broker that accepts and never answers
// holds Dial in the AMQP handshake; ending the context ends it at once.
func TestDialStopsAtOnceMidHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	c, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := broker.Dial(c, broker.Config{URL: "amqp://guest:guest@" + ln.Addr().String() + "/"}, logfmt.Discard())
		done <- err
	}()
	conn := <-accepted // the handshake is under way: the listener never answers it
	defer conn.Close()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Dial cancelled mid-handshake = %v; want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Dial still in the handshake 20 s after its context ended; the handshake's own deadline is 30 s")
	}
}

func TestDialAttemptsBoundWhenSet(t *testing.T) {
	cfg := broker.Config{URL: "amqp://guest:secret@127.0.0.1:1/", DialAttempts: 2, MaxBackoff: 10 * time.Millisecond}
	_, err := broker.Dial(ctx(t), cfg, logfmt.Discard())
	if err == nil || !strings.Contains(err.Error(), "gave up after 2 attempts") {
		t.Errorf("Dial to a closed port = %v; want it to give up after 2 attempts", err)
	}
	if err != nil && strings.Contains(err.Error(), "secret") {
		t.Errorf("Dial error %q shows the password", err)
	}
}

// TestUndecodable: a message amqp091-go cannot decode closes the consumer's
// connection with an error Undecodable tells from a lost connection.
func TestUndecodable(t *testing.T) {
	deep := amqp.Table{}
	for range 40 {
		deep = amqp.Table{"d": deep}
	}
	wide := amqp.Table{}
	for i := range 9000 {
		wide[strconv.Itoa(i)] = int32(i)
	}
	for _, tc := range []struct {
		name    string
		headers amqp.Table
	}{
		{"headers nested 40 levels deep", amqp.Table{"deep": deep}},
		{"9,000 headers", wide},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := brokertest.Vhost(t)
			conn := brokertest.Dial(t, url)
			ch, err := conn.Channel()
			if err != nil {
				t.Fatal(err)
			}
			q, err := ch.QueueDeclare("", false, true, false, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := ch.PublishWithContext(ctx(t), "", q.Name, false, false, amqp.Publishing{Headers: tc.headers, Body: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			reader := brokertest.Dial(t, url)
			c, err := broker.Consume(reader, q.Name, 1)
			if err != nil {
				t.Fatal(err)
			}
			for d := range c.Deliveries() {
				t.Fatalf("delivered a message with %d headers; want the connection closed", len(d.Headers))
			}
			if err := c.Err(); !broker.Undecodable(err) {
				t.Errorf("the consumer's channel closed with %v; want an error Undecodable reports", err)
			}
		})
	}
	for _, err := range []error{
		&amqp.Error{Code: amqp.FrameError, Reason: "EOF"},
		&amqp.Error{Code: amqp.FrameError, Reason: "read tcp 127.0.0.1:1->127.0.0.1:5672: read: connection reset by peer"},
		&amqp.Error{Code: amqp.ConnectionForced, Reason: "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"},
		errors.New("invalid field or value inside of a frame"),
	} {
		if broker.Undecodable(err) {
			t.Errorf("Undecodable(%v) = true; want false: the connection was lost, nothing was undecodable", err)
		}
	}
}
