package ratelimit_test

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/ratelimit"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// mustAllow and mustDeny check one call to Allow.
func mustAllow(tb testing.TB, l *ratelimit.Limiter, key string, now time.Time) {
	tb.Helper()
	if ok, wait := l.Allow(key, now); !ok {
		tb.Fatalf("Allow(%q, %v) denied, retry after %v; want allowed", key, now.Sub(t0), wait)
	}
}

func mustDeny(tb testing.TB, l *ratelimit.Limiter, key string, now time.Time, want time.Duration) {
	tb.Helper()
	ok, got := l.Allow(key, now)
	if ok {
		tb.Fatalf("Allow(%q, %v) allowed; want denied", key, now.Sub(t0))
	}
	if got != want {
		tb.Fatalf("Allow(%q, %v) retry after %v; want %v", key, now.Sub(t0), got, want)
	}
}

func TestLimiter(t *testing.T) {
	t.Run("Burst", func(t *testing.T) {
		l := ratelimit.New(1, 3)
		for range 3 {
			mustAllow(t, l, "a", t0)
		}
		mustDeny(t, l, "a", t0, time.Second)
		mustDeny(t, l, "a", at(400*time.Millisecond), 600*time.Millisecond)
		mustAllow(t, l, "a", at(time.Second))
		mustDeny(t, l, "a", at(time.Second), time.Second)
	})

	t.Run("RefillCapsAtBurst", func(t *testing.T) {
		l := ratelimit.New(10, 2)
		mustAllow(t, l, "a", t0)
		for range 2 {
			mustAllow(t, l, "a", at(time.Hour))
		}
		mustDeny(t, l, "a", at(time.Hour), 100*time.Millisecond)
	})

	t.Run("KeysIndependent", func(t *testing.T) {
		l := ratelimit.New(1, 1)
		mustAllow(t, l, "tenant-a", t0)
		mustDeny(t, l, "tenant-a", t0, time.Second)
		mustAllow(t, l, "tenant-b", t0)
	})

	t.Run("SlowRate", func(t *testing.T) {
		l := ratelimit.New(0.5, 1) // one request every two seconds
		mustAllow(t, l, "a", t0)
		mustDeny(t, l, "a", t0, 2*time.Second)
		mustDeny(t, l, "a", at(1500*time.Millisecond), 500*time.Millisecond)
		mustAllow(t, l, "a", at(2*time.Second))
	})

	t.Run("FractionalRetryRoundsUp", func(t *testing.T) {
		l := ratelimit.New(3, 1)
		mustAllow(t, l, "a", t0)
		_, wait := l.Allow("a", t0)
		if wait < time.Second/3 || wait > time.Second/3+time.Microsecond {
			t.Fatalf("retry after %v; want just over 1/3 s", wait)
		}
		mustAllow(t, l, "a", t0.Add(wait))
	})

	t.Run("ClockGoesBack", func(t *testing.T) {
		l := ratelimit.New(1, 1)
		mustAllow(t, l, "a", at(time.Minute))
		mustDeny(t, l, "a", t0, time.Second) // earlier time adds no tokens
		mustDeny(t, l, "a", at(time.Minute), time.Second)
		mustAllow(t, l, "a", at(time.Minute+time.Second))
	})

	// Entra requires at least 25 requests/s per tenant; a limiter configured
	// for that must let a steady 25/s through and hold a faster client to it.
	t.Run("EntraLoad", func(t *testing.T) {
		l := ratelimit.New(25, 50)
		for i := range 2500 { // 100 s at exactly 25/s
			mustAllow(t, l, "entra", at(time.Duration(i)*40*time.Millisecond))
		}

		l = ratelimit.New(25, 50)
		allowed := 0
		for i := range 1000 { // 10 s at 100/s
			if ok, _ := l.Allow("entra", at(time.Duration(i)*10*time.Millisecond)); ok {
				allowed++
			}
		}
		if want := 50 + 25*10; allowed < want-2 || allowed > want {
			t.Fatalf("allowed %d in 10 s; want about %d", allowed, want)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		const burst = 100
		l := ratelimit.New(1, burst)
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 1000 {
					if ok, _ := l.Allow("shared", t0); ok {
						allowed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if got := allowed.Load(); got != burst {
			t.Fatalf("allowed %d; want %d", got, burst)
		}
	})
}

func TestLimiter_Memory(t *testing.T) {
	t.Run("FloodBounded", func(t *testing.T) {
		const max = 1000
		l := ratelimit.New(1, 5, ratelimit.WithMaxKeys(max))
		for i := range 100 * max {
			mustAllow(t, l, "10.0."+strconv.Itoa(i), at(time.Duration(i)*time.Microsecond))
		}
		if got := l.Len(); got > max {
			t.Fatalf("Len() = %d after flood; want <= %d", got, max)
		}
	})

	t.Run("RecentKeySurvivesFlood", func(t *testing.T) {
		const max = 1000
		l := ratelimit.New(1, 1, ratelimit.WithMaxKeys(max))
		mustAllow(t, l, "tenant", t0)
		for i := range 100 * max {
			l.Allow("ip-"+strconv.Itoa(i), t0)
			if i%(max/32) == 0 { // the tenant stays busy during the flood
				mustDeny(t, l, "tenant", t0, time.Second)
			}
		}
		mustDeny(t, l, "tenant", t0, time.Second)
	})

	t.Run("IdleKeysDropped", func(t *testing.T) {
		l := ratelimit.New(1, 5)
		for i := range 1000 {
			mustAllow(t, l, "old-"+strconv.Itoa(i), t0)
		}
		if got := l.Len(); got != 1000 {
			t.Fatalf("Len() = %d; want 1000", got)
		}
		// Five seconds on, every old bucket is full again and each call
		// drops idle keys from its shard.
		for i := range 1000 {
			mustAllow(t, l, "new-"+strconv.Itoa(i), at(5*time.Second))
		}
		if got := l.Len(); got > 1200 {
			t.Fatalf("Len() = %d; want most of the 1000 idle keys dropped", got)
		}
	})

	t.Run("MaxKeysOne", func(t *testing.T) {
		l := ratelimit.New(1, 1, ratelimit.WithMaxKeys(1))
		mustAllow(t, l, "a", t0)
		mustAllow(t, l, "b", t0)
		if got := l.Len(); got != 1 {
			t.Fatalf("Len() = %d; want 1", got)
		}
		mustDeny(t, l, "b", t0, time.Second)
	})
}

func TestNew_Invalid(t *testing.T) {
	for _, tt := range []struct {
		rate  float64
		burst int
	}{
		{0, 1}, {-1, 1}, {math.NaN(), 1}, {math.Inf(1), 1}, {1, 0}, {1, -5},
	} {
		t.Run(fmt.Sprintf("%v/%d", tt.rate, tt.burst), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("New did not panic")
				}
			}()
			ratelimit.New(tt.rate, tt.burst)
		})
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int
	}{
		{-time.Second, 1},
		{0, 1},
		{time.Nanosecond, 1},
		{999 * time.Millisecond, 1},
		{time.Second, 1},
		{time.Second + time.Nanosecond, 2},
		{1500 * time.Millisecond, 2},
		{2 * time.Second, 2},
		{time.Minute + time.Millisecond, 61},
		{math.MaxInt64, math.MaxInt32},
	} {
		if got := ratelimit.RetryAfterSeconds(tt.d); got != tt.want {
			t.Errorf("RetryAfterSeconds(%v) = %d; want %d", tt.d, got, tt.want)
		}
	}
}

func BenchmarkAllow(b *testing.B) {
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "tenant-" + strconv.Itoa(i)
	}

	// One hot key: every goroutine contends for the same shard.
	b.Run("OneKey", func(b *testing.B) {
		l := ratelimit.New(1e9, 1<<30)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Allow("tenant", t0)
			}
		})
	})

	// A working set of keys, as with many tenants or credentials.
	b.Run("1024Keys", func(b *testing.B) {
		l := ratelimit.New(1e9, 1<<30)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				l.Allow(keys[i&1023], t0)
				i++
			}
		})
	})

	// With the clock read on every call, as the HTTP layer will do, and a
	// realistic per-tenant setting (most calls here are denied, which costs
	// the same as allowing).
	b.Run("1024KeysTimeNow", func(b *testing.B) {
		l := ratelimit.New(25, 50)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				l.Allow(keys[i&1023], time.Now())
				i++
			}
		})
	})

	// A flood of distinct keys, each new: the eviction path.
	b.Run("NewKeys", func(b *testing.B) {
		l := ratelimit.New(1, 1, ratelimit.WithMaxKeys(10000))
		var n atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Allow(strconv.FormatInt(n.Add(1), 10), t0)
			}
		})
	})
}
