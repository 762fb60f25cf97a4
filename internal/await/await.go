// Package await waits until a condition holds: the one loop of "check, wait
// a little, check again, give up at a deadline" that the tests, the
// benchmark and the tools share, so that a timeout always says what was
// last seen.
package await

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// First and most are the pauses between checks: they start at first and
// double up to most, so that a condition met at once costs little and a
// long wait does not poll hard.
const (
	first = 10 * time.Millisecond
	most  = time.Second
)

// Until calls check until it returns nil, within d; when d passes or ctx is
// done first, it returns an error that wraps what check last returned. A
// check that returns an error made by Stop ends the wait at once with it.
func Until(ctx context.Context, d time.Duration, check func() error) error {
	return poll(ctx, d, first, most, check)
}

// Every is Until with the same pause between all checks, for a wait that
// is itself measured.
func Every(ctx context.Context, d, pause time.Duration, check func() error) error {
	return poll(ctx, d, pause, pause, check)
}

// Stop marks err as one no wait mends (a refusal, a closed channel): Until
// and Every return err itself at once.
func Stop(err error) error { return stopped{err} }

type stopped struct{ error }

func (s stopped) Unwrap() error { return s.error }

func poll(ctx context.Context, d, pause, most time.Duration, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		err := check()
		if err == nil {
			return nil
		}
		if s := (stopped{}); errors.As(err, &s) {
			return s.error
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("not within %s: %w", d, err)
		case <-t.C:
		}
		pause = min(2*pause, most)
	}
}

// TB is what For needs of a test: testing.TB has it.
type TB interface {
	Helper()
	Context() context.Context
	Fatal(args ...any)
}

// For is Until for a test: it fails t at once with what was last seen when
// check does not hold within d.
func For(t TB, d time.Duration, check func() error) {
	t.Helper()
	if err := Until(t.Context(), d, check); err != nil {
		t.Fatal(err)
	}
}
