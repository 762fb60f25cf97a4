package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/logfmt"
)

func TestJournalDropsTornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, recs, err := openJournal(path, nil)
	if err != nil || len(recs) != 0 {
		t.Fatalf("openJournal(new) = %v, %v", recs, err)
	}
	j.add(record{Op: opStored, Agency: 1, Seq: 1, Bets: 2, End: 10})
	j.add(record{Op: opFinished, Agency: 1, Batches: 1, Bets: 2})
	if err := j.commit(); err != nil {
		t.Fatal(err)
	}
	j.add(record{Op: opDrawn})
	if err := j.commit(); err != nil {
		t.Fatal(err)
	}
	j.Close()
	good, _ := os.ReadFile(path)
	for _, torn := range []string{`[{"op":"stor`, `[{"op":"stored","agency":1,"seq":2},{"op":"sto`, `[{"op":"stored","agency":1,"seq":2}]`} {
		if err := os.WriteFile(path, append(append([]byte{}, good...), torn...), 0o644); err != nil {
			t.Fatal(err)
		}
		j, recs, err := openJournal(path, nil)
		if err != nil {
			t.Fatalf("openJournal with torn tail %q: %v", torn, err)
		}
		if len(recs) != 3 || recs[1].Op != opFinished || recs[2].Op != opDrawn {
			t.Errorf("records = %+v; want the three committed ones", recs)
		}
		j.Close()
		if after, _ := os.ReadFile(path); string(after) != string(good) {
			t.Errorf("journal after recovery = %q; want the torn tail %q cut", after, torn)
		}
	}
}

func TestJournalRefusesCorruptMiddle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	if err := os.WriteFile(path, []byte("[{\"op\":\"drawn\"}]\ngarbage\n[{\"op\":\"drawn\"}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openJournal(path, nil); err == nil {
		t.Error("openJournal with a corrupt middle line = nil error; want one")
	}
}

func TestRecoverCutsUncommittedBets(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{agencies: 1, dataDir: dir}
	st, store, j, err := recoverState(cfg, logfmt.Discard())
	if err != nil {
		t.Fatal(err)
	}
	b := bet.Bet{Agency: 1, FirstName: "A", LastName: "B", Document: "1", Number: 7574}
	store.StoreBets([]bet.Bet{b})
	rec := record{Op: opStored, Agency: 1, Seq: 1, Bets: 1, End: store.Size()}
	j.add(rec)
	if err := j.commit(); err != nil {
		t.Fatal(err)
	}
	st.apply(rec)
	store.StoreBets([]bet.Bet{b, b}) // written, never committed: a crash here
	store.Close()
	j.Close()

	st, store, j, err = recoverState(cfg, logfmt.Discard())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	defer j.Close()
	if store.Size() != rec.End || st.end != rec.End {
		t.Errorf("after recovery bets.csv is %d bytes (state says %d); want %d", store.Size(), st.end, rec.End)
	}
	if _, ok := st.batch(1, 1); !ok {
		t.Error("recovered state lacks batch 1/1")
	}
}

func TestRecoverRefusesAnotherNumberOfAgencies(t *testing.T) {
	stored := `[{"op":"stored","agency":4,"seq":1,"bets":1,"end":25}]` + "\n"
	for _, tc := range []struct {
		name     string
		journal  string // before a torn tail, which must survive a refusal
		agencies int
		want     string // in the error; empty: recovered
	}{
		{"recorded, same", `[{"op":"draw","agencies":5}]` + "\n" + stored, 5, ""},
		{"recorded, fewer", `[{"op":"draw","agencies":5}]` + "\n" + stored, 3, "holds a draw among 5 agencies, but LOTTERY_AGENCIES is 3"},
		{"recorded, more", `[{"op":"draw","agencies":5}]` + "\n" + stored, 6, "holds a draw among 5 agencies, but LOTTERY_AGENCIES is 6"},
		{"not recorded, agency beyond", stored, 3, "agency 4 takes part, but LOTTERY_AGENCIES is 3"},
		{"not recorded, within", stored, 4, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{
				"journal.jsonl": tc.journal + `[{"op":"stor`,
				"bets.csv":      "A,B,1,2000-01-01,7574,4\r\nuncommitted row\r\n",
			}
			for name, content := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, store, j, err := recoverState(Config{agencies: tc.agencies, dataDir: dir}, logfmt.Discard())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("recoverState = %v; want the draw recovered", err)
				}
				store.Close()
				j.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "new draw") {
				t.Fatalf("recoverState = %v; want an error saying %q and how to start a new draw", err, tc.want)
			}
			for name, content := range files {
				if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != content {
					t.Errorf("%s after the refusal = %q; want it unchanged, %q", name, got, content)
				}
			}
		})
	}
}

func TestNewJournalRecordsTheAgencies(t *testing.T) {
	dir := t.TempDir()
	_, store, j, err := recoverState(Config{agencies: 7, dataDir: dir}, logfmt.Discard())
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	j.Close()
	j, recs, err := openJournal(filepath.Join(dir, "journal.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if len(recs) != 1 || recs[0] != (record{Op: opDraw, Agencies: 7}) {
		t.Errorf("a new journal holds %+v; want one draw record of 7 agencies", recs)
	}
}
