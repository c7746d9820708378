package postgres

import (
	"sync"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/storedform"
	"github.com/scimd/scimd/schema"
)

// Update hints. A User's PATCH or PUT (updateGrouped) starts from the row
// as stored, and reading it cost a round trip of its own, about as much
// as a GET, before the UPDATE's. Each process remembers the stored form
// of the resources it last read by id, found by a one-statement lookup,
// or wrote (created or updated: a hint), within a byte budget, and such an update starts from
// its hint when there is one: one round trip instead of two.
//
// A hint may be stale: another instance changed the row, or the resource
// is gone. That is harmless, because nothing a client sees rests on a
// hint:
//
//   - The UPDATE is checked against the version the update started from
//     (updateSQL). Started from a stale hint, it changes no row; the
//     update drops the hint and runs again from the row as read
//     (updateGrouped). Every write of a resource bumps its version, and
//     seqs are never reused, so a matching version is the hinted row.
//   - An error of the update function on a hint (an If-Match that names a
//     newer version, a PATCH of a value the hint lacks) is not believed
//     either: the update runs again from the row as read, and the client
//     gets what that gives.
//   - Reads (GET, lists) never use hints.
//
// Hints are kept for resources other than Groups, the only ones
// updateGrouped writes.

// DefaultHintBytes is the default budget of the update hints; see
// WithHintBytes.
const DefaultHintBytes = 16 << 20

// WithHintBytes sets the byte budget of the update hints (default
// DefaultHintBytes); 0 or less turns them off.
func WithHintBytes(n int64) Option { return func(db *DB) { db.hintBytes = n } }

// hintOverhead approximates the bytes a hint costs beyond its strings:
// the struct, its map slot, the strings' rounding to size classes.
// TestHintsMemory holds the budget to the heap (20,000 users of ~600
// bytes of JSON: ~900 bytes each).
const hintOverhead = 288

type hintKey struct{ tenant, typ, id string }

// hint is the stored form of a resource, immutable once made: every use
// decodes a fresh resource from it.
type hint struct {
	key               hintKey
	seq, version      int64
	created, modified time.Time
	schemas, doc      string
	size              int64
	prev, next        *hint // LRU list; the most recent is head.next
}

// Stale hints cost more than they save: an update from a stale hint sends
// a batch whose UPDATE changes nothing and waits for its commit, then reads
// the row and sends another (three round trips, where one without hints
// makes two, and the batch's is the longest). That is what several
// instances behind a round-robin balancer see when users are written
// through one instance after another. So the hints keep score over
// windows of hintWindow updates that found one, and after a window in
// which more than a quarter were stale, the next updates do not look:
// hintPause of them, twice as many after each such window in a row, up to
// hintMaxPause. Hints are still put meanwhile, so that they are fresh
// when consulted again.
const (
	hintWindow   = 512
	hintPause    = 4 * hintWindow
	hintMaxPause = 64 * hintWindow
)

// hints is an LRU of hints under a byte budget.
type hints struct {
	mu     sync.Mutex
	budget int64
	used   int64
	m      map[hintKey]*hint
	head   hint // sentinel of the LRU list

	window   struct{ used, stale int } // updates from a hint in this window, and the stale ones among them
	paused   int                       // updates left that do not look for a hint
	pauseLen int                       // of the next pause

	hits, misses, stale, skipped int64 // for tests and tuning; under mu
}

func newHints(budget int64) *hints {
	if budget <= 0 {
		return nil
	}
	h := &hints{budget: budget, m: map[hintKey]*hint{}, pauseLen: hintPause}
	h.head.prev, h.head.next = &h.head, &h.head
	return h
}

func (h *hints) unlink(e *hint) { e.prev.next, e.next.prev = e.next, e.prev }

func (h *hints) pushFront(e *hint) {
	e.prev, e.next = &h.head, h.head.next
	e.prev.next, e.next.prev = e, e
}

// put remembers r, stored at seq with schemas and doc, in place of any
// hint of it, evicting the least recently used hints beyond the budget.
// Only a committed version of r may be put. A nil h ignores it, and so
// do Groups.
func (h *hints) put(tenant string, seq int64, r *scimd.Resource, schemas, doc string) {
	if h == nil || r.Type == scimd.TypeGroup {
		return
	}
	e := &hint{
		key: hintKey{tenant, r.Type, r.ID}, seq: seq, version: r.Meta.Version,
		created: r.Meta.Created, modified: r.Meta.LastModified, schemas: schemas, doc: doc,
	}
	e.size = int64(len(tenant)+len(r.Type)+len(r.ID)+len(schemas)+len(doc)) + hintOverhead
	if e.size > h.budget/8 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if old, ok := h.m[e.key]; ok {
		h.unlink(old)
		h.used -= old.size
	}
	h.m[e.key] = e
	h.pushFront(e)
	h.used += e.size
	for h.used > h.budget {
		last := h.head.prev
		h.unlink(last)
		delete(h.m, last.key)
		h.used -= last.size
	}
}

// putEncoded is put for a resource as a write encoded it: the stored form
// is copied only if it is kept.
func (h *hints) putEncoded(tenant string, seq int64, r *scimd.Resource, schemas, doc []byte) {
	if h == nil || r.Type == scimd.TypeGroup {
		return
	}
	h.put(tenant, seq, r, string(schemas), string(doc))
}

// get returns the hint of a resource, if any.
func (h *hints) get(k hintKey) (*hint, bool) {
	if h == nil {
		return nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.paused > 0 {
		h.paused--
		h.skipped++
		return nil, false
	}
	e, ok := h.m[k]
	if !ok {
		h.misses++
		return nil, false
	}
	h.hits++
	if h.window.used++; h.window.used == hintWindow {
		if h.window.stale*4 > h.window.used {
			h.paused = h.pauseLen
			h.pauseLen = min(2*h.pauseLen, hintMaxPause)
		} else {
			h.pauseLen = hintPause
		}
		h.window.used, h.window.stale = 0, 0
	}
	h.unlink(e)
	h.pushFront(e)
	return e, true
}

// drop forgets the hint of a resource if it is e, found stale (any hint if
// e is nil): a stale hint is dropped only if no newer one replaced it
// meanwhile.
func (h *hints) drop(k hintKey, e *hint) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if e != nil {
		h.stale++
		h.window.stale++
	}
	cur, ok := h.m[k]
	if !ok || (e != nil && cur != e) {
		return
	}
	h.unlink(cur)
	delete(h.m, k)
	h.used -= cur.size
}

// dropTenant forgets every hint of a tenant.
func (h *hints) dropTenant(tenant string) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, e := range h.m {
		if k.tenant == tenant {
			h.unlink(e)
			delete(h.m, k)
			h.used -= e.size
		}
	}
}

// resource decodes the resource e holds, as scanResource would have read
// it, for the resource type rt.
func (e *hint) resource(rt *schema.ResourceType) (row, error) {
	r := &scimd.Resource{ID: e.key.id, Type: e.key.typ}
	r.Meta.Created, r.Meta.LastModified, r.Meta.Version = e.created, e.modified, e.version
	var err error
	if r.Schemas, err = storedform.DecodeSchemas(e.schemas); err != nil {
		return row{}, err
	}
	if r.Attrs, err = schema.DecodeStored(rt, e.doc); err != nil {
		return row{}, err
	}
	return row{seq: e.seq, res: r}, nil
}
