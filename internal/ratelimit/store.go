package ratelimit

import (
	"hash/maphash"
	"sync"
	"time"
)

// DefaultMaxKeys is the number of keys a Limiter or Failures holds when
// WithMaxKeys is not given.
const DefaultMaxKeys = 1 << 16

// maxShards bounds the number of independently locked shards.
const maxShards = 16

// An Option configures a Limiter or a Failures.
type Option func(*config)

type config struct {
	maxKeys    int
	maxBackoff time.Duration
}

// WithMaxKeys bounds the number of keys held at once (at least 1). When a new
// key arrives and the bound is reached, the least recently used key is
// forgotten. Keys whose state has returned to its initial value (a full
// bucket, no recent failures) are also dropped as they are met, so memory
// shrinks again after a flood.
func WithMaxKeys(n int) Option {
	return func(c *config) {
		if n < 1 {
			n = 1
		}
		c.maxKeys = n
	}
}

// WithMaxBackoff caps the block duration of a Failures throttle, which
// doubles for each block that follows another within the window. It has no
// effect on a Limiter. The default is 16 times the base backoff.
func WithMaxBackoff(d time.Duration) Option {
	return func(c *config) { c.maxBackoff = d }
}

func newConfig(opts []Option) config {
	c := config{maxKeys: DefaultMaxKeys}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// entry is one key's state, linked into its shard's recency list.
type entry[S any] struct {
	key        string
	state      S
	prev, next *entry[S] // towards most / least recently used
}

// shard is one independently locked part of a store: a map for lookup and a
// doubly linked list in recency order for eviction.
type shard[S any] struct {
	mu         sync.Mutex
	m          map[string]*entry[S]
	head, tail *entry[S] // most and least recently used
	max        int
	_          [64]byte // keep neighbouring shards' locks off one cache line
}

// store maps keys to states of type S with bounded size. idle reports
// whether a state is back at its initial value, so that forgetting it
// changes nothing.
type store[S any] struct {
	seed   maphash.Seed
	mask   uint64
	shards []shard[S]
	idle   func(s *S, now time.Time) bool
}

func newStore[S any](maxKeys int, idle func(*S, time.Time) bool) *store[S] {
	// A power of two no larger than maxKeys, so that every shard holds at
	// least one key and the shards together hold at most maxKeys.
	n := 1
	for n*2 <= maxShards && n*2 <= maxKeys {
		n *= 2
	}
	s := &store[S]{
		seed:   maphash.MakeSeed(),
		mask:   uint64(n - 1),
		shards: make([]shard[S], n),
		idle:   idle,
	}
	for i := range s.shards {
		s.shards[i].m = make(map[string]*entry[S])
		s.shards[i].max = maxKeys / n
	}
	return s
}

// shard returns the shard holding key. The caller locks it.
func (s *store[S]) shard(key string) *shard[S] {
	if s.mask == 0 {
		return &s.shards[0]
	}
	return &s.shards[maphash.String(s.seed, key)&s.mask]
}

// get returns key's entry, marking it most recently used, or nil. The shard
// must be locked.
func (sh *shard[S]) get(key string) *entry[S] {
	e := sh.m[key]
	if e != nil && e != sh.head {
		sh.unlink(e)
		sh.pushFront(e)
	}
	return e
}

// getOrCreate is get, creating an entry with the zero state when key is
// absent, evicting the least recently used entry if the shard is full. The
// shard must be locked.
func (sh *shard[S]) getOrCreate(key string) *entry[S] {
	if e := sh.get(key); e != nil {
		return e
	}
	if len(sh.m) >= sh.max && sh.tail != nil {
		sh.remove(sh.tail)
	}
	e := &entry[S]{key: key}
	sh.m[key] = e
	sh.pushFront(e)
	return e
}

// sweep forgets up to two idle entries from the cold end of the list, except
// keep. Called on every access, it empties the shard of idle keys at the
// rate keys are used, without a background goroutine. The shard must be
// locked.
func (sh *shard[S]) sweep(keep *entry[S], now time.Time, idle func(*S, time.Time) bool) {
	for range 2 {
		e := sh.tail
		if e == nil || e == keep || !idle(&e.state, now) {
			return
		}
		sh.remove(e)
	}
}

func (sh *shard[S]) remove(e *entry[S]) {
	sh.unlink(e)
	delete(sh.m, e.key)
}

func (sh *shard[S]) unlink(e *entry[S]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		sh.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		sh.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (sh *shard[S]) pushFront(e *entry[S]) {
	e.next = sh.head
	if sh.head != nil {
		sh.head.prev = e
	}
	sh.head = e
	if sh.tail == nil {
		sh.tail = e
	}
}

// len returns the number of keys held.
func (s *store[S]) len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
