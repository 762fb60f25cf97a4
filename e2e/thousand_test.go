//go:build thousand

package e2e

import (
	"path/filepath"
	"testing"

	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/internal/capacity"
)

// TestThousandAgencies runs a national lottery's size: 1,000 agencies
// (THOUSAND_AGENCIES) of 100 bets each, all started at once against a
// private node with as many open files as this machine gives. Every agency
// gets its winners, every bet is stored once, and the draw comes after the
// last. A node that cannot hold them fails the test before anything starts.
func TestThousandAgencies(t *testing.T) {
	n := envInt("THOUSAND_AGENCIES", 1000)
	node := brokertest.StartNodeWithFiles(t, 0)
	if line, _ := capacity.Line(node.Name, node.Files); capacity.Agencies(node.Files) < n {
		t.Fatalf("%s: this machine gives a node too few open files for %d agencies at once (ulimit -Hn)", line, n)
	} else {
		t.Log(line)
	}
	w := &world{t: t, url: node.URL, dir: t.TempDir()}
	defer w.dump()
	winners := make([]int, n)
	for i := range winners {
		winners[i] = i % 3
	}
	files := w.gendata(100, winners...)
	lot := w.startLottery(n)
	agencies := w.startAgencies(files)
	waitOK(t, agencies)
	stopOK(t, lot)
	check(t, w, files, defaultBatch, winners, filepath.Join(w.lotteryDir(), "bets.csv"))
}
