package service

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/logfmt"
)

func delivery(p amqp.Publishing) amqp.Delivery {
	return amqp.Delivery{Headers: p.Headers, ContentType: p.ContentType, Type: p.Type, MessageId: p.MessageId, Body: p.Body}
}

// TestRead sorts what read finds wrong: a message nobody can read as a
// batch is refused before the state's checks (bad), a batch with a wrong
// row or count after them (rows), so that a duplicate is still recognised.
func TestRead(t *testing.T) {
	l := &lottery{free: make(chan []bet.Bet, 1)} // identity from the header
	batch := func(bets int, body string) amqp.Delivery {
		return delivery(broker.Batch{Agency: 2, Seq: 3, Bets: bets, Fingerprint: "f", Body: []byte(body)}.Publishing())
	}
	noHeader := batch(1, "A,B,1,2000-01-01,1\r\n")
	delete(noHeader.Headers, broker.HeaderBets)
	noFingerprint := batch(1, "A,B,1,2000-01-01,1\r\n")
	delete(noFingerprint.Headers, broker.HeaderFingerprint)
	beyond := batch(1, "A,B,1,2000-01-01,1\r\n")
	beyond.Headers[broker.HeaderBatch] = int32(broker.MaxBatches + 1)
	crowded := batch(1, "A,B,1,2000-01-01,1\r\n")
	for i := range broker.MaxHeaders {
		crowded.Headers[fmt.Sprint("x-", i)] = i
	}
	tests := []struct {
		name              string
		d                 amqp.Delivery
		bets              int
		wantBad, wantRows string
	}{
		{"good", batch(2, "A,B,1,2000-01-01,1\r\nC,D,2,2000-01-02,7574\r\n"), 2, "", ""},
		{"no bets header", noHeader, 0, `"bets"`, ""},
		{"over the size limit", batch(1, strings.Repeat("x", broker.MaxMessageBytes+1)), 0, "over the", ""},
		{"bad row", batch(2, "A,B,1,2000-01-01,1\r\nC,D,2,2000-02-30,2\r\n"), 1, "", `line 2: birthdate "2000-02-30"`},
		{"fewer bets than the header says", batch(3, "A,B,1,2000-01-01,1\r\n"), 1, "", "holds 1 bets; its header says 3"},
		{"more bets than a batch may hold", batch(broker.MaxBatchBets+1, "A,B,1,2000-01-01,1\r\n"), 0, "bets=10001: want 1 to 10000", ""},
		{"a batch number beyond the limit", beyond, 0, "batch=1000001: want 1 to 1000000", ""},
		{"no fingerprint", noFingerprint, 0, "fingerprint missing", ""},
		{"too many headers", crowded, 0, "over the limit of 16 headers", ""},
		{"a row too long", batch(1, strings.Repeat("A", bet.MaxRowBytes)+",B,1,2000-01-01,1\r\n"), 0, "", "line 1: row longer than 4096 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := l.read(tc.d)
			for _, c := range []struct {
				name string
				err  error
				want string
			}{{"bad", in.bad, tc.wantBad}, {"rows", in.rows, tc.wantRows}} {
				var rej *rejection
				switch {
				case c.want == "" && c.err != nil:
					t.Errorf("read: %s = %v; want nil", c.name, c.err)
				case c.want != "" && (!errors.As(c.err, &rej) || !strings.Contains(rej.reason, c.want)):
					t.Errorf("read: %s = %v; want a rejection containing %q", c.name, c.err, c.want)
				}
			}
			if len(in.bets) != tc.bets {
				t.Errorf("read: %d bets; want %d", len(in.bets), tc.bets)
			}
			if tc.wantBad == "" && (in.batch.Agency != 2 || in.batch.Seq != 3 || in.digest != digest(tc.d.Body)) {
				t.Errorf("read: batch %+v, digest %q; want agency 2, batch 3, and its body's digest", in.batch, in.digest)
			}
		})
	}
	finished := amqp.Delivery{Type: broker.TypeFinished, Body: []byte("{}")}
	if in := l.read(finished); in.bad != nil || in.rows != nil || in.bets != nil {
		t.Errorf("read(finished) = %+v; want it handed on untouched", in)
	}
}

// TestStoredBatchFreesItsSlice: once a batch's bets are stored, its slice
// goes back to the pool that read takes slices from, cleared, so that it
// keeps no message body alive for the garbage collector to scan.
func TestStoredBatchFreesItsSlice(t *testing.T) {
	dir := t.TempDir()
	store, err := bet.OpenStore(filepath.Join(dir, "bets.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	jour, _, err := openJournal(filepath.Join(dir, "journal.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer jour.Close()
	l := &lottery{cfg: Config{agencies: 2}, log: logfmt.Discard(), store: store, journal: jour, state: newState(2), free: make(chan []bet.Bet, 1)}
	body := "A,B,1,2000-01-01,1\r\nC,D,2,2000-01-02,7574\r\n"
	in := l.read(delivery(broker.Batch{Agency: 2, Seq: 1, Bets: 2, Fingerprint: "f", Body: []byte(body)}.Publishing()))
	if _, err := l.takeBatch(in); err != nil {
		t.Fatal(err)
	}
	if want := int64(len("2,A,B,1,2000-01-01,1\r\n2,C,D,2,2000-01-02,7574\r\n")); store.Size() != want {
		t.Errorf("bets.csv holds %d bytes after the batch; want %d", store.Size(), want)
	}
	select {
	case freed := <-l.free:
		if len(freed) != 2 {
			t.Fatalf("the freed slice holds %d bets; want the batch's 2", len(freed))
		}
		for i, b := range freed {
			if b != (bet.Bet{}) {
				t.Errorf("freed slice, bet %d = %+v; want it cleared", i, b)
			}
		}
	default:
		t.Error("the stored batch's slice did not go back to the pool")
	}
}
