package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
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

// TestCheckFileKeepsBatchesWithinTheLimits: a batch over the bytes a
// message may take stops the agency before it sends anything, naming where
// the batch starts; the same file in smaller batches goes.
func TestCheckFileKeepsBatchesWithinTheLimits(t *testing.T) {
	long := strings.Repeat("a", 2000) + ",Pérez,1,2000-01-01,5\n" // ~2 kB a row
	path := writeFile(t, rows(3)+strings.Repeat(long, 1000))
	_, _, err := checkFile(context.Background(), path, 1, 1000)
	if err == nil || !strings.Contains(err.Error(), "from line 1 would take over 1048576 bytes") || !strings.Contains(err.Error(), "lower CLI_BATCH_MAXAMOUNT") {
		t.Errorf("checkFile with batches of ~2 MB = %v; want it refused, naming the batch and the limit", err)
	}
	if _, _, err := checkFile(context.Background(), path, 1, 3); err != nil {
		t.Errorf("checkFile with batches of ~6 kB = %v; want it sent", err)
	}
	if _, _, err := checkFile(context.Background(), writeFile(t, rows(1200)+strings.Repeat(long, 600)), 1, 600); err == nil || !strings.Contains(err.Error(), "from line 1201") {
		t.Errorf("checkFile with a third batch of ~1.2 MB = %v; want it refused, from line 1201", err)
	}
}

func TestConfigBoundsTheBatchSize(t *testing.T) {
	for _, v := range []string{"0", "10001"} {
		env := map[string]string{"CLI_ID": "1", "CLI_BATCH_MAXAMOUNT": v}
		_, err := Load(nil, func(k string) string { return env[k] }, nil)
		if err == nil || !strings.Contains(err.Error(), "want an integer from 1 to 10000") {
			t.Errorf("CLI_BATCH_MAXAMOUNT=%s: %v; want it refused with the bounds", v, err)
		}
	}
}

// TestRefusedCountsNacksOfOnePublish: a nack ends the run after maxNacks in
// a row for the same publish over nackPatience (a cluster electing a queue
// leader nacks for a few seconds); progress in between starts the count
// again, and a lost connection is no nack.
func TestRefusedCountsNacksOfOnePublish(t *testing.T) {
	nack := fmt.Errorf("%w: %w", broker.ErrConnectionLost, broker.ErrNacked)
	a := &agent{cfg: Config{batchSize: 10}, total: 30}
	now := time.Now()
	second := func() time.Time { now = now.Add(time.Second); return now }
	for i := 1; i <= 2*maxNacks; i++ {
		if err := a.refused(nack, second()); err != nil {
			t.Fatalf("nack %d, within %s: %v; want the agency to try again", i, nackPatience, err)
		}
	}
	a.confirmed = 1 // batch 1 went through at last
	now = now.Add(nackPatience)
	if err := a.refused(nack, second()); err != nil {
		t.Fatalf("a nack after progress: %v; want the count started again", err)
	}
	if err := a.refused(broker.ErrConnectionLost, second()); err != nil || a.nacks != 0 {
		t.Fatalf("a lost connection: %v, nacks %d; want no error and the count reset", err, a.nacks)
	}
	var err error
	for i := range maxNacks {
		err = a.refused(nack, now.Add(time.Duration(i)*nackPatience/(maxNacks-1)))
	}
	if err == nil || !strings.Contains(err.Error(), "refused batch 2 3 times in a row, for 30s") {
		t.Errorf("after %d nacks of batch 2 over %s: %v; want the agency to stop, naming the batch", maxNacks, nackPatience, err)
	}
	a.confirmed, a.nacks = 3, 0
	for i := range maxNacks + 1 {
		err = a.refused(nack, now.Add(time.Duration(i)*nackPatience))
	}
	if err == nil || !strings.Contains(err.Error(), "refused the finished event") {
		t.Errorf("after nacks of the finished event: %v; want them named", err)
	}
}
