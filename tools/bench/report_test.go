package main

import (
	"strings"
	"testing"
)

// TestReportRatios checks the report's headline figures on made-up runs:
// each is taken from the median run, and both ratios compare bets per
// second with the baseline's.
func TestReportRatios(t *testing.T) {
	w := workload{name: "pipeline", bets: 5000, batches: 5, bytes: 5000 * 40}
	run := func(seconds float64) *pipelineResult {
		return &pipelineResult{workload: w, winners: []float64{seconds}, totalSeconds: seconds}
	}
	base := func(seconds float64) *baselineResult {
		return &baselineResult{messages: 5, size: 40_000, seconds: seconds}
	}
	r := results{
		pipeline: []*pipelineResult{run(4), run(2), run(3)},                    // median 3 s
		baseline: []*baselineResult{base(1.5), base(1), base(2)},               // median 1.5 s: 3,333 bets/s
		ceiling:  []*ceilingResult{{seconds: 2}, {seconds: 6}, {seconds: 2.5}}, // median 2.5 s
	}
	report := renderReport(options{agencies: 1, bets: 5000, batch: 1000}, r)
	for _, want := range []string{
		"| end to end (first agency started → last agency has its winners) | 3.00 s |",
		"| raw baseline: one confirming publisher, one acking consumer | 5 messages of 40000 bytes in 1.50 s = 3 msg/s |",
		"| pipeline / baseline | 50 % |",                         // 1,667 against 3,333 bets/s
		"every batch consumed | 2.50 s = 60 % of the baseline |", // 2,000 against 3,333 bets/s
		"| every run: pipeline end to end | 4.00, 2.00, 3.00 s |",
		"| every run: baseline | 1.50, 1.00, 2.00 s |",
		"| every run: ceiling | 2.00, 6.00, 2.50 s |",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}

func TestMedian(t *testing.T) {
	id := func(x float64) float64 { return x }
	for _, tc := range []struct {
		runs []float64
		want float64
	}{
		{[]float64{7}, 7},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 3}, // even: the slower of the middle two
	} {
		if got := median(tc.runs, id); got != tc.want {
			t.Errorf("median(%v) = %v; want %v", tc.runs, got, tc.want)
		}
	}
}
