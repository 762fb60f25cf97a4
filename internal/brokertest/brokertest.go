// Package brokertest gives tests their own vhost on a real RabbitMQ.
//
// Tests read AMQP_URL (default amqp://guest:guest@localhost:5672/) and the
// management API at RABBITMQ_API (default http://localhost:15672), create a
// uniquely named vhost for each test, and delete it when the test ends.
package brokertest

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/loteria-nacional/pipeline/internal/await"
	"github.com/loteria-nacional/pipeline/internal/rabbitapi"
)

// HowToStart is appended to every failure to reach the broker.
const HowToStart = "start RabbitMQ with `rabbitmq-server -detached && rabbitmqctl await_startup` " +
	"and its management API with `rabbitmq-plugins enable rabbitmq_management`, " +
	"or run `make broker`; set AMQP_URL and RABBITMQ_API if it is elsewhere"

var counter atomic.Int64

// Missing ends a test that cannot get something it needs: it skips on a
// person's machine and fails where CI runs (CI=true), so that a suite
// whose tests did not run never passes there.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a test that cannot run fails)")
	}
	t.Skip(msg)
}

// BaseURL is the broker URL from AMQP_URL, without a vhost.
func BaseURL() *url.URL {
	raw := os.Getenv("AMQP_URL")
	if raw == "" {
		raw = "amqp://guest:guest@localhost:5672/"
	}
	u, err := url.Parse(raw)
	if err != nil {
		panic(fmt.Sprintf("AMQP_URL %q: %v", raw, err))
	}
	u.Path = "/"
	u.RawPath = ""
	return u
}

// API is the management API's base URL.
func API() string {
	if v := os.Getenv("RABBITMQ_API"); v != "" {
		return strings.TrimSuffix(v, "/")
	}
	return "http://localhost:15672"
}

// api is the management API's client, as the user of AMQP_URL.
func api() *rabbitapi.Client {
	u := BaseURL()
	pass, _ := u.User.Password()
	return &rabbitapi.Client{API: API(), User: u.User.Username(), Password: pass}
}

// Request sends an authenticated request to the management API and returns
// the response body, failing the test on a status >= 300.
func Request(t testing.TB, method, path, body string) []byte {
	t.Helper()
	b, err := api().Do(method, path, body)
	if err != nil {
		t.Fatalf("%v; %s", err, HowToStart)
	}
	return b
}

// Vhost creates a fresh vhost for the test, with full permissions for the
// test's user, deletes it when the test ends, and returns its AMQP URL.
func Vhost(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test-%s-%d-%d", sanitize(t.Name()), os.Getpid(), counter.Add(1))
	if len(name) > 200 {
		name = name[len(name)-200:]
	}
	c := api()
	vhostURL, err := c.NewVhost(BaseURL().String(), name)
	if err != nil {
		t.Fatalf("%v; %s", err, HowToStart)
	}
	t.Cleanup(func() {
		if err := c.DeleteVhost(name); err != nil {
			t.Error(err)
		}
	})
	return vhostURL
}

// Dial connects to url and closes the connection when the test ends.
func Dial(t testing.TB, url string) *amqp.Connection {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("connect to RabbitMQ: %v; %s", err, HowToStart)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Channel opens a plain channel on conn, closed when the test ends.
func Channel(t testing.TB, conn *amqp.Connection) *amqp.Channel {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	return ch
}

// Count is how many messages queue holds, ready to deliver.
func Count(t testing.TB, conn *amqp.Connection, queue string) int {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		t.Fatalf("inspect queue %q: %v", queue, err)
	}
	return q.Messages
}

// WaitCount waits up to five seconds for queue to hold want messages ready
// to deliver, and returns how many it holds when it stops waiting. A quorum
// queue takes back a closed channel's unacked messages a moment after the
// close returns.
func WaitCount(t testing.TB, conn *amqp.Connection, queue string, want int) int {
	t.Helper()
	var got int
	await.Until(t.Context(), 5*time.Second, func() error {
		if got = Count(t, conn, queue); got != want {
			return fmt.Errorf("%d messages", got)
		}
		return nil
	})
	return got
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, s)
}
