package broker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus/hooks/test"
	"go.uber.org/goleak"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// publisher opens a Publisher on conn, closed when the test ends.
func publisher(t *testing.T, conn *amqp.Connection, window int) *broker.Publisher {
	t.Helper()
	pub, err := broker.NewPublisher(conn, window)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	return pub
}

// setup gives the test a fresh vhost with the topology for agencies 1 and 2.
func setup(t *testing.T) (string, *amqp.Connection) {
	t.Helper()
	url := brokertest.Vhost(t)
	c, err := broker.Dial(ctx(t), broker.Config{URL: url, Name: t.Name()}, logfmt.Discard())
	if err != nil {
		t.Fatalf("%v; %s", err, brokertest.HowToStart)
	}
	t.Cleanup(func() { c.Close() })
	if err := broker.ForAgencies(1, 2).Apply(c.Connection, broker.Declare); err != nil {
		t.Fatal(err)
	}
	return url, c.Connection
}

func TestTopologyDeclareIsIdempotentAndVerifies(t *testing.T) {
	_, conn := setup(t)
	if err := broker.ForAgencies(1, 2).Apply(conn, broker.Declare); err != nil {
		t.Errorf("second Declare = %v; want nil", err)
	}
	if err := broker.ForAgencies(1, 2).Apply(conn, broker.Verify); err != nil {
		t.Errorf("Verify after Declare = %v; want nil", err)
	}
	err := broker.ForAgencies(3).Apply(conn, broker.Verify)
	if err == nil || !strings.Contains(err.Error(), `queue "agency.3.winners"`) {
		t.Errorf("Verify of a missing reply queue = %v; want an error naming it", err)
	}
}

// TestDeclareOverAClassicBetsQueueSaysWhatToDo: a vhost where an earlier
// version made lottery.bets a classic queue refuses the quorum declare;
// the error says to start a new draw.
func TestDeclareOverAClassicBetsQueueSaysWhatToDo(t *testing.T) {
	conn := brokertest.Dial(t, brokertest.Vhost(t))
	ch := brokertest.Channel(t, conn)
	if _, err := ch.QueueDeclare(broker.BetsQueue, true, false, false, false, amqp.Table{"x-queue-type": "classic"}); err != nil {
		t.Fatal(err)
	}
	err := broker.ForFirst(1).Apply(conn, broker.Declare)
	if err == nil || !strings.Contains(err.Error(), "inequivalent arg") || !strings.Contains(err.Error(), "start a new draw on a new vhost") {
		t.Errorf("Apply over a classic lottery.bets = %v; want the broker's refusal and what to do", err)
	}
}

func TestVerifyOnBareVhostNamesWhatIsMissing(t *testing.T) {
	url := brokertest.Vhost(t)
	conn := brokertest.Dial(t, url)
	err := broker.ForAgencies(1).Apply(conn, broker.Verify)
	if err == nil || !strings.Contains(err.Error(), `exchange "bets"`) {
		t.Errorf("Verify on a bare vhost = %v; want an error naming exchange \"bets\"", err)
	}
}

func TestPublishConfirmsEveryMessage(t *testing.T) {
	_, conn := setup(t)
	pub := publisher(t, conn, 8)
	const n = 100
	for i := 1; i <= n; i++ {
		b := broker.Batch{Agency: 1, Seq: i, Bets: 1, Fingerprint: "f", Body: []byte("A,B,1,2000-01-01,1\r\n")}
		if err := pub.Publish(ctx(t), broker.BetsExchange, broker.BatchKey, b.Publishing()); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Flush(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if got := brokertest.Count(t, conn, broker.BetsQueue); got != n {
		t.Errorf("bets queue holds %d messages after %d confirmed publishes; want %d", got, n, n)
	}
}

func TestUnroutableMessagesLandInUnroutedQueue(t *testing.T) {
	_, conn := setup(t)
	pub := publisher(t, conn, 1)
	for _, ex := range []string{broker.BetsExchange, broker.RequestsExchange, broker.WinnersExchange} {
		if err := pub.PublishConfirmed(ctx(t), ex, "no-such-key", amqp.Publishing{Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if got := brokertest.Count(t, conn, broker.UnroutedQueue); got != 3 {
		t.Errorf("unrouted queue holds %d messages; want 3", got)
	}
}

func TestConsumerCancelReturnsUnackedMessages(t *testing.T) {
	_, conn := setup(t)
	pub := publisher(t, conn, 4)
	for i := 0; i < 5; i++ {
		if err := pub.Publish(ctx(t), broker.BetsExchange, broker.FinishedKey, amqp.Publishing{Body: []byte{byte('0' + i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Flush(ctx(t)); err != nil {
		t.Fatal(err)
	}
	c, err := broker.Consume(conn, broker.BetsQueue, 2)
	if err != nil {
		t.Fatal(err)
	}
	first := <-c.Deliveries()
	if err := first.Ack(false); err != nil {
		t.Fatal(err)
	}
	if err := c.Cancel(); err != nil {
		t.Fatal(err)
	}
	for range c.Deliveries() { // drains until the cancel closes it; left unacked
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := brokertest.WaitCount(t, conn, broker.BetsQueue, 4); got != 4 {
		t.Errorf("after one ack and a cancel the queue holds %d messages; want 4", got)
	}
}

// serve answers every request on the requests queue: first with a stale reply
// (a wrong correlation id), then with the right one.
func serve(t *testing.T, conn *amqp.Connection, stop <-chan struct{}) <-chan error {
	errc := make(chan error, 1)
	c, err := broker.Consume(conn, broker.RequestsQueue, 1)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := broker.NewPublisher(conn, 1)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(errc)
		defer pub.Close()
		defer c.Close()
		for {
			select {
			case <-stop:
				errc <- c.Cancel()
				return
			case d := <-c.Deliveries():
				for _, id := range []string{"stale-" + d.CorrelationId, d.CorrelationId} {
					if err := pub.PublishConfirmed(context.Background(), broker.WinnersExchange, d.ReplyTo, broker.ReplyMessage(id, []byte(id))); err != nil {
						errc <- err
						return
					}
				}
				if err := d.Ack(false); err != nil {
					errc <- err
					return
				}
			}
		}
	}()
	return errc
}

func TestRPCIgnoresStaleReplies(t *testing.T) {
	_, conn := setup(t)
	stop := make(chan struct{})
	errc := serve(t, conn, stop)
	pub := publisher(t, conn, 1)
	client, err := broker.NewClient(conn, pub, broker.ReplyQueue(1), logfmt.Discard())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		msg := broker.WinnersRequest{Agency: 1}.Publishing()
		body, err := client.Call(ctx(t), broker.RequestsExchange, broker.WinnersKey, msg)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(string(body), "stale-") || len(body) != 36 {
			t.Errorf("Call returned %q; want the reply carrying its own uuid", body)
		}
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestCallStopsWithContext(t *testing.T) {
	_, conn := setup(t)
	pub := publisher(t, conn, 1)
	client, err := broker.NewClient(conn, pub, broker.ReplyQueue(2), logfmt.Discard())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = client.Call(c, broker.RequestsExchange, broker.WinnersKey, broker.WinnersRequest{Agency: 2}.Publishing())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Call with nobody answering = %v; want context.DeadlineExceeded", err)
	}
}

func TestDialStopsWhenTheLoginIsRefused(t *testing.T) {
	for _, tc := range []struct{ name, user, password, vhost string }{
		{"wrong password", "guest", "not-its-password", ""},
		{"vhost not allowed", "", "", "no-such-vhost-" + t.Name()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := brokertest.BaseURL()
			if tc.user != "" {
				u.User = url.UserPassword(tc.user, tc.password)
			}
			u.Path = "/" + tc.vhost
			cfg := broker.Config{URL: u.String(), MaxBackoff: 10 * time.Millisecond}
			_, err := broker.Dial(ctx(t), cfg, logfmt.Discard())
			if !errors.Is(err, broker.ErrLoginRefused) {
				t.Fatalf("Dial(%s) = %v; want ErrLoginRefused", broker.Redact(cfg.URL), err)
			}
			want := fmt.Sprintf("refused user %q %d times", u.User.Username(), broker.DefaultConfig.LoginAttempts)
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), u.Host) {
				t.Errorf("Dial error %q; want it to name the broker %s and say %s", err, u.Host, want)
			}
			if tc.password != "" && strings.Contains(err.Error(), tc.password) {
				t.Errorf("Dial error %q shows the password", err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	if got := broker.Redact("amqp://agency-1:s3cret@rabbit:5672/lottery"); strings.Contains(got, "s3cret") {
		t.Errorf("Redact = %q; want the password masked", got)
	}
}

func TestDecodeBatchRejectsBadHeaders(t *testing.T) {
	good := func() amqp.Table {
		return amqp.Table{"agency": int32(1), "batch": int32(1), "bets": int32(1), "fingerprint": "f"}
	}
	with := func(k string, v any) amqp.Table {
		h := good()
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
		return h
	}
	tests := []struct {
		name    string
		headers amqp.Table
		body    int
		want    string
	}{
		{"no agency", with("agency", nil), 1, `"agency" missing`},
		{"text agency", with("agency", "x"), 1, `"agency" = x`},
		{"zero batch", with("batch", int32(0)), 1, "batch=0: want 1 to 1000000"},
		{"batch beyond the limit", with("batch", int64(broker.MaxBatches+1)), 1, "batch=1000001: want 1 to 1000000"},
		{"no bets", with("bets", int32(0)), 1, "bets=0: want 1 to 10000"},
		{"more bets than a batch may hold", with("bets", int32(broker.MaxBatchBets+1)), 1, "bets=10001: want 1 to 10000"},
		{"no fingerprint", with("fingerprint", nil), 1, "fingerprint missing"},
		{"too big", good(), broker.MaxMessageBytes + 1, "over the limit of 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := broker.DecodeBatch(amqp.Delivery{Headers: tc.headers, Body: make([]byte, tc.body)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeBatch(%v) = %v; want error containing %q", tc.headers, err, tc.want)
			}
		})
	}
	if _, err := broker.DecodeBatch(amqp.Delivery{Headers: good(), Body: []byte("x")}); err != nil {
		t.Errorf("DecodeBatch of a good batch: %v", err)
	}
}

func TestDecodeEventsKeepToTheLimits(t *testing.T) {
	finished := func(body string) error {
		_, err := broker.DecodeFinished(amqp.Delivery{Type: broker.TypeFinished, Body: []byte(body)})
		return err
	}
	request := func(correlation, body string) error {
		_, err := broker.DecodeWinnersRequest(amqp.Delivery{Type: broker.TypeWinnersRequest, CorrelationId: correlation, Body: []byte(body)})
		return err
	}
	for _, tc := range []struct {
		name string
		err  error
		want string // empty: accepted
	}{
		{"finished", finished(`{"agency":2,"batches":3,"bets":21,"fingerprint":"f"}`), ""},
		{"finished, nothing to send", finished(`{"agency":2,"batches":0,"bets":0,"fingerprint":"f"}`), ""},
		{"finished, huge counts", finished(`{"agency":2,"batches":4611686018427387904,"bets":4611686018427387904,"fingerprint":"f"}`), "want 0 to 1000000"},
		{"finished, negative", finished(`{"agency":2,"batches":-1,"bets":0,"fingerprint":"f"}`), "want 0 to 1000000"},
		{"finished, more bets than batches hold", finished(`{"agency":2,"batches":1,"bets":10001,"fingerprint":"f"}`), "want 1 to 10000 bets a batch"},
		{"finished, fewer bets than batches", finished(`{"agency":2,"batches":2,"bets":1,"fingerprint":"f"}`), "want 1 to 10000 bets a batch"},
		{"finished, no fingerprint", finished(`{"agency":2,"batches":1,"bets":1}`), "without a fingerprint"},
		{"finished, too big", finished(`{"agency":2,"batches":1,"bets":1,"fingerprint":"` + strings.Repeat("f", broker.MaxEventBytes) + `"}`), "over the limit of 4096 bytes"},
		{"finished, not JSON", finished(`{`), "decode finished"},
		{"request", request("c", `{"agency":2,"fingerprint":"f"}`), ""},
		{"request, no correlation id", request("", `{"agency":2,"fingerprint":"f"}`), "without a correlation id"},
		{"request, no fingerprint", request("c", `{"agency":2}`), "without a fingerprint"},
	} {
		switch {
		case tc.want == "" && tc.err != nil:
			t.Errorf("%s: %v; want it accepted", tc.name, tc.err)
		case tc.want != "" && (tc.err == nil || !strings.Contains(tc.err.Error(), tc.want)):
			t.Errorf("%s: %v; want an error containing %q", tc.name, tc.err, tc.want)
		}
	}
}

func TestCheckHeaders(t *testing.T) {
	batch := broker.Batch{Agency: 1, Seq: 1, Bets: 1, Fingerprint: "0123456789abcdef"}.Publishing().Headers
	batch["x-delivery-count"] = int64(49)
	many := amqp.Table{}
	for i := range broker.MaxHeaders + 1 {
		many[fmt.Sprint("h", i)] = i
	}
	nested := amqp.Table{"a": []any{amqp.Table{"b": amqp.Table{}}, "c"}}
	for _, tc := range []struct {
		name string
		h    amqp.Table
		ok   bool
	}{
		{"a batch's, redelivered", batch, true},
		{"none", nil, true},
		{"too many", many, false},
		{"too long", amqp.Table{"h": strings.Repeat("x", broker.MaxHeaderBytes)}, false},
		{"bytes too long", amqp.Table{"h": make([]byte, broker.MaxHeaderBytes)}, false},
		{"nested, counted", nested, true},
	} {
		if err := broker.CheckHeaders(tc.h); (err == nil) != tc.ok {
			t.Errorf("CheckHeaders(%s) = %v; want ok %v", tc.name, err, tc.ok)
		}
	}
	deep := amqp.Table{}
	for range broker.MaxHeaders + 1 {
		deep = amqp.Table{"d": deep}
	}
	if err := broker.CheckHeaders(deep); err == nil {
		t.Error("CheckHeaders of tables nested 17 deep = nil; want the nested entries counted")
	}
}

func TestBackoffGrowsAndResets(t *testing.T) {
	var b broker.Backoff
	var waits []time.Duration
	for _, lasted := range []time.Duration{0, 0, 0, 0, 0, time.Minute, 0} {
		w, err := b.Wait(ctx(t), lasted)
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, w)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, 0, 100 * time.Millisecond}
	if !slices.Equal(waits, want) {
		t.Errorf("waits %v; want %v", waits, want)
	}
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Wait(stopped, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with its context ended = %v; want context.Canceled", err)
	}
}

func TestLost(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"closed", amqp.ErrClosed, true},
		{"forced", &amqp.Error{Code: amqp.ConnectionForced, Reason: "shutdown"}, true},
		{"nacked", fmt.Errorf("x: %w", broker.ErrNacked), true},
		{"access refused", &amqp.Error{Code: amqp.AccessRefused}, false},
		{"not found", &amqp.Error{Code: amqp.NotFound}, false},
		{"deadline", context.DeadlineExceeded, false},
		{"disk full", &os.PathError{Op: "write", Path: "bets.csv", Err: syscall.ENOSPC}, false},
		{"reset", &net.OpError{Op: "write", Err: syscall.ECONNRESET}, true},
	}
	for _, tc := range tests {
		if got := broker.Lost(tc.err); got != tc.want {
			t.Errorf("Lost(%s: %v) = %v; want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

// TestEveryQueueCanBePeeked: a person may read any queue's messages in the
// management UI ("Get messages" is basic.get), which a quorum queue with a
// single active consumer refuses.
func TestEveryQueueCanBePeeked(t *testing.T) {
	_, conn := setup(t)
	for _, q := range broker.ForAgencies(1, 2).Queues {
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ch.Get(q.Name, false); err != nil {
			t.Errorf("basic.get on %s: %v; want it allowed", q.Name, err)
			continue
		}
		ch.Close()
	}
}

// TestURLListsAreRedactedWhole: every password of a list is masked, and the
// user is the first URL's.
func TestURLListsAreRedactedWhole(t *testing.T) {
	list := "amqp://agency-1:first-secret@node1:5672/lottery, amqp://agency-1:second-secret@node2:5672/lottery"
	if got := broker.URLs(list); len(got) != 2 || !strings.HasPrefix(got[1], "amqp://agency-1:second-secret@node2") {
		t.Errorf("URLs = %q; want both URLs, trimmed", got)
	}
	for name, got := range map[string]string{"Redact": broker.Redact(list), "Where": broker.Where(list)} {
		if strings.Contains(got, "secret") || !strings.Contains(got, "node1:5672/lottery") || !strings.Contains(got, "node2:5672/lottery") {
			t.Errorf("%s(list) = %q; want both brokers and no password", name, got)
		}
	}
	if got := broker.User(list); got != "agency-1" {
		t.Errorf("User(list) = %q; want agency-1", got)
	}
}

// TestDialerTriesTheNodesInTurn: a Dialer connects to the first broker of
// its list that answers, and after that starts with the next one, so that a
// program whose connection is lost tries the other nodes first.
func TestDialerTriesTheNodesInTurn(t *testing.T) {
	live := brokertest.Vhost(t)
	dead := "amqp://guest:guest@127.0.0.1:" + strconv.Itoa(brokertest.FreePorts(t, 1)[0]) + "/"
	d := broker.NewDialer(broker.Config{URL: dead + "," + live, MaxBackoff: 10 * time.Millisecond})
	log, hook := test.NewNullLogger()
	for round := 1; round <= 2; round++ {
		hook.Reset()
		c, err := d.Dial(ctx(t), log)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		var nodes []string
		for _, e := range hook.AllEntries() {
			nodes = append(nodes, fmt.Sprint(e.Data["nodo"]))
		}
		// The first round starts at node 1; the second after node 2, where it
		// connected: at node 1 again, which fails, then node 2.
		if want := []string{"1/2", "2/2"}; c.URL != live || !slices.Equal(nodes, want) {
			t.Errorf("round %d: connected to %s trying nodes %v; want %s after %v", round, broker.Redact(c.URL), nodes, broker.Redact(live), want)
		}
	}
}
