package service

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/loteria-nacional/pipeline/bet"
)

// settlement is how a batch was settled: stored, or rejected with a reason.
type settlement struct {
	bets   int
	reason string   // empty: stored
	rows   bet.Span // stored: where its rows are in bets.csv
	digest string   // stored: of its body; empty in journals written before digests
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
	received    map[int]settlement // every batch settled, by number, announced or not
}

// state is the draw's state, rebuilt at start-up from the journal and kept up
// to date by applying each new record, so both follow one code path. Its size
// follows what was stored, never a count a sender announced.
type state struct {
	agencies int // agencies 1…agencies take part
	agency   map[int]*agencyState
	pending  []record // winners requests not answered yet: an agency's last few, oldest first
	drawn    bool
	end      int64 // committed end offset of bets.csv
}

// maxPendingPerAgency is how many of an agency's requests wait for the
// draw: an agency makes one a connection, and waits for the last.
const maxPendingPerAgency = 8

// pendingOf counts agency's pending requests.
func (s *state) pendingOf(agency int) int {
	n := 0
	for _, p := range s.pending {
		if p.Agency == agency {
			n++
		}
	}
	return n
}

func newState(agencies int) *state {
	s := &state{agencies: agencies, agency: map[int]*agencyState{}}
	for id := 1; id <= agencies; id++ {
		s.agencyOf(id)
	}
	return s
}

func (s *state) takesPart(agency int) bool { return agency >= 1 && agency <= s.agencies }

// agencyOf is agency id's state, made on first use.
func (s *state) agencyOf(id int) *agencyState {
	a := s.agency[id]
	if a == nil {
		a = &agencyState{received: map[int]settlement{}}
		s.agency[id] = a
	}
	return a
}

// batch is how batch seq of an agency was settled, if it was.
func (s *state) batch(agency, seq int) (settlement, bool) {
	st, ok := s.agencyOf(agency).received[seq]
	return st, ok
}

func (s *state) apply(r record) {
	switch r.Op {
	case opStored:
		a := s.agencyOf(r.Agency)
		s.settle(a, r, settlement{bets: r.Bets, rows: bet.Span{Start: s.end, End: r.End}, digest: r.Digest})
		s.end = r.End
		if a.fingerprint == "" {
			a.fingerprint = r.Fingerprint
		}
	case opRejected:
		s.settle(s.agencyOf(r.Agency), r, settlement{bets: r.Bets, reason: r.Reason})
	case opFinished:
		a := s.agencyOf(r.Agency)
		a.finished, a.batches, a.bets = true, r.Batches, r.Bets
		for seq, st := range a.received {
			if seq <= a.batches {
				a.settled++
				a.settledBets += st.bets
			}
		}
		if a.fingerprint == "" {
			a.fingerprint = r.Fingerprint
		}
	case opRequest:
		// Every request an agency made is answered: which one it still
		// waits for cannot be told from the order they come in, since a
		// request redelivered after a lost connection comes after the one
		// the agency sent on its new connection. An agency's last
		// maxPendingPerAgency are kept, so pending requests stay a few per
		// agency whatever a sender does.
		s.pending = slices.DeleteFunc(s.pending, func(p record) bool { return p.Agency == r.Agency && p.Correlation == r.Correlation })
		s.pending = append(s.pending, r)
		if s.pendingOf(r.Agency) > maxPendingPerAgency {
			oldest := slices.IndexFunc(s.pending, func(p record) bool { return p.Agency == r.Agency })
			s.pending = slices.Delete(s.pending, oldest, oldest+1)
		}
	case opAnswered:
		s.pending = slices.DeleteFunc(s.pending, func(p record) bool {
			return p.Agency == r.Agency && p.Correlation == r.Correlation
		})
	case opDrawn:
		s.drawn = true
	}
}

// settle records how batch r.Seq of agency a was settled, counting it for
// the draw if the agency has finished and announced it.
func (s *state) settle(a *agencyState, r record, st settlement) {
	if _, again := a.received[r.Seq]; !again && a.finished && r.Seq <= a.batches {
		a.settled++
		a.settledBets += r.Bets
	}
	a.received[r.Seq] = st
}

// ready reports whether the draw can happen: every agency finished and every
// batch each one announced is settled.
func (s *state) ready() bool {
	if s.drawn {
		return false
	}
	for id := 1; id <= s.agencies; id++ {
		if a := s.agency[id]; !a.finished || a.settled < a.batches {
			return false
		}
	}
	return true
}

// waitingFor describes what the draw still waits for: agencies that have not
// finished, batches and bets announced but not yet settled, and the first
// few of those batches by name ("agency/batch").
func (s *state) waitingFor() (unfinished []int, batches, bets int, missing []string) {
	const named = 10
	for id := 1; id <= s.agencies; id++ {
		a := s.agency[id]
		if !a.finished {
			unfinished = append(unfinished, id)
			continue
		}
		batches += a.batches - a.settled
		bets += max(a.bets-a.settledBets, 0)
		for seq := 1; seq <= a.batches && len(missing) < named && a.settled < a.batches; seq++ {
			if _, ok := a.received[seq]; !ok {
				missing = append(missing, strconv.Itoa(id)+"/"+strconv.Itoa(seq))
			}
		}
	}
	return unfinished, batches, bets, missing
}

// rejected lists the rejected batches as "agency/seq (reason)", in order.
func (s *state) rejected() []string {
	var out []string
	for _, id := range s.ids() {
		a := s.agency[id]
		for _, seq := range sortedKeys(a.received) {
			if st := a.received[seq]; st.reason != "" {
				out = append(out, strconv.Itoa(id)+"/"+strconv.Itoa(seq)+" ("+st.reason+")")
			}
		}
	}
	return out
}

// unannounced is the rows of stored batches that their agency's finished
// event does not announce (a number beyond its count), which the draw must
// not count, in the order of bets.csv, and those batches as "agency/seq".
func (s *state) unannounced() (rows []bet.Span, names []string) {
	for _, id := range s.ids() {
		a := s.agency[id]
		for _, seq := range sortedKeys(a.received) {
			if st := a.received[seq]; st.reason == "" && (!a.finished || seq > a.batches) {
				rows = append(rows, st.rows)
				names = append(names, strconv.Itoa(id)+"/"+strconv.Itoa(seq))
			}
		}
	}
	slices.SortFunc(rows, func(x, y bet.Span) int { return cmp.Compare(x.Start, y.Start) })
	return rows, names
}

// storedBets is how many bets the batches agency announced hold in bets.csv.
func (s *state) storedBets(agency int) int {
	a, n := s.agency[agency], 0
	for seq, st := range a.received {
		if st.reason == "" && seq <= a.batches {
			n += st.bets
		}
	}
	return n
}

// ids are the agencies the state knows, in order.
func (s *state) ids() []int { return sortedKeys(s.agency) }

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func joinInts(ids []int) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	return strings.Join(parts, ",")
}
