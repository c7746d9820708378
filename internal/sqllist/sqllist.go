// Package sqllist builds the list queries of the SQL stores (sqlite,
// postgres) and pages through them: the plan of a query (its condition
// from sqlbuild, sort key and order), keyset seeks, page and count
// statements, bounded counts (scimd.ListQuery.MaxTotal) and RFC 9865
// cursor pages. It opens no connections: a store runs the statements
// through Reader and keeps what is its own — scanning rows, the caches of
// positions and counts, SQLite's choice of plan and its trigram tables.
//
// Every page is one query in the list's order — r.seq, or (sort key,
// r.seq) — that reads only the page: from the start, after a position (a
// keyset seek: "rows after this one", an index range) or, when no position
// is known, with OFFSET.
package sqllist

import (
	"slices"
	"strings"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/sqlbuild"
	"github.com/scimd/scimd/schema"
)

// Dialect is what differs between the stores in the list statements.
type Dialect interface {
	// Placeholder returns the placeholder of the n-th (1-based)
	// argument, as sqlbuild.Dialect does.
	Placeholder(n int) string
	// Positional reports whether placeholders are positional ("?"): a
	// value used twice is then bound twice. Numbered placeholders ($n)
	// name their argument again.
	Positional() bool
	// Arg converts a sort key (scimd.PageKey.Value) for binding, as
	// sqlbuild.Dialect does.
	Arg(v any) any
	// Columns returns the select list of a page's rows, with the groups of
	// Users if groups (the columns the store scans).
	Columns(groups bool) string
	// Likely returns cond marked, for the planner, as true for most rows
	// (SQLite's likelihood), or cond itself.
	Likely(cond string) string
	// SubqueryAlias returns what follows a subquery in FROM: "" or an
	// alias (" AS page") where the database requires one.
	SubqueryAlias() string
}

// Plan is a compiled list query.
type Plan struct {
	D Dialect
	// From is the FROM clause of the plan's queries; "" for "resources r".
	From string
	// Where is the condition over resources r; Args are its arguments.
	Where string
	Args  []any
	// Key is the sort key expression; "" for creation order.
	Key  string
	Desc bool
	// Groups: the page's rows carry the groups of Users (Dialect.Columns).
	Groups bool
	// Seq is the creation-order column to sort and seek on when it is not
	// r.seq: the rowid of the index that drives the query (SQLite's trigram
	// tables, whose rowid is r.seq), so that the database reads it in order
	// and seeks in it.
	Seq string
	// ByFilter: find the page's rows through the filter's index and sort
	// them, rather than walk creation order and test each row (creation
	// order only). The page query then picks the page's seqs (Seq, r.seq
	// by default) in a subquery of From ordered by +Seq, which no index
	// provides, and reads their rows from resources r.
	ByFilter bool
}

// Condition compiles the WHERE condition over resources r of tenant's
// resources of type rt (every type of reg when rt is nil) matching
// q.Filter, and the sort key of q.SortBy (""; creation order), binding
// into b.
func Condition(b *sqlbuild.Builder, reg *schema.Registry, tenant string, rt *schema.ResourceType, q *scimd.ListQuery) (where, key string, err error) {
	where = "r.tenant_id = " + b.Bind(tenant)
	var cond string
	if rt != nil {
		where += " AND r.type = " + b.Bind(rt.Name)
		if cond, err = b.Where(rt, q.Filter); err != nil {
			return "", "", err
		}
		if key, err = b.SortKey(rt, q.SortBy); err != nil {
			return "", "", err
		}
	} else {
		types := reg.ResourceTypes()
		if cond, err = b.WhereAny(types, q.Filter); err != nil {
			return "", "", err
		}
		if key, err = b.SortKeyAny(types, q.SortBy); err != nil {
			return "", "", err
		}
	}
	if cond != "1 = 1" {
		where += " AND " + cond
	}
	return where, key, nil
}

func (p *Plan) from() string {
	if p.From == "" {
		return "resources r"
	}
	return p.From
}

func (p *Plan) seqCol() string {
	if p.Seq == "" {
		return "r.seq"
	}
	return p.Seq
}

// bind appends v to args and returns its placeholder.
func (p *Plan) bind(args *[]any, v any) string {
	*args = append(*args, v)
	return p.D.Placeholder(len(*args))
}

// orderBy returns the ORDER BY list of the plan, or of its reverse (for
// reading backwards from a position). It matches sqlbuild.OrderBy: the key
// ascending with NULLs last or descending with NULLs first, then r.seq.
func (p *Plan) orderBy(reverse bool) string {
	if p.Key == "" {
		seq := p.seqCol()
		if p.ByFilter {
			seq = "+" + seq // not the index order: drive by the filter
		}
		if p.Desc != reverse {
			return seq + " DESC"
		}
		return seq
	}
	s := p.Key + " ASC NULLS LAST"
	if p.Desc != reverse {
		s = p.Key + " DESC NULLS FIRST"
	}
	if reverse {
		return s + ", r.seq DESC"
	}
	return s + ", r.seq"
}

// seek returns the condition selecting the rows after position k in the
// plan's order, or before it when k.Before, binding into args.
func (p *Plan) seek(k scimd.PageKey, args *[]any) string {
	after := !k.Before
	if p.Key == "" {
		if after != p.Desc {
			return p.seqCol() + " > " + p.bind(args, k.Seq)
		}
		return p.seqCol() + " < " + p.bind(args, k.Seq)
	}
	K := p.Key
	// In the forward order NULL keys come last ascending and first
	// descending; ties on the key go by r.seq ascending.
	nullsLast := !p.Desc
	if k.Value == nil {
		switch {
		case after && nullsLast: // only NULLs follow, by seq
			return "(" + K + " IS NULL AND r.seq > " + p.bind(args, k.Seq) + ")"
		case after: // later NULLs, then every non-NULL
			return "((" + K + " IS NULL AND r.seq > " + p.bind(args, k.Seq) + ") OR " + K + " IS NOT NULL)"
		case nullsLast: // every non-NULL, then earlier NULLs
			return "(" + K + " IS NOT NULL OR r.seq < " + p.bind(args, k.Seq) + ")"
		default: // only earlier NULLs
			return "(" + K + " IS NULL AND r.seq < " + p.bind(args, k.Seq) + ")"
		}
	}
	gt, seqCmp := ">", ">"
	if p.Desc {
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
	v := p.D.Arg(k.Value)
	v1 := p.bind(args, v)
	v2 := v1
	if p.D.Positional() {
		v2 = p.bind(args, v)
	}
	cond := "(" + K + " " + gt + " " + v1 + " OR (" + K + " = " + v2 + " AND r.seq " + seqCmp + " " + p.bind(args, k.Seq) + ")"
	// NULLs sort after every value ascending, before every value
	// descending.
	if after == nullsLast {
		cond += " OR " + K + " IS NULL"
	}
	return cond + ")"
}

// PageQuery returns the SQL and arguments reading up to limit rows in the
// plan's order (reversed if reverse), after or before position at (nil:
// from the start) and skipping offset rows (0 for none). The rows are
// Dialect.Columns, then the sort key if the plan has one.
func (p *Plan) PageQuery(at *scimd.PageKey, reverse bool, limit, offset int) (string, []any) {
	args := slices.Clone(p.Args)
	cols := p.D.Columns(p.Groups)
	var b strings.Builder
	b.Grow(len(cols) + len(p.Where) + 3*len(p.Key) + 2*len(p.From) + 200)
	b.WriteString("SELECT ")
	b.WriteString(cols)
	if p.Key != "" {
		b.WriteString(", ")
		b.WriteString(p.Key)
	}
	if p.ByFilter {
		// Pick the page's seqs from the filter's index and sort only
		// those; then read the page's rows.
		b.WriteString(" FROM resources r WHERE r.seq IN (SELECT ")
		b.WriteString(p.seqCol())
	}
	b.WriteString(" FROM ")
	b.WriteString(p.from())
	b.WriteString(" WHERE ")
	b.WriteString(p.Where)
	if at != nil {
		b.WriteString(" AND ")
		b.WriteString(p.D.Likely(p.seek(*at, &args)))
	}
	b.WriteString(" ORDER BY ")
	b.WriteString(p.orderBy(reverse))
	b.WriteString(" LIMIT ")
	b.WriteString(p.bind(&args, limit))
	if offset > 0 {
		b.WriteString(" OFFSET ")
		b.WriteString(p.bind(&args, offset))
	}
	if p.ByFilter {
		outer := *p
		outer.ByFilter, outer.Seq = false, "" // the rows of resources r
		b.WriteString(") ORDER BY ")
		b.WriteString(outer.orderBy(reverse))
	}
	return b.String(), args
}
