package main

import (
	"errors"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/broker"
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
		{"a header that asks for a huge slice", batch(1<<31-1, "A,B,1,2000-01-01,1\r\n"), 1, "", "its header says 2147483647"},
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
			if tc.wantBad == "" && (in.batch.Agency != 2 || in.batch.Seq != 3) {
				t.Errorf("read: batch %+v; want agency 2, batch 3", in.batch)
			}
		})
	}
	finished := amqp.Delivery{Type: broker.TypeFinished, Body: []byte("{}")}
	if in := l.read(finished); in.bad != nil || in.rows != nil || in.bets != nil {
		t.Errorf("read(finished) = %+v; want it handed on untouched", in)
	}
}
