package broker

import (
	"context"
	"time"
)

// Backoff spaces out sessions: after a session that ended soon after it
// began, the next one waits twice as long as the one before, up to a
// second; after one that lasted, it starts at once again. A connection that
// drops as soon as it is made (the broker closes it, or amqp091 does on a
// message it cannot decode) then costs a reconnection a second, not
// thousands a minute, until the queue's delivery limit sets the message
// aside. The zero value is ready to use.
type Backoff struct {
	wait time.Duration
}

const (
	firstWait  = 100 * time.Millisecond
	lastWait   = time.Second
	healthyFor = 10 * time.Second // a session this long resets the wait
)

// Wait waits before the next connection, given how long the one before
// lasted, and returns how long it waited, or ctx's error if ctx ended first.
func (b *Backoff) Wait(ctx context.Context, lasted time.Duration) (time.Duration, error) {
	switch {
	case lasted >= healthyFor:
		b.wait = 0
	case b.wait == 0:
		b.wait = firstWait
	default:
		b.wait = min(2*b.wait, lastWait)
	}
	if b.wait == 0 {
		return 0, ctx.Err()
	}
	t := time.NewTimer(b.wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return b.wait, ctx.Err()
	case <-t.C:
		return b.wait, nil
	}
}
