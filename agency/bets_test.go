package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agency.csv")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func rows(n int) string {
	return strings.Repeat("Ana,Pérez,1,2000-01-01,5\n", n)
}

func TestBatches(t *testing.T) {
	tests := []struct {
		bets, size int
		want       []int
	}{
		{0, 10, nil},
		{1, 10, []int{1}},
		{10, 10, []int{10}},
		{21, 10, []int{10, 10, 1}},
		{64, 64, []int{64}},
		{99, 64, []int{64, 35}},
	}
	for _, tc := range tests {
		path := writeFile(t, rows(tc.bets))
		_, fp, err := checkFile(context.Background(), path, 1, tc.size)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for c, err := range batches(path, tc.size, fp) {
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(c.body), "\r\n"); n != c.bets {
				t.Errorf("batch body holds %d rows; chunk says %d", n, c.bets)
			}
			got = append(got, c.bets)
		}
		if !slicesEqual(got, tc.want) {
			t.Errorf("batches(%d bets, size %d) = %v; want %v", tc.bets, tc.size, got, tc.want)
		}
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCheckFileFingerprint(t *testing.T) {
	a := writeFile(t, rows(5))
	b := writeFile(t, rows(6))
	n, fa10, err := checkFile(context.Background(), a, 1, 10)
	if err != nil || n != 5 {
		t.Fatalf("checkFile = %d, %v; want 5 bets", n, err)
	}
	_, fa10again, _ := checkFile(context.Background(), a, 1, 10)
	_, fa20, _ := checkFile(context.Background(), a, 1, 20)
	_, fb10, _ := checkFile(context.Background(), b, 1, 10)
	if fa10 != fa10again {
		t.Errorf("fingerprint of one file and batch size changed: %q then %q", fa10, fa10again)
	}
	if fa10 == fa20 || fa10 == fb10 {
		t.Errorf("fingerprints %q (batch 10), %q (batch 20), %q (other file): want all different", fa10, fa20, fb10)
	}
}

// TestBatchesFileChanged: a file that changed after it was checked ends the
// batches in an error that says so, even when every row is still valid.
func TestBatchesFileChanged(t *testing.T) {
	path := writeFile(t, rows(25))
	_, fp, err := checkFile(context.Background(), path, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(rows(25), "Ana", "Eva", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []int
	var last error
	for c, err := range batches(path, 10, fp) {
		if err != nil {
			last = err
			break
		}
		got = append(got, c.bets)
	}
	if last == nil || !strings.Contains(last.Error(), "changed since it was checked") {
		t.Errorf("batches over a changed file: error %v; want one that says it changed", last)
	}
	if !slicesEqual(got, []int{10, 10}) {
		t.Errorf("batches before the error = %v; want the two full ones, not the last", got)
	}
}
