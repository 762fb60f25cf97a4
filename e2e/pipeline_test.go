// Package e2e runs the real programs as processes against a real RabbitMQ
// and checks them from their logs and files, as the course's grading does.
package e2e

import (
	"archive/zip"
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// defaultBatch is the agency's CLI_BATCH_MAXAMOUNT default.
const defaultBatch = 1000

const exitWithin = 3 * time.Minute

// runPipeline runs a lottery for len(files) agencies and one agency per
// file, waits for every agency, stops the lottery with SIGTERM, and checks
// the whole run.
func runPipeline(t *testing.T, w *world, files []string, batch int, winners []int) {
	t.Helper()
	defer w.dump()
	dataDir := filepath.Join(w.dir, "lottery")
	lot := w.start("lottery", "lottery", "LOTTERY_AGENCIES="+strconv.Itoa(len(files)), "LOTTERY_DATA_DIR="+dataDir)
	var env []string
	if batch > 0 {
		env = append(env, "CLI_BATCH_MAXAMOUNT="+strconv.Itoa(batch))
	}
	waitOK(t, w.startAgencies(files, env...))
	if code := lot.stop(t, 30*time.Second); code != 0 {
		t.Errorf("lottery exited %d after SIGTERM; want 0", code)
	}
	if batch == 0 {
		batch = defaultBatch
	}
	check(t, w, files, batch, winners, filepath.Join(dataDir, "bets.csv"))
}

// check holds a finished run to what the course's grading checks, and more.
func check(t *testing.T, w *world, files []string, batch int, winners []int, betsPath string) {
	t.Helper()
	checkLottery(t, w, "", files, batch, winners, betsPath)
}

// checkLottery is check for one lottery replica of several, the process
// named lottery, which keeps betsPath: its own lines, and every agency's
// ("": every process, the incarnations of one lottery). The agencies'
// answers come after the first draw, whichever replica made it.
func checkLottery(t *testing.T, w *world, lottery string, files []string, batch int, winners []int, betsPath string) {
	t.Helper()
	events := w.events(t)
	draw, firstDraw := -1, -1
	lastReceived := -1
	firstAnswer := len(events)
	total := 0
	lots := map[int]map[int]int{} // agency → batch → bets
	got := map[int]int{}          // agency → cant_ganadores
	for i, e := range events {
		if e.Result == logfmt.Fail {
			t.Errorf("%s logged a failure: %s %v", e.proc, e.Action, e.Fields)
		}
		if e.Action == logfmt.Sorteo && firstDraw < 0 {
			firstDraw = i
		}
		if lottery != "" && e.proc != lottery && !strings.HasPrefix(e.proc, "agency-") {
			continue
		}
		switch e.Action {
		case logfmt.Sorteo:
			if draw >= 0 {
				t.Errorf("%s: a second sorteo line at event %d", cmp.Or(lottery, "the lottery"), i)
			}
			draw = i
		case logfmt.ApuestaRecibida:
			lastReceived = i
			n := e.int(t, "cantidad")
			total += n
			a, l := e.int(t, "agencia"), e.int(t, "lote")
			if lots[a] == nil {
				lots[a] = map[int]int{}
			}
			if _, dup := lots[a][l]; dup {
				t.Errorf("agency %d batch %d received twice", a, l)
			}
			lots[a][l] = n
		case logfmt.ConsultaGanadores:
			firstAnswer = min(firstAnswer, i)
			var agency int
			fmt.Sscanf(e.proc, "agency-%d", &agency)
			if _, twice := got[agency]; twice {
				t.Errorf("%s: a second consulta_ganadores line", e.proc)
			}
			got[agency] = e.int(t, "cant_ganadores")
		}
	}
	if draw < 0 {
		t.Fatalf("%s logged no sorteo line", cmp.Or(lottery, "the lottery"))
	}
	if lastReceived > draw {
		t.Errorf("%s: an apuesta_recibida line (event %d) comes after sorteo (event %d)", cmp.Or(lottery, "the lottery"), lastReceived, draw)
	}
	if firstAnswer < firstDraw {
		t.Errorf("a consulta_ganadores line (event %d) comes before the first sorteo (event %d)", firstAnswer, firstDraw)
	}

	wantTotal := 0
	for i, f := range files {
		bets := readBets(t, f, i+1)
		wantTotal += len(bets)
		nb := (len(bets) + batch - 1) / batch
		if len(lots[i+1]) != nb {
			t.Errorf("agency %d: %d batches received; want %d", i+1, len(lots[i+1]), nb)
		}
		for l := 1; l <= nb; l++ {
			wantN := batch
			if l == nb {
				wantN = len(bets) - (nb-1)*batch
			}
			if lots[i+1][l] != wantN {
				t.Errorf("agency %d batch %d: cantidad %d; want %d", i+1, l, lots[i+1][l], wantN)
			}
		}
		if g, ok := got[i+1]; !ok || g != winners[i] {
			t.Errorf("agency %d: cant_ganadores = %d (logged: %v); want %d", i+1, g, ok, winners[i])
		}
	}
	if total != wantTotal {
		t.Errorf("apuesta_recibida cantidad adds up to %d; want %d bets sent", total, wantTotal)
	}
	checkStored(t, files, betsPath)
}

// checkStored checks that bets.csv holds exactly the input bets: each once.
func checkStored(t *testing.T, files []string, betsPath string) {
	t.Helper()
	want := map[bet.Bet]int{}
	wantTotal := 0
	for i, f := range files {
		for _, b := range readBets(t, f, i+1) {
			want[b]++
			wantTotal++
		}
	}
	stored := 0
	for b, err := range bet.LoadBets(betsPath) {
		if err != nil {
			t.Fatal(err)
		}
		stored++
		if want[b]--; want[b] < 0 {
			t.Errorf("bets.csv holds %+v more often than the input", b)
		}
	}
	for b, n := range want {
		if n > 0 {
			t.Errorf("bets.csv lacks %d copies of %+v", n, b)
		}
	}
	if stored != wantTotal {
		t.Errorf("bets.csv holds %d bets; want %d", stored, wantTotal)
	}
}

func TestPipeline(t *testing.T) {
	tests := []struct {
		name    string
		bets    int
		winners []int
		batch   int
	}{
		{"3 agencies x 100 bets", 100, []int{2, 1, 0}, 0},
		{"5 agencies x 60 bets", 60, []int{1, 2, 3, 4, 5}, 0},
		{"1 agency, 64 bets, default batch", 64, []int{1}, 0},
		{"1 agency, 99 bets, default batch", 99, []int{2}, 0},
		{"1 agency, 16 bets, batch 64", 16, []int{1}, 64},
		{"1 agency, 21 bets, batch 99", 21, []int{0}, 99},
		{"2 agencies x 1000 bets, batch 7", 1000, []int{3, 0}, 7},
		{"1 agency, empty file", 0, []int{0}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			runPipeline(t, w, w.gendata(tc.bets, tc.winners...), tc.batch, tc.winners)
		})
	}
}

// TestCourseDataset runs the course's own data set: five files, 78,697
// bets, with 2 / 3 / 3 / 2 / 0 winners.
func TestCourseDataset(t *testing.T) {
	const zipPath = "../../shared/tp0-dataset/dataset.zip"
	if _, err := os.Stat(zipPath); err != nil {
		brokertest.Missing(t, "the course's data set is not at %s (../shared beside the repository)", zipPath)
	}
	w := newWorld(t)
	files := unzip(t, zipPath, filepath.Join(w.dir, "dataset"))
	runPipeline(t, w, files, 0, []int{2, 3, 3, 2, 0})
}

// unzip extracts agency-1.csv … agency-5.csv and returns their paths.
func unzip(t *testing.T, zipPath, dir string) []string {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	byName := map[string]*zip.File{}
	for _, f := range zr.File {
		byName[filepath.Base(f.Name)] = f
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i := 1; i <= 5; i++ {
		name := fmt.Sprintf("agency-%d.csv", i)
		zf, ok := byName[name]
		if !ok {
			t.Fatalf("%s lacks %s", zipPath, name)
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		out, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		out.Close()
		paths = append(paths, path)
	}
	return paths
}
