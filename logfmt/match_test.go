package logfmt

import "testing"

func TestMatch(t *testing.T) {
	e, err := Parse("action: apuesta_recibida | result: fail | cantidad: 3 | mensaje: m-1 | error: batch 1 of agency 2: holds 1 bets")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		m    Match
		want bool
	}{
		{Match{}, true},
		{Failures(), true},
		{Logged(ApuestaRecibida), true},
		{Logged(Sorteo), false},
		{Logged(ApuestaRecibida).Is(Success), false},
		{Logged(ApuestaRecibida).With("cantidad", "3"), true},
		{Logged(ApuestaRecibida).With("cantidad", "30"), false},
		{Logged(ApuestaRecibida).With("cantidad", ""), false},
		{Logged(ApuestaRecibida).Has("mensaje"), true},
		{Logged(ApuestaRecibida).Has("agencia"), false},
		{Logged(ApuestaRecibida).Failing("agency 2", "holds 1"), true},
		{Logged(ApuestaRecibida).Failing("agency 2", "holds 2"), false},
		{Logged(ApuestaRecibida).Saying("mensaje", "agency 2"), false},
	} {
		if got := tc.m.Matches(e); got != tc.want {
			t.Errorf("%s matches %v: %v; want %v", tc.m, e, got, tc.want)
		}
	}
}

func TestMatchesDoNotShareFields(t *testing.T) {
	base := Logged(Sorteo).With("a", "1")
	first, second := base.With("b", "2"), base.With("b", "3")
	if first.String() == second.String() || first.String() != `action sorteo, a "1", b "2"` {
		t.Errorf("two matches from one base: %s and %s; want each its own fields", first, second)
	}
}
