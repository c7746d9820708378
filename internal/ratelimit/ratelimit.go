// Package ratelimit provides in-memory, per-key request throttling: a
// token-bucket Limiter for request rates (per tenant, per credential) and a
// Failures throttle that blocks a client address after repeated failed
// authentication.
//
// Keys are opaque strings chosen by the caller, such as a tenant id, a
// credential id or a client IP address. Both types are safe for concurrent
// use; keys are spread over independently locked shards, and a call for an
// existing key does not allocate.
//
// Memory is bounded: each type holds at most a fixed number of keys (see
// WithMaxKeys). When that bound is reached the least recently used key is
// forgotten, and keys whose state is back at its initial value are dropped
// as they are met. Forgetting a key is lenient, never strict: a forgotten
// bucket comes back full and a forgotten block is lifted. A client that can
// spread requests over more keys than the bound (for instance many IPv6
// addresses) can therefore reset its own state; callers that care should
// key IPv6 clients by network prefix.
//
// Time is passed in by the caller, which keeps the types deterministic under
// test. Callers should pass time.Now(); a time earlier than one seen before
// for the same key is treated as no time having passed.
//
// To answer HTTP 429, send RetryAfterSeconds(retryAfter) in the Retry-After
// header: clients such as Okta honour only an integer number of seconds.
package ratelimit

import (
	"fmt"
	"math"
	"time"
)

// Limiter is a token-bucket rate limiter keyed by string. Each key has a
// bucket of burst tokens, initially full, refilled at rate tokens per second;
// each allowed request takes one token.
type Limiter struct {
	rate  float64 // tokens per second
	burst float64
	s     *store[bucket]
}

// bucket is a key's token bucket: tokens as of last.
type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a Limiter allowing, per key, bursts of up to burst requests and
// a sustained rate of rate requests per second. It panics if rate is not a
// positive finite number or burst is less than 1: validate configuration
// before calling it.
func New(rate float64, burst int, opts ...Option) *Limiter {
	if !(rate > 0) || math.IsInf(rate, 0) {
		panic(fmt.Sprintf("ratelimit: invalid rate %v", rate))
	}
	if burst < 1 {
		panic(fmt.Sprintf("ratelimit: invalid burst %d", burst))
	}
	c := newConfig(opts)
	l := &Limiter{rate: rate, burst: float64(burst)}
	l.s = newStore(c.maxKeys, l.full)
	return l
}

// full reports whether b will have refilled by now, so that forgetting it
// changes nothing.
func (l *Limiter) full(b *bucket, now time.Time) bool {
	return l.refill(b, now) >= l.burst
}

// refill returns b's token count as of now.
func (l *Limiter) refill(b *bucket, now time.Time) float64 {
	if b.last.IsZero() {
		return l.burst // new bucket
	}
	elapsed := now.Sub(b.last)
	if elapsed <= 0 {
		return b.tokens
	}
	return min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
}

// Allow takes one token from key's bucket at time now. If the bucket is
// empty it returns false and the time until a token will be available;
// a denied request takes nothing.
func (l *Limiter) Allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	sh := l.s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.getOrCreate(key)
	sh.sweep(e, now, l.full)

	tokens := l.refill(&e.state, now)
	if now.After(e.state.last) || e.state.last.IsZero() {
		e.state.last = now
	}
	if tokens >= 1 {
		e.state.tokens = tokens - 1
		return true, 0
	}
	e.state.tokens = tokens
	wait := time.Duration(math.Ceil((1 - tokens) / l.rate * float64(time.Second)))
	return false, max(wait, 1)
}

// Len returns the number of keys currently held.
func (l *Limiter) Len() int { return l.s.len() }

// RetryAfterSeconds converts a wait into a Retry-After header value: whole
// seconds, rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) int {
	if d <= time.Second {
		return 1
	}
	s := d / time.Second
	if d%time.Second != 0 {
		s++
	}
	if s > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(s)
}
