//go:build replicas

package e2e

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// TestReplicaLostForGood runs two lottery replicas and five agencies on a
// private three-node cluster, every program given every node, and loses
// replica a for good mid-run: killed, its data directory deleted, never
// started again. It is killed at random, and at the worst moments (a
// failpoint: after storing a group and before acking it, after the draw
// and before answering, while answering); and once a broker node is lost
// first. Every time replica b holds every bet exactly once, draws right,
// and every agency gets its winners, once.
func TestReplicaLostForGood(t *testing.T) {
	nodes := brokertest.StartCluster(t, 3)
	for _, tc := range []struct {
		name      string
		failpoint string // where replica a stops itself; "": killed mid-run
		loseNode  bool   // kill the broker node replica b is on first
	}{
		{"killed mid-run", "", false},
		{"after storing and before acking", "lottery/committed-before-ack@5", false},
		{"after the draw and before answering", "lottery/draw-logged", false},
		{"while answering", "lottery/answered-before-record@2", false},
		{"a broker node lost, then the replica", "", true}, // last: the cluster stays down a node
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &world{t: t, url: brokertest.ClusterVhost(t, nodes), dir: t.TempDir()}
			defer w.dump()
			const batch = 50
			winners := []int{1, 2, 0, 3, 1}
			files := w.gendata(10000, winners...)
			var env []string
			if tc.failpoint != "" {
				env = append(env, "FAILPOINTS="+tc.failpoint)
			}
			a := w.startReplica("a", "a,b", 5, env...)
			b := w.startReplica("b", "a,b", 5)
			agencies := w.startAgencies(files, "CLI_BATCH_MAXAMOUNT="+strconv.Itoa(batch), "CLI_CONFIRM_WINDOW=4", "LOTTERY_REPLICAS=a,b")
			w.waitFor("lottery-b", time.Minute, logfmt.Logged(logfmt.ApuestaRecibida).Is(logfmt.Success)) // mid-run
			if tc.loseNode {
				lost := nodes[connectedTo(t, w, "lottery-b")-1]
				t.Logf("killing %s, replica b's node", lost.Name)
				lost.Kill()
				w.waitFor("lottery-b", time.Minute, logfmt.Logged(logfmt.Reconexion))
			}
			if tc.failpoint == "" {
				w.waitFor("lottery-a", time.Minute, logfmt.Logged(logfmt.ApuestaRecibida).Is(logfmt.Success))
				a.Cmd.Process.Kill()
			}
			if code := a.wait(t, exitWithin); code != -9 {
				t.Fatalf("replica a exited %d; want killed (-9)", code)
			}
			if err := os.RemoveAll(w.replicaDir("a")); err != nil {
				t.Fatal(err)
			}
			waitOK(t, agencies)
			stopOK(t, b)
			checkLottery(t, w, "lottery-b", files, batch, winners, w.replicaDir("b")+"/bets.csv")
			if tc.loseNode && !failedOver(t, w, "lottery-b") {
				t.Error("replica b never logged a connection to another node")
			}
		})
	}
}
