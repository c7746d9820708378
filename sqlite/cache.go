package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/internal/sqlbuild"
	"github.com/scimd/scimd/internal/storedform"
	"github.com/scimd/scimd/schema"
)

// DefaultCacheBytes is the default budget of the read cache; see
// WithCacheBytes.
const DefaultCacheBytes = 16 << 20

// WithCacheBytes sets the byte budget of the read cache (default
// DefaultCacheBytes); 0 or less disables it.
//
// The cache keeps the stored rows of recently read resources and an index
// from each one's unique name (userName, group displayName) to its id, and
// answers GET by id and the IdP lookup `userName eq "…"` without a query.
// It is exact only while this process is the only one writing resources to
// the database: scimd serve takes a lock to ensure that (see
// docs/decisions.md, "Read cache").
func WithCacheBytes(n int64) Option { return func(db *DB) { db.cacheBytes = n } }

// entryOverhead approximates the bytes an entry costs beyond its strings
// (the entry struct, its map slots in rows and names with their spare
// capacity, strings rounded up to allocation size classes); measured by
// TestCacheMemory, which holds the cache to it (at 20,000 users of ~560
// bytes of strings each, the heap grew by ~1,060 bytes per entry).
const entryOverhead = 544

type cacheKey struct{ tenant, typ, id string }

// nameKey is a resource's folded unique name: name_lc in the database.
type nameKey struct{ tenant, typ, name string }

type epochKey struct{ tenant, typ string }

// cachedRow is what findResource reads for one resource, kept compact and
// immutable: every hit decodes a fresh *scimd.Resource from it, so no
// caller ever shares a mutable resource with the cache or another caller.
type cachedRow struct {
	seq               int64
	id, typ           string
	created, modified time.Time
	version           int64
	memberCount       int
	schemas, doc      string
	groups            string // groupsCol of a User, when hasGroups
	hasGroups         bool
	name              string // folded unique name, when hasName
	hasName           bool
	missing           bool // a name entry saying no resource has this name
	tenant            string
	epoch             uint64 // of (tenant, typ) when filled
	size              int64
	prev, next        *cachedRow // LRU list; the most recent is head.next
	inRows, inNames   bool
}

func (e *cachedRow) key() cacheKey  { return cacheKey{e.tenant, e.typ, e.id} }
func (e *cachedRow) nkey() nameKey  { return nameKey{e.tenant, e.typ, e.name} }
func (e *cachedRow) ekey() epochKey { return epochKey{e.tenant, e.typ} }

// rowCache is the read cache: an LRU of cachedRows under a byte budget.
//
// Exactness rests on two rules.
//
//  1. Every write registers its invalidations with Tx.afterCommit, so they
//     run after its COMMIT and before the write is acknowledged: after an
//     acknowledged write no entry it made stale is left. A write that
//     changes many users' groups (a group renamed or deleted, all members
//     removed) bumps an epoch of (tenant, User) instead of finding them;
//     an entry filled under an older epoch is a miss.
//  2. The fill race. A reader that missed reads the row from SQL and then
//     inserts it. If a write commits and invalidates between the reader's
//     query and its insert, the reader would insert the old row after the
//     invalidation and keep it stale for good. So every invalidation bumps
//     seq under mu; the reader takes seq before its query (snapshot) and
//     inserts only if seq is unchanged at insert time. A query that started
//     after a write's invalidation ran also started after that write's
//     commit and so reads the new row. Writes that committed but whose
//     hooks have not run yet are harmless either way: their invalidation
//     comes later and removes what was filled.
type rowCache struct {
	mu     sync.Mutex
	budget int64
	used   int64
	n      int    // entries
	seq    uint64 // bumped by every invalidation; see rule 2
	rows   map[cacheKey]*cachedRow
	names  map[nameKey]*cachedRow
	epochs map[epochKey]uint64
	head   cachedRow // sentinel of the LRU list

	// door remembers key hashes offered to a full cache (see admit).
	door     [doorSlots]uint64
	doorSeed maphash.Seed

	hits, misses atomic.Int64
}

// doorSlots is the size of the admission doorkeeper: 512 KiB of key hashes.
const doorSlots = 1 << 16

func newRowCache(budget int64) *rowCache {
	if budget <= 0 {
		return nil
	}
	c := &rowCache{budget: budget, rows: map[cacheKey]*cachedRow{}, names: map[nameKey]*cachedRow{}, epochs: map[epochKey]uint64{},
		doorSeed: maphash.MakeSeed()}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

// snapshot returns the write sequence to pass to fill; see rule 2.
func (c *rowCache) snapshot() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

func (c *rowCache) unlink(e *cachedRow) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (c *rowCache) pushFront(e *cachedRow) {
	e.prev, e.next = &c.head, c.head.next
	c.head.next.prev = e
	c.head.next = e
}

// remove drops e from both maps and the list; the caller holds mu.
func (c *rowCache) remove(e *cachedRow) {
	if e.inRows {
		delete(c.rows, e.key())
		e.inRows = false
	}
	if e.inNames {
		if c.names[e.nkey()] == e {
			delete(c.names, e.nkey())
		}
		e.inNames = false
	}
	if e.prev != nil {
		c.unlink(e)
		c.used -= e.size
		c.n--
	}
}

// current reports whether e was filled under its type's current epoch;
// the caller holds mu.
func (c *rowCache) current(e *cachedRow) bool { return e.epoch == c.epochs[e.ekey()] }

// get returns the row of (tenant, typ, id); with groups, only one read
// with its groups.
func (c *rowCache) get(k cacheKey, groups bool) (cachedRow, bool) {
	if c == nil {
		return cachedRow{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.rows[k]
	if ok && !c.current(e) {
		c.remove(e)
		ok = false
	}
	if !ok || (groups && !e.hasGroups) {
		c.misses.Add(1)
		return cachedRow{}, false
	}
	c.unlink(e)
	c.pushFront(e)
	c.hits.Add(1)
	return *e, true
}

// lookup returns the row named k. known is false when the cache cannot
// tell; found is false when it knows that no resource has that name.
func (c *rowCache) lookup(k nameKey, groups bool) (_ cachedRow, found, known bool) {
	if c == nil {
		return cachedRow{}, false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.names[k]
	if ok && !e.missing && !c.current(e) {
		c.remove(e)
		ok = false
	}
	if !ok || (groups && !e.missing && !e.hasGroups) {
		c.misses.Add(1)
		return cachedRow{}, false, false
	}
	c.unlink(e)
	c.pushFront(e)
	c.hits.Add(1)
	return *e, !e.missing, true
}

// fill inserts r, read from SQL after snapshot snap was taken, unless an
// invalidation ran since (rule 2). r replaces any entry with its id or
// name.
func (c *rowCache) fill(snap uint64, r cachedRow) {
	if c == nil {
		return
	}
	e := sized(r)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seq != snap {
		return
	}
	c.insert(e)
}

// insert adds e (sized) unless the budget is full and admit refuses it,
// replacing any entry with its id or name and evicting the least recently
// used; the caller holds mu.
func (c *rowCache) insert(e *cachedRow) {
	if e.size > c.budget/8 { // one huge document must not flush the cache
		return
	}
	if c.used+e.size > c.budget && !c.admit(e) {
		return
	}
	e.epoch = c.epochs[e.ekey()]
	if !e.missing {
		if old, ok := c.rows[e.key()]; ok {
			c.remove(old)
		}
		c.rows[e.key()] = e
		e.inRows = true
	}
	if e.hasName {
		if old, ok := c.names[e.nkey()]; ok {
			c.remove(old)
		}
		c.names[e.nkey()] = e
		e.inNames = true
	}
	c.pushFront(e)
	c.used += e.size
	c.n++
	for c.used > c.budget {
		c.remove(c.head.prev)
	}
}

// sized returns a new entry holding r, with its size set.
func sized(r cachedRow) *cachedRow {
	e := &r
	e.prev, e.next = nil, nil
	e.size = entryOverhead + int64(len(e.tenant)+len(e.typ)+len(e.id)+len(e.schemas)+len(e.doc)+len(e.groups)+len(e.name))
	return e
}

// admit reports whether r may enter the cache when that means evicting:
// only if its key was offered before and is still remembered, as
// TinyLFU's doorkeeper does. A tenant far larger than the budget, read at
// random, would otherwise evict an entry on nearly every miss for a row
// that will not be read again before it is evicted itself: garbage for the
// GC and no hits (measured at 1,000,000 users: ~15 % of GET throughput).
// A row read twice within the doorkeeper's memory is admitted on the
// second miss. Called with mu held.
func (c *rowCache) admit(r *cachedRow) bool {
	var h maphash.Hash
	h.SetSeed(c.doorSeed)
	h.WriteString(r.tenant)
	h.WriteByte(0)
	h.WriteString(r.typ)
	h.WriteByte(0)
	if r.missing {
		h.WriteByte('n') // a remembered "no such name": keyed by the name
		h.WriteString(r.name)
	} else {
		h.WriteString(r.id)
	}
	k := h.Sum64() | 1 // 0 marks an empty slot
	slot := &c.door[k&(doorSlots-1)]
	if *slot == k {
		*slot = 0
		return true
	}
	*slot = k
	return false
}

// invalidate drops the rows of ids and the entries of names, and makes
// pending fills fail (rule 2).
func (c *rowCache) invalidate(ids []cacheKey, names []nameKey) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	for _, k := range ids {
		if e, ok := c.rows[k]; ok {
			c.remove(e)
		}
	}
	for _, k := range names {
		if e, ok := c.names[k]; ok {
			c.remove(e)
		}
	}
}

// replace is invalidate of one resource (its row and the names) followed
// by the insert of r, the row a write just committed for it (write-through:
// the next read of a resource just written is a hit). Like invalidate it
// makes pending fills fail.
//
// A write that started from a cached row passes its version as read: r
// goes in only if the entry is still there, at that version and under the
// current epoch. Otherwise another write of the same group commit changed
// what the resource's row depends on without changing its version (a
// membership change of a user changes its groups), and that write's
// invalidation, which ran first, must stand. A write that read the row in
// its transaction (read < 0) saw every earlier write of the batch, and the
// later ones invalidate after this.
func (c *rowCache) replace(r cachedRow, read int64, names []nameKey) {
	if c == nil {
		return
	}
	e := sized(r)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	ok := read < 0
	if old, found := c.rows[e.key()]; found {
		ok = ok || (c.current(old) && old.version == read)
		c.remove(old)
	}
	for _, k := range names {
		if old, found := c.names[k]; found {
			c.remove(old)
		}
	}
	if ok {
		c.insert(e)
	}
}

// bump invalidates every cached resource of type typ in tenant.
func (c *rowCache) bump(tenant, typ string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	c.epochs[epochKey{tenant, typ}]++
}

// dropTenant removes every entry of tenant.
func (c *rowCache) dropTenant(tenant string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	for e := c.head.next; e != &c.head; {
		next := e.next
		if e.tenant == tenant {
			c.remove(e)
		}
		e = next
	}
	for k := range c.epochs {
		if k.tenant == tenant { // no entry of the tenant is left to compare with it
			delete(c.epochs, k)
		}
	}
}

// CacheStats reports the read cache's hits, misses, bytes used and
// entries since Open (all zero when it is disabled).
func (db *DB) CacheStats() (hits, misses, bytes int64, entries int) {
	c := db.cache
	if c == nil {
		return 0, 0, 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits.Load(), c.misses.Load(), c.used, c.n
}

// rawRow is resourceCols (and groupsCol) as stored.
type rawRow struct {
	created, modified, schemas, doc string
	groups                          sql.NullString
}

// cachedFrom returns the cache entry of a row just read and decoded, with
// its unique name taken from the decoded document.
func cachedFrom(tenant string, rw row, raw rawRow, groups bool) cachedRow {
	r := rw.res
	e := cachedRow{
		tenant: tenant, seq: rw.seq, id: r.ID, typ: r.Type,
		created: r.Meta.Created, modified: r.Meta.LastModified, version: r.Meta.Version,
		memberCount: r.MemberCount, schemas: raw.schemas, doc: raw.doc,
	}
	if groups && r.Type == scimd.TypeUser {
		e.groups, e.hasGroups = raw.groups.String, true
	}
	e.name, e.hasName = uniqueName(r)
	return e
}

// uniqueName returns the folded unique name of r as storedform.Extract
// computes it for name_lc, without Extract's other columns.
func uniqueName(r *scimd.Resource) (string, bool) {
	attr := "userName"
	switch r.Type {
	case scimd.TypeUser:
	case scimd.TypeGroup:
		attr = "displayName"
	default:
		return "", false
	}
	s, ok := storedform.StringAttr(r.Attrs, attr)
	if !ok {
		return "", false
	}
	return sqlbuild.Fold(s), true
}

// decode returns a fresh resource from a cached row.
func (db *DB) decodeCached(e cachedRow, groups bool) (*scimd.Resource, error) {
	r := &scimd.Resource{
		ID: e.id, Type: e.typ, MemberCount: e.memberCount,
		Meta: scimd.Meta{Created: e.created, LastModified: e.modified, Version: e.version},
	}
	var err error
	if r.Schemas, err = storedform.DecodeSchemas(e.schemas); err != nil {
		return nil, fmt.Errorf("sqlite: resource %s: schemas: %w", r.ID, err)
	}
	if r.Attrs, err = schema.DecodeStored(db.reg.ResourceType(r.Type), e.doc); err != nil {
		return nil, fmt.Errorf("sqlite: resource %s: %w", r.ID, err)
	}
	if groups && r.Type == scimd.TypeUser {
		if r.Groups, err = storedform.DecodeGroups(e.groups); err != nil {
			return nil, fmt.Errorf("sqlite: resource %s: groups: %w", r.ID, err)
		}
	}
	return r, nil
}

// getCached is Get of one row (no members) through the cache.
func (db *DB) getCached(ctx context.Context, tenant, typ, id string, groups bool) (*scimd.Resource, error) {
	groups = groups && typ == scimd.TypeUser
	if e, ok := db.cache.get(cacheKey{tenant, typ, id}, groups); ok {
		return db.decodeCached(e, groups)
	}
	snap := db.cache.snapshot()
	query := findQuery
	if groups {
		query = findGroupsQuery
	}
	rw, raw, err := db.scanRaw(db.queryRow(ctx, query, tenant, id, typ), groups)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, scimd.NotFound("Resource %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get %s %s: %w", typ, id, err)
	}
	db.cache.fill(snap, cachedFrom(tenant, rw, raw, groups))
	return rw.res, nil
}

// findByNameQuery reads the resource with a folded unique name: what List
// reads for `userName eq "…"` (Users) or `displayName eq "…"` (Groups).
const (
	findByNameQuery       = `SELECT ` + resourceCols + ` FROM resources r WHERE r.tenant_id = ? AND r.type = ? AND r.name_lc = ?`
	findByNameGroupsQuery = `SELECT ` + resourceCols + `, ` + groupsCol + ` FROM resources r WHERE r.tenant_id = ? AND r.type = ? AND r.name_lc = ?`
)

// lookupName reports the folded name q looks up when q is exactly the IdP
// lookup the cache answers: the first index-paged page (count ≥ 1) of
// `userName eq "…"` on Users or `displayName eq "…"` on Groups, where the
// attribute is case-insensitive (compiled to name_lc), without members.
func (db *DB) lookupName(q *scimd.ListQuery) (string, bool) {
	if q.UseCursor || q.Count < 1 || max(q.StartIndex, 1) != 1 || q.Members {
		return "", false
	}
	c, ok := q.Filter.(*filter.Compare)
	if !ok || c.Op != filter.OpEq || c.Path.Sub != "" {
		return "", false
	}
	v, ok := c.Value.(string)
	if !ok {
		return "", false
	}
	var attr string
	switch q.Type {
	case scimd.TypeUser:
		attr = "userName"
	case scimd.TypeGroup:
		attr = "displayName"
	default:
		return "", false
	}
	rt := db.reg.ResourceType(q.Type)
	if rt == nil || !strings.EqualFold(c.Path.Name, attr) ||
		(c.Path.URN != "" && !strings.EqualFold(c.Path.URN, rt.Schema.ID)) {
		return "", false
	}
	if a := rt.Schema.Attr(attr); a == nil || a.CaseExact {
		return "", false
	}
	return sqlbuild.Fold(v), true
}

// listCached answers the IdP lookup (see lookupName) from the cache, or
// reads it by name and fills the cache, including "no such name". ok is
// false when the cache is off or q is not such a lookup.
func (db *DB) listCached(ctx context.Context, tenant string, q *scimd.ListQuery) (_ *scimd.ListResult, ok bool, _ error) {
	if db.cache == nil {
		return nil, false, nil
	}
	name, ok := db.lookupName(q)
	if !ok {
		return nil, false, nil
	}
	groups := q.Groups && q.Type == scimd.TypeUser
	out := &scimd.ListResult{Resources: []*scimd.Resource{}}
	k := nameKey{tenant, q.Type, name}
	if e, found, known := db.cache.lookup(k, groups); known {
		if found {
			r, err := db.decodeCached(e, groups)
			if err != nil {
				return nil, true, err
			}
			out.Resources = append(out.Resources, r)
		}
		out.TotalResults = len(out.Resources)
		return out, true, nil
	}
	snap := db.cache.snapshot()
	query := findByNameQuery
	if groups {
		query = findByNameGroupsQuery
	}
	rw, raw, err := db.scanRaw(db.queryRow(ctx, query, tenant, q.Type, name), groups)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		db.cache.fill(snap, cachedRow{tenant: tenant, typ: q.Type, name: name, hasName: true, missing: true})
	case err != nil:
		return nil, true, fmt.Errorf("sqlite: list: %w", err)
	default:
		db.cache.fill(snap, cachedFrom(tenant, rw, raw, groups))
		out.Resources = append(out.Resources, rw.res)
	}
	out.TotalResults = len(out.Resources)
	return out, true, nil
}

// Invalidation hooks, registered by the write paths in resource.go and
// tenant.go; they run after COMMIT (Tx.afterCommit).

// invalidateAfter drops the rows of ids of type typ and the name entries
// of names (nil names skipped) once tx commits.
func (tx *Tx) invalidateAfter(tenant, typ string, ids []string, names ...any) {
	c := tx.db.cache
	if c == nil {
		return
	}
	var ks []cacheKey
	for _, id := range ids {
		ks = append(ks, cacheKey{tenant, typ, id})
	}
	var ns []nameKey
	for _, n := range names {
		if s, ok := n.(string); ok {
			ns = append(ns, nameKey{tenant, typ, s})
		}
	}
	tx.afterCommit(func() { c.invalidate(ks, ns) })
}

// refreshAfter puts r, the row of a resource as tx writes it, in the cache
// once tx commits, in place of the row read (version read, or -1 when it
// was read from SQL in tx) and the names; see rowCache.replace.
func (tx *Tx) refreshAfter(r cachedRow, read int64, names ...string) {
	c := tx.db.cache
	if c == nil {
		return
	}
	ns := make([]nameKey, 0, len(names))
	for _, n := range names {
		ns = append(ns, nameKey{r.tenant, r.typ, n})
	}
	tx.afterCommit(func() { c.replace(r, read, ns) })
}

// bumpAfter invalidates every cached resource of typ in tenant once tx
// commits.
func (tx *Tx) bumpAfter(tenant, typ string) {
	if c := tx.db.cache; c != nil {
		tx.afterCommit(func() { c.bump(tenant, typ) })
	}
}
