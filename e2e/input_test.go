package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

func TestAgencyRefusesInvalidFile(t *testing.T) {
	tests := []struct {
		name    string
		content string // "" with missing: the file does not exist
		missing bool
		want    []string
	}{
		{"bad date", "A,B,1,2000-01-01,1\r\nA,B,1,2000-01-01,2\r\nA,B,1,2000-02-30,3\r\n", false,
			[]string{"line 3", `birthdate "2000-02-30"`}},
		{"wrong column count", "A,B,1,2000-01-01,1\nA,B,1,2000-01-01\n", false,
			[]string{"line 2", "4 fields; want 5"}},
		{"number out of range", "A,B,1,2000-01-01,10000\n", false,
			[]string{"line 1", `number "10000"`}},
		{"number not an integer", "A,B,1,2000-01-01,12.5\n", false,
			[]string{"line 1", `number "12.5"`}},
		{"invalid UTF-8", "A,B\xff,1,2000-01-01,1\n", false,
			[]string{"line 1", "not valid UTF-8"}},
		{"missing file", "", true, []string{"no such file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			defer w.dump()
			path := filepath.Join(w.dir, "bets.csv")
			if !tc.missing {
				if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			a := w.start("agency-1", "agency", "CLI_ID=1", "CLI_DATA_FILE="+path)
			if code := a.wait(t, exitWithin); code != 1 {
				t.Errorf("agency exited %d; want 1", code)
			}
			if connected := w.find(t, "agency-1", logfmt.Logged(logfmt.ConexionBroker)); len(connected) > 0 {
				t.Errorf("agency connected to the broker with an invalid file: %v", connected)
			}
			fails := w.find(t, "agency-1", logfmt.Failures())
			if invalid := logfmt.Logged(logfmt.Agencia).Failing(append(tc.want, path)...); len(fails) != 1 || !invalid.Matches(fails[0].Event) {
				t.Errorf("fail lines = %v; want one with %s", fails, invalid)
			}
		})
	}
}

func TestAgencyOutsideTheDrawGetsAnErrorReply(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	files := w.gendata(50, 1, 2)
	lot := w.start("lottery", "lottery", "LOTTERY_AGENCIES=1", "LOTTERY_DATA_DIR="+filepath.Join(w.dir, "lottery"))
	a1 := w.start("agency-1", "agency", "CLI_ID=1", "CLI_DATA_FILE="+files[0])
	a2 := w.start("agency-2", "agency", "CLI_ID=2", "CLI_DATA_FILE="+files[1])
	if code := a1.wait(t, exitWithin); code != 0 {
		t.Errorf("agency 1 exited %d; want 0", code)
	}
	if code := a2.wait(t, exitWithin); code != 1 {
		t.Errorf("agency 2, which does not take part, exited %d; want 1", code)
	}
	w.waitFor("agency-1", time.Second, logfmt.Logged(logfmt.ConsultaGanadores).With("cant_ganadores", "1"))
	w.waitFor("agency-2", time.Second, logfmt.Logged(logfmt.Agencia).Failing("agency 2 does not take part"))
	w.waitFor("lottery", time.Second, logfmt.Logged(logfmt.ApuestaRecibida).Failing("agency 2 does not take part"))
	if code := lot.stop(t, 30*time.Second); code != 0 {
		t.Errorf("lottery exited %d; want 0", code)
	}
	conn := brokertest.Dial(t, w.url)
	if n := brokertest.Count(t, conn, broker.DeadQueue); n != 2 {
		t.Errorf("dead-letter queue holds %d messages; want agency 2's batch and finished event", n)
	}
}

// TestLotteryDeadLettersBadMessages sends the lottery what no agency would
// and checks that it refuses each with a reason, keeps running, and still
// makes the draw.
func TestLotteryDeadLettersBadMessages(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	files := w.gendata(30, 1)
	lot := w.startLottery(1)

	bad := []struct {
		key    string
		msg    amqp.Publishing
		reason string
	}{
		{broker.BatchKey, broker.Batch{Agency: 1, Seq: 7, Bets: 2, Fingerprint: "f", Body: []byte("A,B,1,2000-01-01,1\r\nA,B,x,2000-01-01,1\r\n")}.Publishing(), `document "x"`},
		{broker.BatchKey, broker.Batch{Agency: 1, Seq: 8, Bets: 3, Fingerprint: "f", Body: []byte("A,B,1,2000-01-01,1\r\n")}.Publishing(), "holds 1 bets; its header says 3"},
		{broker.BatchKey, amqp.Publishing{Type: broker.TypeBatch, Body: []byte("x")}, `"agency" missing`},
		{broker.BatchKey, broker.Batch{Agency: 1, Seq: 9, Bets: 1, Body: []byte("A,B,1,2000-01-01,1\r\n")}.Publishing(), "fingerprint missing"},
		{broker.FinishedKey, amqp.Publishing{Type: "surprise", Body: []byte("{}")}, `unknown message type "surprise"`},
		{broker.FinishedKey, amqp.Publishing{Type: broker.TypeFinished, Headers: amqp.Table{"agency": int32(1)}, Body: []byte("{not json")}, "decode finished message"},
	}
	for _, b := range bad {
		w.publish(b.key, b.msg)
	}
	a := w.start("agency-1", "agency", "CLI_ID=1", "CLI_DATA_FILE="+files[0])
	if code := a.wait(t, exitWithin); code != 0 {
		t.Errorf("agency exited %d; want 0", code)
	}
	w.waitFor("agency-1", time.Second, logfmt.Logged(logfmt.ConsultaGanadores).With("cant_ganadores", "1"))
	for _, b := range bad {
		w.waitFor("lottery", time.Second, logfmt.Failures().Failing(b.reason))
	}
	w.waitFor("lottery", time.Second, logfmt.Logged(logfmt.LotesRechazados).Is(logfmt.Fail).Saying("detalle", "1/7").Saying("detalle", "1/8"))
	if code := lot.stop(t, 30*time.Second); code != 0 {
		t.Errorf("lottery exited %d; want 0", code)
	}

	ch := brokertest.Channel(t, brokertest.Dial(t, w.url))
	for i := range bad {
		d, ok, err := ch.Get(broker.DeadQueue, false)
		if err != nil || !ok {
			t.Fatalf("dead-letter message %d: ok=%v err=%v; want one", i, ok, err)
		}
		if r, _ := d.Headers[broker.HeaderReason].(string); !strings.Contains(r, bad[i].reason) {
			t.Errorf("dead-letter %d reason = %q; want it to contain %q", i, r, bad[i].reason)
		}
	}
}

// TestLotteryWaitsAndSaysForWhat: repeated finished events count once; a
// finished event that announces batches that never come, and an agency
// that never finishes, keep the draw waiting, and the lottery says so; an
// agency given a winners timeout gives up with a clear error.
func TestLotteryWaitsAndSaysForWhat(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	files := w.gendata(20, 1, 1, 1)
	lot := w.start("lottery", "lottery", "LOTTERY_AGENCIES=3", "LOTTERY_STATUS_SECONDS=1",
		"LOTTERY_DATA_DIR="+filepath.Join(w.dir, "lottery"))
	a1 := w.start("agency-1", "agency", "CLI_ID=1", "CLI_DATA_FILE="+files[0], "CLI_WINNERS_TIMEOUT_SECONDS=2")
	if code := a1.wait(t, exitWithin); code != 1 {
		t.Errorf("agency 1 with a winners timeout exited %d; want 1", code)
	}
	w.waitFor("agency-1", time.Second, logfmt.Logged(logfmt.Agencia).Failing("no answer within 2s"))

	// Agency 2 announces 3 batches and 30 bets that never come, twice.
	fin := broker.Finished{Agency: 2, Batches: 3, Bets: 30, Fingerprint: "f"}.Publishing()
	w.publish(broker.FinishedKey, fin, fin)
	w.waitFor("lottery", 10*time.Second, logfmt.Logged(logfmt.FinDuplicado).With("agencia", "2"))
	w.waitFor("lottery", 10*time.Second, logfmt.Logged(logfmt.EsperandoSorteo).Is(logfmt.InProgress).
		With("agencias_sin_finalizar", "3").With("apuestas_pendientes", "30").With("lotes_pendientes", "3"))
	if code := lot.stop(t, stopWithin); code != 0 {
		t.Errorf("lottery exited %d; want 0", code)
	}
	if draws := w.find(t, "lottery", logfmt.Logged(logfmt.Sorteo)); len(draws) > 0 {
		t.Errorf("the lottery drew with agencies missing: %v", draws)
	}
}

// TestOversizedMessageIsDeadLettered: a batch over the size limit is
// refused without being parsed. The brokers the project starts refuse such
// a message themselves (max_message_size); this node admits up to
// RabbitMQ 3.10's default, 128 MiB, as one configured otherwise would.
func TestOversizedMessageIsDeadLettered(t *testing.T) {
	node := brokertest.StartNodeWithConf(t, "max_message_size = 134217728\n")
	w := &world{t: t, url: node.URL, dir: t.TempDir()}
	defer w.dump()
	lot := w.startLottery(1)
	big := broker.Batch{Agency: 1, Seq: 1, Bets: 1, Fingerprint: "f", Body: make([]byte, broker.MaxMessageBytes+1)}.Publishing()
	w.publish(broker.BatchKey, big)
	w.waitFor("lottery", 30*time.Second, logfmt.Logged(logfmt.ApuestaRecibida).Failing("over the"))
	if code := lot.stop(t, stopWithin); code != 0 {
		t.Errorf("lottery exited %d; want 0", code)
	}
	if n := brokertest.Count(t, brokertest.Dial(t, w.url), broker.DeadQueue); n != 1 {
		t.Errorf("dead-letter queue holds %d messages; want the oversized one", n)
	}
}
