package service

import (
	"fmt"
	"slices"
	"testing"

	"github.com/loteria-nacional/pipeline/bet"
)

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
	if _, batches, bets, missing := s.waitingFor(); batches != 2 || bets != 15 || !slices.Equal(missing, []string{"1/1", "1/3"}) {
		t.Errorf("waiting for %d batches and %d bets, missing %v; want 2, 15 and [1/1 1/3]", batches, bets, missing)
	}
	apply(record{Op: opStored, Agency: 1, Seq: 1, Bets: 10, End: 200}, record{Op: opRejected, Agency: 1, Seq: 3, Bets: 5, Reason: "bad"})
	if s.ready() {
		t.Error("ready with agency 2 not finished")
	}
	unfinished, batches, bets, missing := s.waitingFor()
	if len(unfinished) != 1 || unfinished[0] != 2 || batches != 0 || bets != 0 || len(missing) != 0 {
		t.Errorf("waitingFor = %v, %d, %d, %v; want [2], 0, 0, none", unfinished, batches, bets, missing)
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

// TestStateLeavesUnannouncedBatchesOut: the draw counts batches 1…N of
// each agency's finished event; rows of a batch beyond N, stored before the
// event came, are left out, and the stored total is what 1…N hold.
func TestStateLeavesUnannouncedBatchesOut(t *testing.T) {
	s := newState(2)
	for _, r := range []record{
		{Op: opStored, Agency: 1, Seq: 1, Bets: 10, End: 100},
		{Op: opStored, Agency: 2, Seq: 9, Bets: 3, End: 130}, // beyond agency 2's count
		{Op: opStored, Agency: 1, Seq: 2, Bets: 10, End: 230},
		{Op: opStored, Agency: 2, Seq: 1, Bets: 4, End: 270},
		{Op: opStored, Agency: 1, Seq: 7, Bets: 1, End: 280}, // beyond agency 1's count
		{Op: opFinished, Agency: 1, Batches: 2, Bets: 20},
		{Op: opFinished, Agency: 2, Batches: 1, Bets: 5},
	} {
		s.apply(r)
	}
	if !s.ready() {
		t.Fatal("not ready with batches 1…N of each agency stored")
	}
	rows, names := s.unannounced()
	if want := []bet.Span{{Start: 100, End: 130}, {Start: 270, End: 280}}; !slices.Equal(rows, want) {
		t.Errorf("unannounced rows %v; want %v", rows, want)
	}
	if want := []string{"1/7", "2/9"}; !slices.Equal(names, want) {
		t.Errorf("unannounced batches %v; want %v", names, want)
	}
	if got := s.storedBets(1); got != 20 {
		t.Errorf("agency 1 stored %d bets of its announced batches; want 20", got)
	}
	if got := s.storedBets(2); got != 4 {
		t.Errorf("agency 2 stored %d bets of its announced batches; want 4 (it announced 5)", got)
	}
}

// TestStateFinishedCostsWhatWasStored: a finished event that announces the
// most batches there may be is settled by looking at what was stored only.
func TestStateFinishedCostsWhatWasStored(t *testing.T) {
	s := newState(1)
	s.apply(record{Op: opStored, Agency: 1, Seq: 3, Bets: 1, End: 10})
	s.apply(record{Op: opFinished, Agency: 1, Batches: 1_000_000, Bets: 1_000_000})
	if a := s.agency[1]; a.settled != 1 || a.settledBets != 1 {
		t.Errorf("settled %d batches and %d bets; want 1 and 1", a.settled, a.settledBets)
	}
}

// TestStatePendingRequests: a request is known by its agency and its
// correlation id; every one is kept until answered, whatever order they
// come in (an older one redelivered after a newer one), up to the last
// maxPendingPerAgency of an agency.
func TestStatePendingRequests(t *testing.T) {
	s := newState(3)
	for _, r := range []record{
		{Op: opRequest, Agency: 1, Correlation: "same"},
		{Op: opRequest, Agency: 2, Correlation: "same"},
		{Op: opRequest, Agency: 3, Correlation: "old"},
		{Op: opRequest, Agency: 3, Correlation: "new"},
		{Op: opRequest, Agency: 3, Correlation: "old"}, // redelivered after the new one
		{Op: opAnswered, Agency: 2, Correlation: "same"},
	} {
		s.apply(r)
	}
	var got []record
	for _, p := range s.pending {
		got = append(got, record{Agency: p.Agency, Correlation: p.Correlation})
	}
	if want := []record{{Agency: 1, Correlation: "same"}, {Agency: 3, Correlation: "new"}, {Agency: 3, Correlation: "old"}}; !slices.Equal(got, want) {
		t.Errorf("pending %v; want %v", got, want)
	}
	for i := range 3 * maxPendingPerAgency {
		s.apply(record{Op: opRequest, Agency: 1, Correlation: fmt.Sprint(i)})
	}
	if n := s.pendingOf(1); n != maxPendingPerAgency {
		t.Errorf("agency 1 has %d pending requests; want the last %d", n, maxPendingPerAgency)
	}
	if last := s.pending[len(s.pending)-1]; last.Correlation != fmt.Sprint(3*maxPendingPerAgency-1) {
		t.Errorf("the last pending request is %v; want the last one made", last)
	}
}
