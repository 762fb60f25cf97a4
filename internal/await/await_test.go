package await

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestUntilReturnsOnceItHolds(t *testing.T) {
	n := 0
	err := Until(context.Background(), time.Minute, func() error {
		n++
		if n < 3 {
			return fmt.Errorf("seen %d", n)
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Errorf("Until = %v after %d checks; want nil after 3", err, n)
	}
}

func TestUntilSaysWhatWasLastSeen(t *testing.T) {
	n := 0
	seen := errors.New("seen")
	err := Until(context.Background(), 50*time.Millisecond, func() error {
		n++
		return fmt.Errorf("check %d: %w", n, seen)
	})
	if !errors.Is(err, seen) || !strings.Contains(err.Error(), fmt.Sprintf("check %d", n)) || !strings.Contains(err.Error(), "not within 50ms") {
		t.Errorf("Until = %v after %d checks; want the last check's error, and the time given", err, n)
	}
}

func TestUntilStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Until(ctx, time.Hour, func() error { return errors.New("never") }); err == nil {
		t.Error("Until with a cancelled context = nil; want an error")
	}
}

func TestStopEndsTheWaitAtOnce(t *testing.T) {
	refused := errors.New("refused")
	n := 0
	err := Until(context.Background(), time.Hour, func() error {
		n++
		return Stop(refused)
	})
	if err != refused || n != 1 {
		t.Errorf("Until = %v after %d checks; want the refusal itself after 1", err, n)
	}
}
