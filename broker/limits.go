package broker

import (
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// The protocol's limits. Every count, size and number a sender controls is
// checked against one of these before it is used, and a message over one is
// refused with the reason: never looped over, never stored. They are
// constants, not settings, so that every lottery of a deployment refuses
// the same messages; the agency checks its own file and settings against
// them before it sends anything. bet.MaxRowBytes bounds a row.
const (
	// MaxMessageBytes bounds a message's body. The compose brokers, the
	// native one `make broker` starts and the private nodes of the tests
	// and tools refuse a larger one themselves (max_message_size); a
	// broker started otherwise may take more, and the lottery refuses it.
	MaxMessageBytes = 1 << 20
	// MaxBatchBets bounds the bets of a batch, and so CLI_BATCH_MAXAMOUNT.
	MaxBatchBets = 10_000
	// MaxBatches bounds an agency's batches: a batch's number, and how many
	// a finished event announces.
	MaxBatches = 1_000_000
	// MaxEventBytes bounds the body of a finished event or a winners
	// request: a JSON object of a few short fields.
	MaxEventBytes = 4 << 10
	// MaxHeaders and MaxHeaderBytes bound a message's headers, counting
	// those of nested tables and arrays: a batch carries four, and a quorum
	// queue adds x-delivery-count. A message over them is dead-lettered
	// without its headers, which a copy could not carry.
	MaxHeaders     = 16
	MaxHeaderBytes = 4 << 10
	// DeliveryLimit is how many times the broker delivers a message of a
	// queue the programs read (the lottery's, an agency's replies) before
	// it dead-letters the message itself, to the dead-letter exchange with
	// its x-death record: a message a program cannot even receive (amqp091-go
	// closes the connection on headers it cannot decode) stops coming back.
	// Well above any count a valid message reaches through restarts and
	// peeks in the management UI.
	DeliveryLimit = 50
	// KeptDeliveryLimit is the delivery limit of the queues people read
	// (dead-letter, unrouted), which dead-letter nothing: far beyond any
	// number of peeks.
	KeptDeliveryLimit = 1_000_000
)

// ReplyTTL is how long a winners reply waits in an agency's reply queue.
// An agency that waits takes its reply at once; a reply nobody took is one
// no agency waits for any more (an agency asks again on each connection), or
// the second answer from another lottery replica, which must not pile up.
const ReplyTTL = time.Minute

// CheckHeaders says whether h is within MaxHeaders and MaxHeaderBytes.
func CheckHeaders(h amqp.Table) error {
	entries, size := headerSize(h)
	if entries > MaxHeaders || size > MaxHeaderBytes {
		return fmt.Errorf("%d headers of %d bytes: over the limit of %d headers and %d bytes", entries, size, MaxHeaders, MaxHeaderBytes)
	}
	return nil
}

// headerSize counts the entries of a table, nested ones included, and
// about the bytes they take on the wire: names, strings and 8 for any
// other value.
func headerSize(v any) (entries, size int) {
	switch v := v.(type) {
	case amqp.Table:
		for k, x := range v {
			e, s := headerSize(x)
			entries, size = entries+1+e, size+len(k)+s
		}
	case []any:
		for _, x := range v {
			e, s := headerSize(x)
			entries, size = entries+1+e, size+s
		}
	case string:
		size = len(v)
	case []byte:
		size = len(v)
	default:
		size = 8
	}
	return entries, size
}
