package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/logfmt"
	"github.com/loteria-nacional/pipeline/lottery/service"
)

// worstResult is the lottery's memory under the largest batches the
// protocol allows.
type worstResult struct {
	batches    int
	bodyBytes  int
	lotteryRSS int64 // peak, KiB
	heldBytes  int64 // what senders can make it hold with its settings
}

// runWorst has one sender publish batches of broker.MaxBatchBets bets
// filling broker.MaxMessageBytes, enough to keep the lottery's prefetch and
// group full twice over, then the finished event, and measures the
// lottery's peak RSS until the draw.
func runWorst(o options, v *vhosts) (*worstResult, error) {
	res := &worstResult{batches: 2 * (o.prefetch + o.group), heldBytes: service.HeldBytes(o.prefetch, o.group)}
	err := v.alone(o, "bench-worst", func(ctx context.Context, conn *amqp.Connection, amqpURL, dataDir string) error {
		return res.measure(ctx, o, conn, amqpURL, dataDir)
	})
	return res, err
}

func (res *worstResult) measure(ctx context.Context, o options, conn *amqp.Connection, amqpURL, dataDir string) error {
	// Rows of ~100 bytes, as many as a batch may hold, as long as they fit.
	rowLen := broker.MaxMessageBytes/broker.MaxBatchBets - len("\r\n")
	var body strings.Builder
	for i := range broker.MaxBatchBets {
		row := fmt.Sprintf(",B,%d,2000-01-01,%d\r\n", i, i%10000)
		body.WriteString(strings.Repeat("N", rowLen+2-len(row)) + row)
	}
	res.bodyBytes = body.Len()
	fmt.Print(logfmt.Line("bench_worst", logfmt.InProgress, map[string]any{"lotes": res.batches, "bytes": res.bodyBytes}))

	drawn := make(chan struct{})
	l := &launcher{bin: o.bin, amqpURL: amqpURL}
	lot, err := l.start("lottery", "lottery", func(e logfmt.Event, _ time.Time) error {
		if e.Action == logfmt.Sorteo {
			close(drawn)
		}
		return nil
	}, "LOTTERY_AGENCIES=1", "LOTTERY_DATA_DIR="+dataDir,
		"LOTTERY_PREFETCH="+strconv.Itoa(o.prefetch), "LOTTERY_GROUP="+strconv.Itoa(o.group))
	if err != nil {
		return err
	}
	defer func() { lot.Cmd.Process.Kill(); <-lot.Done }()

	pub, err := broker.NewPublisher(conn, 8)
	if err != nil {
		return err
	}
	defer pub.Close()
	for seq := 1; seq <= res.batches; seq++ {
		b := broker.Batch{Agency: 1, Seq: seq, Bets: broker.MaxBatchBets, Fingerprint: "worst", Body: []byte(body.String())}
		if err := pub.Publish(ctx, broker.BetsExchange, broker.BatchKey, b.Publishing()); err != nil {
			return err
		}
	}
	fin := broker.Finished{Agency: 1, Batches: res.batches, Bets: res.batches * broker.MaxBatchBets, Fingerprint: "worst"}
	if err := pub.PublishConfirmed(ctx, broker.BetsExchange, broker.FinishedKey, fin.Publishing()); err != nil {
		return err
	}
	select {
	case <-drawn:
	case <-lot.Done:
		return fmt.Errorf("the lottery exited before the draw")
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("no draw within 5 minutes")
	}
	lot.Cmd.Process.Signal(syscall.SIGTERM)
	<-lot.Done
	res.lotteryRSS = maxRSS(lot.Cmd)
	return l.failed()
}
