package main

import (
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/logfmt"
)

type baselineResult struct {
	messages  int
	size      int
	seconds   float64
	brokerCPU float64
}

// betsPerSecond is the baseline's rate in bets: its messages carry as many
// bytes as the pipeline's batches.
func (b *baselineResult) betsPerSecond(p *pipelineResult) float64 {
	return float64(b.messages) / b.seconds * float64(p.bets) / float64(p.batches)
}

// runBaseline moves the pipeline's bytes through RabbitMQ and nothing else:
// one publisher with the agencies' confirm window, one consumer with the
// lottery's prefetch acking as the lottery does (all that has arrived, at
// most a group, with one multiple ack), a durable queue of the bets queue's
// kind behind a direct exchange, persistent messages of the batches' average
// size.
func runBaseline(o options, v *vhosts, p *pipelineResult) (*baselineResult, error) {
	ctx, conn, amqpURL, done, err := v.dial("bench-baseline")
	if err != nil {
		return nil, err
	}
	defer done()
	var args amqp.Table // the bets queue's: the same kind of queue
	for _, q := range broker.ForAgencies().Queues {
		if q.Name == broker.BetsQueue {
			args = q.Args
		}
	}
	topo := broker.Topology{
		Exchanges: []broker.Exchange{{Name: "baseline", Kind: amqp.ExchangeDirect}},
		Queues:    []broker.Queue{{Name: "baseline", Args: args}},
		Bindings:  []broker.Binding{{Exchange: "baseline", Queue: "baseline", Key: "baseline"}},
	}
	if err := topo.Apply(conn, broker.Declare); err != nil {
		return nil, err
	}
	res := &baselineResult{messages: p.batches, size: int(p.bytes / int64(p.batches))}
	fmt.Print(logfmt.Line("bench_baseline", logfmt.InProgress, map[string]any{"mensajes": res.messages, "bytes": res.size}))

	c, err := broker.Consume(conn, "baseline", o.prefetch)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	consumed := make(chan error, 1)
	go func() { consumed <- drain(c.Deliveries(), res.messages, o.group) }()

	pub, err := broker.NewPublisher(conn, o.window)
	if err != nil {
		return nil, err
	}
	defer pub.Close()
	body := make([]byte, res.size)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	beam := brokerPIDs(amqpURL)
	cpu0 := cpuSeconds(beam)
	start := time.Now()
	for i := 0; i < res.messages; i++ {
		if err := pub.Publish(ctx, "baseline", "baseline", amqp.Publishing{ContentType: "text/csv", Body: body}); err != nil {
			return nil, err
		}
	}
	if err := pub.Flush(ctx); err != nil {
		return nil, err
	}
	if err := <-consumed; err != nil {
		return nil, err
	}
	res.seconds = time.Since(start).Seconds()
	res.brokerCPU = cpuSeconds(beam) - cpu0
	return res, c.Cancel()
}

// drain consumes n messages, acking as the lottery does.
func drain(deliveries <-chan amqp.Delivery, n, group int) error {
	for got := 0; got < n; {
		d, ok := <-deliveries
		if !ok {
			return fmt.Errorf("baseline consumer closed after %d of %d messages", got, n)
		}
		got++
	more: // whatever else has arrived, up to a group, acked at once
		for k := 1; k < group && got < n; k++ {
			select {
			case next, ok := <-deliveries:
				if !ok {
					break more
				}
				d = next
				got++
			default:
				break more
			}
		}
		if err := d.Ack(true); err != nil {
			return err
		}
	}
	return nil
}
