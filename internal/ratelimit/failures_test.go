package ratelimit_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/ratelimit"
)

func checkBlocked(tb testing.TB, f *ratelimit.Failures, key string, now time.Time, want bool, wantWait time.Duration) {
	tb.Helper()
	got, wait := f.Blocked(key, now)
	if got != want || wait != wantWait {
		tb.Fatalf("Blocked(%q, +%v) = %v, %v; want %v, %v", key, now.Sub(t0), got, wait, want, wantWait)
	}
}

func checkFail(tb testing.TB, f *ratelimit.Failures, key string, now time.Time, want bool, wantWait time.Duration) {
	tb.Helper()
	got, wait := f.Fail(key, now)
	if got != want || wait != wantWait {
		tb.Fatalf("Fail(%q, +%v) = %v, %v; want %v, %v", key, now.Sub(t0), got, wait, want, wantWait)
	}
}

func TestFailures(t *testing.T) {
	const s = time.Second

	t.Run("BlockAfterLimit", func(t *testing.T) {
		f := ratelimit.NewFailures(3, time.Minute, 10*s)
		checkFail(t, f, "192.0.2.1", at(0), false, 0)
		checkFail(t, f, "192.0.2.1", at(1*s), false, 0)
		checkBlocked(t, f, "192.0.2.1", at(1*s), false, 0)
		checkFail(t, f, "192.0.2.1", at(2*s), true, 10*s)
		checkBlocked(t, f, "192.0.2.1", at(7*s), true, 5*s)
		checkBlocked(t, f, "192.0.2.2", at(7*s), false, 0)
		checkBlocked(t, f, "192.0.2.1", at(12*s), false, 0)
	})

	t.Run("FailWhileBlockedIgnored", func(t *testing.T) {
		f := ratelimit.NewFailures(1, time.Minute, 10*s)
		checkFail(t, f, "a", at(0), true, 10*s)
		checkFail(t, f, "a", at(4*s), true, 6*s) // does not extend
		checkBlocked(t, f, "a", at(10*s), false, 0)
	})

	t.Run("SpreadOutFailuresNotBlocked", func(t *testing.T) {
		f := ratelimit.NewFailures(3, time.Minute, 10*s)
		for i := range 20 {
			checkFail(t, f, "a", at(time.Duration(i)*31*s), false, 0)
		}
	})

	t.Run("BackoffDoublesUpToMax", func(t *testing.T) {
		f := ratelimit.NewFailures(2, time.Minute, 10*s, ratelimit.WithMaxBackoff(35*s))
		now := t0
		for _, want := range []time.Duration{10 * s, 20 * s, 35 * s, 35 * s} {
			checkFail(t, f, "a", now, false, 0)
			checkFail(t, f, "a", now, true, want)
			now = now.Add(want)
			checkBlocked(t, f, "a", now, false, 0)
		}
	})

	t.Run("QuietKeyStartsOver", func(t *testing.T) {
		f := ratelimit.NewFailures(1, time.Minute, 10*s)
		checkFail(t, f, "a", at(0), true, 10*s)
		checkFail(t, f, "a", at(30*s), true, 20*s) // within a window of the block
		// Quiet for a full window after the block ended (at 50 s).
		checkFail(t, f, "a", at(110*s), true, 10*s)
	})

	t.Run("BlockedCreatesNothing", func(t *testing.T) {
		f := ratelimit.NewFailures(3, time.Minute, 10*s)
		for i := range 1000 {
			f.Blocked(strconv.Itoa(i), t0)
		}
		if got := f.Len(); got != 0 {
			t.Fatalf("Len() = %d; want 0", got)
		}
	})

	t.Run("FloodBounded", func(t *testing.T) {
		f := ratelimit.NewFailures(3, time.Minute, 10*s, ratelimit.WithMaxKeys(500))
		for i := range 50000 {
			f.Fail("198.51.100."+strconv.Itoa(i), t0)
		}
		if got := f.Len(); got > 500 {
			t.Fatalf("Len() = %d; want <= 500", got)
		}
	})

	t.Run("IdleKeysDropped", func(t *testing.T) {
		f := ratelimit.NewFailures(3, time.Minute, 10*s)
		for i := range 1000 {
			f.Fail("old-"+strconv.Itoa(i), t0)
		}
		for i := range 1000 {
			f.Fail("new-"+strconv.Itoa(i), at(time.Hour))
		}
		if got := f.Len(); got > 1200 {
			t.Fatalf("Len() = %d; want most of the 1000 idle keys dropped", got)
		}
	})
}

func TestNewFailures_Invalid(t *testing.T) {
	for _, tt := range []struct {
		limit           int
		window, backoff time.Duration
	}{
		{0, time.Minute, time.Second},
		{1, 0, time.Second},
		{1, time.Minute, 0},
		{1, time.Minute, -time.Second},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewFailures(%d, %v, %v) did not panic", tt.limit, tt.window, tt.backoff)
				}
			}()
			ratelimit.NewFailures(tt.limit, tt.window, tt.backoff)
		}()
	}
}

// BenchmarkBlocked measures the check made before authenticating every
// request, for addresses with and without a record.
func BenchmarkBlocked(b *testing.B) {
	f := ratelimit.NewFailures(5, time.Minute, time.Minute)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "192.0.2." + strconv.Itoa(i)
		if i%2 == 0 {
			f.Fail(keys[i], t0)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			f.Blocked(keys[i&1023], t0)
			i++
		}
	})
}
