package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// standIn runs a stand-in lottery that prints lines, handing them to the
// bench's own reading of a lottery, and returns the launcher, what was
// counted, and whether the lottery was seen ready, once it has exited.
func standIn(t *testing.T, lines ...string) (*launcher, *pipelineResult, []int, bool) {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\n"
	for _, l := range lines {
		script += "echo '" + l + "'\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "lottery"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	l := &launcher{bin: dir}
	res := &pipelineResult{}
	stored := make([]int, 1)
	ready := false
	p, err := l.start("lottery", "lottery 1", res.onLottery(0, stored, func() { ready = true }))
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done
	return l, res, stored, ready
}

// TestBenchFailsOnALineItCannotRead: a stored batch whose line lacks
// cantidad must fail the run, never count as zero bets; so must a line of
// another shape.
func TestBenchFailsOnALineItCannotRead(t *testing.T) {
	for _, tc := range []struct {
		name, line, want string
	}{
		{"missing field", "action: apuesta_recibida | result: success | agencia: 1 | lote: 1", `no field "cantidad"`},
		{"not an integer", "action: apuesta_recibida | result: success | cantidad: many", "not an integer"},
		{"not the format", "apuesta_recibida cantidad=3", `has no ": "`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _, stored, ready := standIn(t, "action: lottery_iniciado | result: success", tc.line)
			err := l.failed()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "lottery 1: ") {
				t.Errorf("failed() = %v; want an error from lottery 1 saying %q", err, tc.want)
			}
			if !ready || stored[0] != 0 {
				t.Errorf("ready %v, stored %d; want the lottery seen ready and nothing counted", ready, stored[0])
			}
		})
	}
}

// TestBenchCountsStoredBets: with lines the bench reads right, what it
// counts is what the lines say.
func TestBenchCountsStoredBets(t *testing.T) {
	l, res, stored, _ := standIn(t,
		"action: apuesta_recibida | result: success | agencia: 1 | cantidad: 3 | lote: 1",
		"action: apuesta_recibida | result: fail | agencia: 1 | cantidad: 5 | lote: 2 | error: x",
		"action: apuesta_recibida | result: success | agencia: 2 | cantidad: 4 | lote: 1",
		"action: sorteo | result: success | ganadores: 0")
	if err := l.failed(); err != nil {
		t.Fatal(err)
	}
	if stored[0] != 7 || len(res.curve) != 2 {
		t.Errorf("stored %d in %d points; want 7 in 2 (a refused batch is not stored)", stored[0], len(res.curve))
	}
}
