package ticks_test

import (
	"context"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/ticks"
)

// A loop over Every ticks until its context is cancelled, and ends then.
func TestEveryUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	for range ticks.Every(ctx, time.Millisecond) {
		if n++; n == 3 {
			cancel()
		}
	}
	if n != 3 {
		t.Errorf("%d ticks after cancelling at the third, want 3", n)
	}
}

// A loop may end by itself.
func TestEveryBreak(t *testing.T) {
	n := 0
	for range ticks.Every(context.Background(), time.Millisecond) {
		if n++; n == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("%d ticks, want 2", n)
	}
}
