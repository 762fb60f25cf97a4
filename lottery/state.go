package main

import (
	"slices"
	"strconv"
	"strings"
)

type batchKey struct{ agency, seq int }

// settlement is how a batch was settled: stored, or rejected with a reason.
type settlement struct {
	bets   int
	reason string // empty: stored
}

type agencyState struct {
	fingerprint string
	finished    bool
	batches     int // announced by the finished event
	bets        int // announced by the finished event
	// Once finished: how many of batches 1…batches are settled, and their
	// bets, kept up to date so that checking for the draw costs nothing.
	settled     int
	settledBets int
}

// state is the draw's state, rebuilt at start-up from the journal and kept up
// to date by applying each new record, so both follow one code path.
type state struct {
	agencies int // agencies 1…agencies take part
	batches  map[batchKey]settlement
	agency   map[int]*agencyState
	pending  []record // winners requests not answered yet
	drawn    bool
	end      int64 // committed end offset of bets.csv
}

func newState(agencies int) *state {
	s := &state{agencies: agencies, batches: map[batchKey]settlement{}, agency: map[int]*agencyState{}}
	for id := 1; id <= agencies; id++ {
		s.agency[id] = &agencyState{}
	}
	return s
}

func (s *state) takesPart(agency int) bool { return agency >= 1 && agency <= s.agencies }

func (s *state) apply(r record) {
	a := s.agency[r.Agency]
	if a == nil { // a journal from a run with more agencies
		a = &agencyState{}
		s.agency[r.Agency] = a
	}
	switch r.Op {
	case opStored:
		s.settle(a, r, "")
		s.end = r.End
		if a.fingerprint == "" {
			a.fingerprint = r.Fingerprint
		}
	case opRejected:
		s.settle(a, r, r.Reason)
	case opFinished:
		a.finished, a.batches, a.bets = true, r.Batches, r.Bets
		for seq := 1; seq <= a.batches; seq++ {
			if st, ok := s.batches[batchKey{r.Agency, seq}]; ok {
				a.settled++
				a.settledBets += st.bets
			}
		}
		if a.fingerprint == "" {
			a.fingerprint = r.Fingerprint
		}
	case opRequest:
		s.pending = append(s.pending, r)
	case opAnswered:
		s.pending = slices.DeleteFunc(s.pending, func(p record) bool { return p.Correlation == r.Correlation })
	case opDrawn:
		s.drawn = true
	}
}

// ready reports whether the draw can happen: every agency finished and every
// batch each one announced is settled.
func (s *state) ready() bool {
	if s.drawn {
		return false
	}
	for id := 1; id <= s.agencies; id++ {
		if s.missingBatches(id) > 0 || !s.agency[id].finished {
			return false
		}
	}
	return true
}

// settle records how batch r.Seq of agency a was settled (reason empty:
// stored), counting it for the draw if the agency has finished.
func (s *state) settle(a *agencyState, r record, reason string) {
	key := batchKey{r.Agency, r.Seq}
	if _, again := s.batches[key]; !again && a.finished && r.Seq <= a.batches {
		a.settled++
		a.settledBets += r.Bets
	}
	s.batches[key] = settlement{bets: r.Bets, reason: reason}
}

func (s *state) missingBatches(agency int) int {
	a := s.agency[agency]
	return a.batches - a.settled
}

// waitingFor describes what the draw still waits for: agencies that have not
// finished, and batches and bets announced but not yet settled.
func (s *state) waitingFor() (unfinished []int, batches, bets int) {
	for id := 1; id <= s.agencies; id++ {
		a := s.agency[id]
		if !a.finished {
			unfinished = append(unfinished, id)
			continue
		}
		batches += s.missingBatches(id)
		bets += max(a.bets-a.settledBets, 0)
	}
	return unfinished, batches, bets
}

// rejected lists the rejected batches as "agency/seq (reason)", in order.
func (s *state) rejected() []string {
	var keys []batchKey
	for k, st := range s.batches {
		if st.reason != "" {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b batchKey) int {
		if a.agency != b.agency {
			return a.agency - b.agency
		}
		return a.seq - b.seq
	})
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = strconv.Itoa(k.agency) + "/" + strconv.Itoa(k.seq) + " (" + s.batches[k].reason + ")"
	}
	return out
}

func joinInts(ids []int) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	return strings.Join(parts, ",")
}
