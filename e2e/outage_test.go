package e2e

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// TestBrokerOutage takes the broker away mid-run, on a private node of the
// test's own, three ways. Every program must reconnect, resume and finish:
// nothing lost, nothing counted twice.
func TestBrokerOutage(t *testing.T) {
	tests := []struct {
		name  string
		fault func(n *brokertest.Node)
	}{
		{"every connection closed by the broker", func(n *brokertest.Node) { n.CloseAllConnections() }},
		{"stop_app and start_app", func(n *brokertest.Node) {
			n.StopApp()
			time.Sleep(2 * time.Second) // down for a while: the programs retry with backoff
			n.StartApp()
		}},
		{"full stop and start", func(n *brokertest.Node) {
			n.Stop()
			time.Sleep(time.Second)
			n.Start()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			node := brokertest.StartNode(t)
			w := &world{t: t, url: node.URL, dir: t.TempDir()}
			defer w.dump()
			winners := []int{2, 1}
			files := w.gendata(20000, winners...)
			dataDir := filepath.Join(w.dir, "lottery")
			lot := w.start("lottery", "lottery", "LOTTERY_AGENCIES=2", "LOTTERY_DATA_DIR="+dataDir)
			// Small batches, one unconfirmed at a time: slow enough that the
			// fault lands mid-send, whatever the machine.
			agencies := w.startAgencies(files, "CLI_BATCH_MAXAMOUNT=4", "CLI_CONFIRM_WINDOW=1")
			w.waitFor("lottery", exitWithin, logfmt.Logged(logfmt.ApuestaRecibida).Is(logfmt.Success))
			for _, a := range agencies {
				if a.Exited() {
					t.Fatalf("%s finished before the fault: the test would prove nothing", a.name)
				}
			}
			tc.fault(node)
			waitOK(t, agencies)
			if code := lot.stop(t, stopWithin); code != 0 {
				t.Errorf("lottery exited %d; want 0", code)
			}
			for _, name := range []string{"lottery", "agency-1", "agency-2"} {
				w.waitFor(name, time.Second, logfmt.Logged(logfmt.Reconexion).Is(logfmt.InProgress))
			}
			check(t, w, files, 4, winners, filepath.Join(dataDir, "bets.csv"))
		})
	}
}

// TestStopMidHandshake: a broker that accepts connections and never
// answers holds both programs in the AMQP handshake; SIGTERM ends them at
// once with status 0, not when the handshake's deadline passes.
func TestStopMidHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	w := &world{t: t, url: "amqp://guest:guest@" + ln.Addr().String() + "/", dir: t.TempDir()}
	defer w.dump()
	files := w.gendata(10, 0)
	// One program at a time, so that the connection accepted is its own.
	for _, start := range []func() *proc{
		func() *proc {
			return w.start("lottery", "lottery", "LOTTERY_AGENCIES=1", "LOTTERY_DATA_DIR="+w.lotteryDir())
		},
		func() *proc { return w.startAgencies(files)[0] },
	} {
		p := start()
		c := <-accepted // p is in the handshake, which the listener never answers
		defer c.Close()
		// Well within the handshake's deadline of 30 s.
		if code := p.stop(t, 10*time.Second); code != 0 {
			t.Errorf("%s exited %d on SIGTERM mid-handshake; want 0", p.name, code)
		}
	}
}
