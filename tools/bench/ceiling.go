package main

import (
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/launch"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// ceilingResult is a run of the real agencies with no lottery: a consumer
// that only acks, as the baseline's does, takes their batches and finished
// events. However little the lottery did, the pipeline could not be faster
// than this on the same machine: it tells the agencies' and the broker's
// share of the time from the lottery's.
type ceilingResult struct {
	seconds   float64 // first agency started → every batch and finished event consumed
	brokerCPU float64
	agencyCPU float64
}

// runCeiling runs the agencies on the workload against a fresh vhost with
// the lottery's topology, consumes the bets queue with the lottery's
// prefetch and group acks, and stops the agencies (SIGTERM) once everything
// they send is consumed: no lottery answers their winners request.
func runCeiling(o options, v *vhosts, w workload) (*ceilingResult, error) {
	ctx, conn, amqpURL, done, err := v.dial("bench-ceiling")
	if err != nil {
		return nil, err
	}
	defer done()
	if err := broker.ForFirst(len(w.files)).Apply(conn, broker.Declare); err != nil {
		return nil, err
	}
	c, err := broker.Consume(conn, broker.BetsQueue, o.prefetch)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	fmt.Print(logfmt.Line("bench_techo", logfmt.InProgress, map[string]any{"corrida": w.name, "apuestas": w.bets}))
	consumed := make(chan error, 1)
	go func() { consumed <- drain(c.Deliveries(), w.batches+len(w.files), o.group) }()

	l := &launcher{bin: o.bin, amqpURL: amqpURL}
	beam := brokerPIDs(amqpURL)
	cpu0 := cpuSeconds(beam)
	start := time.Now()
	agencies, err := l.startAgencies(o, w.files, func(int, logfmt.Event, time.Time) error { return nil })
	if err != nil {
		return nil, err
	}
	stop := sync.OnceFunc(func() {
		l.mu.Lock()
		l.stopping = true // after the SIGTERM, fail lines are not news
		l.mu.Unlock()
		for _, a := range agencies {
			a.Cmd.Process.Signal(syscall.SIGTERM)
			<-a.Done
		}
	})
	defer stop() // on the way out early; a finished run has stopped them below
	select {
	case err := <-consumed:
		if err != nil {
			return nil, err
		}
	case <-firstDone(agencies):
		return nil, fmt.Errorf("an agency exited before everything it sent was consumed")
	case <-ctx.Done():
		return nil, fmt.Errorf("ceiling run: %w", ctx.Err())
	}
	res := &ceilingResult{seconds: time.Since(start).Seconds(), brokerCPU: cpuSeconds(beam) - cpu0}
	stop()
	for _, a := range agencies {
		res.agencyCPU += cmdCPU(a.Cmd)
	}
	if err := l.failed(); err != nil {
		return nil, err
	}
	return res, c.Cancel()
}

// firstDone is closed as soon as one of ps has exited. Its goroutines end
// when their procs do.
func firstDone(ps []*launch.Process) <-chan struct{} {
	ch := make(chan struct{})
	var once sync.Once
	for _, p := range ps {
		go func() {
			<-p.Done
			once.Do(func() { close(ch) })
		}()
	}
	return ch
}
