package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/await"
	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// These tests attack the running lottery as a buggy or malicious agency
// would, through the broker, and check that each message is refused with
// its reason or set aside, and that nothing honest is lost.

// batchOf is a batch of agency from rows, with the fingerprint fp.
func batchOf(agency, seq int, fp string, rows ...string) amqp.Publishing {
	body := strings.Join(rows, "\r\n") + "\r\n"
	return broker.Batch{Agency: agency, Seq: seq, Bets: len(rows), Fingerprint: fp, Body: []byte(body)}.Publishing()
}

// TestHostileFinishedCounts: a finished event announcing the most batches
// an int holds is refused at once; the lottery goes on to the draw and
// stops on SIGTERM as usual.
func TestHostileFinishedCounts(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	files := w.gendata(30, 1, 2)
	lot := w.startLottery(2)
	huge := broker.Finished{Agency: 2, Batches: 1 << 62, Bets: 1 << 62, Fingerprint: "f"}.Publishing()
	w.publish(broker.FinishedKey, huge)
	w.waitFor("lottery", 10*time.Second, logfmt.Logged(logfmt.MensajeRechazado).Failing("announces 4611686018427387904 batches: want 0 to 1000000"))
	waitOK(t, w.startAgencies(files))
	w.waitFor("lottery", time.Second, logfmt.Logged(logfmt.Sorteo).With("ganadores", "3"))
	stopOK(t, lot)
}

// TestHostileRowTooLong: a row longer than any reader takes is refused on
// arrival, so that the draw, which reads rows under the same limit, never
// meets it in bets.csv.
func TestHostileRowTooLong(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	files := w.gendata(30, 1)
	lot := w.startLottery(1)
	long := strings.Repeat("N", bet.MaxRowBytes) + ",B,1,2000-01-01,7574"
	w.publish(broker.BatchKey, batchOf(1, 9, "f", long))
	w.waitFor("lottery", 10*time.Second, logfmt.Logged(logfmt.ApuestaRecibida).Failing("line 1: row longer than 4096 bytes"))
	waitOK(t, w.startAgencies(files))
	w.waitFor("lottery", time.Second, logfmt.Logged(logfmt.Sorteo).With("ganadores", "1"))
	stopOK(t, lot)
	stored := w.storedBets()
	for _, b := range stored {
		if len(b.FirstName) > 100 {
			t.Error("bets.csv holds the long row")
		}
	}
	if len(stored) != 30 {
		t.Errorf("bets.csv holds %d bets; want the agency's 30", len(stored))
	}
}

// TestHostileHeaders: headers amqp091-go cannot decode close the lottery's
// connection before it sees the message; the queue's delivery limit has the
// broker set the message aside after a bounded number of attempts, which
// back off, and the careful sessions after each such loss keep the batches
// around it from coming back with it: an honest batch published right
// behind the poisoned one is stored. Headers amqp091-go can decode but that
// are over the protocol's limits are refused, and dead-lettered without
// them.
//
// The test declares the topology itself with a delivery limit of 3 instead
// of broker.DeliveryLimit, and runs the lottery in verify mode, so that it
// takes seconds: the limit and the broker's dead-lettering are the same
// mechanism at any number.
func TestHostileHeaders(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	const limit = 3
	topology := broker.ForFirst(2)
	for _, q := range topology.Queues {
		if q.Name == broker.BetsQueue || q.Name == broker.RequestsQueue {
			q.Args["x-delivery-limit"] = int32(limit)
		}
	}
	if err := topology.Apply(brokertest.Dial(t, w.url), broker.Declare); err != nil {
		t.Fatal(err)
	}
	files := w.gendata(30, 1)
	lot := w.startLottery(2, "TOPOLOGY_MODE=verify")

	deep := amqp.Table{}
	for range 40 {
		deep = amqp.Table{"d": deep}
	}
	poison := batchOf(1, 5, "f", "A,B,1,2000-01-01,7574")
	poison.Headers["deep"] = deep
	big := batchOf(1, 6, "f", "A,B,1,2000-01-01,7574")
	big.Headers["big"] = strings.Repeat("x", 100<<10)
	honest := batchOf(2, 1, "f2", "E,F,3,2000-01-01,7574")
	w.publish(broker.BatchKey, poison, big, honest)
	w.publish(broker.FinishedKey, broker.Finished{Agency: 2, Batches: 1, Bets: 1, Fingerprint: "f2"}.Publishing())
	poisonRequest := broker.WinnersRequest{Agency: 1, Fingerprint: "f"}.Publishing()
	poisonRequest.Headers["deep"], poisonRequest.CorrelationId = deep, "poison"
	w.publishTo(broker.RequestsExchange, broker.WinnersKey, poisonRequest)

	w.waitFor("lottery", 60*time.Second, logfmt.Logged(logfmt.ApuestaRecibida).Failing("over the limit of 16 headers and 4096 bytes"))
	w.waitFor("lottery", 60*time.Second, logfmt.Logged(logfmt.ApuestaRecibida).Is(logfmt.Success).With("agencia", "2").With("lote", "1"))
	await.For(t, 60*time.Second, func() error {
		if n := queueMessages(t, w, broker.DeadQueue); n < 3 {
			return fmt.Errorf("the dead-letter queue holds %d messages; want the two poisoned messages and the big one", n)
		}
		return nil
	})
	waitOK(t, w.startAgencies(files, "TOPOLOGY_MODE=verify"))
	w.waitFor("lottery", 10*time.Second, logfmt.Logged(logfmt.Sorteo).With("ganadores", "2"))
	stopOK(t, lot)
	if closes := undecodableCloses(t, w); closes == 0 || closes > 2*(limit+1) {
		t.Errorf("the lottery counted %d connections closed on undecodable messages; want 1 to %d: one for each delivery of the two poisoned messages, the first and %d more each", closes, 2*(limit+1), limit)
	}
	// The big one, as the lottery dead-lettered it, without its headers.
	if got := deadLetterHeaders(t, w, "agency-1.batch-6"); got["big"] != nil || got[broker.HeaderDropped] == nil {
		t.Errorf("the dead letter of the batch with big headers has headers %v; want them left out, and %s saying so", keys(got), broker.HeaderDropped)
	}
}

// undecodableCloses is how many connections the lottery counted as closed
// on messages it could not decode, from its mensaje_indescifrable lines.
func undecodableCloses(t *testing.T, w *world) int {
	t.Helper()
	n := 0
	for _, e := range w.events(t) {
		if e.proc == "lottery" && e.Action == logfmt.MensajeIndescifrable {
			n += e.int(t, "cierres")
		}
	}
	return n
}

// TestUndecodableMessagesStallLittle: an agency's user, with its own login
// and nothing more, puts two messages amqp091-go cannot decode (9,000
// headers; headers nested 40 levels deep) ahead of the honest agencies'
// batches, with the queues' real delivery limit. Every honest agency still
// gets its winners within 15 s of its finished event, the draw counts only
// their bets, and the lottery logs the closes as counts, not a line each.
func TestUndecodableMessagesStallLittle(t *testing.T) {
	vhost, prefix := importDefinitions(t)
	w := &world{t: t, url: userURL(vhost, prefix, "lottery"), dir: t.TempDir()}
	defer w.dump()
	const agencies = 3
	winners := []int{2, 1, 0}
	files := w.gendata(3000, winners...)
	lot := w.startLottery(agencies, "TOPOLOGY_MODE=verify", "LOTTERY_IDENTITY=user", "LOTTERY_USER_PATTERN="+prefix+"agency-{id}")

	wide := amqp.Table{}
	for i := range 9000 {
		wide[strconv.Itoa(i)] = int32(i)
	}
	deep := amqp.Table{}
	for range 40 {
		deep = amqp.Table{"d": deep}
	}
	attacker := brokertest.Channel(t, brokertest.Dial(t, userURL(vhost, prefix, "agency-5")))
	for i, h := range []amqp.Table{wide, {"deep": deep}} {
		m := batchOf(5, i+1, "attack", "A,B,1,2000-01-01,7574")
		m.UserId, m.Headers = prefix+"agency-5", h
		if err := attacker.PublishWithContext(context.Background(), broker.BetsExchange, broker.BatchKey, false, false, m); err != nil {
			t.Fatal(err)
		}
	}
	var procs []*proc
	for i, f := range files {
		id := strconv.Itoa(i + 1)
		procs = append(procs, w.start("agency-"+id, "agency", "CLI_ID="+id, "CLI_DATA_FILE="+f, "CLI_BATCH_MAXAMOUNT=100",
			"TOPOLOGY_MODE=verify", "AMQP_URL="+userURL(vhost, prefix, "agency-"+id)))
	}
	waitOK(t, procs)
	for _, p := range procs {
		finished, answered := w.when(p.name, logfmt.Logged(logfmt.EnvioFinalizado)), w.when(p.name, logfmt.Logged(logfmt.ConsultaGanadores))
		if finished.IsZero() || answered.IsZero() {
			t.Errorf("%s logged envio_finalizado at %v and consulta_ganadores at %v; want both", p.name, finished, answered)
		} else if waited := answered.Sub(finished); waited > 15*time.Second {
			t.Errorf("%s got its winners %s after its finished event; want 15 s at most", p.name, waited.Round(time.Millisecond))
		} else {
			t.Logf("%s got its winners %s after its finished event", p.name, waited.Round(time.Millisecond))
		}
	}
	stopOK(t, lot)
	check(t, w, files, 100, winners, filepath.Join(w.lotteryDir(), "bets.csv"))
	// The management API's counts lag by a few seconds.
	await.For(t, 30*time.Second, func() error {
		if n := queueMessages(t, w, broker.DeadQueue); n != 2 {
			return fmt.Errorf("the dead-letter queue holds %d messages; want the two undecodable ones", n)
		}
		return nil
	})
	closes, lines := undecodableCloses(t, w), 0
	for _, e := range w.find(t, "lottery", logfmt.Match{}) {
		switch {
		case e.Action == logfmt.MensajeIndescifrable:
			lines++
		case e.Action == logfmt.Reconexion, logfmt.Logged(logfmt.LotteryIniciado).With("cuidadosa", "true").Matches(e.Event):
			t.Errorf("a line for one close: %v", e.Event)
		}
	}
	// Each message is delivered until the queue's limit of 50 sets it aside.
	if closes < 2*broker.DeliveryLimit || closes > 2*(broker.DeliveryLimit+1) {
		t.Errorf("the lottery counted %d closes; want %d to %d, each message's deliveries", closes, 2*broker.DeliveryLimit, 2*(broker.DeliveryLimit+1))
	}
	if lines == 0 || lines > 3 {
		t.Errorf("the lottery logged the closes in %d lines; want a count every ten seconds", lines)
	}
	t.Logf("%d closes in %d lines", closes, lines)
}

// queueMessages is how many messages queue holds, from the management API
// (a consumer could not read a message amqp091-go cannot decode).
func queueMessages(t *testing.T, w *world, queue string) int {
	t.Helper()
	u, _ := url.Parse(w.url)
	var q struct{ Messages int }
	b := brokertest.Request(t, "GET", "/api/queues/"+url.PathEscape(strings.TrimPrefix(u.Path, "/"))+"/"+queue, "")
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	return q.Messages
}

// deadLetterHeaders finds the dead letter with message id id through the
// management API and returns its headers.
func deadLetterHeaders(t *testing.T, w *world, id string) map[string]any {
	t.Helper()
	u, _ := url.Parse(w.url)
	var msgs []struct {
		Properties struct {
			MessageID string         `json:"message_id"`
			Headers   map[string]any `json:"headers"`
		}
	}
	b := brokertest.Request(t, "POST", "/api/queues/"+url.PathEscape(strings.TrimPrefix(u.Path, "/"))+"/"+broker.DeadQueue+"/get",
		`{"count":10,"ackmode":"ack_requeue_true","encoding":"auto","truncate":100}`)
	if err := json.Unmarshal(b, &msgs); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Properties.MessageID == id {
			return m.Properties.Headers
		}
	}
	t.Fatalf("no dead letter with message id %q", id)
	return nil
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestHostileUnannouncedBatch: the draw counts batches 1…N of a finished
// event that announces N, whatever else was stored before it came, and says
// where what was stored differs from what was announced.
func TestHostileUnannouncedBatch(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	lot := w.startLottery(1)
	w.publish(broker.BatchKey, batchOf(1, 1, "f", "C,D,2,2000-01-01,1"), batchOf(1, 1000, "f", "A,B,1,2000-01-01,7574"))
	w.waitFor("lottery", 10*time.Second, logfmt.Logged(logfmt.ApuestaRecibida).With("lote", "1000")) // and batch 1 before it
	w.publish(broker.FinishedKey, broker.Finished{Agency: 1, Batches: 1, Bets: 2, Fingerprint: "f"}.Publishing())
	w.waitFor("lottery", 10*time.Second, logfmt.Logged(logfmt.Sorteo).With("ganadores", "0"))
	w.waitFor("lottery", time.Second, logfmt.Logged(logfmt.LotesNoAnunciados).Is(logfmt.Fail).With("detalle", "1/1000"))
	w.waitFor("lottery", time.Second, logfmt.Logged(logfmt.ApuestasAnunciadas).Is(logfmt.Fail).With("anunciadas", "2").With("guardadas", "1").With("agencia", "1"))
	stopOK(t, lot)
}

// TestHostileSameCorrelationID: two agencies' requests with one correlation
// id, before the draw, are two requests: each agency gets its answer.
func TestHostileSameCorrelationID(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	lot := w.startLottery(2)
	for _, agency := range []int{1, 2} {
		req := broker.WinnersRequest{Agency: agency, Fingerprint: "f"}.Publishing()
		req.CorrelationId, req.ReplyTo = "same", broker.ReplyQueue(agency)
		w.publishTo(broker.RequestsExchange, broker.WinnersKey, req)
	}
	w.publish(broker.FinishedKey,
		broker.Finished{Agency: 1, Fingerprint: "f"}.Publishing(),
		broker.Finished{Agency: 2, Fingerprint: "f"}.Publishing())
	w.waitFor("lottery", 10*time.Second, logfmt.Logged(logfmt.Sorteo))
	ch := brokertest.Channel(t, brokertest.Dial(t, w.url))
	for _, agency := range []int{1, 2} {
		queue := broker.ReplyQueue(agency)
		await.For(t, 10*time.Second, func() error {
			d, ok, err := ch.Get(queue, true)
			switch {
			case err != nil:
				t.Fatal(err)
			case !ok:
				return fmt.Errorf("%s: no reply", queue)
			case d.CorrelationId != "same":
				t.Errorf("%s: a reply with correlation id %q; want \"same\"", queue, d.CorrelationId)
			}
			return nil
		})
	}
	stopOK(t, lot)
}

// TestHostileResentBatchWithOtherRows: a batch number sent again with other
// rows is refused with the reason; the same rows again are a duplicate.
func TestHostileResentBatchWithOtherRows(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	lot := w.startLottery(1)
	first := batchOf(1, 1, "f", "A,B,1,2000-01-01,7574")
	w.publish(broker.BatchKey, first, batchOf(1, 1, "f", "Z,Z,9,2000-01-01,7574", "Y,Y,8,2000-01-01,7574"), first)
	w.waitFor("lottery", 10*time.Second, logfmt.Logged(logfmt.ApuestaRecibida).Failing("batch 1 of agency 1 was stored with other content"))
	w.waitFor("lottery", 10*time.Second, logfmt.Logged(logfmt.LoteDuplicado).With("agencia", "1").With("lote", "1"))
	w.publish(broker.FinishedKey, broker.Finished{Agency: 1, Batches: 1, Bets: 1, Fingerprint: "f"}.Publishing())
	w.waitFor("lottery", 10*time.Second, logfmt.Logged(logfmt.Sorteo).With("ganadores", "1"))
	stopOK(t, lot)
	if b, err := os.ReadFile(filepath.Join(w.lotteryDir(), "bets.csv")); err != nil || string(b) != "1,A,B,1,2000-01-01,7574\r\n" {
		t.Errorf("bets.csv = %q, %v; want the first batch's row only", b, err)
	}
}

// TestAgencyBatchOverTheMessageLimit: an agency whose batches would be over
// the bytes a message may take stops before it sends anything, with one
// fail line naming the batch and the limit.
func TestAgencyBatchOverTheMessageLimit(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	path := filepath.Join(w.dir, "long.csv")
	row := strings.Repeat("n", 3000) + ",B,1,2000-01-01,5\n"
	if err := os.WriteFile(path, []byte(strings.Repeat(row, 400)), 0o644); err != nil {
		t.Fatal(err)
	}
	a := w.start("agency-1", "agency", "CLI_ID=1", "CLI_DATA_FILE="+path, "CLI_BATCH_MAXAMOUNT=400")
	if code := a.wait(t, exitWithin); code != 1 {
		t.Errorf("agency exited %d; want 1", code)
	}
	fails := w.find(t, "agency-1", logfmt.Failures())
	if tooBig := logfmt.Logged(logfmt.Agencia).Failing("from line 1 would take over 1048576 bytes", "lower CLI_BATCH_MAXAMOUNT"); len(fails) != 1 || !tooBig.Matches(fails[0].Event) {
		t.Errorf("fail lines %v; want one with %s", fails, tooBig)
	}
	if connected := w.find(t, "agency-1", logfmt.Logged(logfmt.ConexionBroker)); len(connected) > 0 {
		t.Errorf("the agency connected before refusing its own file: %v", connected)
	}
}
