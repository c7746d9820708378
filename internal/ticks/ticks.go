// Package ticks paces the stores' background loops (pruning, planner
// statistics).
package ticks

import (
	"context"
	"iter"
	"time"
)

// Every yields the time of each tick of a ticker with period d, until ctx
// is done or the loop over it ends; then the ticker is stopped. The first
// tick comes d after the loop starts.
func Every(ctx context.Context, d time.Duration) iter.Seq[time.Time] {
	return func(yield func(time.Time) bool) {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if !yield(now) {
					return
				}
			}
		}
	}
}
