package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkFilePasses is what an agency does with its file before the
// broker sees it: the check pass, then the pass that cuts it into batches.
func BenchmarkFilePasses(b *testing.B) {
	const bets, size = 100_000, 1000
	var sb strings.Builder
	for i := range bets {
		if i%8 == 0 {
			fmt.Fprintf(&sb, "\"María, Jr.\",Núñez,%08d,1999-03-17,%d\r\n", 30904465+i, i%10000)
		} else {
			fmt.Fprintf(&sb, "Santiago Lionel,Lorca,%08d,1999-03-17,%d\r\n", 30904465+i, i%10000)
		}
	}
	path := filepath.Join(b.TempDir(), "agency.csv")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	b.ReportAllocs()
	for b.Loop() {
		n, fp, err := checkFile(context.Background(), path, 1, size)
		if err != nil || n != bets {
			b.Fatalf("checkFile = %d, %v", n, err)
		}
		sent := 0
		for c, err := range batches(path, size, fp) {
			if err != nil {
				b.Fatal(err)
			}
			sent += c.bets
		}
		if sent != bets {
			b.Fatalf("batches hold %d bets; want %d", sent, bets)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*bets), "ns/bet")
}
