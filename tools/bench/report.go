package main

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/lottery/service"
)

// results are every run of the bench, in the order they ran.
type results struct {
	pipeline    []*pipelineResult
	baseline    []*baselineResult
	ceiling     []*ceilingResult
	course      *pipelineResult    // a data set of the course's shape; nil in the report's tests
	worst       *worstResult       // nil in the report's tests
	undecodable *undecodableResult // nil in the report's tests
	cluster     *clusterResult     // nil without a local RabbitMQ
	tls         *tlsResult         // nil without a local RabbitMQ
	many        *manyResult        // nil without a local RabbitMQ, or with -many 0
	replicas    []*pipelineResult  // with o.replicas lottery replicas on the single node; none unless asked
}

func (r *results) medianPipeline() *pipelineResult {
	return median(r.pipeline, func(p *pipelineResult) float64 { return p.totalSeconds })
}

func renderReport(o options, r results) string {
	p, ps := r.medianPipeline(), r.pipeline
	b := median(r.baseline, func(b *baselineResult) float64 { return b.seconds })
	c := median(r.ceiling, func(c *ceilingResult) float64 { return c.seconds })
	var s strings.Builder
	fmt.Fprintf(&s, "# Benchmark\n\n")
	fmt.Fprintf(&s, "Machine: %d cores (%s/%s), RabbitMQ on the same machine. Settings: %d agencies x %d bets, batch %d bets "+
		"(CLI_BATCH_MAXAMOUNT), confirm window %d (CLI_CONFIRM_WINDOW), prefetch %d (LOTTERY_PREFETCH), group commit %d (LOTTERY_GROUP), "+
		"durable quorum queues, persistent messages. Each figure is from the median of %d runs of the pipeline (by end-to-end time) "+
		"and of the baseline and the ceiling (by time); the last rows list every run.\n\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, o.agencies, o.bets, o.batch, o.window, o.prefetch, o.group, len(ps))
	fmt.Fprintf(&s, "| measure | value |\n| --- | --- |\n")
	row := func(k, v string, args ...any) { fmt.Fprintf(&s, "| %s | %s |\n", k, fmt.Sprintf(v, args...)) }
	row("bets", "%d in %d batches (%.1f MB of CSV)", p.bets, p.batches, float64(p.bytes)/1e6)
	row("end to end (first agency started → last agency has its winners)", "%.2f s", p.totalSeconds)
	row("bets per second, end to end", "%.0f", p.betsPerSecond())
	row("time to every batch confirmed (last agency's envio_finalizado)", "%.2f s", p.sent)
	row("time to the last bet stored", "%.2f s", p.lastStored())
	row("time to the draw (one LoadBets pass after the last bet)", "%.2f s", p.draw)
	for i, w := range p.winners {
		row(fmt.Sprintf("time to agency %d's winners", i+1), "%.2f s", w)
	}
	var lotteryRSS, agencyRSS int64
	for _, r := range ps {
		lotteryRSS, agencyRSS = max(lotteryRSS, r.lotteryRSS), max(agencyRSS, r.agencyRSS)
	}
	row("lottery peak RSS (highest of all runs)", "%.1f MB", float64(lotteryRSS)/1024)
	row("agency 1 peak RSS (highest of all runs)", "%.1f MB", float64(agencyRSS)/1024)
	if w := r.worst; w != nil {
		row(fmt.Sprintf("lottery peak RSS under the worst batches allowed (%d of %d bets and %.2f MB each, from one sender)", w.batches, broker.MaxBatchBets, float64(w.bodyBytes)/1e6),
			"%.1f MB (what senders can make it hold, by docs/configuration.md's bound for prefetch %d and group %d: %.1f MB; with its own, its memory limit: %.1f MB)",
			float64(w.lotteryRSS)/1024, o.prefetch, o.group, float64(w.heldBytes)/1e6, float64(w.heldBytes+service.OwnBytes)/1e6)
	}
	if u := r.undecodable; u != nil {
		row("one message amqp091-go cannot decode: set aside by the broker after", "%.2f s (%d connections closed); the batch behind it stored after %.3f s, one alone after %.3f s",
			u.setAside, u.closes, u.behind, u.alone)
	}
	row("raw baseline: one confirming publisher, one acking consumer", "%d messages of %d bytes in %.2f s = %.0f msg/s",
		b.messages, b.size, b.seconds, float64(b.messages)/b.seconds)
	row("raw baseline in bets per second", "%.0f", b.betsPerSecond(p))
	row("pipeline / baseline", "%.0f %%", 100*p.betsPerSecond()/b.betsPerSecond(p))
	row("CPU seconds: broker / lottery / all agencies (pipeline)", "%.2f / %.2f / %.2f", p.brokerCPU, p.lotteryCPU, p.agencyCPU)
	row("CPU seconds: broker (baseline)", "%.2f", b.brokerCPU)
	row("ceiling: the agencies with no lottery (a consumer that acks, as the baseline's), every batch consumed", "%.2f s = %.0f %% of the baseline",
		c.seconds, 100*float64(p.bets)/c.seconds/b.betsPerSecond(p))
	row("CPU seconds: broker / all agencies (ceiling)", "%.2f / %.2f", c.brokerCPU, c.agencyCPU)
	var runs, bases, ceilings []string
	for i := range ps {
		runs = append(runs, fmt.Sprintf("%.2f", ps[i].totalSeconds))
		bases = append(bases, fmt.Sprintf("%.2f", r.baseline[i].seconds))
		ceilings = append(ceilings, fmt.Sprintf("%.2f", r.ceiling[i].seconds))
	}
	row("every run: pipeline end to end", "%s s", strings.Join(runs, ", "))
	row("every run: baseline", "%s s", strings.Join(bases, ", "))
	row("every run: ceiling", "%s s", strings.Join(ceilings, ", "))
	if cl := r.cluster; cl != nil {
		cp := cl.medianPipeline()
		cb := median(cl.baseline, func(b *baselineResult) float64 { return b.seconds })
		row("three-node cluster on the same machine: pipeline end to end", "%.2f s = %.0f %% of the single node's time",
			cp.totalSeconds, 100*cp.totalSeconds/p.totalSeconds)
		row("three-node cluster: raw baseline", "%.2f s = %.0f %% of the single node's; the pipeline at %.0f %% of it",
			cb.seconds, 100*cb.seconds/b.seconds, 100*cp.betsPerSecond()/cb.betsPerSecond(cp))
		row("three-node cluster: CPU seconds, the three brokers / lottery (pipeline)", "%.2f / %.2f", cp.brokerCPU, cp.lotteryCPU)
		var cruns, cbases []string
		for i := range cl.pipeline {
			cruns = append(cruns, fmt.Sprintf("%.2f", cl.pipeline[i].totalSeconds))
			cbases = append(cbases, fmt.Sprintf("%.2f", cl.baseline[i].seconds))
		}
		row("every run on the cluster: pipeline end to end / baseline", "%s s / %s s", strings.Join(cruns, ", "), strings.Join(cbases, ", "))
	}
	if t := r.tls; t != nil {
		tp := median(t.plain, func(p *pipelineResult) float64 { return p.totalSeconds })
		ts := median(t.tls, func(p *pipelineResult) float64 { return p.totalSeconds })
		row("TLS, on a private node: pipeline end to end over TLS (client certificates) / over plain AMQP", "%.2f s / %.2f s = %.0f %% of the plain time",
			ts.totalSeconds, tp.totalSeconds, 100*ts.totalSeconds/tp.totalSeconds)
		row("TLS: CPU seconds, broker / lottery / all agencies, over TLS (plain)", "%.2f / %.2f / %.2f (%.2f / %.2f / %.2f)",
			ts.brokerCPU, ts.lotteryCPU, ts.agencyCPU, tp.brokerCPU, tp.lotteryCPU, tp.agencyCPU)
		var truns []string
		for i := range t.tls {
			truns = append(truns, fmt.Sprintf("%.2f / %.2f", t.tls[i].totalSeconds, t.plain[i].totalSeconds))
		}
		row("every run on the private node: over TLS / plain", "%s s", strings.Join(truns, ", "))
	}
	if m := r.many; m != nil {
		row(fmt.Sprintf("%d agencies of %d bets, all started at once, on a private node with %d open files: first agency started → last agency has its winners", m.p.agencies(), manyBets, m.limit),
			"%.2f s (every batch confirmed %.2f s, the draw %.2f s)", m.p.totalSeconds, m.p.sent, m.p.draw)
		row(fmt.Sprintf("%d agencies: the broker's open files / memory, with the lottery alone, at most, after the last winners", m.p.agencies()),
			"%d / %.0f MB, %d / %.0f MB, %d / %.0f MB", m.idleFiles, float64(m.idleMemory)/1e6, m.peakFiles, float64(m.peakMemory)/1e6, m.endFiles, float64(m.endMemory)/1e6)
		row("each agency running costs the broker", "%.2f open files, %.2f MB", m.perAgencyFiles(), m.perAgencyMemory()/1e6)
	}
	if len(r.replicas) > 0 {
		rp := median(r.replicas, func(p *pipelineResult) float64 { return p.totalSeconds })
		row(fmt.Sprintf("%d lottery replicas, the same broker: pipeline end to end", o.replicas), "%.2f s = %.0f %% of one lottery's time",
			rp.totalSeconds, 100*rp.totalSeconds/p.totalSeconds)
		row(fmt.Sprintf("%d lottery replicas: CPU seconds, broker / all lotteries", o.replicas), "%.2f / %.2f (one lottery: %.2f / %.2f)",
			rp.brokerCPU, rp.lotteryCPU, p.brokerCPU, p.lotteryCPU)
		var rruns []string
		for _, x := range r.replicas {
			rruns = append(rruns, fmt.Sprintf("%.2f", x.totalSeconds))
		}
		row(fmt.Sprintf("every run with %d replicas: pipeline end to end", o.replicas), "%s s", strings.Join(rruns, ", "))
	}
	if r.course != nil {
		row("a data set of the course's shape ("+fmt.Sprint(r.course.bets)+" bets in agencies of "+courseBets+"), agencies' start → last winners", "%.3f s", r.course.totalSeconds)
	}
	return s.String()
}

// chart draws the lottery's stored bets over time as an SVG line.
func chart(p *pipelineResult) []byte {
	const w, h, m, left = 680, 360, 50, 90
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="20" text-anchor="middle" font-size="14">Bets stored over time (%s bets, %.2f s end to end)</text>`+"\n", w/2, thousands(p.bets), p.totalSeconds)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, h-m, w-m, h-m)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, h-m, left, m/2)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">seconds since the first agency started</text>`+"\n", w/2, h-10)
	fmt.Fprintf(&b, `<text x="15" y="%d" transform="rotate(-90 15 %d)" text-anchor="middle">bets stored</text>`+"\n", h/2, h/2)
	maxT := max(p.totalSeconds, 1e-3)
	sx := func(t float64) float64 { return left + t/maxT*float64(w-m-left) }
	sy := func(n int) float64 { return float64(h-m) - float64(n)/float64(max(p.bets, 1))*float64(h-m-m/2) }
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">0</text>`+"\n", left, h-m+15)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%.2f</text>`+"\n", w-m, h-m+15, maxT)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-4, m/2+4, thousands(p.bets))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">0</text>`+"\n", left-4, h-m+4)
	b.WriteString(`<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="`)
	fmt.Fprintf(&b, "%.1f,%.1f ", sx(0), sy(0))
	step := max(len(p.curve)/500, 1)
	for i := 0; i < len(p.curve); i += step {
		fmt.Fprintf(&b, "%.1f,%.1f ", sx(p.curve[i].at), sy(p.curve[i].stored))
	}
	if n := len(p.curve); n > 0 {
		fmt.Fprintf(&b, "%.1f,%.1f", sx(p.curve[n-1].at), sy(p.curve[n-1].stored))
	}
	b.WriteString("\"/>\n")
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#d62728" stroke-dasharray="4"/>`+"\n", sx(p.draw), h-m, sx(p.draw), m/2)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#d62728" text-anchor="end">draw</text>`+"\n", sx(p.draw)-4, m/2+12)
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// thousands writes n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
