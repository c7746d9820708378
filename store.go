package scimd

import (
	"context"

	"github.com/scimd/scimd/filter"
)

// Store keeps resources and group membership. Every method takes the tenant
// explicitly; a Store never returns, changes, counts or reveals by a conflict
// anything of another tenant.
//
// Errors: client-visible failures are *Error values — NotFound (404) for a
// missing resource, Conflict (409 uniqueness) for a duplicate userName (User)
// or displayName (Group), BadRequest invalidFilter for a filter the store
// cannot evaluate, BadRequest invalidValue for a membership naming a missing
// resource. Anything else is an internal error.
type Store interface {
	// Create stores r as a new resource of r.Type. The store assigns ID and
	// Meta (Version 1, Created = LastModified = now) and returns the stored
	// resource. A Group's initial Members are stored too.
	Create(ctx context.Context, tenant string, r *Resource) (*Resource, error)

	// Get returns one resource by type and id.
	Get(ctx context.Context, tenant, typ, id string, opt ReadOptions) (*Resource, error)

	// List returns the resources matching q and the total number of matches.
	List(ctx context.Context, tenant string, q *ListQuery) (*ListResult, error)

	// Update runs fn on the current resource inside a transaction. fn may
	// change r.Attrs and r.Schemas and returns membership changes to apply;
	// it may return an error to abort (nothing is written). The store then
	// checks uniqueness, increments Meta.Version, sets LastModified and
	// commits — or, if the resource changed concurrently, retries fn on the
	// fresh resource, so concurrent updates never lose each other's changes.
	// r.Members is not loaded inside fn. The updated resource is returned,
	// loaded as opt says.
	Update(ctx context.Context, tenant, typ, id string, opt ReadOptions, fn UpdateFunc) (*Resource, error)

	// Delete removes a resource and every membership it takes part in. check,
	// if not nil, runs first on the current resource (without members) inside
	// the transaction and may veto the delete by returning an error (If-Match).
	Delete(ctx context.Context, tenant, typ, id string, check func(*Resource) error) error
}

// UpdateFunc changes a resource in place; see Store.Update.
type UpdateFunc func(r *Resource) ([]MemberOp, error)

// ReadOptions says which separately stored parts of a resource to load.
type ReadOptions struct {
	Members bool // load Group.Members
	Groups  bool // load User.Groups
}

// ListQuery selects, orders and pages resources of one type.
//
// Two paging styles exist. Index paging (RFC 7644 §3.4.2.4, the default)
// uses StartIndex and Count. Cursor paging (RFC 9865) is selected by
// UseCursor: StartIndex is then ignored, Cursor "" asks for the first page
// and any other Cursor must be a NextCursor or PreviousCursor that an
// earlier ListResult of the same query returned.
//
// Contract for cursor paging, every backend:
//   - A cursor is opaque to clients, URL-safe, and bound to the query: the
//     tenant, Type, Filter, SortBy and SortDescending (Count may change from
//     page to page). A cursor of another query, or one that is malformed or
//     altered, fails with BadRequest invalidCursor; a backend whose cursors
//     expire fails with BadRequest expiredCursor. EncodeCursor and
//     DecodeCursor implement this for any backend whose position in a list
//     is (sort key, creation sequence); see PageKey.
//   - A cursor names a position, not a page number: the next page holds the
//     matching resources after the last one served, in the query's order,
//     as they are when the next page is read. Paging on never repeats a
//     resource and never skips one that existed, unchanged in its sort key,
//     for the whole walk, whatever was created or deleted meanwhile.
//   - NextCursor is set on every page but the last ("" there); a page that
//     was fetched with Count 0 has neither cursor. PreviousCursor is
//     optional and never set on the first page.
//
// Index paging must not cost O(StartIndex): a backend should continue a
// sequential walk (startIndex = previous startIndex + previous page size)
// from the previous page's last position rather than skip rows; see
// sqlite's List for one way.
type ListQuery struct {
	Type   string      // resource type name; "" searches every type
	Filter filter.Expr // nil matches everything

	// SortBy orders results by a singular attribute; nil means the store's
	// stable default order (creation order). SortDescending reverses it.
	// Ties are broken by creation order (ascending, in both directions).
	SortBy         *filter.AttrPath
	SortDescending bool

	// StartIndex is 1-based (values < 1 mean 1). Count is the page size;
	// 0 returns no resources, only the total.
	StartIndex int
	Count      int

	// UseCursor selects cursor paging; Cursor is "" for the first page.
	UseCursor bool
	Cursor    string

	// MaxTotal, when > 0, bounds the cost of TotalResults for a filtered
	// list: the store counts at most cap = max(MaxTotal, Count) matches
	// from the start of the page onward instead of every match. When no
	// more than cap matches remain from the page start, TotalResults is
	// exact; otherwise it is the lower bound StartIndex-1+cap+1 (for a
	// cursor query, counted from the list's start: cap+1). A client that
	// pages until startIndex > totalResults still reaches the last match,
	// and each page costs O(cap) instead of O(matches). Lists without a
	// filter are always counted exactly. 0 counts every match. MaxTotal is
	// a bound on work, not a request for an estimate: a store may ignore
	// it and count exactly, and may answer an exact count it knows anyway.
	MaxTotal int

	ReadOptions
}

// ErrorTranslator is implemented by a Store that can tell, of an error one
// of its methods (or a tenant or credential lookup on the same database)
// returned, what it means for the client when it is not an *Error: a
// database that cannot be reached for now (Unavailable, 503: the HTTP layer
// adds Retry-After) or whose storage is full (InsufficientStorage, 507).
// TranslateError returns nil for an internal error (500). Both stores of
// this module implement it.
type ErrorTranslator interface {
	TranslateError(err error) *Error
}

// ListResult is one page of a list.
type ListResult struct {
	// TotalResults is the number of resources matching the query. -1 means
	// unknown; a store may answer -1 only to a cursor query (UseCursor).
	TotalResults int
	Resources    []*Resource

	// Cursor queries only: the cursors of the next and previous pages, ""
	// when there is none (see ListQuery).
	NextCursor     string
	PreviousCursor string
}
