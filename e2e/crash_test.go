package e2e

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/logfmt"
)

// The lottery's drain deadline (LOTTERY_DRAIN_SECONDS default) and how long
// a SIGTERM may take at the most; docker-compose.yaml's stop_grace_period is
// above both.
const (
	drainDeadline = 10 * time.Second
	stopWithin    = drainDeadline + 5*time.Second
)

// TestLotteryCrashAtFailpoints stops the lottery with SIGKILL exactly at each
// dangerous boundary, starts it again, and checks that every bet is stored
// exactly once, the draw happens once, and every agency gets its winners.
func TestLotteryCrashAtFailpoints(t *testing.T) {
	const yes, no, either = "yes", "no", "either"
	tests := []struct {
		failpoint    string
		wantRecovery string // did bets.csv hold rows past the last commit?
		drawn        bool   // the draw was recorded before the stop
	}{
		{"store/torn@3", yes, false},
		{"lottery/stored-before-sync@3", yes, false},
		{"lottery/synced-before-journal@2", yes, false},
		{"lottery/journal-torn@2", either, false}, // the 2nd commit may hold bets or a request
		{"lottery/committed-before-ack@2", no, false},
		{"lottery/draw-computed", no, false},
		{"lottery/draw-logged", no, true},
		{"lottery/answered-before-record", no, true},
	}
	for _, tc := range tests {
		t.Run(tc.failpoint, func(t *testing.T) {
			w := newWorld(t)
			defer w.dump()
			const batch = 10
			winners := []int{2, 1, 0}
			files := w.gendata(200, winners...)
			dataDir := filepath.Join(w.dir, "lottery")
			env := []string{"LOTTERY_AGENCIES=3", "LOTTERY_DATA_DIR=" + dataDir, "LOTTERY_GROUP=4"}
			lot := w.start("lottery", "lottery", append(env, "FAILPOINTS="+tc.failpoint)...)
			agencies := w.startAgencies(files, "CLI_BATCH_MAXAMOUNT="+strconv.Itoa(batch))
			if code := lot.wait(t, exitWithin); code != -9 {
				t.Fatalf("lottery armed at %s exited %d; want killed (-9)", tc.failpoint, code)
			}
			name := strings.SplitN(tc.failpoint, "@", 2)[0]
			w.waitFor("lottery", time.Second, logfmt.Logged(logfmt.Failpoint).With("name", name))

			lot2 := w.start("lottery-2", "lottery", env...)
			waitOK(t, agencies)
			if code := lot2.stop(t, stopWithin); code != 0 {
				t.Errorf("restarted lottery exited %d; want 0", code)
			}
			recovered := len(w.find(t, "lottery-2", logfmt.Logged(logfmt.Recuperacion))) > 0
			if tc.wantRecovery != either && recovered != (tc.wantRecovery == yes) {
				t.Errorf("restarted lottery cut bets.csv back: %v; want %s", recovered, tc.wantRecovery)
			}
			if tc.drawn {
				// A lottery that finds its draw made says so and answers at once.
				w.waitFor("lottery-2", time.Second, logfmt.Logged(logfmt.SorteoRecuperado).With("ganadores", "3"))
			}
			check(t, w, files, batch, winners, filepath.Join(dataDir, "bets.csv"))
		})
	}
}

// TestAgencyCrashAndRestart stops an agency with SIGKILL mid-send, before
// its finished event, and while it waits for its winners; started again
// with the same file and settings, it loses and duplicates nothing.
func TestAgencyCrashAndRestart(t *testing.T) {
	for _, fp := range []string{"agency/published@4", "agency/before-finished", "rpc/called"} {
		t.Run(fp, func(t *testing.T) {
			w := newWorld(t)
			defer w.dump()
			const batch = 10
			winners := []int{1, 2}
			files := w.gendata(100, winners...)
			dataDir := filepath.Join(w.dir, "lottery")
			lot := w.start("lottery", "lottery", "LOTTERY_AGENCIES=2", "LOTTERY_DATA_DIR="+dataDir)
			env := []string{"CLI_ID=1", "CLI_DATA_FILE=" + files[0], "CLI_BATCH_MAXAMOUNT=10"}
			a1 := w.start("agency-1", "agency", append(env, "FAILPOINTS="+fp)...)
			if code := a1.wait(t, exitWithin); code != -9 {
				t.Fatalf("agency armed at %s exited %d; want killed (-9)", fp, code)
			}
			a2 := w.start("agency-2", "agency", "CLI_ID=2", "CLI_DATA_FILE="+files[1], "CLI_BATCH_MAXAMOUNT=10")
			a1b := w.start("agency-1-again", "agency", env...)
			waitOK(t, []*proc{a1b, a2})
			if code := lot.stop(t, stopWithin); code != 0 {
				t.Errorf("lottery exited %d; want 0", code)
			}
			check(t, w, files, batch, winners, filepath.Join(dataDir, "bets.csv"))
		})
	}
}

// TestAgencyRestartedWithAnotherBatchSizeIsRefused: an agency killed
// mid-send and started again with a different batch size would mix two
// batchings of its file; the lottery refuses it loudly, and the agency
// fails with the reason. Started with the original settings, it completes.
func TestAgencyRestartedWithAnotherBatchSizeIsRefused(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	files := w.gendata(100, 3)
	dataDir := filepath.Join(w.dir, "lottery")
	lot := w.start("lottery", "lottery", "LOTTERY_AGENCIES=1", "LOTTERY_DATA_DIR="+dataDir)
	env := []string{"CLI_ID=1", "CLI_DATA_FILE=" + files[0]}
	a := w.start("agency-1", "agency", append(env, "CLI_BATCH_MAXAMOUNT=10", "FAILPOINTS=agency/published@4")...)
	if code := a.wait(t, exitWithin); code != -9 {
		t.Fatalf("agency exited %d; want killed (-9)", code)
	}
	other := w.start("agency-1-batch-7", "agency", append(env, "CLI_BATCH_MAXAMOUNT=7")...)
	if code := other.wait(t, exitWithin); code != 1 {
		t.Errorf("agency restarted with batch 7 exited %d; want 1", code)
	}
	w.waitFor("agency-1-batch-7", time.Second, logfmt.Logged(logfmt.Agencia).Failing("different file or batch size"))
	w.waitFor("lottery", time.Second, logfmt.Logged(logfmt.ApuestaRecibida).Failing("differs from the"))
	again := w.start("agency-1-again", "agency", append(env, "CLI_BATCH_MAXAMOUNT=10")...)
	if code := again.wait(t, exitWithin); code != 0 {
		t.Errorf("agency restarted with its original settings exited %d; want 0", code)
	}
	w.waitFor("agency-1-again", time.Second, logfmt.Logged(logfmt.ConsultaGanadores).With("cant_ganadores", "3"))
	if code := lot.stop(t, stopWithin); code != 0 {
		t.Errorf("lottery exited %d; want 0", code)
	}
	checkStored(t, files, filepath.Join(dataDir, "bets.csv"))
}

// TestSIGTERM stops each program with SIGTERM while it works: it must exit
// 0 within the drain deadline, and started again, finish the job with
// nothing lost or stored twice.
func TestSIGTERM(t *testing.T) {
	t.Run("lottery while storing", func(t *testing.T) {
		w := newWorld(t)
		defer w.dump()
		winners := []int{3, 4}
		files := w.gendata(20000, winners...)
		dataDir := filepath.Join(w.dir, "lottery")
		env := []string{"LOTTERY_AGENCIES=2", "LOTTERY_DATA_DIR=" + dataDir}
		lot := w.start("lottery", "lottery", env...)
		agencies := w.startAgencies(files, "CLI_BATCH_MAXAMOUNT=10", "CLI_CONFIRM_WINDOW=1")
		w.waitFor("lottery", exitWithin, logfmt.Logged(logfmt.ApuestaRecibida).Is(logfmt.Success))
		if code := lot.stop(t, stopWithin); code != 0 {
			t.Errorf("lottery exited %d on SIGTERM; want 0 within %s", code, stopWithin)
		}
		w.waitFor("lottery", time.Second, logfmt.Logged(logfmt.Cierre).With("recurso", "connection"))
		lot2 := w.start("lottery-2", "lottery", env...)
		waitOK(t, agencies)
		if code := lot2.stop(t, stopWithin); code != 0 {
			t.Errorf("lottery exited %d; want 0", code)
		}
		check(t, w, files, 10, winners, filepath.Join(dataDir, "bets.csv"))
	})
	t.Run("agency while sending and while waiting", func(t *testing.T) {
		w := newWorld(t)
		defer w.dump()
		winners := []int{2, 1}
		files := w.gendata(20000, winners...)
		dataDir := filepath.Join(w.dir, "lottery")
		lot := w.start("lottery", "lottery", "LOTTERY_AGENCIES=2", "LOTTERY_DATA_DIR="+dataDir)
		env1 := []string{"CLI_ID=1", "CLI_DATA_FILE=" + files[0], "CLI_BATCH_MAXAMOUNT=10"}
		a1 := w.start("agency-1", "agency", append(env1, "CLI_CONFIRM_WINDOW=1")...)
		w.waitFor("lottery", exitWithin, logfmt.Logged(logfmt.ApuestaRecibida).With("agencia", "1"))
		if a1.Exited() {
			t.Fatal("agency 1 finished before its SIGTERM: the test would prove nothing")
		}
		if code := a1.stop(t, stopWithin); code != 0 {
			t.Errorf("agency exited %d on SIGTERM while sending; want 0", code)
		}
		// Started again, it finishes sending, then waits for agency 2.
		a1 = w.start("agency-1-again", "agency", env1...)
		w.waitFor("agency-1-again", exitWithin, logfmt.Logged(logfmt.EsperaGanadores))
		if code := a1.stop(t, stopWithin); code != 0 {
			t.Errorf("agency exited %d on SIGTERM while waiting for winners; want 0", code)
		}
		a2 := w.start("agency-2", "agency", "CLI_ID=2", "CLI_DATA_FILE="+files[1], "CLI_BATCH_MAXAMOUNT=10")
		a1 = w.start("agency-1-third", "agency", env1...)
		waitOK(t, []*proc{a1, a2})
		if code := lot.stop(t, stopWithin); code != 0 {
			t.Errorf("lottery exited %d; want 0", code)
		}
		check(t, w, files, 10, winners, filepath.Join(dataDir, "bets.csv"))
	})
}
