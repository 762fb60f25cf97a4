//go:build cluster

package e2e

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// TestClusterLosesANode runs the lottery and five agencies on a private
// three-node cluster, every program given every node, and takes a node away
// mid-run: the one the lottery and the agencies are connected to, its
// application stopped or its Erlang VM killed; and the one that leads the
// queues (they were declared there), which no program is connected to. The
// programs on a lost node fail over to another, the others go on through a
// new leader, and nothing is lost or stored twice: the quorum queues keep a
// majority.
func TestClusterLosesANode(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pick     func(t *testing.T, w *world, nodes []*brokertest.Node) *brokertest.Node
		lose     func(n *brokertest.Node)
		lotterys bool // the node lost is the lottery's
	}{
		{"the lottery's node, its application stopped", lotteryNode, (*brokertest.Node).StopApp, true},
		{"the lottery's node, its Erlang VM killed", lotteryNode, (*brokertest.Node).Kill, true},
		{"the node that leads the queues, no program's, stopped", betsLeader, (*brokertest.Node).Stop, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := brokertest.StartCluster(t, 3)
			w := &world{t: t, url: brokertest.ClusterURL(nodes), dir: t.TempDir()}
			if !tc.lotterys { // the queues' leaders on node 3, the programs on node 1
				conn := brokertest.Dial(t, nodes[2].URL)
				if err := broker.ForFirst(5).Apply(conn, broker.Declare); err != nil {
					t.Fatal(err)
				}
				conn.Close()
			}
			defer w.dump()
			const batch = 50
			winners := []int{1, 2, 0, 3, 1}
			files := w.gendata(10000, winners...)
			lot := w.startLottery(5)
			agencies := w.startAgencies(files, "CLI_BATCH_MAXAMOUNT="+strconv.Itoa(batch), "CLI_CONFIRM_WINDOW=4")
			w.waitFor("lottery", 60*time.Second, logfmt.Logged(logfmt.ApuestaRecibida).Is(logfmt.Success)) // mid-run
			lost := tc.pick(t, w, nodes)
			// The programs on the lost node when it goes, which must fail over.
			var on []string
			for _, p := range append([]*proc{lot}, agencies...) {
				if i := connectedTo(t, w, p.name); !p.Exited() && i > 0 && nodes[i-1] == lost {
					on = append(on, p.name)
				}
			}
			t.Logf("taking away %s, which %v are connected to", lost.Name, on)
			tc.lose(lost)
			waitOK(t, agencies)
			stopOK(t, lot)
			check(t, w, files, batch, winners, w.lotteryDir()+"/bets.csv")
			if slices.Contains(on, "lottery") != tc.lotterys {
				t.Errorf("the programs on %s when it was lost: %v; want the lottery among them: %v", lost.Name, on, tc.lotterys)
			}
			// An agency may finish before the node goes; the lottery runs on.
			for _, name := range on {
				if (name == "lottery" || reconnected(t, w, name)) && !failedOver(t, w, name) {
					t.Errorf("%s never logged a connection to another node after losing %s", name, lost.Name)
				}
			}
		})
	}
}

func lotteryNode(t *testing.T, w *world, nodes []*brokertest.Node) *brokertest.Node {
	t.Helper()
	i := connectedTo(t, w, "lottery")
	if i < 1 {
		t.Fatal("the lottery logged no connection")
	}
	return nodes[i-1]
}

func betsLeader(t *testing.T, _ *world, nodes []*brokertest.Node) *brokertest.Node {
	t.Helper()
	leader := nodes[0].Leader(broker.BetsQueue)
	for _, n := range nodes {
		if strings.EqualFold(n.Name, leader) {
			return n
		}
	}
	t.Fatalf("lottery.bets is led by %s, no node of the cluster", leader)
	return nil
}
