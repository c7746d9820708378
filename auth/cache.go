package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// ChangeCounter is implemented by stores that count the changes made, in
// this process, to what authentication depends on: tokens and tenants
// (creation, revocation, disabling, deletion, hosts). A cache that finds
// the count moved since it stored an entry drops the entry, so that such a
// change made through any handle in this process takes effect at once; a
// change made by another process is seen when the entry expires.
type ChangeCounter interface {
	AuthChanges() uint64
}

// DefaultCacheSize bounds the entries of a Bearer's verification cache
// when CacheSize is zero.
const DefaultCacheSize = 4096

// verifyCache keeps successful token verifications, keyed by the SHA-256
// of the presented token (never the token itself).
type verifyCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verified
}

type verified struct {
	tenant  string
	tokenID string
	until   time.Time // the entry's expiry: now+TTL, or the token's if sooner
	gen     uint64    // ChangeCounter reading taken before the lookup
}

func (c *verifyCache) get(key [sha256.Size]byte, now time.Time, gen uint64) (verified, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	if !ok {
		return v, false
	}
	if v.gen != gen || !now.Before(v.until) {
		delete(c.m, key)
		return v, false
	}
	return v, true
}

func (c *verifyCache) put(key [sha256.Size]byte, v verified, size int, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[sha256.Size]byte]verified{}
	}
	if len(c.m) >= size {
		for k, e := range c.m {
			if !now.Before(e.until) || e.gen != v.gen {
				delete(c.m, k)
			}
		}
		if len(c.m) >= size {
			clear(c.m)
		}
	}
	c.m[key] = v
}

// Flush drops every cached verification of b, so that a revocation or a
// disabled tenant takes effect at once in this process. Stores that
// implement ChangeCounter make this unnecessary.
func (b *Bearer) Flush() {
	b.cache.mu.Lock()
	clear(b.cache.m)
	b.cache.mu.Unlock()
}

// changes returns the stores' change count (0 when they do not count).
func (b *Bearer) changes() uint64 {
	var n uint64
	if c, ok := b.Tokens.(ChangeCounter); ok {
		n += c.AuthChanges()
	}
	if c, ok := b.Tenants.(ChangeCounter); ok { // the sum moves when either moves
		n += c.AuthChanges()
	}
	return n
}
