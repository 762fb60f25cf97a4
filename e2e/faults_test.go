//go:build faults

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
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

// The fault-injection suite: `make test-faults`. Each round runs the lottery
// and five agencies on generated data against a private RabbitMQ node and,
// while they work, injects faults chosen by a seeded random generator:
// SIGKILL and SIGTERM to the lottery and to agencies, the lottery armed to
// stop itself at a failpoint, every connection closed by the broker, the
// broker application stopped and started, the whole node stopped and
// started. Then it checks the outcome against the input, independently of
// the programs: the stored bets as a multiset, each agency's winners counted
// from its file, and the draw made exactly once.
//
// A hostile sender is among the faults: it publishes a message the lottery
// must refuse without harm (one it cannot even decode, which the broker
// sets aside at the queue's delivery limit; a finished event with absurd
// counts; a batch without a fingerprint; headers over the limits). Its
// messages are known by their ids (hostile-…): the only failures the round
// may log are their refusals.
//
// Then cluster rounds do it all again on a private three-node cluster, every
// program given every node, with faults on any one node at a time: its
// Erlang VM killed as a machine that is lost, or the node stopped, or its
// application, each then started again; or its connections closed.
//
// FAULT_SEED (default: the clock), FAULT_ROUNDS (single-node rounds, 5),
// FAULT_CLUSTER_ROUNDS (1), FAULT_BETS (bets per agency, 40000: 200,000 in
// all) and FAULT_COUNT (faults per round, 12).

var lotteryFailpoints = []string{
	"store/torn", "lottery/stored-before-sync", "lottery/synced-before-journal",
	"lottery/journal-torn", "lottery/committed-before-ack", "lottery/draw-computed",
	"lottery/draw-logged", "lottery/answered-before-record",
}

type tally struct {
	kills, terms, restarts, failpoints, closes, appRestarts, nodeRestarts, nodeKills, hostile int
	betsChecked, duplicates, lost                                                             int
}

func (t *tally) add(o tally) {
	t.kills += o.kills
	t.terms += o.terms
	t.restarts += o.restarts
	t.failpoints += o.failpoints
	t.closes += o.closes
	t.appRestarts += o.appRestarts
	t.nodeRestarts += o.nodeRestarts
	t.nodeKills += o.nodeKills
	t.hostile += o.hostile
	t.betsChecked += o.betsChecked
	t.duplicates += o.duplicates
	t.lost += o.lost
}

func (t tally) String() string {
	return fmt.Sprintf("SIGKILLs %d, SIGTERMs %d, failpoint stops %d, restarts %d, connections closed %d, app restarts %d, node restarts %d, node kills %d, hostile messages %d",
		t.kills, t.terms, t.failpoints, t.restarts, t.closes, t.appRestarts, t.nodeRestarts, t.nodeKills, t.hostile)
}

// hostileMessages are what the fault suite's hostile sender sends, by name:
// the exchange, the routing key and the message.
func hostileMessages() map[string]func() (exchange, key string, msg amqp.Publishing) {
	deep := amqp.Table{}
	for range 40 {
		deep = amqp.Table{"d": deep}
	}
	return map[string]func() (string, string, amqp.Publishing){
		"undecodable batch": func() (string, string, amqp.Publishing) {
			m := batchOf(2, 1, "hostile", "A,B,1,2000-01-01,7574")
			m.Headers["deep"] = deep
			return broker.BetsExchange, broker.BatchKey, m
		},
		"undecodable request": func() (string, string, amqp.Publishing) {
			m := broker.WinnersRequest{Agency: 3, Fingerprint: "hostile"}.Publishing()
			m.Headers["deep"], m.CorrelationId = deep, "hostile"
			return broker.RequestsExchange, broker.WinnersKey, m
		},
		"absurd finished": func() (string, string, amqp.Publishing) {
			return broker.BetsExchange, broker.FinishedKey, broker.Finished{Agency: 2, Batches: 1 << 62, Bets: 1 << 62, Fingerprint: "hostile"}.Publishing()
		},
		"batch without a fingerprint": func() (string, string, amqp.Publishing) {
			return broker.BetsExchange, broker.BatchKey, batchOf(4, 1, "", "A,B,1,2000-01-01,7574")
		},
		"headers over the limits": func() (string, string, amqp.Publishing) {
			m := batchOf(5, 1, "hostile", "A,B,1,2000-01-01,7574")
			m.Headers["big"] = strings.Repeat("x", 64<<10)
			return broker.BetsExchange, broker.BatchKey, m
		},
	}
}

func TestFaults(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("FAULT_SEED"), 10, 64); err == nil {
		seed = v
	}
	rounds, clusterRounds := envInt("FAULT_ROUNDS", 5), envInt("FAULT_CLUSTER_ROUNDS", 1)
	betsPer, faults := envInt("FAULT_BETS", 40000), envInt("FAULT_COUNT", 12)
	t.Logf("fault suite: seed %d (rerun with FAULT_SEED=%d), %d rounds on a node and %d on a three-node cluster, 5 agencies x %d bets, %d faults a round",
		seed, seed, rounds, clusterRounds, betsPer, faults)
	var total tally
	for round := 1; round <= rounds+clusterRounds; round++ {
		rng := rand.New(rand.NewPCG(seed, uint64(round)))
		nodes, where := 1, "a node"
		if round > rounds {
			nodes, where = 3, "a three-node cluster"
		}
		var tl tally
		ok := t.Run(fmt.Sprintf("round %d on %s", round, where), func(t *testing.T) {
			tl = faultRound(t, rng, betsPer, faults, seed+uint64(round), nodes)
		})
		t.Logf("round %d: %s; bets checked %d, duplicates %d, lost %d", round, tl, tl.betsChecked, tl.duplicates, tl.lost)
		total.add(tl)
		if !ok {
			break
		}
	}
	t.Logf("fault suite done: seed %d; %s; bets checked %d, duplicates found %d, bets lost %d",
		seed, total, total.betsChecked, total.duplicates, total.lost)
}

// faultRound runs a round on a private node, or on a private cluster of n
// nodes, and checks its outcome.
func faultRound(t *testing.T, rng *rand.Rand, betsPer, faults int, dataSeed uint64, n int) tally {
	var tl tally
	nodes := []*brokertest.Node{brokertest.StartNode(t)}
	if n > 1 {
		nodes = brokertest.StartCluster(t, n)
	}
	w := &world{t: t, url: brokertest.ClusterURL(nodes), dir: t.TempDir()}
	defer w.dump()
	const agencies = 5
	// Small batches and windows stretch a round over seconds, so that the
	// faults land while the programs work.
	batch := []int{5, 10, 20}[rng.IntN(3)]
	window := []int{1, 4, 16}[rng.IntN(3)]
	winners := []int{rng.IntN(4), rng.IntN(4), rng.IntN(4), rng.IntN(4), rng.IntN(4)}
	files := w.gendataSeed(betsPer, dataSeed, winners...)
	dataDir := filepath.Join(w.dir, "lottery")
	lotEnv := []string{"LOTTERY_AGENCIES=" + strconv.Itoa(agencies), "LOTTERY_DATA_DIR=" + dataDir, "LOTTERY_GROUP=" + strconv.Itoa(1+rng.IntN(64))}
	t.Logf("batch %d, window %d, %s, winners %v", batch, window, lotEnv[2], winners)

	incarnation := map[string]int{}
	startLottery := func() *proc {
		incarnation["lottery"]++
		env := lotEnv
		if rng.IntN(3) == 0 { // a third of the lotteries stop themselves at a failpoint
			fp := fmt.Sprintf("%s@%d", lotteryFailpoints[rng.IntN(len(lotteryFailpoints))], 1+rng.IntN(30))
			env = append(append([]string{}, lotEnv...), "FAILPOINTS="+fp)
			t.Logf("lottery #%d armed at %s", incarnation["lottery"], fp)
		}
		return up(w, w.start(fmt.Sprintf("lottery#%d", incarnation["lottery"]), "lottery", env...))
	}
	startAgency := func(id int) *proc {
		name := "agency-" + strconv.Itoa(id)
		incarnation[name]++
		return up(w, w.start(fmt.Sprintf("%s#%d", name, incarnation[name]), "agency",
			"CLI_ID="+strconv.Itoa(id), "CLI_DATA_FILE="+files[id-1], "CLI_BATCH_MAXAMOUNT="+strconv.Itoa(batch),
			"CLI_CONFIRM_WINDOW="+strconv.Itoa(window)))
	}

	lot := startLottery()
	ags := make([]*proc, agencies)
	for i := range ags {
		ags[i] = startAgency(i + 1)
	}
	done := make([]bool, agencies)

	// reap restarts whatever died by itself (a failpoint), and notes
	// agencies that finished.
	reap := func() {
		if lot.Exited() {
			code := lot.wait(t, time.Second)
			if code != -9 {
				t.Fatalf("%s exited %d by itself; want only failpoint stops (-9)", lot.name, code)
			}
			tl.failpoints++
			tl.restarts++
			lot = startLottery()
		}
		for i, a := range ags {
			if !done[i] && a.Exited() {
				if code := a.wait(t, time.Second); code != 0 {
					t.Fatalf("%s exited %d by itself; want 0", a.name, code)
				}
				done[i] = true
			}
		}
	}
	hostile := hostileMessages()
	var hostileNames []string
	for name := range hostile {
		hostileNames = append(hostileNames, name)
	}
	slices.Sort(hostileNames) // the seed picks the same one every time
	for f := 0; f < faults; f++ {
		time.Sleep(time.Duration(100+rng.IntN(1500)) * time.Millisecond)
		reap()
		switch kind := rng.IntN(9); kind {
		case 0, 1: // the lottery: SIGKILL or SIGTERM, then a new one
			if kind == 0 {
				lot.Cmd.Process.Kill()
				lot.wait(t, exitWithin)
				tl.kills++
			} else {
				if code := lot.stop(t, stopWithin); code != 0 && code != -9 {
					t.Fatalf("%s exited %d on SIGTERM; want 0", lot.name, code)
				}
				tl.terms++
			}
			tl.restarts++
			lot = startLottery()
		case 2, 3: // an agency that has not finished: SIGKILL or SIGTERM, then again
			i := rng.IntN(agencies)
			if done[i] {
				continue
			}
			if kind == 2 {
				ags[i].Cmd.Process.Kill()
				ags[i].wait(t, exitWithin)
				tl.kills++
			} else {
				code := ags[i].stop(t, stopWithin)
				if code != 0 {
					t.Fatalf("%s exited %d on SIGTERM; want 0", ags[i].name, code)
				}
				tl.terms++
			}
			tl.restarts++
			ags[i] = startAgency(i + 1)
		case 4, 5:
			node := nodes[rng.IntN(len(nodes))]
			node.CloseAllConnections()
			tl.closes++
		case 6:
			node := nodes[rng.IntN(len(nodes))]
			node.StopApp()
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Millisecond)
			node.StartApp()
			tl.appRestarts++
		case 7: // on a cluster, half the time as a machine that is lost
			node := nodes[rng.IntN(len(nodes))]
			if len(nodes) > 1 && rng.IntN(2) == 0 {
				node.Kill()
				tl.nodeKills++
			} else {
				node.Stop()
				tl.nodeRestarts++
			}
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Millisecond)
			node.Start()
		case 8:
			name := hostileNames[rng.IntN(len(hostileNames))]
			exchange, key, msg := hostile[name]()
			msg.MessageId = fmt.Sprintf("hostile-%d", tl.hostile+1)
			if err := sendOnce(nodes[rng.IntN(len(nodes))].URL, exchange, key, msg); err != nil {
				t.Logf("hostile sender: %s not sent: %v", name, err) // the broker may be down
				continue
			}
			t.Logf("hostile sender: %s (%s)", name, msg.MessageId)
			tl.hostile++
		}
	}
	// No more faults: everything must now finish.
	await.For(t, 5*time.Minute, func() error {
		reap()
		if i := slices.Index(done, false); i >= 0 {
			return fmt.Errorf("agency %d has not finished since the last fault", i+1)
		}
		return nil
	})
	if code := lot.stop(t, stopWithin); code != 0 {
		t.Errorf("%s exited %d on SIGTERM; want 0", lot.name, code)
	}

	// The outcome, checked against the input.
	for _, e := range w.find(t, "", logfmt.Failures()) {
		if !strings.HasPrefix(e.Fields["mensaje"], "hostile-") {
			t.Errorf("%s logged a failure: %v", e.proc, e.Event)
		}
	}
	want := map[bet.Bet]int{}
	for i, f := range files {
		wins := 0
		for _, b := range readBets(t, f, i+1) {
			want[b]++
			tl.betsChecked++
			if b.Number == bet.WinningNumber { // counted here, not with the lottery's HasWon
				wins++
			}
		}
		final := fmt.Sprintf("agency-%d#%d", i+1, incarnation[fmt.Sprintf("agency-%d", i+1)])
		w.waitFor(final, time.Second, logfmt.Logged(logfmt.ConsultaGanadores).With("cant_ganadores", strconv.Itoa(wins)))
	}
	for b, err := range bet.LoadBets(filepath.Join(dataDir, "bets.csv")) {
		if err != nil {
			t.Fatal(err)
		}
		if want[b]--; want[b] < 0 {
			tl.duplicates++
		}
	}
	for _, n := range want {
		if n > 0 {
			tl.lost += n
		}
	}
	if tl.duplicates != 0 || tl.lost != 0 {
		t.Errorf("bets.csv: %d duplicates and %d bets lost; want none", tl.duplicates, tl.lost)
	}
	if n := countDraws(t, filepath.Join(dataDir, "journal.jsonl")); n != 1 {
		t.Errorf("the journal records %d draws; want exactly 1", n)
	}
	return tl
}

// up waits until p has logged its first line: its SIGTERM handler is
// installed before that. (A signal that lands while a process is still being
// exec'd and its runtime starts is the kernel's to handle, not the program's.)
func up(w *world, p *proc) *proc {
	w.t.Helper()
	w.waitFor(p.name, 30*time.Second, logfmt.Match{})
	return p
}

// countDraws counts the draw records in the lottery's journal.
func countDraws(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var recs []struct{ Op string }
		if err := json.Unmarshal([]byte(line), &recs); err != nil {
			t.Fatalf("journal line %q: %v", line, err)
		}
		for _, r := range recs {
			if r.Op == "drawn" {
				n++
			}
		}
	}
	return n
}

// sendOnce publishes msg to exchange on the broker at url and waits for its
// confirm, on a connection of its own, or returns why it could not.
func sendOnce(url, exchange, key string, msg amqp.Publishing) error {
	conn, err := amqp.Dial(url)
	if err != nil {
		return err
	}
	defer conn.Close()
	pub, err := broker.NewPublisher(conn, 1)
	if err != nil {
		return err
	}
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return pub.PublishConfirmed(ctx, exchange, key, msg)
}
