package service

import (
	"unsafe"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/broker"
)

// HeldBytes is the most memory a lottery holds because of what senders
// publish, with prefetch and group its settings: up to prefetch whole
// messages handed over by the broker, and the bets of the batches read
// ahead, being stored and kept for reuse (three groups and one batch), each
// bet taking the size of bet.Bet besides its text.
func HeldBytes(prefetch, group int) int64 {
	return int64(prefetch)*broker.MaxMessageBytes + int64(3*group+1)*broker.MaxBatchBets*int64(unsafe.Sizeof(bet.Bet{}))
}

// OwnBytes is what a lottery takes besides what senders make it hold: the
// runtime, buffers, the journal's index. With HeldBytes it makes the
// lottery's soft memory limit (Go's GOMEMLIMIT), under which the collector
// runs before garbage doubles the heap.
const OwnBytes = 32 << 20

// memoryLimit is the lottery's soft memory limit: what senders can make it
// hold with its settings, and its own.
func (c Config) memoryLimit() int64 { return HeldBytes(c.prefetch, c.group) + OwnBytes }
