package sqllist

import (
	"context"
	"slices"
	"time"

	"github.com/scimd/scimd"
)

// The stores cache, per process, the position each startIndex page ends
// at (Positions) and the count of each query, within these bounds.
const (
	// WalkTTL bounds how long a cached position or count serves the
	// continuation of a walk after the tenant may have changed: rows
	// created or deleted meanwhile then neither repeat nor skip rows that
	// existed for the whole walk, and totalResults is at most WalkTTL old
	// (RFC 7644 does not make results a snapshot).
	WalkTTL = 2 * time.Minute
	// PositionCacheSize and CountCacheSize bound the caches (entries are a
	// few hundred bytes at most).
	PositionCacheSize = 4096
	CountCacheSize    = 1024
)

// Page is the rows of one page query with their positions.
type Page struct {
	Resources []*scimd.Resource
	Keys      []scimd.PageKey
}

// Reader runs page queries in a store's read snapshot.
type Reader interface {
	// ReadPage runs query (a PageQuery of p) and returns its rows with
	// their positions: r.seq and the sort key, as the store binds it back.
	ReadPage(ctx context.Context, p *Plan, query string, args []any) (Page, error)
}

// CursorPage reads the page of a cursor query (RFC 9865) after or before
// at (nil: the first page) into out and sets its cursors. Forward pages
// read count+1 rows to know whether a next page exists; a previous page
// (at.Before) reads backwards likewise. It returns totalResults when the
// page tells it (a first page that holds the whole list), else -1.
func CursorPage(ctx context.Context, r Reader, tenant string, q *scimd.ListQuery, p *Plan,
	at *scimd.PageKey, count int, out *scimd.ListResult) (int, error) {
	back := at != nil && at.Before
	query, args := p.PageQuery(at, back, count+1, 0)
	pg, err := r.ReadPage(ctx, p, query, args)
	if err != nil {
		return 0, err
	}
	more := len(pg.Resources) > count
	if more {
		pg.Resources, pg.Keys = pg.Resources[:count], pg.Keys[:count]
	}
	if back {
		slices.Reverse(pg.Resources)
		slices.Reverse(pg.Keys)
	}
	out.Resources = append(out.Resources, pg.Resources...)
	n := len(pg.Resources)
	if n > 0 {
		first, last := pg.Keys[0], pg.Keys[n-1]
		first.Before = true
		switch {
		case back:
			// Came from a later page: there is a next page; a previous one
			// if more rows precede this page.
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
	}
	if at == nil && out.NextCursor == "" {
		return len(out.Resources), nil // the whole list fits the first page
	}
	return -1, nil
}

// StartTotal returns totalResults as a startIndex page of n rows at offset
// (startIndex-1) tells it without counting, or -1: a short, non-empty page
// ends the list, and so does an empty first page.
func StartTotal(offset, n, count int) int {
	if n < count && (n > 0 || offset == 0) {
		return offset + n
	}
	return -1
}

// OneStatement reports whether q may be answered by its first page query
// alone, outside a transaction, when that page comes back short (then it
// holds every match and gives the total): a filtered first startIndex page
// whose resources need no second statement (members of groups). That is
// the IdP lookup (userName, externalId or displayName eq …).
func OneStatement(q *scimd.ListQuery) bool {
	return !q.UseCursor && q.Filter != nil && q.Count > 0 && max(q.StartIndex, 1) == 1 &&
		(!q.ReadOptions.Members || q.Type == scimd.TypeUser)
}
