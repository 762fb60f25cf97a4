package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// TestBatchReturnedManyTimesIsStoredOnce: a batch peeked 20 times in the
// management UI (each puts it back, and counts as a delivery) and held by 5
// lotteries killed before they made it durable, 25 returns in all, is
// stored exactly once by the next lottery: the quorum queue's delivery
// limit, 50, sets aside no valid message.
func TestBatchReturnedManyTimesIsStoredOnce(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	if err := broker.ForFirst(1).Apply(brokertest.Dial(t, w.url), broker.Declare); err != nil {
		t.Fatal(err)
	}
	w.publish(broker.BatchKey, batchOf(1, 1, "f", "A,B,1,2000-01-01,7574", "C,D,2,2000-01-01,1"))
	u, _ := url.Parse(w.url)
	get := "/api/queues/" + url.PathEscape(strings.TrimPrefix(u.Path, "/")) + "/" + broker.BetsQueue + "/get"
	for range 20 {
		var msgs []struct {
			Properties struct{ Headers map[string]any }
		}
		b := brokertest.Request(t, "POST", get, `{"count":1,"ackmode":"ack_requeue_true","encoding":"auto"}`)
		if err := json.Unmarshal(b, &msgs); err != nil || len(msgs) != 1 {
			t.Fatalf("peek: %s, %v; want the batch", b, err)
		}
	}
	for i := 1; i <= 5; i++ {
		lot := w.start(fmt.Sprintf("lottery#%d", i), "lottery", "LOTTERY_AGENCIES=1", "LOTTERY_DATA_DIR="+w.lotteryDir(),
			"FAILPOINTS=lottery/stored-before-sync")
		if code := lot.wait(t, exitWithin); code != -9 {
			t.Fatalf("%s, armed to stop before syncing the batch, exited %d; want killed (-9)", lot.name, code)
		}
	}
	var msgs []struct {
		Properties struct{ Headers map[string]any }
	}
	b := brokertest.Request(t, "POST", get, `{"count":1,"ackmode":"ack_requeue_true","encoding":"auto"}`)
	if err := json.Unmarshal(b, &msgs); err != nil || len(msgs) != 1 {
		t.Fatalf("peek: %s, %v; want the batch", b, err)
	}
	if n, _ := msgs[0].Properties.Headers["x-delivery-count"].(float64); n < 25 {
		t.Fatalf("the batch's x-delivery-count is %v after 20 peeks and 5 lotteries killed; want at least 25", msgs[0].Properties.Headers["x-delivery-count"])
	}
	lot := w.startLottery(1)
	w.waitFor("lottery", 30*time.Second, logfmt.Logged(logfmt.ApuestaRecibida).Is(logfmt.Success).With("lote", "1"))
	w.publish(broker.FinishedKey, broker.Finished{Agency: 1, Batches: 1, Bets: 2, Fingerprint: "f"}.Publishing())
	w.waitFor("lottery", 10*time.Second, logfmt.Logged(logfmt.Sorteo).With("ganadores", "1"))
	stopOK(t, lot)
	if n := len(w.storedBets()); n != 2 {
		t.Errorf("bets.csv holds %d bets; want the batch's 2, once", n)
	}
	if n := queueMessages(t, w, broker.DeadQueue); n != 0 {
		t.Errorf("the dead-letter queue holds %d messages; want none", n)
	}
	var q struct {
		Arguments map[string]any `json:"arguments"`
	}
	b = brokertest.Request(t, "GET", "/api/queues/"+url.PathEscape(strings.TrimPrefix(u.Path, "/"))+"/"+broker.BetsQueue, "")
	if err := json.Unmarshal(b, &q); err != nil || q.Arguments["x-queue-type"] != "quorum" {
		t.Errorf("lottery.bets has arguments %v; want a quorum queue", q.Arguments)
	}
}
