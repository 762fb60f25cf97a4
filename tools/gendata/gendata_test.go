package main

import (
	"bytes"
	"fmt"
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
		if err := run(3, "500", "4,0,2", 7, dir, false); err != nil {
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

// TestGendataCourseShape writes the course's data set's shape: each agency
// its own number of bets and winners, in "\r\n" rows.
func TestGendataCourseShape(t *testing.T) {
	dir := t.TempDir()
	if err := run(5, "26936,25518,16014,9238,991", "2,3,3,2,0", 1, dir, false); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int][2]int{1: {26936, 2}, 2: {25518, 3}, 3: {16014, 3}, 4: {9238, 2}, 5: {991, 0}} {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("agency-%d.csv", id)))
		if err != nil {
			t.Fatal(err)
		}
		bets, err := bet.NewBytesReader(b, id).ReadAll(nil)
		if err != nil {
			t.Fatal(err)
		}
		wins := 0
		for _, x := range bets {
			if bet.HasWon(x) {
				wins++
			}
		}
		if len(bets) != want[0] || wins != want[1] || bytes.Count(b, []byte("\r\n")) != want[0] {
			t.Errorf("agency %d: %d bets, %d winners, %d \\r\\n; want %d, %d and one a row", id, len(bets), wins, bytes.Count(b, []byte("\r\n")), want[0], want[1])
		}
	}
}

// TestGendataKeepsFilesThatExist: a person's own file is kept byte for
// byte, the missing ones are written, and -replace replaces them all.
func TestGendataKeepsFilesThatExist(t *testing.T) {
	dir := t.TempDir()
	mine := []byte("Mía,Propia,12345678,1990-01-01,7574\r\n")
	path := filepath.Join(dir, "agency-2.csv")
	if err := os.WriteFile(path, mine, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(3, "50", "1", 1, dir, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, mine) {
		t.Errorf("agency-2.csv holds %q after gendata; want the person's %q kept", got, mine)
	}
	for _, name := range []string{"agency-1.csv", "agency-3.csv"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v; want it generated", name, err)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "*.gendata")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	if err := run(3, "50", "1", 1, dir, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); bytes.Equal(got, mine) || len(got) == 0 {
		t.Errorf("agency-2.csv holds %q after gendata -replace; want it generated", got)
	}
}
