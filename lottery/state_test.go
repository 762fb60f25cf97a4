package main

import "testing"

func TestStateReadyCountsSettledBatches(t *testing.T) {
	s := newState(2)
	apply := func(recs ...record) {
		for _, r := range recs {
			s.apply(r)
		}
	}
	// Agency 1: batch 2 arrives before its finished event, batch 1 after;
	// batch 3 is rejected; a repeat of batch 2 counts once.
	apply(record{Op: opStored, Agency: 1, Seq: 2, Bets: 10, End: 100})
	apply(record{Op: opFinished, Agency: 1, Batches: 3, Bets: 25})
	apply(record{Op: opStored, Agency: 1, Seq: 2, Bets: 10, End: 100})
	if _, batches, bets := s.waitingFor(); batches != 2 || bets != 15 {
		t.Errorf("waiting for %d batches and %d bets; want 2 and 15", batches, bets)
	}
	apply(record{Op: opStored, Agency: 1, Seq: 1, Bets: 10, End: 200}, record{Op: opRejected, Agency: 1, Seq: 3, Bets: 5, Reason: "bad"})
	if s.ready() {
		t.Error("ready with agency 2 not finished")
	}
	unfinished, batches, bets := s.waitingFor()
	if len(unfinished) != 1 || unfinished[0] != 2 || batches != 0 || bets != 0 {
		t.Errorf("waitingFor = %v, %d, %d; want [2], 0, 0", unfinished, batches, bets)
	}
	apply(record{Op: opFinished, Agency: 2, Batches: 0, Bets: 0})
	if !s.ready() {
		t.Error("not ready with every batch settled and every agency finished")
	}
	if got := s.rejected(); len(got) != 1 || got[0] != "1/3 (bad)" {
		t.Errorf("rejected = %v; want [1/3 (bad)]", got)
	}
	apply(record{Op: opDrawn})
	if s.ready() {
		t.Error("ready again after the draw")
	}
}
