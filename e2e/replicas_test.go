package e2e

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// TestReplicas runs two lottery replicas and five agencies started before
// them: the agencies wait for the replicas' queues instead of publishing
// into nothing; each replica stores every bet once and draws the same
// winners; each agency logs one answer, whichever replica gave it; and a
// message both refuse is dead-lettered once by each, with its name.
func TestReplicas(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	const batch = 50
	winners := []int{1, 2, 0, 3, 1}
	files := w.gendata(2000, winners...)
	agencies := w.startAgencies(files, "CLI_BATCH_MAXAMOUNT=50", "LOTTERY_REPLICAS=a,b")
	for i := range agencies {
		w.waitFor(agencies[i].name, 30*time.Second, logfmt.Logged(logfmt.EsperandoLoteria).Is(logfmt.InProgress).With("cola", "lottery.a.bets"))
	}
	a := w.startReplica("a", "a,b", 5)
	// Half a second with a's queues and not b's: agencies that did not wait
	// for every replica would publish now, and b would miss their bets.
	time.Sleep(500 * time.Millisecond)
	b := w.startReplica("b", "a,b", 5)
	waitOK(t, agencies)
	w.waitFor("lottery-a", 30*time.Second, logfmt.Logged(logfmt.Sorteo))
	w.waitFor("lottery-b", 30*time.Second, logfmt.Logged(logfmt.Sorteo))
	stopOK(t, a)
	stopOK(t, b)
	for _, r := range []string{"a", "b"} {
		checkLottery(t, w, "lottery-"+r, files, batch, winners, w.replicaDir(r)+"/bets.csv")
	}
	conn := brokertest.Dial(t, w.url)
	if n := brokertest.Count(t, conn, broker.UnroutedQueue); n != 0 {
		t.Errorf("unrouted holds %d messages; want none", n)
	}
}

// TestReplicasEachDeadLetterARefusal: a message both replicas refuse is
// dead-lettered once by each, with its name.
func TestReplicasEachDeadLetterARefusal(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	w.startReplica("a", "a,b", 5)
	w.startReplica("b", "a,b", 5)
	w.publish(broker.BatchKey, broker.Batch{Agency: 9, Seq: 1, Bets: 1, Fingerprint: "x", Body: []byte("A,B,1,2000-01-01,1\r\n")}.Publishing())
	for _, r := range []string{"a", "b"} {
		w.waitFor("lottery-"+r, 30*time.Second, logfmt.Logged(logfmt.ApuestaRecibida).Failing("agency 9 does not take part"))
	}
	conn := brokertest.Dial(t, w.url)
	brokertest.WaitCount(t, conn, broker.DeadQueue, 2)
	ch := brokertest.Channel(t, conn)
	var by []string
	for range 3 {
		d, ok, err := ch.Get(broker.DeadQueue, true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			r, _ := d.Headers[broker.HeaderReplica].(string)
			by = append(by, r)
		}
	}
	slices.Sort(by)
	if !slices.Equal(by, []string{"a", "b"}) {
		t.Errorf("dead letters from replicas %q; want one from a and one from b", by)
	}
}

// TestReplicaRestartedEmptyNeverAnswers: replica a stops after it has
// stored and acked two groups of batches, and starts again with an empty
// data directory. It knows from the finished events which batches it lacks
// and says so, and never draws or answers; replica b answers every agency.
func TestReplicaRestartedEmptyNeverAnswers(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	const batch = 20
	winners := []int{1, 2, 0, 3, 1}
	files := w.gendata(2000, winners...)
	w.start("lottery-a", "lottery", "LOTTERY_AGENCIES=5", "LOTTERY_DATA_DIR="+w.replicaDir("a"),
		"LOTTERY_REPLICAS=a,b", "LOTTERY_REPLICA=a", "LOTTERY_GROUP=4", "FAILPOINTS=lottery/committed-before-ack@3")
	w.waitFor("lottery-a", 30*time.Second, logfmt.Logged(logfmt.LotteryIniciado))
	b := w.startReplica("b", "a,b", 5)
	agencies := w.startAgencies(files, "CLI_BATCH_MAXAMOUNT=20", "LOTTERY_REPLICAS=a,b")
	w.waitFor("lottery-a", time.Minute, logfmt.Logged(logfmt.Failpoint).With("name", "lottery/committed-before-ack"))
	if err := os.RemoveAll(w.replicaDir("a")); err != nil {
		t.Fatal(err)
	}
	again := w.start("lottery-a#2", "lottery", "LOTTERY_AGENCIES=5", "LOTTERY_DATA_DIR="+w.replicaDir("a"),
		"LOTTERY_REPLICAS=a,b", "LOTTERY_REPLICA=a", "LOTTERY_STATUS_SECONDS=1")
	waitOK(t, agencies)
	// Every finished event taken, and still waiting: for what it lost.
	w.waitFor("lottery-a#2", time.Minute, logfmt.Logged(logfmt.EsperandoSorteo).With("agencias_sin_finalizar", "-"))
	stopOK(t, again)
	stopOK(t, b)
	var waiting event
	for _, e := range w.find(t, "lottery-a#2", logfmt.Match{}) {
		switch e.Action {
		case logfmt.Sorteo, logfmt.SorteoRecuperado, logfmt.RespuestaGanadores:
			t.Errorf("the replica restarted empty drew or answered: %v", e.Event)
		case logfmt.EsperandoSorteo:
			waiting = e
		}
	}
	if waiting.Fields["lotes_faltantes"] == "-" || waiting.int(t, "lotes_pendientes") == 0 {
		t.Errorf("the replica restarted empty names no missing batch: %v", waiting.Event)
	}
	checkLottery(t, w, "lottery-b", files, batch, winners, w.replicaDir("b")+"/bets.csv")
}
