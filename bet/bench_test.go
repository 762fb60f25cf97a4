package bet

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"testing"
)

// benchInput is n rows like the benchmark's workload: names with accents
// and without, one row in eight with a quoted name.
func benchInput(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		names := [...]string{"Santiago Lionel,Lorca", "Julián,Álvarez", "Ana,Pérez"}[i%3]
		if i%8 == 0 {
			names = `"María, Jr.",Núñez`
		}
		fmt.Fprintf(&b, "%s,%08d,19%02d-%02d-%02d,%d\r\n", names, 30904465+i, i%100, 1+i%12, 1+i%28, i%10000)
	}
	return b.Bytes()
}

// benchBets is the bets of benchInput(n).
func benchBets(b *testing.B, n int) []Bet {
	b.Helper()
	bets, err := NewBytesReader(benchInput(n), 1).ReadAll(nil)
	if err != nil {
		b.Fatal(err)
	}
	return bets
}

// BenchmarkReader is the cost of reading and validating one bet.
func BenchmarkReader(b *testing.B) {
	in := benchInput(1000)
	b.SetBytes(int64(len(in))) // one op reads the whole input
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(in), 1)
		for {
			if _, err := r.Read(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/bet")
}

// BenchmarkEncodingCSV is BenchmarkReader's work done with the standard
// library, encoding/csv followed by Parse, on the same rows: the measure
// of what the hand-written Reader is for.
func BenchmarkEncodingCSV(b *testing.B) {
	in := benchInput(1000)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r := csv.NewReader(bytes.NewReader(in))
		r.FieldsPerRecord = Fields
		r.ReuseRecord = true
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Parse(1, rec); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/bet")
}

// BenchmarkStoreBets is the cost of storing one bet (without fsync).
func BenchmarkStoreBets(b *testing.B) {
	bets := benchBets(b, 1000)
	s, err := OpenStore(filepath.Join(b.TempDir(), "bets.csv"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.StoreBets(bets); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/bet")
}

// BenchmarkLoadBets is the cost of the draw's pass: loading one stored bet
// and asking HasWon.
func BenchmarkLoadBets(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bets.csv")
	s, err := OpenStore(path)
	if err != nil {
		b.Fatal(err)
	}
	bets := benchBets(b, 10000)
	const rounds = 50 // 500,000 bets, one winner in 10,000
	for range rounds {
		if err := s.StoreBets(bets); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	b.ReportAllocs()
	for b.Loop() {
		won := 0
		for x, err := range LoadBets(path) {
			if err != nil {
				b.Fatal(err)
			}
			if HasWon(x) {
				won++
			}
		}
		if won != rounds {
			b.Fatalf("%d winners; want %d", won, rounds)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rounds*len(bets)), "ns/bet")
}
