package sqlite

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/internal/sqlbuild"
	"github.com/scimd/scimd/internal/sqllist"
	"github.com/scimd/scimd/schema"
)

// Paging (see docs/sqlite-notes.md, "Paging"):
//
// Every page is one query in the list's order — r.seq, or (sort key, r.seq)
// with sortBy — that reads only the page: never more rows than Count (+1
// for cursor look-ahead) are decoded.
//
// Index paging: a page at startIndex 1 is a plain LIMIT. For a later page
// the store looks in a small cache (sqllist.Positions), keyed by (tenant,
// type, filter, sort), for the position (sort key, seq) nearest before
// startIndex that a served page left behind: the end of the previous page
// when a client walks, an earlier page's end when it jumps ahead. With it,
// the page is a keyset seek ("rows after that position", an index range)
// that skips only the rows between the position and startIndex, instead of
// an OFFSET that steps over startIndex-1 rows; without one (a first jump,
// expired entries), OFFSET, which is correct, only slower.
//
// A cached position is used when the tenant has not changed since it was
// stored (then the seek, and its skip, return exactly what OFFSET would),
// or, if it has, when the position is younger than sqllist.WalkTTL: the
// request is then the continuation of a walk in progress and gets the rows
// after the last one the walk saw, which is what a sequential reader wants
// — no row that existed for the whole walk is repeated or skipped,
// whatever is created or deleted meanwhile (OFFSET would skip a row per
// earlier delete, and repeat rows inserted before the position in a sorted
// order).
//
// totalResults: a short page gives it without counting. Otherwise an
// unfiltered list of one type reads the per-(tenant, type) counter kept by
// triggers (migration 0002); a filtered list counts with the filter (an
// index range for indexed filters) and caches the count per query and
// tenant change counter, so the next pages of a walk do not recount while
// nothing changed (and, while a walk continues, for sqllist.WalkTTL even
// if something did: totalResults is then at most WalkTTL old, which RFC
// 7644 allows — results are not a snapshot). With ListQuery.MaxTotal, a
// filtered list counts at most cap+1 matches from the page's start
// (sqllist.CountSpan), never every match. A filter on meta.lastModified
// alone is counted from the resource_modified log's index entries, reading
// no resource while the tenant's log has no stale row (listPlan.logPlan).
//
// Cursor paging (RFC 9865) carries the position in the cursor itself
// (scimd.EncodeCursor), so it seeks on every page and needs no cache.
//
// The statements themselves (plan, seeks, page and count queries, cursor
// pages) are shared with the postgres store: see internal/sqllist. What is
// SQLite's own is here: the caches, the change counter they key on, the
// per-type counters, choosePlan and the trigram tables.

// listCache holds the position and count caches of a DB. The zero value
// is ready to use.
type listCache struct {
	positions sqllist.Positions
	mu        sync.Mutex // guards counts
	counts    lru[countEntry]

	// Counters for tests and diagnostics.
	seeks, offsets, counted atomic.Int64
	// Counts of filters on meta.lastModified alone (see count): from the
	// log's rows alone, reaching the limit by the log's rows alone, and
	// joined to the resources.
	logExact, logBound, logChecked atomic.Int64
}

type countEntry struct {
	n   int
	gen int64
	at  time.Time
}

// lru is a small least-recently-used map from string keys.
type lru[V any] struct {
	order *list.List // front = most recent; elements hold *lruItem[V]
	items map[string]*list.Element
}

type lruItem[V any] struct {
	key string
	val V
}

func (c *lru[V]) get(k string) (V, bool) {
	var zero V
	if c.items == nil {
		return zero, false
	}
	e, ok := c.items[k]
	if !ok {
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruItem[V]).val, true
}

func (c *lru[V]) put(k string, v V, max int) {
	if c.items == nil {
		c.items = map[string]*list.Element{}
		c.order = list.New()
	}
	if e, ok := c.items[k]; ok {
		e.Value.(*lruItem[V]).val = v
		c.order.MoveToFront(e)
		return
	}
	c.items[k] = c.order.PushFront(&lruItem[V]{key: k, val: v})
	for c.order.Len() > max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruItem[V]).key)
	}
}

// listPlan is a compiled list query: the shared plan (see sqllist) and
// what only SQLite has.
type listPlan struct {
	sqllist.Plan

	// driver, when not "", is the FTS5 trigram table (migration 0005)
	// the query iterates in rowid (= r.seq) order, joining resources:
	// see sqlbuild.Builder.Driver. Its MATCH argument is the first of
	// Args.
	driver string

	// modified: Where selects resources through the resource_modified log
	// (a meta.lastModified comparison) and the list is in creation order,
	// so that a walk recompiles it (see walk).
	modified bool

	// logWhere, when not "", is the filter over the rows of the
	// resource_modified log (alias lm) of the tenant and the list's type,
	// with its arguments logArgs: the list has one type and its filter
	// compares meta.lastModified and nothing else
	// (sqlbuild.Builder.ModifiedOnly). rowWhere and rowArgs are the filter
	// over r.last_modified alone. Its matches can then be counted and
	// chosen from the log, reading no resource when the log has no stale
	// row (see logPlan).
	logWhere, rowWhere string
	logArgs, rowArgs   []any
}

// logPlan returns p's count over the resource_modified log (p.logWhere
// must be set).
//
// Migration 0006 made the log the index of meta.lastModified; through it
// every candidate's row of resources was read, to test its type and that
// its log row is current: ×5–10 the cost of the index the log replaced for
// thousands of matches. Since 0007 the log's rows carry the type (its key
// is (tenant_id, type, last_modified, res_seq)) and tenant_changes.stale
// counts its stale rows. Without stale rows (!check), each row of the
// tenant's and type's range is a current resource, and its last_modified
// the resource's: the filter over lm alone is exact, an index range that
// reads no row of resources. Otherwise (check) each log row is joined to
// its resource, which must still have that last_modified: a stale row
// (superseded version, deleted resource) has none, so each match counts
// once. The log drives the join (CROSS JOIN fixes the order), so that a
// bounded count stops at its limit rather than collect every candidate
// first, as "r.seq IN (SELECT … FROM resource_modified …)" does.
func (p *listPlan) logPlan(check bool) sqllist.Plan {
	lp := sqllist.Plan{D: p.D, From: "resource_modified lm", Where: p.logWhere, Args: p.logArgs,
		Desc: p.Desc, Groups: p.Groups, Seq: "lm.res_seq"}
	if check {
		lp.From = "resource_modified lm CROSS JOIN resources r ON r.seq = lm.res_seq"
		lp.Where += " AND r.last_modified = lm.last_modified"
	}
	return lp
}

// logPage returns p's page, in creation order, when the filter chooses
// its rows (ByFilter; p.logWhere must be set). Without stale rows (!check)
// the page's seqs are the first of the log's index entries in the range,
// sorted (the rows read are the page's). With stale rows, the candidates
// are the log's seqs in the range: SQLite sorts them (an IN list) and
// reads their rows in creation order, testing each row's own
// last_modified, until the page is full, rather than join every candidate
// to its row before sorting. (A log row's tenant and type are its
// resource's, and a seq is never reused.)
func (p *listPlan) logPage(check bool) sqllist.Plan {
	if !check {
		lp := p.logPlan(false)
		lp.ByFilter = true
		return lp
	}
	return sqllist.Plan{D: p.D, Where: "r.seq IN (SELECT lm.res_seq FROM resource_modified lm WHERE " + p.logWhere + ") AND " + p.rowWhere,
		Args: append(slices.Clone(p.logArgs), p.rowArgs...), Desc: p.Desc, Groups: p.Groups}
}

// listDialect is SQLite's sqllist.Dialect (an empty struct: a plan holds
// it without allocating).
type listDialect struct{}

// Placeholder implements sqllist.Dialect.
func (listDialect) Placeholder(n int) string { return dialect.Placeholder(n) }

// Arg implements sqllist.Dialect.
func (listDialect) Arg(v any) any { return dialect.Arg(v) }

// Positional implements sqllist.Dialect.
func (listDialect) Positional() bool { return true }

// resourceGroupsCols is resourceCols followed by groupsCol.
const resourceGroupsCols = resourceCols + ", " + groupsCol

// Columns implements sqllist.Dialect: what scanResourceExtra scans.
func (listDialect) Columns(groups bool) string {
	if groups {
		return resourceGroupsCols
	}
	return resourceCols
}

// Likely implements sqllist.Dialect: without STAT4 statistics SQLite
// would guess that a seek keeps few rows and prefer another index.
func (listDialect) Likely(cond string) string { return "likelihood(" + cond + ", 0.9)" }

// SubqueryAlias implements sqllist.Dialect.
func (listDialect) SubqueryAlias() string { return "" }

// plan compiles the WHERE condition and sort key of q.
func (db *DB) plan(tenant string, q *scimd.ListQuery) (*listPlan, error) {
	b := &sqlbuild.Builder{D: dialect, Tenant: tenant}
	var rt *schema.ResourceType
	if q.Type != "" {
		var err error
		if rt, err = db.resourceType(q.Type); err != nil {
			return nil, err
		}
	}
	p := &listPlan{Plan: sqllist.Plan{D: listDialect{}, Desc: q.SortDescending, Groups: q.ReadOptions.Groups}}
	if err := db.compile(b, p, tenant, rt, q); err != nil {
		return nil, err
	}
	p.modified = b.Modified && p.Key == ""
	if rt != nil && q.Filter != nil {
		// The condition first: for most filters (the IdPs' lookups) it
		// is not one, and nothing more is built. SQLite's placeholders
		// are positional, so the head's arguments go in front of it.
		lb := &sqlbuild.Builder{D: dialect, Tenant: tenant}
		cond, ok, err := lb.ModifiedOnly(rt, q.Filter, "lm.last_modified")
		if err != nil {
			return nil, err
		}
		if ok {
			head := &sqlbuild.Builder{D: dialect, Tenant: tenant}
			where := "lm.tenant_id = " + head.Bind(tenant) + " AND lm.type = " + head.Bind(rt.Name)
			rb := &sqlbuild.Builder{D: dialect, Tenant: tenant}
			if p.rowWhere, _, err = rb.ModifiedOnly(rt, q.Filter, "r.last_modified"); err != nil {
				return nil, err
			}
			p.logWhere, p.logArgs, p.rowArgs = where+" AND "+cond, append(head.Args, lb.Args...), rb.Args
		}
	}
	return p, nil
}

// compile compiles the WHERE condition and sort key of q into p, with b.
func (db *DB) compile(b *sqlbuild.Builder, p *listPlan, tenant string, rt *schema.ResourceType, q *scimd.ListQuery) error {
	if rt != nil && q.SortBy == nil {
		// A lone co / ew: iterate its trigram index in creation order, so
		// that a page reads about Count candidates when matches are dense
		// and only the candidates when they are rare, never every match.
		if table, match, ok := b.Driver(rt, q.Filter); ok {
			p.driver, b.Driven = table, table+".rowid"
			p.From, p.Seq = table+" JOIN resources r ON r.seq = "+b.Driven, b.Driven
			b.Bind(match)
		}
	}
	where, key, err := sqllist.Condition(b, db.reg, tenant, rt, q)
	if err != nil {
		return err
	}
	if p.driver != "" {
		where = p.driver + " MATCH ? AND " + where
	}
	p.Where, p.Args, p.Key = where, b.Args, key
	return nil
}

// pageReader runs the page queries of List in a read transaction: a
// sqllist.Reader (an unexported type, so that ReadPage is no method of Tx).
type pageReader Tx

// ReadPage implements sqllist.Reader.
func (r *pageReader) ReadPage(ctx context.Context, p *sqllist.Plan, query string, args []any) (sqllist.Page, error) {
	tx := (*Tx)(r)
	var out sqllist.Page
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return out, fmt.Errorf("sqlite: list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key any
		var extra []any
		if p.Key != "" {
			extra = append(extra, &key)
		}
		rw, err := tx.db.scanResourceExtra(rows, p.Groups, extra...)
		if err != nil {
			return out, fmt.Errorf("sqlite: list: %w", err)
		}
		if b, ok := key.([]byte); ok {
			key = string(b)
		}
		out.Resources = append(out.Resources, rw.res)
		out.Keys = append(out.Keys, scimd.PageKey{Value: key, Seq: rw.seq})
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("sqlite: list: %w", err)
	}
	return out, nil
}

// tenantState is the tenant's row of tenant_changes in a read
// transaction's snapshot, read when first needed.
type tenantState struct {
	tx     *Tx
	tenant string
	read   bool
	g      int64 // the change counter (0 without a row)
	s      int64 // stale rows of the tenant's resource_modified log; -1 without a row
}

func (st *tenantState) load(ctx context.Context) error {
	if st.read {
		return nil
	}
	err := st.tx.QueryRowContext(ctx, `SELECT gen, stale FROM tenant_changes WHERE tenant_id = ?`, st.tenant).Scan(&st.g, &st.s)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// No write yet: gen 0. The stale count is unknown (a tenant with
		// log rows has a row since migration 0007; assume nothing).
		st.g, st.s = 0, -1
	case err != nil:
		return fmt.Errorf("sqlite: list: change counter: %w", err)
	}
	st.read = true
	return nil
}

// gen returns the tenant's change counter.
func (st *tenantState) gen(ctx context.Context) (int64, error) {
	err := st.load(ctx)
	return st.g, err
}

// stale returns how many rows of the tenant's resource_modified log are
// stale (tenant_changes.stale, kept by the triggers of migration 0007), or
// -1 when unknown.
func (st *tenantState) stale(ctx context.Context) (int64, error) {
	err := st.load(ctx)
	return st.s, err
}

// List implements scimd.Store; see the comment at the top of this file.
//
// A page of groups loads the members of each (ReadOptions.Members): a page
// of groups with huge member lists is as large as those lists. Clients
// that page groups should exclude members (Okta and Entra do).
func (db *DB) List(ctx context.Context, tenant string, q *scimd.ListQuery) (*scimd.ListResult, error) {
	if q == nil {
		q = &scimd.ListQuery{}
	}
	// The IdP lookup, answered by the read cache before any SQL is
	// compiled (see cache.go).
	if out, ok, err := db.listCached(ctx, tenant, q); ok || err != nil {
		return out, err
	}
	p, err := db.plan(tenant, q)
	if err != nil {
		return nil, err
	}
	if p.usesTrigrams() {
		// Index the writes acknowledged so far (see trigram.go).
		if err := db.syncTrigrams(ctx); err != nil {
			return nil, err
		}
	}
	binding := "" // scimd.QueryBinding, computed when a cache needs it
	bind := func() string {
		if binding == "" {
			binding = scimd.QueryBinding(tenant, q)
		}
		return binding
	}
	var at *scimd.PageKey
	if q.UseCursor && q.Cursor != "" {
		k, err := scimd.DecodeCursor(tenant, q, q.Cursor)
		if err != nil {
			return nil, err
		}
		at = &k
	}

	if out, ok, err := db.listOneStatement(ctx, q, p); ok || err != nil {
		return out, err
	}

	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	lc := &db.lists
	st := &tenantState{tx: tx, tenant: tenant}

	out := &scimd.ListResult{Resources: []*scimd.Resource{}}
	count := max(q.Count, 0)
	total := -1
	continuation := false
	skip := 0 // rows between at and the page's start
	switch {
	case q.UseCursor:
		continuation = at != nil
		if count > 0 {
			if total, err = db.choosePlan(ctx, tx, tenant, q, p, count+1, continuation, st); err != nil {
				return nil, err
			}
			t, err := sqllist.CursorPage(ctx, (*pageReader)(tx), tenant, q, &p.Plan, at, count, out)
			if err != nil {
				return nil, err
			}
			if total < 0 {
				total = t
			}
		}
	default:
		offset := max(q.StartIndex, 1) - 1
		if count == 0 {
			break
		}
		skip = offset
		if offset > 0 {
			g, err := st.gen(ctx)
			if err != nil {
				return nil, err
			}
			usable := func(at sqllist.Position) bool { return at.Gen == g || time.Since(at.At) < sqllist.WalkTTL }
			if near, ok := lc.positions.Nearest(bind(), offset, usable); ok {
				at, skip, continuation = &near.Key, offset-near.Offset, true
			}
		}
		if total, err = db.choosePlan(ctx, tx, tenant, q, p, count, continuation, st); err != nil {
			return nil, err
		}
		if at != nil {
			lc.seeks.Add(1)
		} else if offset > 0 {
			lc.offsets.Add(1)
		}
		query, args := p.PageQuery(at, false, count, skip)
		pg, err := (*pageReader)(tx).ReadPage(ctx, &p.Plan, query, args)
		if err != nil {
			return nil, err
		}
		out.Resources = append(out.Resources, pg.Resources...)
		if n := len(pg.Resources); n == count { // a short page ends the walk
			g, err := st.gen(ctx)
			if err != nil {
				return nil, err
			}
			lc.positions.Put(bind(), sqllist.Position{Offset: offset + n, Key: pg.Keys[n-1], Gen: g, At: time.Now()})
		}
		if total < 0 {
			total = sqllist.StartTotal(offset, len(pg.Resources), count)
		}
	}
	if err := tx.load(ctx, tenant, out.Resources, q.ReadOptions); err != nil {
		return nil, err
	}
	if total < 0 {
		if total, _, err = db.total(ctx, tx, tenant, q, p, continuation, st, sqllist.SpanOf(q, count, at, skip)); err != nil {
			return nil, err
		}
	}
	out.TotalResults = total
	return out, nil
}

// listOneStatement answers the first page of a filtered index-paged
// query with the page query alone, outside a transaction (one statement is
// one snapshot), when the page comes back short: then it holds every match
// and gives the total, and nothing else needs reading (see
// sqllist.OneStatement). ok is false when the query does not qualify or
// the page is full; List then answers it in a read transaction.
func (db *DB) listOneStatement(ctx context.Context, q *scimd.ListQuery, p *listPlan) (_ *scimd.ListResult, ok bool, _ error) {
	if !sqllist.OneStatement(q) || (p.Key == "" && hasRange(q.Filter)) { // choosePlan counts first
		return nil, false, nil
	}
	count := q.Count
	query, args := p.PageQuery(nil, false, count, 0)
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: list: %w", err)
	}
	defer rows.Close()
	out := &scimd.ListResult{Resources: []*scimd.Resource{}}
	for rows.Next() {
		if len(out.Resources) == count-1 {
			return nil, false, nil // a full page: needs the count
		}
		var key any
		var extra []any
		if p.Key != "" {
			extra = append(extra, &key)
		}
		rw, err := db.scanResourceExtra(rows, p.Groups, extra...)
		if err != nil {
			return nil, false, fmt.Errorf("sqlite: list: %w", err)
		}
		out.Resources = append(out.Resources, rw.res)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlite: list: %w", err)
	}
	out.TotalResults = len(out.Resources)
	return out, true, nil
}

// choosePlan decides, for a filtered list in creation order, how SQLite
// should find a page, and returns the total it counted for that (-1 when
// it did not count).
//
// Without a hint, SQLite walks the creation-order index (no sort, stops
// after the page) and tests the filter on each row: cheap when matches are
// dense, a scan of the whole tenant when they are rare — e.g. the delta
// sync "meta.lastModified gt <recent>". The alternative, reading the
// matches through the filter's index and sorting them, costs about M rows
// for M matches. The walk costs about limit·N/M rows for N resources, so
// the walk is cheaper when matches are spread evenly, but matches often
// cluster (recent changes at the end of creation order), where the walk
// reads almost the whole tenant; and the filter's index entries are far
// cheaper to read than rows (seq is the rowid, so the index covers the
// sort). So the filter drives unless M² > 64·limit·N — at a million
// resources and pages of 100, up to 80,000 matches. M is the total, which
// a full page needs anyway (and which is cached for the following pages).
func (db *DB) choosePlan(ctx context.Context, tx *Tx, tenant string, q *scimd.ListQuery, p *listPlan,
	limit int, continuation bool, st *tenantState) (int, error) {
	if q.Filter == nil || p.Key != "" || p.driver != "" || !hasRange(q.Filter) {
		return -1, nil
	}
	n, err := tx.typeSize(ctx, tenant, q.Type)
	if err != nil {
		return 0, err
	}
	span := sqllist.CountSpan{}
	if c := sqllist.CapLimit(q, limit); c > 0 {
		// With a bounded count, count far enough to decide: up to the
		// largest M for which the filter drives (~80,000 at a million
		// resources and pages of 100), and at least up to the cap.
		span.Limit = max(c, int(math.Sqrt(64*float64(limit)*float64(n)))+2)
	}
	m, exact, err := db.total(ctx, tx, tenant, q, p, continuation, st, span)
	if err != nil {
		return 0, err
	}
	if !exact {
		// More matches than the filter should drive: walk creation order.
		// The total is counted from the page's start later.
		return -1, db.walk(tenant, q, p)
	}
	if p.ByFilter = int64(m)*int64(m) <= 64*int64(limit)*int64(n); !p.ByFilter {
		return m, db.walk(tenant, q, p)
	}
	if p.logWhere != "" {
		// Pick the page's seqs from the log (see logPage): from its index
		// entries alone when it has no stale row.
		stale, err := st.stale(ctx)
		if err != nil {
			return 0, err
		}
		p.Plan = p.logPage(stale != 0)
	}
	return m, nil
}

// walk makes p a walk of creation order that tests each row: without
// ByFilter, and with meta.lastModified compared on each row's own column
// (sqlbuild.Builder.ModifiedScan) rather than collected from the
// resource_modified log up front.
func (db *DB) walk(tenant string, q *scimd.ListQuery, p *listPlan) error {
	p.ByFilter = false
	if !p.modified {
		return nil
	}
	var rt *schema.ResourceType
	if q.Type != "" {
		var err error
		if rt, err = db.resourceType(q.Type); err != nil {
			return err
		}
	}
	p.modified = false
	return db.compile(&sqlbuild.Builder{D: dialect, Tenant: tenant, ModifiedScan: true}, p, tenant, rt, q)
}

// hasRange reports whether e compares a resource attribute with a range
// operator (gt, ge, lt, le, sw) outside a value filter: the comparisons
// whose selectivity SQLite cannot judge without STAT4, so that it walks
// the creation-order index even when the range holds few rows. Equality
// and value-index filters it already drives by their index; checking them
// here would only add a count to every IdP lookup.
func hasRange(e filter.Expr) bool {
	switch e := e.(type) {
	case *filter.Compare:
		switch e.Op {
		case filter.OpGt, filter.OpGe, filter.OpLt, filter.OpLe, filter.OpSw:
			return true
		}
	case *filter.Logical:
		return hasRange(e.Left) || hasRange(e.Right)
	case *filter.Not:
		return hasRange(e.X)
	}
	return false
}

// typeSize returns the number of resources of type typ (every type for
// "") in the tenant, from the counters.
func (tx *Tx) typeSize(ctx context.Context, tenant, typ string) (int, error) {
	query, args := `SELECT coalesce(sum(n), 0) FROM resource_counts WHERE tenant_id = ?`, []any{tenant}
	if typ != "" {
		if rt := tx.db.reg.ResourceType(typ); rt != nil {
			typ = rt.Name
		}
		query += ` AND type = ?`
		args = append(args, typ)
	}
	var n int
	if err := tx.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: list: count: %w", err)
	}
	return n, nil
}

// total returns totalResults for q and whether it is exact: from the
// per-type counter for an unfiltered list of one type; else from the count
// cache (exact counts only, per query and tenant change counter; a
// continuation also accepts a count up to sqllist.WalkTTL old); else
// counted over span. An exact count of the whole list is cached; so is a
// capped count from the list's start, under its own key, while the tenant
// is unchanged.
func (db *DB) total(ctx context.Context, tx *Tx, tenant string, q *scimd.ListQuery, p *listPlan,
	continuation bool, st *tenantState, span sqllist.CountSpan) (int, bool, error) {
	if q.Filter == nil && q.Type != "" {
		n, err := tx.typeSize(ctx, tenant, q.Type)
		return n, true, err
	}
	g, err := st.gen(ctx)
	if err != nil {
		return 0, false, err
	}
	lc := &db.lists
	binding := scimd.QueryBinding(tenant, q)
	lc.mu.Lock()
	e, ok := lc.counts.get(binding)
	lc.mu.Unlock()
	if ok && (e.gen == g || (continuation && time.Since(e.at) < sqllist.WalkTTL)) {
		return e.n, true, nil
	}
	// A capped count ("at least offset+limit") from the list's start is
	// cached like an exact one, under its own key, while the tenant is
	// unchanged: a filter with more matches than the cap would otherwise
	// count cap rows on every request for its first page. It answers any
	// capped count from the start that stops at or below it: choosePlan's
	// count, which goes further than the cap to choose a plan, then also
	// gives the total of the page it chose to walk. A count from a
	// position is neither: the next page counts from its own.
	capKey := ""
	if span.Limit > 0 && span.At == nil {
		capKey = binding + "\x00cap"
		lc.mu.Lock()
		e, ok := lc.counts.get(capKey)
		lc.mu.Unlock()
		if reach := span.Offset + span.Limit; ok && e.gen == g && e.n >= reach {
			return reach, false, nil
		}
	}
	lc.counted.Add(1)
	n, err := db.count(ctx, tx, p, st, span)
	if err != nil {
		return 0, false, err
	}
	n, exact := span.Total(n)
	switch {
	case span.At != nil && span.Limit > 0:
	case !exact:
		lc.mu.Lock()
		lc.counts.put(capKey, countEntry{n: n, gen: g, at: time.Now()}, sqllist.CountCacheSize)
		lc.mu.Unlock()
	default:
		lc.mu.Lock()
		lc.counts.put(binding, countEntry{n: n, gen: g, at: time.Now()}, sqllist.CountCacheSize)
		lc.mu.Unlock()
	}
	return n, exact, nil
}

// count runs the count of p's matches over span and returns its n (see
// sqllist.CountSpan.Total). A filter on meta.lastModified alone is counted
// from the resource_modified log (logPlan): from the log's rows alone when
// the tenant's log has no stale row; else, when a bounded count can reach
// its limit however many of the log's rows are stale, from the log's rows
// alone too, as "the limit is reached"; else joined to the resources.
func (db *DB) count(ctx context.Context, tx *Tx, p *listPlan, st *tenantState, span sqllist.CountSpan) (int, error) {
	plan := &p.Plan
	// A count after a position seeks in the list's order: on the log, only
	// in creation order.
	if p.logWhere != "" && (span.At == nil || p.Key == "") {
		stale, err := st.stale(ctx)
		if err != nil {
			return 0, err
		}
		lp := p.logPlan(stale != 0)
		plan = &lp
		// The n at which a bounded count stops (sqllist.CountSpan.Total).
		reach := span.Offset + span.Limit
		if span.At != nil {
			reach = span.Skip + span.Limit
		}
		// With S stale rows, M rows of the log in the range hold at least
		// M-S matches: counting up to reach+S rows of the log tells
		// whether the matches reach the limit, reading index entries only.
		// Only tried when S is below the limit: when the matches fall
		// short, the rows read were wasted, and the join counts them again.
		if stale > 0 && span.Limit > 0 && stale < int64(reach) {
			bound := span
			bound.Limit += int(stale)
			n, err := db.countQuery(ctx, tx, p.logPlan(false), bound)
			if err != nil {
				return 0, err
			}
			if int64(n)-stale >= int64(reach) {
				db.lists.logBound.Add(1)
				return reach, nil
			}
		}
		if stale == 0 {
			db.lists.logExact.Add(1)
		} else {
			db.lists.logChecked.Add(1)
		}
	}
	return db.countQuery(ctx, tx, *plan, span)
}

// countQuery runs plan's count over span.
func (db *DB) countQuery(ctx context.Context, tx *Tx, plan sqllist.Plan, span sqllist.CountSpan) (int, error) {
	query, args := plan.CountQuery(span)
	var n int
	if err := tx.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: list: count: %w", err)
	}
	return n, nil
}

// explainPage returns the query plan and SQL of the page query of q, read
// from position at (nil: with OFFSET from StartIndex).
func (db *DB) explainPage(ctx context.Context, tenant string, q *scimd.ListQuery, at *scimd.PageKey) (plan, query string, err error) {
	p, err := db.plan(tenant, q)
	if err != nil {
		return "", "", err
	}
	skip := 0
	if at == nil {
		skip = max(q.StartIndex, 1) - 1
	}
	tx, err := db.beginRead(ctx)
	if err != nil {
		return "", "", err
	}
	defer tx.Rollback()
	if _, err := db.choosePlan(ctx, tx, tenant, q, p, max(q.Count, 1), false, &tenantState{tx: tx, tenant: tenant}); err != nil {
		return "", "", err
	}
	query, args := p.PageQuery(at, false, max(q.Count, 1), skip)
	rows, err := tx.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		return "", "", fmt.Errorf("sqlite: explain: %w", err)
	}
	defer rows.Close()
	var out strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", "", fmt.Errorf("sqlite: explain: %w", err)
		}
		out.WriteString(detail + "\n")
	}
	return out.String(), query, rows.Err()
}
