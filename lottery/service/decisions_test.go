package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/await"
)

// The lottery's decisions, driven in-process against small fakes of what it
// declares it needs (a publisher, consumers, acks): what it stores, refuses,
// answers, and when.

// fakePublisher records what the lottery publishes, and fails a publish to
// an exchange while fail names it.
type fakePublisher struct {
	sent []sent
	fail string
}

type sent struct {
	exchange, key string
	msg           amqp.Publishing
}

func (p *fakePublisher) PublishConfirmed(_ context.Context, exchange, key string, msg amqp.Publishing) error {
	if exchange == p.fail {
		return fmt.Errorf("publish to %s: %w", exchange, broker.ErrConnectionLost)
	}
	p.sent = append(p.sent, sent{exchange, key, msg})
	return nil
}

// to is what was published to exchange.
func (p *fakePublisher) to(exchange string) []sent {
	var out []sent
	for _, s := range p.sent {
		if s.exchange == exchange {
			out = append(out, s)
		}
	}
	return out
}

// acks records the acks of deliveries, by delivery tag.
type acks struct {
	mu   sync.Mutex
	tags []uint64
}

func (a *acks) Ack(tag uint64, multiple bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tags = append(a.tags, tag)
	return nil
}

func (a *acks) acked(tag uint64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Contains(a.tags, tag)
}

func (a *acks) Nack(tag uint64, multiple, _ bool) error {
	return errors.New("nack: the lottery never nacks")
}
func (a *acks) Reject(tag uint64, _ bool) error {
	return errors.New("reject: the lottery never rejects")
}

// bench is a lottery on a temporary data directory, identity from headers,
// with a fake publisher and a log the test can read.
type bench struct {
	t    *testing.T
	l    *lottery
	pub  *fakePublisher
	acks *acks
	logs *test.Hook
	tag  uint64
}

func newBench(t *testing.T, agencies int) *bench {
	t.Helper()
	cfg := Config{agencies: agencies, dataDir: t.TempDir(), group: 8, statusEvery: time.Hour, drain: time.Second}
	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	st, store, jour, err := recoverState(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	l := &lottery{cfg: cfg, log: log, store: store, journal: jour, state: st, free: make(chan []bet.Bet, cfg.group)}
	t.Cleanup(func() { l.store.Close(); l.journal.Close() })
	b := &bench{t: t, l: l, pub: &fakePublisher{}, acks: &acks{}, logs: hook}
	l.pub = b.pub
	return b
}

// delivery is msg as the broker would hand it over, with the next tag.
func (b *bench) delivery(msg amqp.Publishing) amqp.Delivery {
	b.tag++
	return amqp.Delivery{Acknowledger: b.acks, DeliveryTag: b.tag, Headers: msg.Headers, ContentType: msg.ContentType,
		Type: msg.Type, MessageId: msg.MessageId, CorrelationId: msg.CorrelationId, ReplyTo: msg.ReplyTo, Body: msg.Body}
}

// bets hands msgs to the lottery as one group from the bets queue.
func (b *bench) bets(msgs ...amqp.Publishing) error {
	b.t.Helper()
	var group []incoming
	for _, m := range msgs {
		group = append(group, b.l.read(b.delivery(m)))
	}
	return b.l.handleBets(context.Background(), group)
}

// request hands a winners request of agency to the lottery.
func (b *bench) request(agency int, correlation string) error {
	b.t.Helper()
	m := broker.WinnersRequest{Agency: agency, Fingerprint: "f"}.Publishing()
	m.CorrelationId, m.ReplyTo = correlation, broker.ReplyQueue(agency)
	return b.l.handleRequest(context.Background(), b.delivery(m))
}

// actions lists the log's actions, "action" or "action/fail".
func (b *bench) actions() []string {
	var out []string
	for _, e := range b.logs.AllEntries() {
		a := e.Message
		if e.Level <= logrus.ErrorLevel {
			a += "/fail"
		}
		out = append(out, a)
	}
	return out
}

// stored is what bets.csv holds, row by row, without the agency.
func (b *bench) stored() []string {
	b.t.Helper()
	var out []string
	for x, err := range bet.LoadBets(b.l.cfg.betsPath()) {
		if err != nil {
			b.t.Fatal(err)
		}
		out = append(out, x.FirstName)
	}
	return out
}

func batch(agency, seq int, fp string, names ...string) amqp.Publishing {
	var rows []string
	for i, n := range names {
		rows = append(rows, fmt.Sprintf("%s,B,%d,2000-01-01,%d", n, i, 7574*(i%2)))
	}
	return batchOf(agency, seq, fp, rows...)
}

func batchOf(agency, seq int, fp string, rows ...string) amqp.Publishing {
	return broker.Batch{Agency: agency, Seq: seq, Bets: len(rows), Fingerprint: fp, Body: []byte(strings.Join(rows, "\r\n") + "\r\n")}.Publishing()
}

func finished(agency, batches, bets int, fp string) amqp.Publishing {
	return broker.Finished{Agency: agency, Batches: batches, Bets: bets, Fingerprint: fp}.Publishing()
}

func TestDecisions(t *testing.T) {
	for _, tc := range []struct {
		name        string
		agencies    int
		steps       func(b *bench) error
		stored      []string // bets.csv's first names, in order
		deadLetters []string // the reasons, in order
		actions     []string // the log's actions that matter, in order
	}{
		{
			name: "a duplicate batch is acked and stored once", agencies: 1,
			steps: func(b *bench) error {
				return errors.Join(b.bets(batch(1, 1, "f", "A", "B")), b.bets(batch(1, 1, "f", "A", "B")))
			},
			stored:  []string{"A", "B"},
			actions: []string{"apuesta_recibida", "lote_duplicado"},
		},
		{
			name: "a batch of an agency outside the draw is refused and not recorded", agencies: 2,
			steps:       func(b *bench) error { return b.bets(batch(3, 1, "f", "A")) },
			deadLetters: []string{"agency 3 does not take part (agencies 1-2)"},
			actions:     []string{"apuesta_recibida/fail"},
		},
		{
			name: "a fingerprint that changed is refused", agencies: 1,
			steps: func(b *bench) error {
				return errors.Join(b.bets(batch(1, 1, "f", "A")), b.bets(batch(1, 2, "g", "B")))
			},
			stored:      []string{"A"},
			deadLetters: []string{`file fingerprint "g" differs from the "f" this agency sent before`},
			actions:     []string{"apuesta_recibida", "apuesta_recibida/fail"},
		},
		{
			name: "a finished event repeated with other counts is refused; with the same, it is a duplicate", agencies: 2,
			steps: func(b *bench) error {
				return errors.Join(b.bets(finished(1, 2, 10, "f")), b.bets(finished(1, 3, 10, "f")), b.bets(finished(1, 2, 10, "f")))
			},
			deadLetters: []string{"announces 3 batches and 10 bets; it announced 2 and 10 before"},
			actions:     []string{"agencia_finalizada", "mensaje_rechazado/fail", "fin_duplicado"},
		},
		{
			name: "a batch beyond the count its agency announced is refused and settled", agencies: 1,
			steps: func(b *bench) error {
				return errors.Join(b.bets(finished(1, 1, 2, "f")), b.bets(batch(1, 2, "f", "Z")), b.bets(batch(1, 1, "f", "A", "B")))
			},
			stored:      []string{"A", "B"},
			deadLetters: []string{"agency 1 announced only 1 batches"},
			actions:     []string{"agencia_finalizada", "apuesta_recibida/fail", "apuesta_recibida", "lotes_rechazados/fail", "sorteo"},
		},
		{
			name: "a bad batch is dead-lettered with its reason, counts as settled, and the draw goes on", agencies: 1,
			steps: func(b *bench) error {
				return errors.Join(b.bets(batchOf(1, 1, "f", "A,B,1,2000-02-30,1")), b.bets(finished(1, 1, 1, "f")))
			},
			deadLetters: []string{`line 1: birthdate "2000-02-30"`},
			actions:     []string{"apuesta_recibida/fail", "agencia_finalizada", "lotes_rechazados/fail", "apuestas_anunciadas/fail", "sorteo"},
		},
		{
			name: "a winners request before the draw waits for it, one after is answered at once", agencies: 2,
			steps: func(b *bench) error {
				return errors.Join(b.request(1, "early"), b.bets(batch(1, 1, "f", "A", "B"), finished(1, 1, 2, "f"), finished(2, 0, 0, "f")), b.request(2, "late"))
			},
			stored:  []string{"A", "B"},
			actions: []string{"consulta_en_espera", "agencia_finalizada", "agencia_finalizada", "apuesta_recibida", "sorteo", "respuesta_ganadores", "respuesta_ganadores"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, tc.agencies)
			if err := tc.steps(b); err != nil {
				t.Fatal(err)
			}
			if got := b.stored(); !slices.Equal(got, tc.stored) {
				t.Errorf("bets.csv holds %q; want %q", got, tc.stored)
			}
			dead := b.pub.to(broker.DeadExchange)
			if len(dead) != len(tc.deadLetters) {
				t.Errorf("%d dead letters; want %d: %q", len(dead), len(tc.deadLetters), tc.deadLetters)
			}
			for i := range min(len(dead), len(tc.deadLetters)) {
				if r, _ := dead[i].msg.Headers[broker.HeaderReason].(string); !strings.Contains(r, tc.deadLetters[i]) {
					t.Errorf("dead letter %d says %q; want %q", i, r, tc.deadLetters[i])
				}
			}
			var got []string
			for _, a := range b.actions() {
				if !slices.Contains([]string{"grupo", "estado_recuperado", "recuperacion"}, a) {
					got = append(got, a)
				}
			}
			if !slices.Equal(got, tc.actions) {
				t.Errorf("actions %q; want %q", got, tc.actions)
			}
			if !b.acks.acked(b.tag) {
				t.Errorf("the last delivery, %d, was not acked: acks %v", b.tag, b.acks.tags)
			}
		})
	}
}

// TestRequestAnsweredAfterTheDraw: the request that waited is answered with
// its own correlation id, the agency's winners, to its reply queue.
func TestRequestAnsweredAfterTheDraw(t *testing.T) {
	b := newBench(t, 1)
	if err := errors.Join(b.request(1, "c-1"), b.bets(batch(1, 1, "f", "A", "W"), finished(1, 1, 2, "f"))); err != nil {
		t.Fatal(err)
	}
	replies := b.pub.to(broker.WinnersExchange)
	if len(replies) != 1 || replies[0].key != broker.ReplyQueue(1) || replies[0].msg.CorrelationId != "c-1" ||
		string(replies[0].msg.Body) != `{"agency":1,"winners":["1"]}` {
		t.Errorf("replies %+v; want one to agency.1.winners, for c-1, with document 1", replies)
	}
}

// TestRedeliveredOlderRequestDoesNotHideTheNewer: an agency's request
// journaled on a connection that died before its ack comes again after the
// request the agency sent on its new connection; both are answered after the
// draw, so the agency gets the answer it waits for.
func TestRedeliveredOlderRequestDoesNotHideTheNewer(t *testing.T) {
	b := newBench(t, 1)
	if err := errors.Join(b.request(1, "old"), b.request(1, "new"), b.request(1, "old"),
		b.bets(batch(1, 1, "f", "A", "W"), finished(1, 1, 2, "f"))); err != nil {
		t.Fatal(err)
	}
	var answered []string
	for _, r := range b.pub.to(broker.WinnersExchange) {
		answered = append(answered, r.msg.CorrelationId)
	}
	slices.Sort(answered)
	if !slices.Equal(answered, []string{"new", "old"}) {
		t.Errorf("answered %q; want both requests, old and new, once each", answered)
	}
}

// TestReplicaNamesItsDeadLetters: every replica dead-letters its own copy
// of a message it refuses, with its name; one lottery alone names none.
func TestReplicaNamesItsDeadLetters(t *testing.T) {
	for _, replica := range []string{"", "b"} {
		b := newBench(t, 1)
		b.l.cfg.replicas, b.l.cfg.replica = []string{"a", "b"}, replica
		if replica == "" {
			b.l.cfg.replicas = nil
		}
		if err := b.bets(batch(2, 1, "f", "A")); err != nil {
			t.Fatal(err)
		}
		dead := b.pub.to(broker.DeadExchange)
		if len(dead) != 1 {
			t.Fatalf("replica %q: %d dead letters; want 1", replica, len(dead))
		}
		got, ok := dead[0].msg.Headers[broker.HeaderReplica]
		if replica == "" && ok {
			t.Errorf("one lottery alone: %s = %v; want none", broker.HeaderReplica, got)
		}
		if replica != "" && got != replica {
			t.Errorf("replica %q: %s = %v; want its name", replica, broker.HeaderReplica, got)
		}
	}
}

// TestFailedGroupLeavesWhatTheJournalSays: a group that fails before its
// journal commit (here the dead letter of its second batch cannot be sent)
// leaves the lottery exactly what its journal says, as a restart would: the
// first batch is neither in the state nor in bets.csv, and when it comes
// again it is stored and logged as received, not taken for a duplicate.
func TestFailedGroupLeavesWhatTheJournalSays(t *testing.T) {
	b := newBench(t, 1)
	b.pub.fail = broker.DeadExchange
	err := b.bets(batch(1, 1, "f", "A", "B"), batchOf(1, 2, "f", "C,D,1,2000-02-30,1"))
	if !errors.Is(err, broker.ErrConnectionLost) {
		t.Fatalf("handleBets = %v; want the lost connection", err)
	}
	if _, ok := b.l.state.batch(1, 1); ok {
		t.Error("after the failed group the state holds batch 1, which the journal does not")
	}
	if b.l.store.Size() != 0 || len(b.l.journal.pending) != 0 {
		t.Errorf("after the failed group bets.csv holds %d bytes and %d records wait for a commit; want none", b.l.store.Size(), len(b.l.journal.pending))
	}
	b.pub.fail = ""
	b.logs.Reset()
	if err := b.bets(batch(1, 1, "f", "A", "B")); err != nil {
		t.Fatal(err)
	}
	if got := b.actions(); !slices.Contains(got, "apuesta_recibida") || slices.Contains(got, "lote_duplicado") {
		t.Errorf("batch 1 again: actions %q; want it received, not a duplicate", got)
	}
	if got := b.stored(); !slices.Equal(got, []string{"A", "B"}) {
		t.Errorf("bets.csv holds %q; want batch 1 once", got)
	}
}

// TestRunStopsCleanly drives Run with fake consumers: it takes what they
// deliver and, when its context ends, cancels both, finishes what arrived,
// and returns nil.
func TestRunStopsCleanly(t *testing.T) {
	b := newBench(t, 1)
	bets, requests := newFakeConsumer(), newFakeConsumer()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.l.Run(ctx, bets, requests, nil) }()
	bets.in <- b.delivery(batch(1, 1, "f", "A"))
	await.For(t, 5*time.Second, func() error {
		if !b.acks.acked(b.tag) {
			return fmt.Errorf("delivery %d not acked", b.tag)
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after its context ended = %v; want nil", err)
	}
	if !bets.cancelled || !requests.cancelled {
		t.Error("Run did not cancel both consumers")
	}
	if got := b.stored(); !slices.Equal(got, []string{"A"}) {
		t.Errorf("bets.csv holds %q; want the batch", got)
	}
}

// fakeConsumer delivers what the test sends on in, and closes its
// deliveries when cancelled.
type fakeConsumer struct {
	in        chan amqp.Delivery
	out       chan amqp.Delivery
	cancelled bool
	lost      bool // its deliveries ended without a cancel
}

func newFakeConsumer() *fakeConsumer {
	c := &fakeConsumer{in: make(chan amqp.Delivery), out: make(chan amqp.Delivery)}
	go func() {
		defer close(c.out)
		for d := range c.in {
			c.out <- d
		}
		c.lost = !c.cancelled
	}()
	return c
}

func (c *fakeConsumer) Deliveries() <-chan amqp.Delivery { return c.out }
func (c *fakeConsumer) Err() error                       { return nil }
func (c *fakeConsumer) Cancel() error {
	c.cancelled = true
	close(c.in)
	return nil
}

// TestFailedCommitLeavesWhatTheJournalSays: a group whose journal write
// fails (here its file was closed under it) is undone as well, batch 2's
// rows cut from bets.csv, and batch 1, committed before, kept.
func TestFailedCommitLeavesWhatTheJournalSays(t *testing.T) {
	b := newBench(t, 1)
	if err := b.bets(batch(1, 1, "f", "A")); err != nil {
		t.Fatal(err)
	}
	end := b.l.store.Size()
	b.l.journal.f.Close()
	if err := b.bets(batch(1, 2, "f", "B")); err == nil {
		t.Fatal("handleBets with the journal closed = nil; want the write's error")
	}
	if _, ok := b.l.state.batch(1, 2); ok || b.l.store.Size() != end {
		t.Errorf("after the failed commit: batch 2 in the state %v, bets.csv %d bytes; want neither, and %d bytes", ok, b.l.store.Size(), end)
	}
	if err := b.bets(batch(1, 2, "f", "B")); err != nil {
		t.Fatalf("batch 2 again, with the journal open again: %v", err)
	}
	if got := b.stored(); !slices.Equal(got, []string{"A", "B"}) {
		t.Errorf("bets.csv holds %q; want A and B", got)
	}
}

// TestRunStopsTheOtherConsumer: when one consumer stops by itself (its
// connection lost) or a careful session's time is up, Run cancels the other
// and finishes what it delivered before it returns, rather than leave its
// deliveries to go back to their queue one delivery nearer its limit.
func TestRunStopsTheOtherConsumer(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(bets, requests *fakeConsumer, steady chan time.Time)
		want error
	}{
		{"the bets consumer lost", func(bets, _ *fakeConsumer, _ chan time.Time) { close(bets.in) }, broker.ErrConnectionLost},
		{"the requests consumer lost", func(_, requests *fakeConsumer, _ chan time.Time) { close(requests.in) }, broker.ErrConnectionLost},
		{"the careful session over", func(_, _ *fakeConsumer, steady chan time.Time) { steady <- time.Now() }, errSteady},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, 1)
			bets, requests := newFakeConsumer(), newFakeConsumer()
			steady := make(chan time.Time)
			done := make(chan error, 1)
			go func() { done <- b.l.Run(context.Background(), bets, requests, steady) }()
			bets.in <- b.delivery(batch(1, 1, "f", "A"))
			tc.end(bets, requests, steady)
			err := <-done
			if !errors.Is(err, tc.want) {
				t.Fatalf("Run = %v; want %v", err, tc.want)
			}
			lost := tc.want == broker.ErrConnectionLost
			for _, c := range []struct {
				name string
				c    *fakeConsumer
			}{{"bets", bets}, {"requests", requests}} {
				if alive := !lost || !c.c.lost; c.c.cancelled != alive {
					t.Errorf("the %s consumer cancelled: %v; want %v", c.name, c.c.cancelled, alive)
				}
			}
			if !b.acks.acked(1) {
				t.Error("the batch delivered before the end was not acked")
			}
		})
	}
}
