//go:build outage

package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// TestLongBrokerOutage stops the broker mid-run, after some batches are
// stored and before the draw, for longer than any bound the programs once
// had on their retries (OUTAGE_SECONDS, default 190), and starts it again:
// they wait it out, every agency gets its winners, and bets.csv holds
// every bet once. The wait is logged every ten seconds, not each attempt.
func TestLongBrokerOutage(t *testing.T) {
	outage := time.Duration(envInt("OUTAGE_SECONDS", 190)) * time.Second
	node := brokertest.StartNode(t)
	w := &world{t: t, url: node.URL, dir: t.TempDir()}
	defer w.dump()
	winners := []int{2, 1, 3}
	files := w.gendata(20000, winners...)
	lot := w.startLottery(len(winners))
	// Small batches, one unconfirmed at a time: the agencies are still
	// sending when the broker goes.
	agencies := w.startAgencies(files, "CLI_BATCH_MAXAMOUNT=4", "CLI_CONFIRM_WINDOW=1")
	w.waitFor("lottery", exitWithin, logfmt.Logged(logfmt.ApuestaRecibida).Is(logfmt.Success))
	node.Stop()
	t.Logf("broker stopped for %s", outage)
	down := time.Now()
	time.Sleep(outage)
	for _, p := range append(agencies, lot) {
		if p.Exited() {
			t.Fatalf("%s exited during the outage, %s after it began", p.name, time.Since(down).Round(time.Second))
		}
	}
	node.Start()
	waitOK(t, agencies)
	stopOK(t, lot)
	check(t, w, files, 4, winners, filepath.Join(w.lotteryDir(), "bets.csv"))
	// One line when each program finds the broker gone, then one every ten
	// seconds, each saying for how long it has been out of reach.
	most := 3 + int(outage/(10*time.Second))
	for _, name := range []string{"lottery", "agency-1", "agency-2", "agency-3"} {
		waits := len(w.find(t, name, logfmt.Logged(logfmt.ConexionBroker).Is(logfmt.InProgress).Has("sin_broker")))
		if least := int(outage / (10 * time.Second)); waits < least || waits > most {
			t.Errorf("%s logged %d waits for the broker in an outage of %s; want %d to %d", name, waits, outage, least, most)
		}
	}
}
