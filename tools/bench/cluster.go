package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/rabbitapi"
	"github.com/loteria-nacional/pipeline/internal/rabbitnode"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// clusterNodes is the size of the cluster the bench measures: the fewest
// nodes that keep a majority of every quorum queue when one is lost.
const clusterNodes = 3

// clusterResult is the pipeline and the baseline on a private cluster of
// this machine's RabbitMQ: the cost of replicating every queue three times.
type clusterResult struct {
	pipeline []*pipelineResult
	baseline []*baselineResult
}

func (c *clusterResult) medianPipeline() *pipelineResult {
	return median(c.pipeline, func(p *pipelineResult) float64 { return p.totalSeconds })
}

// runCluster starts a private three-node cluster, every node on this
// machine's cores as the single broker is, and runs the pipeline (every
// program given every node) and the baseline on it, o.runs times each. It
// returns nil when RabbitMQ is not installed here.
func runCluster(o options, w workload) (*clusterResult, error) {
	if _, ok := rabbitnode.Installed(); !ok {
		fmt.Print(logfmt.Line("bench_cluster", logfmt.InProgress, map[string]any{"omitido": "rabbitmq-server is not installed here"}))
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "bench-cluster-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var nodes []*rabbitnode.Node
	defer func() {
		for _, n := range nodes {
			n.Close(ctx)
		}
	}()
	var urls []string
	for i := 1; i <= clusterNodes; i++ {
		ports, err := rabbitnode.FreePorts(3)
		if err != nil {
			return nil, err
		}
		n, err := rabbitnode.New(rabbitnode.Options{
			Name:      fmt.Sprintf("lottery-bench-%d-%d@localhost", os.Getpid(), i),
			Dir:       filepath.Join(dir, fmt.Sprint(i)),
			AMQPPort:  ports[0],
			DistPort:  ports[1],
			APIPort:   ports[2],
			ExtraConf: fmt.Sprintf("max_message_size = %d\n", broker.MaxMessageBytes),
		})
		if err != nil {
			return nil, err
		}
		fmt.Print(logfmt.Line("bench_cluster", logfmt.InProgress, map[string]any{"nodo": n.Name}))
		if err := n.Start(ctx, false); err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
		if i > 1 {
			if err := n.Join(ctx, nodes[0]); err != nil {
				return nil, err
			}
		}
		urls = append(urls, n.URL)
	}
	amqpURL := strings.Join(urls, ",")
	api, err := rabbitapi.For(nodes[0].API, amqpURL)
	if err != nil {
		return nil, err
	}
	v := &vhosts{api: api, amqpURL: amqpURL}
	res := &clusterResult{}
	for range max(o.runs, 1) {
		p, err := runPipeline(o, v, w)
		if err != nil {
			return nil, fmt.Errorf("on the cluster: %w", err)
		}
		b, err := runBaseline(o, v, p)
		if err != nil {
			return nil, fmt.Errorf("on the cluster: %w", err)
		}
		res.pipeline, res.baseline = append(res.pipeline, p), append(res.baseline, b)
	}
	return res, nil
}
