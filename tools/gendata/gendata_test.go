package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/loteria-nacional/pipeline/bet"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGendataIsDeterministicWithKnownWinners(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if err := run(3, 500, "4,0,2", 7, dir); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range map[int]int{1: 4, 2: 0, 3: 2} {
		name := filepath.Join("agency-" + string(rune('0'+id)) + ".csv")
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, _ := os.ReadFile(filepath.Join(b, name))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with the same flags", name)
		}
		f, _ := os.Open(filepath.Join(a, name))
		r := bet.NewReader(f, id)
		n, wins := 0, 0
		for {
			x, err := r.Read()
			if err != nil {
				break
			}
			n++
			if bet.HasWon(x) {
				wins++
			}
		}
		f.Close()
		if n != 500 || wins != want {
			t.Errorf("%s: %d valid bets, %d winners; want 500 and %d", name, n, wins, want)
		}
	}
}
