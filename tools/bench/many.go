package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/loteria-nacional/pipeline/internal/await"
	"github.com/loteria-nacional/pipeline/internal/capacity"
	"github.com/loteria-nacional/pipeline/internal/rabbitapi"
)

// manyBets is what each of the many agencies sends.
const manyBets = 100

// manyResult is the pipeline with many agencies at once on a private node
// with as many open files as this machine gives: what each agency costs the
// broker, and how long the draw takes.
type manyResult struct {
	p                      *pipelineResult
	limit                  int   // the node's open files
	idleFiles, peakFiles   int   // open files with the lottery alone, and at most during the run
	idleMemory, peakMemory int64 // the node's memory, likewise
	endFiles               int   // after the last agency has its winners
	endMemory              int64
}

// perAgencyFiles is what one running agency cost the node in open files.
func (m *manyResult) perAgencyFiles() float64 {
	return float64(m.peakFiles-m.idleFiles) / float64(m.p.agencies())
}

// perAgencyMemory is what one agency cost the node in memory, in bytes.
func (m *manyResult) perAgencyMemory() float64 {
	return float64(m.peakMemory-m.idleMemory) / float64(m.p.agencies())
}

// runMany starts a private node, and runs the pipeline with o.many
// agencies of manyBets bets each, all started at once, sampling the node's
// open files and memory. It returns nil when o.many is 0 or RabbitMQ is not
// installed here.
func runMany(o options) (*manyResult, error) {
	if o.many == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	// Its memory figure refreshes twice a second, not every five.
	n, _, closeNode, err := privateNode(ctx, "bench_agencias", "bench-many", 0, func(string, []int) string {
		return "collect_statistics_interval = 500\n"
	})
	if n == nil || err != nil {
		return nil, err
	}
	defer closeNode()
	if capacity.Agencies(n.Files) < o.many {
		return nil, fmt.Errorf("%d agencies at once need more open files than the %d this machine gives a node: run with fewer (-many)", o.many, n.Files)
	}
	api, err := rabbitapi.For(n.API, n.URL)
	if err != nil {
		return nil, err
	}
	files, err := gendata(o, "many", o.many, fmt.Sprint(manyBets), "1")
	if err != nil {
		return nil, err
	}
	w, err := measure(o, files, fmt.Sprintf("%d agencies", o.many))
	if err != nil {
		return nil, err
	}
	res := &manyResult{limit: n.Files}
	// Open files are counted in /proc, as the kernel holds them to the
	// limit; memory is the node's own figure.
	pid := brokerPID(n.URL)
	sample := func() (files int, memory int64, err error) {
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			return 0, 0, fmt.Errorf("the node's open files: %w", err)
		}
		b, err := api.Do(http.MethodGet, "/api/nodes/"+url.PathEscape(n.Name), "")
		if err != nil {
			return 0, 0, err
		}
		var s struct {
			MemUsed int64 `json:"mem_used"`
		}
		return len(fds), s.MemUsed, json.Unmarshal(b, &s)
	}
	// Sampled every half second from the start of the run to its end, the
	// highest kept.
	var mu sync.Mutex
	var sampleErr error
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			files, memory, err := sample()
			mu.Lock()
			if err != nil {
				sampleErr = err
			}
			res.peakFiles, res.peakMemory = max(res.peakFiles, files), max(res.peakMemory, memory)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	err = await.Until(context.Background(), time.Minute, func() error {
		var err error
		if res.idleFiles, res.idleMemory, err = sample(); err != nil {
			return await.Stop(err) // the API's own error is not waited out
		}
		if res.idleMemory == 0 { // its first figures come a moment after it starts
			return fmt.Errorf("node %s reports no memory figure yet", n.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	mo := o
	mo.agencies = o.many
	p, err := runPipeline(mo, &vhosts{api: api, amqpURL: n.URL}, w)
	close(stop)
	<-stopped
	if err != nil {
		return nil, fmt.Errorf("%d agencies: %w", o.many, err)
	}
	if sampleErr != nil {
		return nil, sampleErr
	}
	res.p = p
	if res.endFiles, res.endMemory, err = sample(); err != nil {
		return nil, err
	}
	return res, nil
}
