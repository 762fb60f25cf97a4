package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// Run is the lottery, from start to SIGTERM (ctx's end), wired in
// dependency order: data directory, journal recovery, then a session
// (connection, topology, publisher, consumers) that is opened again whenever
// the connection is lost. Each is closed on the way out, and each close is
// logged. It returns nil when stopped, and an error a restart cannot mend.
func Run(ctx context.Context, cfg Config, log logrus.FieldLogger) (err error) {
	broker.LogCertificate(cfg.broker, time.Now(), log)
	if !cfg.memoryLimitSet {
		debug.SetMemoryLimit(cfg.memoryLimit())
	}
	closing := logfmt.Closer(log, &err, nil)

	if err := os.MkdirAll(cfg.dataDir, 0o755); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	st, store, jour, err := recoverState(cfg, log)
	if err != nil {
		return err
	}
	l := &lottery{cfg: cfg, log: log, store: store, journal: jour, state: st, free: make(chan []bet.Bet, cfg.group)}
	// The files the lottery holds at the end: a failed group opens them again.
	defer closing("bets.csv", func() error { return l.store.Close() })
	defer closing("journal", func() error { return l.journal.Close() })
	if err := l.recovered(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped during start-up: nothing was in flight
		}
		return err
	}
	lanes := newLanes(cfg.broker)
	var backoff broker.Backoff
	var closes closeTally
	defer closes.flush(log)
	careful, quick := false, false
	for {
		start := time.Now()
		err := session(ctx, cfg, lanes, l, log, careful, quick)
		quick = false
		switch {
		case err == nil:
			return nil // stopped by SIGTERM
		case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, broker.ErrConnectionLost)):
			return nil // stopping anyway: nothing is left in flight
		case ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
			// The drain deadline cut in-flight work short: what was not
			// acked comes again, and a draw not journaled is made again.
			log.WithFields(logrus.Fields{logfmt.ResultKey: logfmt.InProgress, "error": err}).Info(logfmt.ApagadoConPendientes)
			return nil
		case errors.Is(err, errSteady):
			careful = false
			closes.flush(log)
		case broker.Undecodable(err):
			// One message's fault, not the broker's: connect again at once,
			// carefully, so that it alone comes back, until its queue's
			// delivery limit sets it aside.
			careful, quick = true, true
			closes.add(err, log)
		case errors.Is(err, broker.ErrConnectionLost):
			closes.flush(log)
			lasted := time.Since(start)
			careful = lasted < carefulAfter
			log.WithFields(logrus.Fields{logfmt.ResultKey: logfmt.InProgress, "error": err, "cuidadosa": careful}).Info(logfmt.Reconexion)
			if _, err := backoff.Wait(ctx, lasted); err != nil {
				return nil // stopped while waiting: nothing is in flight
			}
		default:
			return err
		}
	}
}

const (
	carefulAfter = 10 * time.Second // a connection lost sooner makes the one after it careful
	carefulFor   = 10 * time.Second // how long a careful session lasts
)

// errSteady ends a careful session that has run its time.
var errSteady = errors.New("careful session over")

// requestsPrefetch is how many winners requests the broker may hand the
// lottery at once: they are few and small.
const requestsPrefetch = 16

// lanes are the lottery's three connections, each with a dialer of its own
// that moves on through a cluster's nodes by itself: one publishes (replies,
// dead letters) and declares the topology, and each queue the lottery
// consumes has one to itself. A message amqp091-go cannot decode closes
// only the connection it came on: the deliveries of the other queue are
// finished and acked before the session ends, not sent back one delivery
// nearer their delivery limit, and nothing waits to see which queue the
// message was in.
type lanes struct {
	publish, bets, requests *broker.Dialer
}

func newLanes(cfg broker.Config) lanes {
	named := func(suffix string) *broker.Dialer {
		c := cfg
		c.Name += suffix
		return broker.NewDialer(c)
	}
	return lanes{publish: named(""), bets: named(" bets"), requests: named(" requests")}
}

// closeTallyEvery is how often connections closed on undecodable messages
// are logged, as a count.
const closeTallyEvery = 10 * time.Second

// closeTally counts the connections closed on messages amqp091-go cannot
// decode and logs them as one line an interval: the first close at once,
// then how many came since, at most every closeTallyEvery, and the rest
// when they stop. A sender can cause thousands; the log stays readable.
type closeTally struct {
	n      int       // closes not yet logged
	cause  error     // the last one's
	logged time.Time // when a line was last written
}

func (c *closeTally) add(err error, log logrus.FieldLogger) {
	c.n++
	c.cause = err
	if c.logged.IsZero() || time.Since(c.logged) >= closeTallyEvery {
		c.flush(log)
	}
}

// flush logs the closes not yet logged, if any.
func (c *closeTally) flush(log logrus.FieldLogger) {
	if c.n == 0 {
		return
	}
	log.WithFields(logrus.Fields{logfmt.ResultKey: logfmt.InProgress, "cierres": c.n, "error": c.cause}).Info(logfmt.MensajeIndescifrable)
	c.n, c.logged = 0, time.Now()
}

// session connects the three lanes, makes sure the topology is there, and
// runs the service until ctx ends or a connection is lost. Deliveries taken
// on a lost connection are never acked on a new one: their channel is
// gone, the broker delivers them again, and the journal recognises what is
// already stored. quick marks a session made again at once after an
// undecodable message: its connections and start are logged at debug level.
//
// amqp091-go (v1.16) can recover connections, channels and consumers by
// itself, but it keeps the same Channel, so a Delivery taken before the
// recovery would ack its tag on the new channel, where tags restart at 1 and
// name other messages. We reconnect ourselves instead: new connections, new
// channels, and old deliveries fail to ack harmlessly.
func session(ctx context.Context, cfg Config, lanes lanes, l *lottery, log logrus.FieldLogger, careful, quick bool) (err error) {
	// The error is marked lost when it came with a connection going away,
	// before the deferred closes below close them on purpose.
	var conns []*amqp.Connection
	lost := func(err error) error {
		for _, c := range conns {
			if err = broker.MarkLost(c, err); errors.Is(err, broker.ErrConnectionLost) {
				break
			}
		}
		return err
	}
	closing := logfmt.Closer(log, &err, func() bool { return slices.ContainsFunc(conns, (*amqp.Connection).IsClosed) })
	open := func(d *broker.Dialer) (*amqp.Connection, error) {
		dial := d.Dial
		if quick {
			dial = d.Redial
		}
		c, err := dial(ctx, log)
		if err != nil {
			return nil, err
		}
		conns = append(conns, c.Connection)
		return c.Connection, nil
	}
	pubConn, err := open(lanes.publish)
	if err != nil {
		return err
	}
	defer closing("connection", pubConn.Close)
	// A quick session follows one that made sure of the topology a moment ago.
	if !quick {
		if err := broker.ForFirst(cfg.agencies, cfg.replicas...).Apply(pubConn, cfg.topology); err != nil {
			return lost(err)
		}
	}
	pub, err := broker.NewPublisher(pubConn, 1)
	if err != nil {
		return lost(err)
	}
	defer closing("publisher channel", pub.Close)
	prefetch, reqPrefetch := cfg.prefetch, requestsPrefetch
	var steady <-chan time.Time
	if careful {
		prefetch, reqPrefetch = 1, 1
		timer := time.NewTimer(carefulFor)
		defer timer.Stop()
		steady = timer.C
	}
	reqConn, err := open(lanes.requests)
	if err != nil {
		return err
	}
	defer closing("requests connection", reqConn.Close)
	requests, err := broker.Consume(reqConn, broker.RequestsQueueOf(cfg.replica), reqPrefetch)
	if err != nil {
		return lost(err)
	}
	defer closing("requests consumer channel", requests.Close)
	betsConn, err := open(lanes.bets)
	if err != nil {
		return err
	}
	defer closing("bets connection", betsConn.Close)
	bets, err := broker.Consume(betsConn, broker.BetsQueueOf(cfg.replica), prefetch)
	if err != nil {
		return lost(err)
	}
	defer closing("bets consumer channel", bets.Close)

	fields := logrus.Fields{"agencias": cfg.agencies, "datos": cfg.dataDir, "identidad": identityName(cfg.identity), "cuidadosa": careful}
	if cfg.replica != "" {
		fields["replica"], fields["replicas"] = cfg.replica, strings.Join(cfg.replicas, ",")
	}
	level := logrus.InfoLevel
	if quick {
		level = logrus.DebugLevel
	}
	log.WithFields(fields).Log(level, logfmt.LotteryIniciado)
	l.pub = pub
	return lost(l.Run(ctx, bets, requests, steady))
}

// recoverState opens the store and the journal, rebuilds the state from the
// journal, and cuts bets.csv back to the last committed offset: rows written
// after it belong to batches that were never acked and will come again.
func recoverState(cfg Config, log logrus.FieldLogger) (*state, *bet.Store, *journal, error) {
	jour, recs, err := openJournal(cfg.journalPath(), func(recs []record) error { return sameDraw(recs, cfg) })
	if err != nil {
		return nil, nil, nil, err
	}
	if len(recs) == 0 {
		jour.add(record{Op: opDraw, Agencies: cfg.agencies})
		if err := jour.commit(); err != nil {
			jour.Close()
			return nil, nil, nil, err
		}
	}
	st := newState(cfg.agencies)
	for _, r := range recs {
		st.apply(r)
	}
	store, err := bet.OpenStore(cfg.betsPath())
	if err != nil {
		jour.Close()
		return nil, nil, nil, err
	}
	if store.Size() < st.end {
		store.Close()
		jour.Close()
		return nil, nil, nil, fmt.Errorf("recover: %s holds %d bytes but the journal committed %d: the data directory is damaged", cfg.betsPath(), store.Size(), st.end)
	}
	if dropped := store.Size() - st.end; dropped > 0 {
		if err := store.Truncate(st.end); err != nil {
			store.Close()
			jour.Close()
			return nil, nil, nil, err
		}
		log.WithField("bytes_descartados", dropped).Info(logfmt.Recuperacion)
	}
	if len(recs) > 0 {
		batches := 0
		for _, a := range st.agency {
			batches += len(a.received)
		}
		log.WithFields(logrus.Fields{
			"lotes":     batches,
			"sorteo":    st.drawn,
			"agencias":  joinInts(finishedAgencies(st)),
			"pendiente": len(st.pending),
		}).Info(logfmt.EstadoRecuperado)
	}
	return st, store, jour, nil
}

// sameDraw checks that the draw a journal holds is the one the settings
// describe, so that a lottery started with another LOTTERY_AGENCIES never
// goes on with a draw among a different set of agencies. A journal records
// LOTTERY_AGENCIES in its first record; one written before it did is
// checked against the highest agency it names.
func sameDraw(recs []record, cfg Config) error {
	const how = "to go on with that draw, or start a new draw (with docker compose: make reset; " +
		"natively: an empty LOTTERY_DATA_DIR and a new vhost); nothing was changed"
	if len(recs) > 0 && recs[0].Op == opDraw {
		if n := recs[0].Agencies; n != cfg.agencies {
			return fmt.Errorf("%s holds a draw among %d agencies, but LOTTERY_AGENCIES is %d: run with LOTTERY_AGENCIES=%d %s", cfg.dataDir, n, cfg.agencies, n, how)
		}
		return nil
	}
	highest := 0
	for _, r := range recs {
		highest = max(highest, r.Agency)
	}
	if highest > cfg.agencies {
		return fmt.Errorf("%s holds a draw in which agency %d takes part, but LOTTERY_AGENCIES is %d: run with LOTTERY_AGENCIES=%d or more %s", cfg.dataDir, highest, cfg.agencies, highest, how)
	}
	return nil
}

func finishedAgencies(st *state) []int {
	var ids []int
	for _, id := range st.ids() {
		if st.agency[id].finished {
			ids = append(ids, id)
		}
	}
	return ids
}
