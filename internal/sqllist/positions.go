package sqllist

import (
	"slices"
	"sync"
	"time"

	"github.com/scimd/scimd"
)

// PositionsPerWalk bounds the positions kept for one query: the most
// recently read ones. A walk needs only its latest; more serve a few
// clients walking the same query at once.
const PositionsPerWalk = 16

// A Position is where a startIndex page of a query ended.
type Position struct {
	// Offset is the number of rows up to and including Key: the next
	// page's startIndex-1.
	Offset int
	// Key is the last row of the page (its r.seq and sort key).
	Key scimd.PageKey
	// Gen is the store's change generation when the page was read (the
	// sqlite store's tenant change counter; 0 where unused).
	Gen int64
	// At is when the page was read.
	At time.Time
}

// Positions caches, per process, the positions startIndex pages ended at,
// by query binding (scimd.QueryBinding), so that a later page of the same
// query seeks from the nearest position before its start and skips only
// the rows between the two, rather than skipping startIndex-1 rows from
// the start with OFFSET.
//
// The page that continues a walk finds the position its predecessor left:
// it skips nothing. Behind a load balancer that spreads a walk over n
// instances, each instance last served a page about n pages back, so a
// page skips at most (n-1) pages' rows whatever its startIndex: the cost of
// page k stays that of page 1, times about n, instead of growing with k.
//
// At most PositionCacheSize positions are kept, at most PositionsPerWalk
// per query; when full, expired positions (older than WalkTTL) go first,
// then the walks used least recently. The zero value is ready to use; it
// is safe for concurrent use.
type Positions struct {
	mu    sync.Mutex
	walks map[string]*walk
	n     int              // positions in all walks
	max   int              // bound on n; 0: PositionCacheSize
	now   func() time.Time // for tests; nil: time.Now
}

// walk is the cached positions of one query.
type walk struct {
	pos  []Position // ascending Offset
	used time.Time  // last Put or Nearest
}

func (c *Positions) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// Nearest returns the position with the greatest Offset at most offset
// (and above 0) among those of binding for which usable returns true.
// usable runs with c locked: it must be quick and must not use c.
func (c *Positions) Nearest(binding string, offset int, usable func(Position) bool) (Position, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.walks[binding]
	if w == nil {
		return Position{}, false
	}
	i, _ := search(w.pos, offset+1)
	for i--; i >= 0; i-- {
		if p := w.pos[i]; p.Offset > 0 && usable(p) {
			w.used = c.clock()
			return p, true
		}
	}
	return Position{}, false
}

// Put records p for binding, replacing a position at the same Offset.
func (c *Positions) Put(binding string, p Position) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock()
	w := c.walks[binding]
	if w == nil {
		w = &walk{}
	}
	w.used = now
	if i, found := search(w.pos, p.Offset); found {
		w.pos[i] = p
		return
	}
	if len(w.pos) >= PositionsPerWalk {
		oldest := 0
		for j, q := range w.pos {
			if q.At.Before(w.pos[oldest].At) {
				oldest = j
			}
		}
		w.pos = slices.Delete(w.pos, oldest, oldest+1)
		c.n--
	} else {
		c.makeRoom(now, w)
	}
	if c.walks == nil {
		c.walks = map[string]*walk{}
	}
	c.walks[binding] = w
	i, _ := search(w.pos, p.Offset)
	w.pos = slices.Insert(w.pos, i, p)
	c.n++
}

// search returns where offset is or would be in pos (ascending Offset).
func search(pos []Position, offset int) (int, bool) {
	return slices.BinarySearchFunc(pos, offset, func(p Position, o int) int { return p.Offset - o })
}

// Reset forgets every position.
func (c *Positions) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.walks, c.n = nil, 0
}

// Len returns the number of positions held.
func (c *Positions) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// makeRoom frees room for one more position, in keep, when the cache is
// full: first every expired position, then whole walks, least recently
// used first; keep itself is left alone.
func (c *Positions) makeRoom(now time.Time, keep *walk) {
	limit := c.max
	if limit <= 0 {
		limit = PositionCacheSize
	}
	if c.n < limit {
		return
	}
	for k, w := range c.walks {
		if w == keep {
			continue
		}
		kept := slices.DeleteFunc(w.pos, func(p Position) bool { return now.Sub(p.At) >= WalkTTL })
		c.n -= len(w.pos) - len(kept)
		w.pos = kept
		if len(kept) == 0 {
			delete(c.walks, k)
		}
	}
	for c.n >= limit {
		var lruKey string
		var lru *walk
		for k, w := range c.walks {
			if w == keep {
				continue
			}
			if lru == nil || w.used.Before(lru.used) {
				lruKey, lru = k, w
			}
		}
		if lru == nil {
			return
		}
		c.n -= len(lru.pos)
		delete(c.walks, lruKey)
	}
}
