package ratelimit

import (
	"fmt"
	"time"
)

// Failures throttles keys, typically client addresses, that fail
// authentication repeatedly. A key that records limit failures within window
// (counted from the first of them) is blocked for backoff. Each block that
// follows the previous one before the key has been quiet for window lasts
// twice as long as the one before, up to the maximum (see WithMaxBackoff).
//
// A successful request does not reset a key: callers need only record
// failures and check Blocked before doing the work of authenticating.
type Failures struct {
	limit      int
	window     time.Duration
	backoff    time.Duration
	maxBackoff time.Duration
	s          *store[failState]
}

// failState is one key's failure record.
type failState struct {
	first   time.Time // start of the counting window; zero if none
	count   int       // failures since first
	until   time.Time // blocked before this time
	strikes int       // blocks since the key was last quiet
}

// NewFailures returns a Failures throttle blocking a key for backoff after
// limit failures within window. It panics if limit is less than 1 or window
// or backoff is not positive.
func NewFailures(limit int, window, backoff time.Duration, opts ...Option) *Failures {
	if limit < 1 || window <= 0 || backoff <= 0 {
		panic(fmt.Sprintf("ratelimit: invalid failure throttle %d/%v, backoff %v", limit, window, backoff))
	}
	c := newConfig(opts)
	f := &Failures{
		limit:      limit,
		window:     window,
		backoff:    backoff,
		maxBackoff: max(backoff, c.maxBackoff),
	}
	if c.maxBackoff == 0 {
		f.maxBackoff = 16 * backoff
	}
	f.s = newStore(c.maxKeys, f.quiet)
	return f
}

// quiet reports whether st carries no information any more: not blocked, no
// failures within the window, and no block within the window.
func (f *Failures) quiet(st *failState, now time.Time) bool {
	if now.Before(st.until) {
		return false
	}
	if !st.first.IsZero() && now.Sub(st.first) < f.window {
		return false
	}
	return st.until.IsZero() || now.Sub(st.until) >= f.window
}

// Fail records a failed attempt by key at time now. It reports whether key is
// blocked after it, and for how long. Failures recorded while key is blocked
// are ignored: they neither count nor extend the block.
func (f *Failures) Fail(key string, now time.Time) (blocked bool, retryAfter time.Duration) {
	sh := f.s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.getOrCreate(key)
	sh.sweep(e, now, f.quiet)

	st := &e.state
	if now.Before(st.until) {
		return true, st.until.Sub(now)
	}
	if f.quiet(st, now) {
		*st = failState{}
	}
	if st.first.IsZero() || now.Sub(st.first) >= f.window {
		st.first, st.count = now, 0
	}
	st.count++
	if st.count < f.limit {
		return false, 0
	}
	d := f.backoff
	for i := 0; i < st.strikes && d < f.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, f.maxBackoff)
	st.until = now.Add(d)
	st.strikes++
	st.first, st.count = time.Time{}, 0
	return true, d
}

// Blocked reports whether key is blocked at time now, and for how long. It
// does not record anything for a key it has not seen.
func (f *Failures) Blocked(key string, now time.Time) (blocked bool, retryAfter time.Duration) {
	sh := f.s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.get(key)
	if e == nil {
		return false, 0
	}
	sh.sweep(e, now, f.quiet)
	if now.Before(e.state.until) {
		return true, e.state.until.Sub(now)
	}
	return false, 0
}

// Len returns the number of keys currently held.
func (f *Failures) Len() int { return f.s.len() }
