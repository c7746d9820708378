package postgres

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/sqlbuild"
)

// Paging follows the sqlite store (see its list.go): every page is one
// query in the list's order — r.seq, or (sort key, r.seq) — that reads only
// the page.
//
// Cursor paging (RFC 9865) carries the position (sort key, seq) in the
// cursor (scimd.EncodeCursor): every page is a keyset seek, on any
// instance.
//
// Index paging: each served page leaves the position of its last row in a
// small per-process cache keyed by (tenant, query, next startIndex); the
// page that continues a walk seeks from there instead of skipping
// startIndex-1 rows with OFFSET. The cache is per process: behind a load
// balancer, a page that lands on another instance than the previous one
// falls back to OFFSET, which is correct, only slower (sticky sessions, or
// cursor paging, keep every page a seek). A cached position serves for
// walkTTL: within a walk, rows created or deleted meanwhile neither repeat
// nor skip rows that existed for the whole walk.
//
// totalResults: a short page gives it without counting. Otherwise it is
// counted, and the count is cached per query for walkTTL for the pages
// that continue a walk, so an import counts once, not once per page.
// PostgreSQL has no cheap exact count(*), and a per-tenant counter row
// updated by every write would serialise all writes of a tenant across
// instances, which is what this backend exists to avoid.

const (
	walkTTL        = 2 * time.Minute
	posCacheSize   = 4096
	countCacheSize = 1024
)

// listCache holds the position and count caches of a DB.
type listCache struct {
	mu        sync.Mutex
	positions map[string]posEntry
	counts    map[string]countEntry
}

type posEntry struct {
	key scimd.PageKey
	at  time.Time
}

type countEntry struct {
	n  int
	at time.Time
}

// putBounded stores v under k in m, first dropping expired entries (and,
// if still full, arbitrary ones) when m has reached max entries.
func putBounded[V any](m map[string]V, k string, v V, max int, at func(V) time.Time) {
	if len(m) >= max {
		now := time.Now()
		for key, e := range m {
			if now.Sub(at(e)) >= walkTTL {
				delete(m, key)
			}
		}
		for key := range m {
			if len(m) < max {
				break
			}
			delete(m, key)
		}
	}
	m[k] = v
}

func (c *listCache) position(k string) (scimd.PageKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.positions[k]
	if !ok || time.Since(e.at) >= walkTTL {
		return scimd.PageKey{}, false
	}
	return e.key, true
}

func (c *listCache) putPosition(k string, key scimd.PageKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.positions == nil {
		c.positions = map[string]posEntry{}
	}
	putBounded(c.positions, k, posEntry{key: key, at: time.Now()}, posCacheSize, func(e posEntry) time.Time { return e.at })
}

func (c *listCache) count(k string) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.counts[k]
	if !ok || time.Since(e.at) >= walkTTL {
		return 0, false
	}
	return e.n, true
}

func (c *listCache) putCount(k string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]countEntry{}
	}
	putBounded(c.counts, k, countEntry{n: n, at: time.Now()}, countCacheSize, func(e countEntry) time.Time { return e.at })
}

// listPlan is a compiled list query.
type listPlan struct {
	where string // condition over resources r
	args  []any
	key   string // sort key expression; "" for creation order
	desc  bool
	// groups: pageQuery also reads groupsCol (listOneStatement only).
	groups bool
}

// bind appends v to args and returns its placeholder.
func bind(args *[]any, v any) string {
	*args = append(*args, v)
	return "$" + strconv.Itoa(len(*args))
}

// plan compiles the WHERE condition and sort key of q.
func (db *DB) plan(tenant string, q *scimd.ListQuery) (*listPlan, error) {
	b := &sqlbuild.Builder{D: db.dialect, Tenant: tenant}
	where := "r.tenant_id = " + b.Bind(tenant)
	var cond, key string
	if q.Type != "" {
		rt, err := db.resourceType(q.Type)
		if err != nil {
			return nil, err
		}
		where += " AND r.type = " + b.Bind(rt.Name)
		if cond, err = b.Where(rt, q.Filter); err != nil {
			return nil, err
		}
		if key, err = b.SortKey(rt, q.SortBy); err != nil {
			return nil, err
		}
	} else {
		types := db.reg.ResourceTypes()
		var err error
		if cond, err = b.WhereAny(types, q.Filter); err != nil {
			return nil, err
		}
		if key, err = b.SortKeyAny(types, q.SortBy); err != nil {
			return nil, err
		}
	}
	if cond != "1 = 1" {
		where += " AND " + cond
	}
	return &listPlan{where: where, args: b.Args, key: key, desc: q.SortDescending}, nil
}

// orderBy returns the ORDER BY list of the plan, or of its reverse. It
// matches sqlbuild.OrderBy: the key ascending with NULLs last or
// descending with NULLs first, then r.seq.
func (p *listPlan) orderBy(reverse bool) string {
	if p.key == "" {
		if p.desc != reverse {
			return "r.seq DESC"
		}
		return "r.seq"
	}
	s := p.key + " ASC NULLS LAST"
	if p.desc != reverse {
		s = p.key + " DESC NULLS FIRST"
	}
	if reverse {
		return s + ", r.seq DESC"
	}
	return s + ", r.seq"
}

// seek returns the condition selecting the rows after position k in the
// plan's order, or before it when k.Before, binding into args.
func (p *listPlan) seek(k scimd.PageKey, args *[]any) string {
	after := !k.Before
	if p.key == "" {
		if after != p.desc {
			return "r.seq > " + bind(args, k.Seq)
		}
		return "r.seq < " + bind(args, k.Seq)
	}
	K := p.key
	nullsLast := !p.desc
	if k.Value == nil {
		switch {
		case after && nullsLast:
			return "(" + K + " IS NULL AND r.seq > " + bind(args, k.Seq) + ")"
		case after:
			return "((" + K + " IS NULL AND r.seq > " + bind(args, k.Seq) + ") OR " + K + " IS NOT NULL)"
		case nullsLast:
			return "(" + K + " IS NOT NULL OR r.seq < " + bind(args, k.Seq) + ")"
		default:
			return "(" + K + " IS NULL AND r.seq < " + bind(args, k.Seq) + ")"
		}
	}
	gt, seqCmp := ">", ">"
	if p.desc {
		gt = "<"
	}
	if !after {
		seqCmp = "<"
		if gt == ">" {
			gt = "<"
		} else {
			gt = ">"
		}
	}
	v := bind(args, k.Value)
	cond := "(" + K + " " + gt + " " + v + " OR (" + K + " = " + v + " AND r.seq " + seqCmp + " " + bind(args, k.Seq) + ")"
	if after == nullsLast {
		cond += " OR " + K + " IS NULL"
	}
	return cond + ")"
}

// pageQuery returns the SQL and arguments reading up to limit rows in the
// plan's order (reversed if reverse), after or before position at (nil:
// from the start) and skipping offset rows.
func (p *listPlan) pageQuery(at *scimd.PageKey, reverse bool, limit, offset int) (string, []any) {
	args := slices.Clone(p.args)
	var b strings.Builder
	b.WriteString("SELECT " + resourceCols)
	if p.groups {
		b.WriteString(", " + groupsCol)
	}
	if p.key != "" {
		b.WriteString(", " + p.key)
	}
	b.WriteString(" FROM resources r WHERE " + p.where)
	if at != nil {
		b.WriteString(" AND " + p.seek(*at, &args))
	}
	b.WriteString(" ORDER BY " + p.orderBy(reverse) + " LIMIT " + bind(&args, limit))
	if offset > 0 {
		b.WriteString(" OFFSET " + bind(&args, offset))
	}
	return b.String(), args
}

// page is the rows of one page query with their positions.
type page struct {
	rs   []*scimd.Resource
	keys []scimd.PageKey
}

// withExtra scans one extra trailing column after those scanResource reads.
type withExtra struct {
	s     interface{ Scan(dest ...any) error }
	extra any
}

func (w withExtra) Scan(dest ...any) error { return w.s.Scan(append(dest, w.extra)...) }

// keyValue turns a scanned sort key into a value scimd.EncodeCursor keeps
// and pgx binds back to the same type.
func keyValue(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UTC()
	case pgtype.Numeric:
		if !v.Valid {
			return nil
		}
		if v.Exp >= 0 && v.Int != nil {
			i := new(big.Int).Mul(v.Int, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(v.Exp)), nil))
			if i.IsInt64() {
				return i.Int64()
			}
		}
		f, err := v.Float64Value()
		if err == nil && f.Valid {
			return f.Float64
		}
		return nil
	case int32:
		return int64(v)
	case int16:
		return int64(v)
	case float32:
		return float64(v)
	}
	return v
}

func (tx *Tx) readPage(ctx context.Context, p *listPlan, query string, args []any) (*page, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, listError(err)
	}
	defer rows.Close()
	out := &page{}
	for rows.Next() {
		var key any
		var s interface{ Scan(dest ...any) error } = rows
		if p.key != "" {
			s = withExtra{rows, &key}
		}
		rw, err := tx.db.scanResource(s)
		if err != nil {
			return nil, listError(err)
		}
		out.rs = append(out.rs, rw.res)
		out.keys = append(out.keys, scimd.PageKey{Value: keyValue(key), Seq: rw.seq})
	}
	if err := rows.Err(); err != nil {
		return nil, listError(err)
	}
	return out, nil
}

// listError translates a query error of List: values that cannot be text
// (NUL) can match nothing, but PostgreSQL rejects them.
func listError(err error) error {
	if badText(err) {
		return scimd.BadRequest(scimd.ScimTypeInvalidFilter, "a filter value contains a character that cannot be compared (NUL)")
	}
	if _, ok := scimd.AsError(err); ok {
		return err
	}
	return fmt.Errorf("postgres: list: %w", err)
}

// List implements scimd.Store; see the comment at the top of this file.
// Everything is read in one REPEATABLE READ snapshot.
func (db *DB) List(ctx context.Context, tenant string, q *scimd.ListQuery) (*scimd.ListResult, error) {
	if q == nil {
		q = &scimd.ListQuery{}
	}
	p, err := db.plan(tenant, q)
	if err != nil {
		return nil, err
	}
	binding := scimd.QueryBinding(tenant, q)
	var cursorAt *scimd.PageKey
	if q.UseCursor && q.Cursor != "" {
		k, err := scimd.DecodeCursor(tenant, q, q.Cursor)
		if err != nil {
			return nil, err
		}
		cursorAt = &k
	}
	if out, ok, err := db.listOneStatement(ctx, q, p); ok || err != nil {
		return out, err
	}
	var out *scimd.ListResult
	err = db.inReadTx(ctx, func(tx *Tx) error {
		out = &scimd.ListResult{Resources: []*scimd.Resource{}}
		at := cursorAt
		count := max(q.Count, 0)
		total := -1
		continuation := false
		switch {
		case q.UseCursor:
			continuation = at != nil
			if count > 0 {
				if err := db.cursorPage(ctx, tx, tenant, q, p, at, count, out); err != nil {
					return err
				}
				if at == nil && out.NextCursor == "" {
					total = len(out.Resources)
				}
			}
		case count > 0:
			offset := max(q.StartIndex, 1) - 1
			if offset > 0 {
				if k, ok := db.lists.position(binding + "\x00" + strconv.Itoa(offset)); ok {
					at, continuation = &k, true
				}
			}
			skip := offset
			if at != nil {
				skip = 0
			}
			query, args := p.pageQuery(at, false, count, skip)
			pg, err := tx.readPage(ctx, p, query, args)
			if err != nil {
				return err
			}
			out.Resources = append(out.Resources, pg.rs...)
			if n := len(pg.rs); n > 0 {
				db.lists.putPosition(binding+"\x00"+strconv.Itoa(offset+n), pg.keys[n-1])
			}
			if n := len(pg.rs); n < count && (n > 0 || offset == 0) {
				total = offset + n
			}
		}
		if err := tx.load(ctx, tenant, out.Resources, q.ReadOptions); err != nil {
			return err
		}
		if total < 0 {
			if n, ok := db.lists.count(binding); ok && continuation {
				total = n
			} else {
				span := countSpan{limit: capLimit(q, count)}
				if !q.UseCursor {
					span.at, span.offset = at, max(q.StartIndex, 1)-1
				}
				n, exact, err := tx.count(ctx, p, span)
				if err != nil {
					return err
				}
				if exact && span.at == nil {
					db.lists.putCount(binding, n)
				}
				total = n
			}
		}
		out.TotalResults = total
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// listOneStatement answers the first page of a filtered index-paged
// query with the page query alone, outside a transaction (one statement is
// one snapshot), users' groups included (groupsCol), when the page comes
// back short: then it holds every match and gives the total, and nothing
// else needs reading. That is the IdP lookup (userName, externalId or
// displayName eq …: zero or one match), one round trip. ok is false when
// the query does not qualify or the page is full; List then answers it in
// a read transaction.
func (db *DB) listOneStatement(ctx context.Context, q *scimd.ListQuery, p *listPlan) (_ *scimd.ListResult, ok bool, _ error) {
	count := q.Count
	if q.UseCursor || q.Filter == nil || count <= 0 || max(q.StartIndex, 1) != 1 ||
		(q.ReadOptions.Members && q.Type != scimd.TypeUser) { // members: a second query
		return nil, false, nil
	}
	one := *p
	one.groups = q.ReadOptions.Groups
	query, args := one.pageQuery(nil, false, count, 0)
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, false, listError(err)
	}
	defer rows.Close()
	out := &scimd.ListResult{Resources: []*scimd.Resource{}}
	for rows.Next() {
		if len(out.Resources) == count-1 {
			return nil, false, nil // a full page: needs the count
		}
		var key any
		var s pgx.Row = rows
		if p.key != "" {
			s = withExtra{rows, &key}
		}
		rw, err := db.scanResourceGroups(s, one.groups)
		if err != nil {
			return nil, false, listError(err)
		}
		out.Resources = append(out.Resources, rw.res)
	}
	if err := rows.Err(); err != nil {
		return nil, false, listError(err)
	}
	out.TotalResults = len(out.Resources)
	return out, true, nil
}

// countSpan says which matches a count covers.
type countSpan struct {
	// at: count the matches after this position (the page's start, a
	// seek); nil: count from the start of the list.
	at *scimd.PageKey
	// offset is the number of matches before the page (startIndex-1).
	offset int
	// limit, when > 0, stops counting at limit matches from at (with at),
	// or at offset+limit matches from the start (without): the count is
	// then a lower bound (see scimd.ListQuery.MaxTotal).
	limit int
}

// capLimit returns the countSpan limit for q: cap+1 with
// cap = max(MaxTotal, count), so that reaching it means "more than cap";
// 0 (count all) when q has no MaxTotal or no filter.
func capLimit(q *scimd.ListQuery, count int) int {
	if q.MaxTotal <= 0 || q.Filter == nil {
		return 0
	}
	return max(q.MaxTotal, count) + 1
}

// count returns totalResults counted over span, and whether it is exact
// (with span.at: exact relative to the position).
func (tx *Tx) count(ctx context.Context, p *listPlan, span countSpan) (int, bool, error) {
	args := slices.Clone(p.args)
	query := `SELECT count(*) FROM resources r WHERE ` + p.where
	switch {
	case span.limit > 0 && span.at != nil:
		// The matches after the page's start, at most limit of them.
		query = `SELECT count(*) FROM (SELECT 1 FROM resources r WHERE ` + p.where + ` AND ` +
			p.seek(*span.at, &args) + ` LIMIT ` + bind(&args, span.limit) + `) AS page`
		var n int
		if err := tx.QueryRow(ctx, query, args...).Scan(&n); err != nil {
			return 0, false, listError(err)
		}
		return span.offset + n, n < span.limit, nil
	case span.limit > 0:
		// Without a position the page was read with OFFSET: counting
		// through the page's start costs no more than the page.
		query = `SELECT count(*) FROM (SELECT 1 FROM resources r WHERE ` + p.where +
			` LIMIT ` + bind(&args, span.offset+span.limit) + `) AS page`
	}
	var n int
	if err := tx.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, false, listError(err)
	}
	return n, span.limit == 0 || n < span.offset+span.limit, nil
}

// cursorPage reads the page of a cursor query into out and sets its
// cursors. Forward pages read count+1 rows to know whether a next page
// exists; a previous page (at.Before) reads backwards likewise.
func (db *DB) cursorPage(ctx context.Context, tx *Tx, tenant string, q *scimd.ListQuery, p *listPlan,
	at *scimd.PageKey, count int, out *scimd.ListResult) error {
	back := at != nil && at.Before
	query, args := p.pageQuery(at, back, count+1, 0)
	pg, err := tx.readPage(ctx, p, query, args)
	if err != nil {
		return err
	}
	more := len(pg.rs) > count
	if more {
		pg.rs, pg.keys = pg.rs[:count], pg.keys[:count]
	}
	if back {
		slices.Reverse(pg.rs)
		slices.Reverse(pg.keys)
	}
	out.Resources = append(out.Resources, pg.rs...)
	n := len(pg.rs)
	if n == 0 {
		return nil
	}
	first, last := pg.keys[0], pg.keys[n-1]
	first.Before = true
	switch {
	case back:
		out.NextCursor = scimd.EncodeCursor(tenant, q, last)
		if more {
			out.PreviousCursor = scimd.EncodeCursor(tenant, q, first)
		}
	default:
		if more {
			out.NextCursor = scimd.EncodeCursor(tenant, q, last)
		}
		if at != nil {
			out.PreviousCursor = scimd.EncodeCursor(tenant, q, first)
		}
	}
	return nil
}

// explainPage returns EXPLAIN of the page query of q, read from position
// at (nil: with OFFSET from StartIndex).
func (tx *Tx) explainPage(ctx context.Context, tenant string, q *scimd.ListQuery, at *scimd.PageKey) (string, error) {
	p, err := tx.db.plan(tenant, q)
	if err != nil {
		return "", err
	}
	skip := 0
	if at == nil {
		skip = max(q.StartIndex, 1) - 1
	}
	query, args := p.pageQuery(at, false, max(q.Count, 1), skip)
	rows, err := tx.Query(ctx, `EXPLAIN `+query, args...)
	if err != nil {
		return "", fmt.Errorf("postgres: explain: %w", err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return "", fmt.Errorf("postgres: explain: %w", err)
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n"), rows.Err()
}
